package pod

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// linuxStopSignals are the lifecycle.stopSignal values the API server accepts for a Linux pod:
// the named signals and the real-time ones (KEP-4960).
var linuxStopSignals = func() sets.Set[string] {
	s := sets.New("SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD", "SIGCLD", "SIGCONT", "SIGFPE",
		"SIGHUP", "SIGILL", "SIGINT", "SIGIO", "SIGIOT", "SIGKILL", "SIGPIPE", "SIGPOLL",
		"SIGPROF", "SIGPWR", "SIGQUIT", "SIGSEGV", "SIGSTKFLT", "SIGSTOP", "SIGSYS", "SIGTERM",
		"SIGTRAP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGUSR1", "SIGUSR2",
		"SIGVTALRM", "SIGWINCH", "SIGXCPU", "SIGXFSZ", "SIGRTMIN", "SIGRTMAX")
	for i := 1; i <= 15; i++ {
		s.Insert(fmt.Sprintf("SIGRTMIN+%d", i), fmt.Sprintf("SIGRTMAX-%d", i))
	}
	return s
}()

// validateStopSignal checks lifecycle.stopSignal as the API server does: it needs spec.os.name
// (the signal set depends on the OS), Linux pods take any Linux signal name, Windows pods only
// SIGTERM and SIGKILL. A bad name would otherwise surface only when the container is stopped.
func validateStopSignal(c *v1.Container, os *v1.PodOS, fp *field.Path) field.ErrorList {
	if c.Lifecycle == nil || c.Lifecycle.StopSignal == nil {
		return nil
	}
	sig := string(*c.Lifecycle.StopSignal)
	p := fp.Child("lifecycle", "stopSignal")
	switch {
	case os == nil || os.Name == "":
		return field.ErrorList{field.Forbidden(p, "may not be set for containers with empty `spec.os.name`")}
	case os.Name == v1.Windows:
		if sig != "SIGTERM" && sig != "SIGKILL" {
			return field.ErrorList{field.NotSupported(p, sig, []string{"SIGKILL", "SIGTERM"})}
		}
	case !linuxStopSignals.Has(sig):
		return field.ErrorList{field.NotSupported(p, sig, sets.List(linuxStopSignals))}
	}
	return nil
}
