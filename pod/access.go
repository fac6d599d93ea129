package pod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/podrun/podrun/cri"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Inspect is what `podrun inspect pod` prints.
type Inspect struct {
	Sandbox    InspectSandbox     `json:"sandbox"`
	Containers []InspectContainer `json:"containers"`
}

// InspectSandbox describes the pause sandbox of a pod.
type InspectSandbox struct {
	ID         string            `json:"id"`
	Pid        int               `json:"pid"`
	Namespaces map[string]string `json:"namespaces"`
}

// InspectContainer describes one container of a pod (init containers included).
type InspectContainer struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Pid     int    `json:"pid"`
	Cgroup  string `json:"cgroup"`
	Rootfs  string `json:"rootfs"`
	LogPath string `json:"logPath"`
}

// LogPath returns the CRI log file of a container (the previous attempt's with previous).
func (m *Manager) LogPath(namespace, name string, opts LogOptions) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookupLocked(namespace, name)
	if err != nil {
		return "", err
	}
	p := e.pod
	cname, err := pickContainer(p, opts.Container)
	if err != nil {
		return "", err
	}
	st, ok := findStatus(p.Status.ContainerStatuses, cname)
	if !ok {
		st, ok = findStatus(p.Status.InitContainerStatuses, cname)
	}
	if opts.Previous {
		if !ok || st.LastTerminationState.Terminated == nil {
			return "", apierrors.NewBadRequest(fmt.Sprintf("previous terminated container %q in pod %q not found", cname, p.Name))
		}
		return m.containerLogPath(p, cname, int(st.RestartCount)-1), nil
	}
	if !ok || st.ContainerID == "" {
		reason := reasonContainerCreating
		if ok && st.State.Waiting != nil && st.State.Waiting.Reason != "" {
			reason = st.State.Waiting.Reason
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: %s", cname, p.Name, reason))
	}
	return m.containerLogPath(p, cname, int(st.RestartCount)), nil
}

// pickContainer resolves the container a log/exec request is about, with the API server's
// messages when it is ambiguous or unknown.
func pickContainer(p *v1.Pod, name string) (string, error) {
	all := make([]string, 0, len(p.Spec.Containers)+len(p.Spec.InitContainers))
	for _, c := range p.Spec.Containers {
		all = append(all, c.Name)
	}
	var inits []string
	for _, c := range p.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	if name == "" {
		if len(p.Spec.Containers) == 1 {
			return p.Spec.Containers[0].Name, nil
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", p.Name, strings.Join(all, " "))
		if len(inits) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: [%s]", strings.Join(inits, " "))
		}
		return "", apierrors.NewBadRequest(msg)
	}
	for _, n := range append(all, inits...) {
		if n == name {
			return n, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, p.Name))
}

// runningContainerID returns the runtime ID of a running container of the pod.
func (m *Manager) runningContainerID(namespace, name, container string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookupLocked(namespace, name)
	if err != nil {
		return "", err
	}
	p := e.pod
	if isTerminal(p.Status.Phase) {
		return "", apierrors.NewBadRequest(fmt.Sprintf("cannot exec into a container in a completed pod; current phase is %s", p.Status.Phase))
	}
	cname, err := pickContainer(p, container)
	if err != nil {
		return "", err
	}
	st, ok := findStatus(p.Status.ContainerStatuses, cname)
	if !ok {
		st, ok = findStatus(p.Status.InitContainerStatuses, cname)
	}
	if !ok || st.State.Running == nil || st.ContainerID == "" {
		return "", apierrors.NewBadRequest(fmt.Sprintf("unable to upgrade connection: container not found (%q)", cname))
	}
	return strings.TrimPrefix(st.ContainerID, containerIDPrefix), nil
}

// Exec runs a process in a running container of the pod and returns its exit code.
func (m *Manager) Exec(ctx context.Context, namespace, name, container string, req *cri.ExecRequest) (int, error) {
	id, err := m.runningContainerID(namespace, name, container)
	if err != nil {
		return -1, err
	}
	code, err := m.cfg.Runtime.Exec(ctx, id, req)
	if err != nil {
		if errors.Is(err, cri.ErrNotFound) || errors.Is(err, cri.ErrNotRunning) {
			return -1, apierrors.NewBadRequest(fmt.Sprintf("unable to upgrade connection: container not found (%q)", container))
		}
		return code, fmt.Errorf("exec in %s/%s: %w", namespace, name, err)
	}
	return code, nil
}

// Inspect returns the runtime view of a pod: sandbox pid, pinned namespaces, containers.
func (m *Manager) Inspect(ctx context.Context, namespace, name string) (*Inspect, error) {
	m.mu.Lock()
	e, err := m.lookupLocked(namespace, name)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	p := e.pod.DeepCopy()
	sandboxID := e.rt.SandboxID
	m.mu.Unlock()

	out := &Inspect{Containers: []InspectContainer{}}
	if sandboxID != "" {
		out.Sandbox.ID = sandboxID
		sb, err := m.cfg.Runtime.PodSandboxStatus(ctx, sandboxID)
		// A pause still being made (its pod's first container may be made meanwhile) has
		// no pid yet: it is a matter of milliseconds.
		for deadline := time.Now().Add(2 * time.Second); err == nil && sb.Starting && time.Now().Before(deadline) && ctx.Err() == nil; {
			time.Sleep(2 * time.Millisecond)
			sb, err = m.cfg.Runtime.PodSandboxStatus(ctx, sandboxID)
		}
		if err == nil {
			out.Sandbox.Pid = sb.Pid
			out.Sandbox.Namespaces = sb.Namespaces
		}
	}
	add := func(statuses []v1.ContainerStatus) {
		for _, st := range statuses {
			if st.ContainerID == "" {
				continue
			}
			ic := InspectContainer{
				Name:    st.Name,
				ID:      strings.TrimPrefix(st.ContainerID, containerIDPrefix),
				LogPath: m.containerLogPath(p, st.Name, int(st.RestartCount)),
			}
			if cs, err := m.cfg.Runtime.ContainerStatus(ctx, ic.ID); err == nil {
				ic.Pid, ic.Cgroup, ic.Rootfs = cs.Pid, cs.Cgroup, cs.Rootfs
				if cs.LogPath != "" {
					ic.LogPath = cs.LogPath
				}
			}
			out.Containers = append(out.Containers, ic)
		}
	}
	add(p.Status.InitContainerStatuses)
	add(p.Status.ContainerStatuses)
	return out, nil
}
