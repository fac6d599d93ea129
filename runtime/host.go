package runtime

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// hostFacts are what the container spec needs to know of this host, read once by New.
type hostFacts struct {
	capabilities []string // the daemon's bounding set: runc cannot grant more
	hostname     string
	memTotal     int64 // bytes, 0 = unknown
	// Linux security modules enabled on the host: their profiles apply only then.
	appArmor, seLinux bool
	// oomScoreAdj is the daemon's own oom_score_adj (set once, before the runtime is made):
	// containers and pauses may not be less killable than the daemon.
	oomScoreAdj int
}

func readHostFacts() hostFacts {
	var h hostFacts
	h.hostname, _ = os.Hostname()
	h.oomScoreAdj = ownOOMScoreAdj()
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil {
		h.appArmor = strings.HasPrefix(string(b), "Y")
	}
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		h.seLinux = true
	}
	if v := procField("/proc/self/status", "CapBnd:"); v != "" {
		if mask, err := strconv.ParseUint(v, 16, 64); err == nil {
			h.capabilities = CapabilitiesFromMask(mask)
		}
	}
	if v := procField("/proc/meminfo", "MemTotal:"); v != "" {
		if kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
			h.memTotal = kb * 1024
		}
	}
	return h
}

// procField returns the value after key on the first line of a /proc file starting with it.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
