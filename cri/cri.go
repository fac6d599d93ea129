// Package cri is the seam between the pod manager (package pod, the kubelet's job) and the
// layers that make containers (runtime, sandbox, images). Its shape follows the Kubernetes
// CRI RuntimeService and ImageService (k8s.io/cri-api): RunPodSandbox, CreateContainer,
// StartContainer, StopContainer, ExecSync, ContainerStatus, ImageStatus… so that pod is tested
// against a fake and the same implementation can later be served over gRPC to crictl or a
// kubelet.
//
// It holds only types and interfaces: no I/O, no libcontainer, no netlink.
package cri

import (
	"context"
	"errors"
	"io"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/cri/sandboxstate"
)

// Sentinel errors, checked with errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrImageNotFound = errors.New("image not found")
	ErrNotRunning    = errors.New("container is not running")
)

// SandboxConfig is what RunPodSandbox needs to build the pause container of one pod.
type SandboxConfig struct {
	// Pod is the defaulted pod. The sandbox reads metadata (name, namespace, uid), hostname,
	// subdomain, hostNetwork/hostIPC/hostPID, shareProcessNamespace and securityContext.sysctls.
	Pod *v1.Pod
	// LogDirectory is /var/log/pods/<namespace>_<name>_<uid>; containers log below it.
	LogDirectory string
}

// SandboxState is the CRI PodSandboxState; SandboxStatus describes a running (or stopped)
// pause sandbox. Both live in package sandboxstate, which the monitor (a small binary of its
// own) imports without this package's Kubernetes types.
type (
	SandboxState  = sandboxstate.State
	SandboxStatus = sandboxstate.Status
)

const (
	SandboxReady    = sandboxstate.Ready
	SandboxNotReady = sandboxstate.NotReady
)

// Mount is one volume mount resolved by the pod manager to a host path.
type Mount struct {
	HostPath      string `json:"hostPath"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly,omitempty"`
	// Propagation is "", "rprivate", "rslave" or "rshared" (from mountPropagation).
	Propagation string `json:"propagation,omitempty"`
}

// ContainerConfig is what CreateContainer needs.
type ContainerConfig struct {
	// Pod and Container are the defaulted Kubernetes objects. The runtime reads from Container:
	// command, args, env (only literal values: pod resolves valueFrom into Env below), workingDir,
	// securityContext, resources, tty, stdin, lifecycle.stopSignal; from Pod the pod-level
	// securityContext and the namespace sharing flags.
	Pod       *v1.Pod
	Container *v1.Container
	// Attempt is the restart count of this container (0 for the first run); logs go to
	// <LogDirectory>/<container name>/<Attempt>.log.
	Attempt int
	// Image is the resolved image (ID, config). The runtime mounts its layers as the rootfs.
	Image *Image
	// Env is the container's environment after the pod manager resolved it (valueFrom etc.),
	// in Kubernetes order; the runtime prepends the image's Env (Kubernetes overrides by name).
	Env []v1.EnvVar
	// Mounts are the resolved volumeMounts.
	Mounts []Mount
	// LogPath is the absolute CRI log file path.
	LogPath string
	// TerminationMessageHostPath is a host file, made by the pod manager, that the runtime
	// bind-mounts at Container.TerminationMessagePath ("" = none).
	TerminationMessageHostPath string
}

// ContainerState is the CRI ContainerState.
type ContainerState string

const (
	ContainerCreated ContainerState = "CONTAINER_CREATED"
	ContainerRunning ContainerState = "CONTAINER_RUNNING"
	ContainerExited  ContainerState = "CONTAINER_EXITED"
	ContainerUnknown ContainerState = "CONTAINER_UNKNOWN"
)

// ContainerStatus is the CRI ContainerStatus plus what `podrun inspect` shows.
type ContainerStatus struct {
	ID         string         `json:"id"`
	SandboxID  string         `json:"sandboxID"`
	Name       string         `json:"name"`
	Attempt    int            `json:"attempt"`
	State      ContainerState `json:"state"`
	Pid        int            `json:"pid,omitempty"`
	CreatedAt  time.Time      `json:"createdAt"`
	StartedAt  time.Time      `json:"startedAt,omitempty"`
	FinishedAt time.Time      `json:"finishedAt,omitempty"`
	ExitCode   int            `json:"exitCode"`
	// Signal is the signal number that ended the process (0 when it exited). ExitCode is then
	// 128+Signal, as a shell and the kubelet report it.
	Signal int `json:"signal,omitempty"`
	// Reason is "Completed", "Error", "OOMKilled" or "" while not exited.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	ImageID string `json:"imageID"`
	Image   string `json:"image"`
	LogPath string `json:"logPath"`
	Cgroup  string `json:"cgroup"` // absolute cgroup path (v2) or the path below each v1 hierarchy
	Rootfs  string `json:"rootfs"`
}

// ExecResult is the outcome of ExecSync.
type ExecResult struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// TerminalSize is a TTY window size.
type TerminalSize struct {
	Width  uint16
	Height uint16
}

// ExecRequest is one streaming exec (podrun exec, probes, hooks).
type ExecRequest struct {
	Cmd    []string
	TTY    bool
	Stdin  io.Reader // nil: no stdin
	Stdout io.Writer // with TTY, stdout and stderr are one stream written to Stdout
	Stderr io.Writer
	Resize <-chan TerminalSize // may be nil
}

// RuntimeService makes pod sandboxes and containers. Every method is safe for concurrent use.
type RuntimeService interface {
	// RunPodSandbox starts the pod's monitor and pause container and pins its namespaces.
	RunPodSandbox(ctx context.Context, cfg *SandboxConfig) (*SandboxStatus, error)
	// StopPodSandbox kills every container of the sandbox and the pause; idempotent.
	StopPodSandbox(ctx context.Context, id string) error
	// RemovePodSandbox removes everything the sandbox made (namespaces, cgroups, state, monitor);
	// idempotent: removing a removed sandbox is not an error.
	RemovePodSandbox(ctx context.Context, id string) error
	PodSandboxStatus(ctx context.Context, id string) (*SandboxStatus, error)
	// ListPodSandboxes returns every sandbox the runtime knows (used to re-adopt after a
	// daemon restart and to find leftovers).
	ListPodSandboxes(ctx context.Context) ([]*SandboxStatus, error)

	// CreateContainer prepares the rootfs and the container (libcontainer "created" state).
	CreateContainer(ctx context.Context, sandboxID string, cfg *ContainerConfig) (string, error)
	// StartContainer runs the created container's process.
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends the stop signal (image STOPSIGNAL / lifecycle.stopSignal, default
	// SIGTERM), waits up to timeout, then SIGKILL; returns when the process is gone.
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	// RemoveContainer destroys the container, unmounts and removes its rootfs; idempotent.
	RemoveContainer(ctx context.Context, id string) error
	ContainerStatus(ctx context.Context, id string) (*ContainerStatus, error)
	// ListContainers returns the containers of one sandbox ("" = all).
	ListContainers(ctx context.Context, sandboxID string) ([]*ContainerStatus, error)
	// WaitContainer blocks until the container has exited (or ctx ends) and returns its final
	// status. It works for containers that exited while nobody was waiting, and after a
	// daemon restart (the monitor wrote the exit record).
	WaitContainer(ctx context.Context, id string) (*ContainerStatus, error)

	// ExecSync runs cmd in the container and collects its output; the process is killed at
	// timeout (0 = no timeout) and then ExitCode is -1 and the error wraps context.DeadlineExceeded.
	ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*ExecResult, error)
	// Exec runs a streaming process in the container and returns its exit code.
	Exec(ctx context.Context, id string, req *ExecRequest) (int, error)
}

// ImageConfig is the part of an OCI image config that running a container needs.
type ImageConfig struct {
	User       string            `json:"User,omitempty"`
	Env        []string          `json:"Env,omitempty"`
	Entrypoint []string          `json:"Entrypoint,omitempty"`
	Cmd        []string          `json:"Cmd,omitempty"`
	WorkingDir string            `json:"WorkingDir,omitempty"`
	StopSignal string            `json:"StopSignal,omitempty"`
	Labels     map[string]string `json:"Labels,omitempty"`
}

// Image is one image in the local store.
type Image struct {
	// ID is the digest of the image config ("sha256:…"), as docker and the CRI report it.
	ID string `json:"id"`
	// RepoTags are normalised references ("docker.io/library/busybox:latest").
	RepoTags []string `json:"repoTags"`
	// RepoDigests are "<repository>@sha256:<manifest digest>".
	RepoDigests []string `json:"repoDigests,omitempty"`
	// Size is the sum of the compressed layer sizes.
	Size int64 `json:"size"`
	// Layers are the diff IDs, lowest first.
	Layers  []string    `json:"layers"`
	Config  ImageConfig `json:"config"`
	Created time.Time   `json:"created,omitempty"`
}

// ImageService is the image half of the CRI.
type ImageService interface {
	// ImageStatus resolves a reference (normalised as docker does: "busybox" →
	// "docker.io/library/busybox:latest"; "sha256:…" and ID prefixes also work). It returns an
	// error wrapping ErrImageNotFound when the store does not have it.
	ImageStatus(ctx context.Context, ref string) (*Image, error)
	// PullImage fetches ref from its registry.
	PullImage(ctx context.Context, ref string) (*Image, error)
	ListImages(ctx context.Context) ([]*Image, error)
	RemoveImage(ctx context.Context, ref string) error
}
