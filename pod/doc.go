// Package pod is the pod manager: the kubelet's job for the pods of this host. It defaults
// and validates pods as the API server does, persists them under --root, runs one worker per pod
// (images → sandbox → init containers in order → app containers → restarts), computes status
// (phase, conditions, container states, the kubectl STATUS string) with pure functions, and
// records events.
//
// It talks to the runtime only through cri.RuntimeService and cri.ImageService: it must not
// call libcontainer or netlink directly.
package pod
