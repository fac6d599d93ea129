// Package integration holds the end-to-end tests of podrun: they drive the built binary as
// root, one file per behaviour (namespaces, init containers, restart policies, exec, logs,
// delete, daemon restart, bad input, leaks, cgroups, the seed's mypod).
//
// Every test starts its own daemon on a short /tmp/p<hex> directory (--root, --state,
// --socket, --log-dir below it, its own --cgroup-root), and in t.Cleanup deletes every pod,
// stops the daemon, fails on anything left behind (mounts, pod cgroups, processes, state
// files) and then removes it, so one failing test never poisons the next.
//
// Inputs, all optional: PODRUN_BIN (default ../bin/podrun), PODRUN_BUSYBOX_TAR and
// PODRUN_DEMOAPP_TAR (default ../bin/*.tar, else built with hack/mkimage), PODRUN_EXAMPLES
// (default ../examples), PODRUN_LEAK_CYCLES (default 50). Not root, or no binary: the tests
// skip. `make integration` (part of `make test`) sets them.
package integration
