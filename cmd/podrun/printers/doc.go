// Package printers renders pods, events and images the way kubectl (and crictl for images)
// prints them: `kubectl get pods [-o wide] [--show-labels] [-A] [--no-headers]`,
// `kubectl describe pod` and `kubectl get events`. Everything here is a pure function of its
// inputs and an io.Writer (the clock is passed in), so the output is golden-tested byte for
// byte against kubectl's format strings and tabwriter settings.
//
// The reference is kubectl 1.37 (matching k8s.io/api v0.37): pkg/printers/internalversion
// printPod and printEvent for the tables, k8s.io/kubectl pkg/describe describePod for describe.
// The logic is re-written here, not copied. Known, deliberate behaviours of kubectl that
// callers should know:
//   - The IP column comes from status.podIPs[0] only (status.podIP is ignored there).
//   - "Terminating (lasts X)" counts the time since metadata.deletionTimestamp, which the API
//     server sets to the end of the grace period: during the grace period kubectl prints
//     "<invalid>", and so do we.
//   - Rows keep the caller's order; the API server lists by namespace, then name.
//   - Empty lists print nothing; kubectl's "No resources found in <ns> namespace." goes to
//     stderr and is the caller's.
package printers
