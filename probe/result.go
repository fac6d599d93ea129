package probe

// Result is what one probe attempt answered.
type Result int

const (
	// Unknown means the probe could not be run (bad spec, container gone): the worker keeps
	// the previous result, as the kubelet does for probe errors.
	Unknown Result = iota
	Success
	Failure
	// Warning is a success the user should hear about (an HTTP redirect to another host that
	// the prober did not follow). Workers count it as Success and publish a ProbeWarning event.
	Warning
)

func (r Result) String() string {
	switch r {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Warning:
		return "warning"
	default:
		return "unknown"
	}
}

// Type is the kind of probe a worker runs. Its String is the word the kubelet puts in event
// messages ("Liveness probe failed: …").
type Type int

const (
	Liveness Type = iota
	Readiness
	Startup
)

func (t Type) String() string {
	switch t {
	case Liveness:
		return "Liveness"
	case Readiness:
		return "Readiness"
	case Startup:
		return "Startup"
	default:
		return "Unknown"
	}
}

// maxOutput caps what a probe or hook keeps of a command's output or an HTTP body: the
// kubelet keeps 10 KiB so that a chatty probe cannot bloat events.
const maxOutput = 10 << 10

// UserAgent is the User-Agent of HTTP probes, "kube-probe/<major>.<minor>" as the kubelet
// sends it; some applications special-case it. Hooks send LifecycleUserAgent.
const (
	UserAgent          = "kube-probe/1.37"
	LifecycleUserAgent = "kube-lifecycle/1.37"
)
