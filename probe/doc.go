// Package probe answers probes and runs hooks (exec, httpGet, tcpSocket, grpc, sleep): handlers
// answer Success/Failure/Unknown; workers apply delays and thresholds.
//
// It is the kubelet's pkg/probe (mechanism) and pkg/kubelet/prober (policy) in one package,
// kept apart by file:
//
//   - exec.go, http.go, tcp.go, grpc.go: one attempt, answering (Result, output, error) with
//     the kubelet's output texts; prober.go dispatches a v1.Probe to them.
//   - lifecycle.go: postStart/preStop handlers (RunHook) with the kubelet's failure messages.
//   - netns_linux.go: NetnsDialContext, to reach a pod's loopback from the host.
//   - worker.go: one worker per (container, probe type): initialDelaySeconds, periodSeconds,
//     successThreshold, failureThreshold, startup gating, hold after a liveness failure.
//   - results.go: the per-type result caches and their Updates channels.
//   - manager.go: workers of every container; what the pod manager calls.
//   - messages.go: event reasons and messages (Unhealthy, Killing…).
//
// It must not decide what a result means for the pod (kill, restart, conditions): the pod
// manager reads Results and acts. It knows one container's probe spec and nothing else of the
// pod; it talks to the runtime only through Execer (cri.RuntimeService satisfies it).
package probe
