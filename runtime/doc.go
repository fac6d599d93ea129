// Package runtime makes containers: the OCI spec from a Kubernetes container, its pod, the
// image config and the securityContext (small composable spec options, pure and table-tested),
// and the container lifecycle through libcontainer (runc's Go module, in process). It also holds
// the per-pod monitor, the re-executed podrun process that is the parent of the pause and of
// every container of one pod, owns their stdio, writes CRI logs and exit records.
//
// Every libcontainer call of podrun lives in this package. It must not parse YAML or decide
// restart policy.
package runtime
