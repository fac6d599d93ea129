// Package procstat reads what /proc/<pid>/stat says of a process: its state and its start
// time, which together tell a live process from an exited one and from a later process that
// got the same pid (as libcontainer tells whether a container's init still runs).
package procstat

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
)

// Stat returns the state letter (R, S, D, Z, X…) and the start time (clock ticks after boot,
// field 22) of pid.
func Stat(pid int) (state byte, startTime uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	return parse(b)
}

// parse reads a stat line. The command name (field 2) may hold spaces and parentheses: the
// fields that follow start after its last ')'.
func parse(b []byte) (state byte, startTime uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("stat: no command name")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (the state); the start time is field 22.
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, errors.New("stat: too few fields")
	}
	st, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, 0, errors.New("stat: bad start time")
	}
	return f[0][0], st, nil
}

// Alive reports whether pid runs and is the process that started at startTime: not a zombie,
// not gone, not a reused pid.
func Alive(pid int, startTime uint64) bool {
	if pid <= 0 {
		return false
	}
	state, st, err := Stat(pid)
	return err == nil && st == startTime && state != 'Z' && state != 'X'
}

// Zombie is a child that exited and was not waited for: its pid and start time (the pair
// tells it from a later process with the same pid).
type Zombie struct {
	Pid       int
	StartTime uint64
}

// ZombieChildren lists this process's children that are zombies: those of every thread, or
// only the thread group leader's when leaderOnly (a child subreaper's orphans are re-parented
// to its first live thread, the leader; children other threads fork are theirs). It reads
// /proc/self/task/<tid>/children and each child's stat.
func ZombieChildren(leaderOnly bool) []Zombie {
	files := []string{"/proc/self/task/" + strconv.Itoa(os.Getpid()) + "/children"}
	if !leaderOnly {
		files, _ = filepath.Glob("/proc/self/task/*/children")
	}
	var out []Zombie
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range bytes.Fields(b) {
			pid, err := strconv.Atoi(string(field))
			if err != nil {
				continue
			}
			if state, start, err := Stat(pid); err == nil && state == 'Z' {
				out = append(out, Zombie{Pid: pid, StartTime: start})
			}
		}
	}
	return out
}
