package pod

import (
	"context"
	"errors"
	"log/slog"

	"github.com/podrun/podrun/cri"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
)

// Config wires a Manager to the layers below it.
type Config struct {
	// Root is the daemon's --root (default /var/lib/podrun); pods persist under Root/pods/<uid>/.
	Root string
	// LogDir is the root of the CRI log files (default /var/log/pods).
	LogDir string
	// NodeName is spec.nodeName of every pod (the host's name); HostIP is status.hostIP.
	NodeName string
	HostIP   string
	Runtime  cri.RuntimeService
	Images   cri.ImageService
	Logger   *slog.Logger
}

// DeleteOptions mirror metav1.DeleteOptions for one pod.
type DeleteOptions struct {
	// GracePeriodSeconds overrides spec.terminationGracePeriodSeconds when set.
	GracePeriodSeconds *int64
	// Force skips the grace period (SIGKILL at once), as `kubectl delete --force --grace-period=0`.
	Force bool
}

// LogOptions mirror v1.PodLogOptions.
type LogOptions struct {
	Container  string
	Follow     bool
	Previous   bool
	Timestamps bool
	TailLines  *int64
}

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

var errUnimplemented = errors.New("unimplemented")

// Manager is the pod manager: the kubelet's job for the pods of this host.
type Manager struct {
	cfg Config
}

// NewManager returns a Manager; call Start to re-adopt persisted pods and run workers.
func NewManager(cfg Config) (*Manager, error) { return &Manager{cfg: cfg}, nil }

// Start loads the pods persisted under Root, re-adopts their sandboxes and starts one worker
// per pod. It returns once every pod is loaded.
func (m *Manager) Start(ctx context.Context) error { return errUnimplemented }

// Shutdown stops the workers without touching the pods (daemon exit): pods keep running.
func (m *Manager) Shutdown() {}

// Create defaults, validates and persists the pod, then starts its worker. Errors are
// *apierrors.StatusError (Invalid with field paths, AlreadyExists).
func (m *Manager) Create(ctx context.Context, p *v1.Pod) (*v1.Pod, error) {
	return nil, errUnimplemented
}

// Get returns a copy of a pod with its current status, or a NotFound StatusError.
func (m *Manager) Get(namespace, name string) (*v1.Pod, error) { return nil, errUnimplemented }

// List returns copies of the pods in namespace ("" = every namespace) matching sel, by name.
func (m *Manager) List(namespace string, sel labels.Selector) []*v1.Pod { return nil }

// Delete starts the graceful termination of a pod (deletionTimestamp set, STATUS Terminating)
// and returns the pod at once; the pod disappears when everything it made is gone.
func (m *Manager) Delete(ctx context.Context, namespace, name string, opts DeleteOptions) (*v1.Pod, error) {
	return nil, errUnimplemented
}

// Events returns the events of one pod, oldest first.
func (m *Manager) Events(namespace, name string) ([]v1.Event, error) { return nil, errUnimplemented }

// Watch streams ADDED/MODIFIED/DELETED events of the pods in namespace matching sel until ctx ends.
func (m *Manager) Watch(ctx context.Context, namespace string, sel labels.Selector) (<-chan watch.Event, error) {
	return nil, errUnimplemented
}

// LogPath returns the CRI log file of a container (the previous attempt's with previous).
func (m *Manager) LogPath(namespace, name string, opts LogOptions) (string, error) {
	return "", errUnimplemented
}

// Exec runs a process in a running container of the pod and returns its exit code.
func (m *Manager) Exec(ctx context.Context, namespace, name, container string, req *cri.ExecRequest) (int, error) {
	return 0, errUnimplemented
}

// Inspect returns the runtime view of a pod: sandbox pid, pinned namespaces, containers.
func (m *Manager) Inspect(ctx context.Context, namespace, name string) (*Inspect, error) {
	return nil, errUnimplemented
}
