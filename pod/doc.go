// Package pod is the pod manager: the kubelet's job for the pods of this host. It defaults
// and validates pods as the API server does, persists them under --root, runs one worker per pod
// (images → sandbox → init containers in order → app containers → restarts), computes status
// (phase, conditions, container states) with pure functions, and records events.
//
// It talks to the runtime only through cri.RuntimeService and cri.ImageService: it must not
// call libcontainer or netlink directly.
//
// Where things are:
//
//	manager.go     Manager, Config, Start/Shutdown, Create, Get, List, Delete, Events
//	access.go      LogPath, Exec, Inspect;  watch.go  Watch
//	update.go      every status change and event goes through here (resourceVersion, watch)
//	defaults.go    the API server's defaulting;  validation.go  its validation (field paths)
//	store.go       <Root>/pods/<uid>/{pod.json,events.json,runtime.json}, atomic writes by a
//	               per-pod saver goroutine (latest wins; no fsync on the container start path)
//	worker.go      the per-pod goroutine and its sync: generations, init then app containers
//	sandbox.go     the pod's sandbox: make, re-adopt, reconcile, recreate when it died
//	container.go   one container's loop: create, start, postStart, watch, restart with
//	               back-off, probe results, kills
//	image.go       imagePullPolicy: Pulled / Pulling / ErrImagePull / ErrImageNeverPull
//	deadline.go    activeDeadlineSeconds
//	terminate.go   delete: stop within the grace period, remove everything
//	phase.go, conditions.go, qos.go, status.go   status as pure functions (kubelet rules)
//	backoff.go     restart back-off arithmetic;  env.go  env resolution and $(VAR) expansion
//	volumes.go     emptyDir (tmpfs for medium Memory), hostPath type checks, downwardAPI, subPath
//	termination.go terminationMessagePath / FallbackToLogsOnError
//	events.go      event reasons, the kubelet's message texts, aggregation
//	hooks.go       the seams for probes and lifecycle hooks;  probes.go  their implementation
//	               with package probe (NewProbes)
//
// A container's life in the worker:
//
//	waiting(PodInitializing|ContainerCreating)
//	   │ ensure image (Pulled | ErrImagePull → ImagePullBackOff | ErrImageNeverPull)
//	   │ CreateContainer (CreateContainerConfigError | CreateContainerError: retried with back-off)
//	   ▼
//	running ──exit──▶ terminated ──restart policy says no──▶ (stays terminated)
//	   ▲                  │ yes: first restart at once, then waiting(CrashLoopBackOff) for
//	   └──────────────────┘ base, 2×base … max; lastState keeps the terminated state
//
// The pod's sandbox outlives its containers; when it dies (pause killed, node rebooted:
// --state is a tmpfs) the pod is made again from its spec with every restartCount
// incremented (SandboxChanged), except a restartPolicy Never pod whose containers already
// ran, which ends Failed (or Succeeded) as the kubelet decides.
package pod
