package runner

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/procstat"
)

// leakedAfter is how long a child of the exec server may stay a zombie before the server
// reaps it itself: libcontainer and the exec goroutines wait for the processes they start
// as soon as they start them, so the zombies they own last milliseconds.
const leakedAfter = time.Second

// reapLeaked reaps, every interval, the exec server's children that have stayed zombies for
// leakedAfter: the processes nobody will wait for. libcontainer leaves some of an exec's
// processes unreaped on error paths (an exec whose container dies while it joins the
// container's namespaces: its intermediate and final children are the server's, by
// CLONE_PARENT, and only their pids on the init pipe would have made libcontainer wait for
// them). A zombie inside a pid namespace whose init is exiting keeps that init from finishing
// its exit, so the container's monitor never sees it end, and the pod's deletion waits forever
// (seen once in about fifteen runs of the exec-probe benchmark). It returns when stop closes
// (never, for a nil stop).
func reapLeaked(interval time.Duration, stop <-chan struct{}) {
	first := map[procstat.Zombie]time.Time{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		seen := map[procstat.Zombie]bool{}
		for _, z := range procstat.ZombieChildren(false) {
			seen[z] = true
			if t, ok := first[z]; !ok {
				first[z] = now
			} else if now.Sub(t) >= leakedAfter {
				var ws unix.WaitStatus
				unix.Wait4(z.Pid, &ws, unix.WNOHANG, nil) //nolint:errcheck // gone already is as good
				delete(first, z)
			}
		}
		for z := range first {
			if !seen[z] {
				delete(first, z)
			}
		}
	}
}
