package runtime

import (
	"errors"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/expansion"
)

// DefaultPathEnv is the PATH given to containers whose image sets none (containerd's and
// docker's default).
const DefaultPathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ResolveCommand applies Kubernetes' rules: command set → command+args (image Entrypoint and
// Cmd ignored); only args → image Entrypoint + args; neither → Entrypoint + Cmd; empty → error.
// $(VAR) references are not expanded here (WithProcessArgs does, with the container's env).
func ResolveCommand(c *v1.Container, img cri.ImageConfig) ([]string, error) {
	var argv []string
	switch {
	case len(c.Command) > 0:
		argv = append(append(argv, c.Command...), c.Args...)
	case len(c.Args) > 0:
		argv = append(append(argv, img.Entrypoint...), c.Args...)
	default:
		argv = append(append(argv, img.Entrypoint...), img.Cmd...)
	}
	if len(argv) == 0 {
		return nil, errors.New("no command specified: neither the container nor its image sets one")
	}
	return argv, nil
}

// WithProcessArgs sets the process args (ResolveCommand). $(VAR) references are expanded
// exactly once, as the kubelet does: when the pod manager resolved the env (Config.Env not nil)
// it has already expanded command and args too (pod/worker.go), so they are taken as given;
// otherwise they are expanded here from the container's literal env (the image's env is not
// visible to Kubernetes' expansion).
func WithProcessArgs(s *specs.Spec, in *SpecInput) error {
	argv, err := ResolveCommand(in.Config.Container, imageConfig(in))
	if err != nil {
		return err
	}
	if in.Config.Env == nil {
		vars := map[string]string{}
		for _, e := range kubeEnv(in) {
			vars[e.Name] = e.Value
		}
		lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
		for i, a := range argv {
			argv[i] = ExpandVars(a, lookup)
		}
	}
	s.Process.Args = argv
	return nil
}

// kubeEnv is the container's Kubernetes env. The pod manager's Config.Env is final (valueFrom
// resolved, $(VAR) expanded) and used as is: expanding twice would undo "$$" escapes. Without
// it, the container's literal env is used, each value expanded from the variables defined
// before it, as the kubelet does.
func kubeEnv(in *SpecInput) []v1.EnvVar {
	if in.Config.Env != nil {
		return in.Config.Env
	}
	vars := map[string]string{}
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	out := make([]v1.EnvVar, 0, len(in.Config.Container.Env))
	for _, e := range in.Config.Container.Env {
		v := ExpandVars(e.Value, lookup)
		vars[e.Name] = v
		out = append(out, v1.EnvVar{Name: e.Name, Value: v})
	}
	return out
}

// WithEnv sets the environment: PATH (default) and HOSTNAME first, then the image's Env, then
// the Kubernetes env; a later variable replaces an earlier one of the same name in place, as
// containerd's WithEnv does. HOSTNAME is the pod's hostname, the node's with hostNetwork.
func WithEnv(s *specs.Spec, in *SpecInput) error {
	hostname := in.Sandbox.Hostname
	if in.Config.Pod.Spec.HostNetwork && in.NodeHostname != "" {
		hostname = in.NodeHostname
	}
	if hostname == "" {
		hostname = in.Config.Pod.Name
	}
	env := []string{DefaultPathEnv, "HOSTNAME=" + hostname}
	env = mergeEnv(env, imageConfig(in).Env)
	kube := kubeEnv(in)
	kv := make([]string, len(kube))
	for i, e := range kube {
		kv[i] = e.Name + "=" + e.Value
	}
	s.Process.Env = mergeEnv(env, kv)
	return nil
}

// mergeEnv returns base with each of add replacing the variable of the same name in place, or
// appended when new.
func mergeEnv(base, add []string) []string {
	out := append([]string(nil), base...)
	index := make(map[string]int, len(out))
	for i, kv := range out {
		index[envName(kv)] = i
	}
	for _, kv := range add {
		name := envName(kv)
		if i, ok := index[name]; ok {
			out[i] = kv
			continue
		}
		index[name] = len(out)
		out = append(out, kv)
	}
	return out
}

func envName(kv string) string {
	name, _, _ := strings.Cut(kv, "=")
	return name
}

// ExpandVars expands $(VAR) references in s as Kubernetes does for command, args and env
// values (see package expansion).
func ExpandVars(s string, lookup func(string) (string, bool)) string {
	return expansion.Expand(s, lookup)
}

// WithWorkingDir sets the cwd: container.workingDir, else the image's WorkingDir, else "/".
func WithWorkingDir(s *specs.Spec, in *SpecInput) error {
	switch {
	case in.Config.Container.WorkingDir != "":
		s.Process.Cwd = in.Config.Container.WorkingDir
	case imageConfig(in).WorkingDir != "":
		s.Process.Cwd = imageConfig(in).WorkingDir
	default:
		s.Process.Cwd = "/"
	}
	// runc requires an absolute cwd; docker resolves a relative WorkingDir against "/".
	s.Process.Cwd = path.Join("/", s.Process.Cwd)
	return nil
}
