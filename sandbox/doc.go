// Package sandbox owns the pause container of a pod: its OCI spec (new net, ipc, uts and,
// with shareProcessNamespace, pid namespaces; uid 65535, no capabilities, read-only root), the
// pinning of its namespaces under <state>/netns and <state>/ns, hostname and sysctls, and the
// pause program itself (a C constructor, so the pause never starts the Go runtime).
//
// It must not start app containers.
package sandbox
