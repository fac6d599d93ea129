package procstat

import (
	"os"
	"os/exec"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		state      byte
		start      uint64
		bad        bool
	}{
		{"plain", "42 (sleep) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 123456 2000000 100 18446744073709551615", 'S', 123456, false},
		{"name with spaces and parens", "7 (a) b (c)) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0 0", 'Z', 99, false},
		{"no name", "7 a S 1", 0, 0, true},
		{"short", "7 (a) S 1 2 3", 0, 0, true},
		{"bad start", "7 (a) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 x 0", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, start, err := parse([]byte(tc.line))
			if (err != nil) != tc.bad || state != tc.state || start != tc.start {
				t.Errorf("parse = %q, %d, %v; want %q, %d, bad %v", state, start, err, tc.state, tc.start, tc.bad)
			}
		})
	}
}

func TestAlive(t *testing.T) {
	_, start, err := Stat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !Alive(os.Getpid(), start) {
		t.Error("this process is not alive")
	}
	if Alive(os.Getpid(), start+1) {
		t.Error("another start time counts as alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	pid := cmd.Process.Pid
	_, cstart, _ := Stat(pid)
	cmd.Wait() //nolint:errcheck
	if Alive(pid, cstart) {
		t.Error("a reaped process counts as alive")
	}
	if Alive(0, 0) || Alive(-1, 0) {
		t.Error("pid <= 0 counts as alive")
	}
}
