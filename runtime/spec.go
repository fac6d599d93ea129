package runtime

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/cri"
)

// SpecInput is everything BuildContainerSpec reads. All of it is data: the options below do no
// I/O except reading the image's /etc/passwd and /etc/group under Rootfs (and a Localhost
// seccomp profile under SeccompProfileRoot).
type SpecInput struct {
	Config      *cri.ContainerConfig
	Sandbox     *cri.SandboxStatus
	Rootfs      string // absolute path of the mounted container rootfs
	CgroupsPath string // e.g. "/podrun/pod<uid>/<containerID>"
	// OOMScoreAdjMin is the daemon's own oom_score_adj: the container's value is clamped to be
	// >= it (this host withholds CAP_SYS_RESOURCE, so nothing may go lower).
	OOMScoreAdjMin int
	SeccompDefault bool // daemon --seccomp-default: RuntimeDefault when no profile is named
	// AllowedUnsafeSysctls are patterns like "net.core.*" (the kubelet's --allowed-unsafe-sysctls),
	// used by ValidateSysctls.
	AllowedUnsafeSysctls []string

	// SeccompProfileRoot is the directory Localhost seccomp profiles are read from (the
	// kubelet's <root-dir>/seccomp). "" = Localhost profiles are refused.
	SeccompProfileRoot string
	// MemoryCapacity is the node's memory in bytes, for the Burstable oom_score_adj. 0 = unknown:
	// Burstable containers then get 999 (the least protected Burstable value).
	MemoryCapacity int64
	// PidsLimit is the pids cgroup limit of the container (the kubelet's --pod-max-pids);
	// 0 = no limit set.
	PidsLimit int64
	// HostCapabilities, when not nil, limits every capability set to these names (the daemon's
	// own bounding set): runc cannot grant a capability the daemon lacks, so a privileged or
	// "ALL" container would otherwise fail to start. nil = AllCapabilities.
	HostCapabilities []string
	// AppArmorEnabled and SELinuxEnabled say whether the host has these modules: their
	// profiles are applied only then (WithMACProfiles).
	AppArmorEnabled bool
	SELinuxEnabled  bool
	// NodeHostname is the host's hostname: a hostNetwork container's HOSTNAME (it shares the
	// host's UTS namespace). "" = Sandbox.Hostname.
	NodeHostname string
}

// SpecOpt changes one concern of a container spec. Options are applied in order by
// BuildContainerSpec; each can be used alone on a spec from newBaseSpec (tests do).
type SpecOpt func(*specs.Spec, *SpecInput) error

// ConfigError is returned for a container that must not be created (the kubelet's
// CreateContainerConfigError), e.g. runAsNonRoot violated; its Error() is the kubelet's message.
type ConfigError struct{ Reason, Message string }

func (e *ConfigError) Error() string { return e.Message }

// ConfigReason is the container's waiting reason; the pod manager finds it with errors.As on
// an interface of this method (pod/worker.go configReasoner).
func (e *ConfigError) ConfigReason() string { return e.Reason }

// Waiting reasons of a ConfigError: the kubelet's own checks (runAsNonRoot) give
// CreateContainerConfigError; what a real runtime refuses at create (an image user that its
// passwd lacks) gives CreateContainerError, as a cluster on containerd shows it.
const (
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
)

func configError(format string, args ...any) error {
	return &ConfigError{Reason: ReasonCreateContainerConfigError, Message: fmt.Sprintf(format, args...)}
}

// PrivilegedAnnotation marks the spec of a privileged container: the lifecycle code reads it to
// add the host's devices (a spec option must not read /dev).
const PrivilegedAnnotation = "podrun.io/privileged"

// Annotations the kubelet/containerd put on every container, read by tools like crictl.
const (
	AnnotationPodName       = "io.kubernetes.pod.name"
	AnnotationPodNamespace  = "io.kubernetes.pod.namespace"
	AnnotationPodUID        = "io.kubernetes.pod.uid"
	AnnotationContainerName = "io.kubernetes.container.name"
	AnnotationSandboxID     = "io.kubernetes.cri.sandbox-id"
)

// ContainerSpecOpts is the ordered list of options BuildContainerSpec applies. The order
// matters where one concern reads another: args are expanded with the final env, the seccomp
// profile depends on the bounding capabilities, noNewPrivileges on privileged and added caps.
var ContainerSpecOpts = []SpecOpt{
	WithEnv,
	WithProcessArgs,
	WithWorkingDir,
	WithTerminal,
	WithUser,
	WithNamespaces,
	WithMounts,
	WithCapabilities,
	WithPrivileged,
	WithNoNewPrivileges,
	WithReadonlyRootfs,
	WithMaskedPaths,
	WithSeccomp,
	WithMACProfiles,
	WithResources,
	WithOOMScoreAdj,
	WithCgroupsPath,
	WithAnnotations,
}

// BuildContainerSpec makes the OCI spec of one container of a pod, composing
// ContainerSpecOpts in order on a base spec.
func BuildContainerSpec(in *SpecInput) (*specs.Spec, error) {
	if err := checkInput(in); err != nil {
		return nil, err
	}
	s := newBaseSpec(in)
	for _, opt := range ContainerSpecOpts {
		if err := opt(s, in); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				return nil, err // the kubelet's message stands alone
			}
			return nil, fmt.Errorf("spec of container %s: %w", in.Config.Container.Name, err)
		}
	}
	return s, nil
}

func checkInput(in *SpecInput) error {
	switch {
	case in == nil || in.Config == nil:
		return errors.New("spec input: no container config")
	case in.Config.Pod == nil || in.Config.Container == nil:
		return errors.New("spec input: container config without pod or container")
	case in.Sandbox == nil:
		return errors.New("spec input: no sandbox")
	case in.Rootfs == "":
		return errors.New("spec input: no rootfs")
	}
	return nil
}

// newBaseSpec is the spec every option starts from: root, an empty process, deny-all devices
// (runc adds its default /dev/null… nodes and rules on top).
func newBaseSpec(in *SpecInput) *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: in.Rootfs},
		Process: &specs.Process{
			Cwd:          "/",
			Capabilities: &specs.LinuxCapabilities{},
		},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
		},
		Annotations: map[string]string{},
	}
}

// imageConfig is the image config of the container, empty when the image is unknown.
func imageConfig(in *SpecInput) cri.ImageConfig {
	if in.Config.Image == nil {
		return cri.ImageConfig{}
	}
	return in.Config.Image.Config
}

// containerSC is the container's securityContext, never nil.
func containerSC(in *SpecInput) *v1.SecurityContext {
	if sc := in.Config.Container.SecurityContext; sc != nil {
		return sc
	}
	return &v1.SecurityContext{}
}

// podSC is the pod's securityContext, never nil.
func podSC(in *SpecInput) *v1.PodSecurityContext {
	if sc := in.Config.Pod.Spec.SecurityContext; sc != nil {
		return sc
	}
	return &v1.PodSecurityContext{}
}

func isPrivileged(in *SpecInput) bool {
	p := containerSC(in).Privileged
	return p != nil && *p
}

// formatPod is the kubelet's format.Pod: "name_namespace(uid)".
func formatPod(p *v1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", p.Name, p.Namespace, p.UID)
}

// WithTerminal gives the process a TTY when the container asks for one.
func WithTerminal(s *specs.Spec, in *SpecInput) error {
	s.Process.Terminal = in.Config.Container.TTY
	return nil
}

// WithCgroupsPath places the container in its cgroup below the pod's.
func WithCgroupsPath(s *specs.Spec, in *SpecInput) error {
	s.Linux.CgroupsPath = in.CgroupsPath
	return nil
}

// WithAnnotations adds the kubelet's identifying annotations.
func WithAnnotations(s *specs.Spec, in *SpecInput) error {
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	pod := in.Config.Pod
	s.Annotations[AnnotationPodName] = pod.Name
	s.Annotations[AnnotationPodNamespace] = pod.Namespace
	s.Annotations[AnnotationPodUID] = string(pod.UID)
	s.Annotations[AnnotationContainerName] = in.Config.Container.Name
	if in.Sandbox.ID != "" {
		s.Annotations[AnnotationSandboxID] = in.Sandbox.ID
	}
	return nil
}
