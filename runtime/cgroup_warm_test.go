package runtime

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// The warm-up moves the daemon into the cgroup it is in: the file it finds must list our pid.
func TestOwnCgroupProcs(t *testing.T) {
	procs := ownCgroupProcs()
	if procs == "" {
		t.Skip("no mounted cgroup hierarchy holds this process")
	}
	b, err := os.ReadFile(procs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains("\n"+string(b), "\n"+strconv.Itoa(os.Getpid())+"\n") {
		t.Errorf("%s does not list pid %d", procs, os.Getpid())
	}
}
