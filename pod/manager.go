package pod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podrun/podrun/cri"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
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

	// BackoffBase and BackoffMax bound the restart back-off of crashed containers, failed
	// image pulls and failed sandbox creations: the kubelet's 10s doubling to 300s when zero.
	// Daemon flags, so that tests run fast.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// LocalFallbackOnPullError runs a container from the local store when pulling its image
	// fails (imagePullPolicy Always, e.g. an untagged or :latest image, with no registry
	// reachable) instead of reporting ErrImagePull as the kubelet would. Warning event
	// "Failed to pull image …" is still recorded.
	LocalFallbackOnPullError bool
	// Hooks runs postStart/preStop handlers; nil = lifecycle hooks are ignored.
	Hooks ContainerHooks
	// Prober runs startup/liveness/readiness probes; nil = probes are not run and a container
	// counts as started and ready as soon as it runs.
	Prober Prober
	// Now is the clock (tests); nil = time.Now.
	Now func() time.Time
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

var podsResource = schema.GroupResource{Resource: "pods"}

// podEntry is one pod known to the manager. pod, events and rt are guarded by Manager.mu.
type podEntry struct {
	pod    *v1.Pod
	events []v1.Event
	rt     runtimeRecord
	w      *worker

	// sandboxReady feeds PodReadyToStartContainers; sandboxLost makes the phase Unknown.
	sandboxReady bool
	sandboxLost  bool
	removed      bool // gone from the maps: no more updates
	eventSeq     uint64

	// Status and event writes are handed to the pod's saver goroutine (latest wins), so
	// that no fsync sits in the path of starting a container. Guarded by Manager.mu.
	pendingPod    *v1.Pod
	pendingRV     uint64
	pendingEvents []v1.Event
	pendingSeq    uint64
	kick          chan struct{} // wakes the saver; buffered 1
	gone          chan struct{} // closed when the pod is removed

	saveMu        sync.Mutex // serialises the disk writes of this pod
	savedRV       uint64
	savedEventSeq uint64
	removedOnDisk bool
}

func newEntry(p *v1.Pod) *podEntry {
	return &podEntry{pod: p, kick: make(chan struct{}, 1), gone: make(chan struct{})}
}

type watcher struct {
	ns  string
	sel labels.Selector
	ch  chan watch.Event
}

// Manager is the pod manager: the kubelet's job for the pods of this host.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	pods     map[types.UID]*podEntry
	names    map[string]types.UID // "namespace/name"
	rv       uint64
	watchers map[*watcher]struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewManager returns a Manager; call Start to re-adopt persisted pods and run workers.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Root == "" || cfg.LogDir == "" {
		return nil, errors.New("pod manager: Root and LogDir are required")
	}
	if cfg.Runtime == nil || cfg.Images == nil {
		return nil, errors.New("pod manager: Runtime and Images are required")
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 10 * time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 300 * time.Second
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NodeName == "" {
		cfg.NodeName, _ = os.Hostname()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		cfg:      cfg,
		log:      cfg.Logger,
		pods:     map[types.UID]*podEntry{},
		names:    map[string]types.UID{},
		watchers: map[*watcher]struct{}{},
		ctx:      ctx,
		cancel:   cancel,
	}, nil
}

func (m *Manager) now() time.Time { return m.cfg.Now() }

// Start loads the pods persisted under Root, re-adopts their sandboxes and starts one worker
// per pod. It returns once every pod is loaded.
func (m *Manager) Start(ctx context.Context) error {
	if err := os.MkdirAll(m.podsDir(), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", m.podsDir(), err)
	}
	loaded, broken, err := m.loadPods()
	if err != nil {
		return err
	}
	for _, dir := range broken {
		// A pod directory without pod.json is a Create that died before persisting: it
		// never was visible to anyone.
		m.log.Warn("removing incomplete pod directory", "dir", dir)
		unmountUnder(dir)
		_ = os.RemoveAll(dir)
	}
	m.mu.Lock()
	var entries []*podEntry
	for _, lp := range loaded {
		if rv, err := strconv.ParseUint(lp.pod.ResourceVersion, 10, 64); err == nil && rv > m.rv {
			m.rv = rv
		}
		e := newEntry(lp.pod)
		e.events, e.rt = lp.events, lp.rt
		e.w = newWorker(m, e, true)
		key := lp.pod.Namespace + "/" + lp.pod.Name
		if _, dup := m.names[key]; dup {
			m.log.Error("two persisted pods with one name; ignoring one", "pod", key, "uid", lp.pod.UID)
			continue
		}
		m.pods[lp.pod.UID] = e
		m.names[key] = lp.pod.UID
		entries = append(entries, e)
	}
	m.mu.Unlock()
	for _, e := range entries {
		m.runWorker(e.w)
	}
	return nil
}

// Shutdown stops the workers without touching the pods (daemon exit): pods keep running.
func (m *Manager) Shutdown() {
	m.cancel()
	m.wg.Wait()
	m.mu.Lock()
	for w := range m.watchers {
		close(w.ch)
		delete(m.watchers, w)
	}
	m.mu.Unlock()
}

// Create defaults, validates and persists the pod, then starts its worker. Errors are
// *apierrors.StatusError (Invalid with field paths, AlreadyExists).
func (m *Manager) Create(ctx context.Context, in *v1.Pod) (*v1.Pod, error) {
	if in == nil {
		return nil, apierrors.NewBadRequest("no pod given")
	}
	p := in.DeepCopy()
	if p.ResourceVersion != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	now := m.now()
	setDefaults(p, newUID(), now, m.cfg.NodeName)
	if errs := validatePod(p); len(errs) > 0 {
		return nil, invalid(p.Name, errs)
	}
	if errs := m.checkNeverPull(ctx, p); len(errs) > 0 {
		return nil, invalid(p.Name, errs)
	}
	p.Status = v1.PodStatus{
		Phase:      v1.PodPending,
		QOSClass:   podQOS(&p.Spec),
		Conditions: []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Truncate(time.Second))}},
	}

	key := p.Namespace + "/" + p.Name
	m.mu.Lock()
	if _, ok := m.names[key]; ok {
		m.mu.Unlock()
		return nil, apierrors.NewAlreadyExists(podsResource, p.Name)
	}
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		return nil, apierrors.NewServiceUnavailable("the pod manager is shutting down")
	}
	// Reserve the name while the pod is written to disk.
	m.names[key] = p.UID
	m.rv++
	p.ResourceVersion = strconv.FormatUint(m.rv, 10)
	rv := m.rv
	m.mu.Unlock()

	e := newEntry(p)
	e.events = addEvent(nil, p, m.cfg.NodeName, eventRef{component: componentScheduler}, v1.EventTypeNormal, evScheduled,
		fmt.Sprintf(msgScheduled, p.Namespace, p.Name, p.Spec.NodeName), now)
	e.eventSeq = 1
	if err := m.persistNew(e, rv); err != nil {
		m.mu.Lock()
		delete(m.names, key)
		m.mu.Unlock()
		_ = os.RemoveAll(m.podDir(p.UID))
		return nil, apierrors.NewInternalError(fmt.Errorf("persist pod %s: %w", key, err))
	}
	// The worker exists before the pod is visible, so that a Delete can always reach it.
	e.w = newWorker(m, e, false)
	m.mu.Lock()
	m.pods[p.UID] = e
	out := p.DeepCopy()
	m.notifyLocked(watch.Added, out)
	m.mu.Unlock()
	m.runWorker(e.w)
	return out.DeepCopy(), nil
}

func (m *Manager) persistNew(e *podEntry, rv uint64) error {
	dir := m.podDir(e.pod.UID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writeJSON(dir+"/"+eventsFile, e.events); err != nil {
		return err
	}
	// pod.json last: its presence is what makes the directory a pod on the next Start.
	if err := writeJSON(dir+"/"+podFile, e.pod); err != nil {
		return err
	}
	e.savedRV = rv
	e.savedEventSeq = e.eventSeq
	return nil
}

// checkNeverPull rejects a pod whose image is absent while its pull policy forbids pulling:
// it could never start, and nothing should be created for it.
func (m *Manager) checkNeverPull(ctx context.Context, p *v1.Pod) field.ErrorList {
	var errs field.ErrorList
	check := func(cs []v1.Container, fp *field.Path) {
		for i, c := range cs {
			if c.ImagePullPolicy != v1.PullNever {
				continue
			}
			if _, err := m.cfg.Images.ImageStatus(ctx, c.Image); err != nil {
				errs = append(errs, field.Invalid(fp.Index(i).Child("image"), c.Image,
					fmt.Sprintf("image %q not present with pull policy of Never", c.Image)))
			}
		}
	}
	check(p.Spec.InitContainers, field.NewPath("spec", "initContainers"))
	check(p.Spec.Containers, field.NewPath("spec", "containers"))
	return errs
}

func (m *Manager) runWorker(w *worker) {
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		m.saver(w.e)
	}()
	go func() {
		defer m.wg.Done()
		w.run(m.ctx)
	}()
}

func (m *Manager) lookupLocked(namespace, name string) (*podEntry, error) {
	if namespace == "" {
		namespace = defaultNamespace
	}
	uid, ok := m.names[namespace+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(podsResource, name)
	}
	e, ok := m.pods[uid]
	if !ok {
		// Name reserved by a Create still writing to disk.
		return nil, apierrors.NewNotFound(podsResource, name)
	}
	return e, nil
}

// Get returns a copy of a pod with its current status, or a NotFound StatusError.
func (m *Manager) Get(namespace, name string) (*v1.Pod, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookupLocked(namespace, name)
	if err != nil {
		return nil, err
	}
	return e.pod.DeepCopy(), nil
}

// List returns copies of the pods in namespace ("" = every namespace) matching sel, sorted
// by namespace then name.
func (m *Manager) List(namespace string, sel labels.Selector) []*v1.Pod {
	m.mu.Lock()
	var out []*v1.Pod
	for _, e := range m.pods {
		if matches(e.pod, namespace, sel) {
			out = append(out, e.pod.DeepCopy())
		}
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func matches(p *v1.Pod, namespace string, sel labels.Selector) bool {
	if namespace != "" && p.Namespace != namespace {
		return false
	}
	return sel == nil || sel.Matches(labels.Set(p.Labels))
}

// Delete starts the graceful termination of a pod (deletionTimestamp set, STATUS Terminating)
// and returns the pod at once; the pod disappears when everything it made is gone.
func (m *Manager) Delete(ctx context.Context, namespace, name string, opts DeleteOptions) (*v1.Pod, error) {
	m.mu.Lock()
	e, err := m.lookupLocked(namespace, name)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	grace := int64(defaultGracePeriodSeconds)
	if g := e.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if opts.Force || grace < 0 {
		grace = 0
	}
	w := e.w
	if e.pod.DeletionTimestamp != nil {
		// Already terminating: a shorter grace period (or --force) takes over, a longer one
		// is ignored, as the API server does.
		if cur := e.pod.DeletionGracePeriodSeconds; cur != nil && grace < *cur {
			e.pod.DeletionGracePeriodSeconds = &grace
			m.bumpLocked(e)
			if w != nil {
				w.shorten(grace)
			}
		}
		out := e.pod.DeepCopy()
		m.mu.Unlock()
		m.savePod(e, out, mustRV(out))
		return out, nil
	}
	ts := metav1.NewTime(m.now().Truncate(time.Second))
	e.pod.DeletionTimestamp = &ts
	e.pod.DeletionGracePeriodSeconds = &grace
	m.bumpLocked(e)
	out := e.pod.DeepCopy()
	m.mu.Unlock()
	m.savePod(e, out, mustRV(out))
	if w != nil {
		w.requestDelete(grace)
	}
	return out, nil
}

func mustRV(p *v1.Pod) uint64 {
	rv, _ := strconv.ParseUint(p.ResourceVersion, 10, 64)
	return rv
}

// bumpLocked gives the pod a new resourceVersion and tells the watchers.
func (m *Manager) bumpLocked(e *podEntry) {
	m.rv++
	e.pod.ResourceVersion = strconv.FormatUint(m.rv, 10)
	m.notifyLocked(watch.Modified, e.pod.DeepCopy())
}

// Events returns the events of one pod, oldest first.
func (m *Manager) Events(namespace, name string) ([]v1.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookupLocked(namespace, name)
	if err != nil {
		return nil, err
	}
	out := make([]v1.Event, len(e.events))
	for i := range e.events {
		e.events[i].DeepCopyInto(&out[i])
	}
	return out, nil
}

// Watch streams ADDED/MODIFIED/DELETED events of the pods in namespace matching sel from
// now on (no synthetic ADDED for the pods that exist: a client lists them, as kubectl get -w
// does) until ctx ends; the channel is then closed. A consumer that falls more than 256
// events behind has its channel closed, as the API server drops a slow watcher.
func (m *Manager) Watch(ctx context.Context, namespace string, sel labels.Selector) (<-chan watch.Event, error) {
	w := &watcher{ns: namespace, sel: sel, ch: make(chan watch.Event, 256)}
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		return nil, apierrors.NewServiceUnavailable("the pod manager is shutting down")
	}
	m.watchers[w] = struct{}{}
	m.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-m.ctx.Done():
		}
		m.mu.Lock()
		if _, ok := m.watchers[w]; ok {
			delete(m.watchers, w)
			close(w.ch)
		}
		m.mu.Unlock()
	}()
	return w.ch, nil
}

func (m *Manager) notifyLocked(t watch.EventType, p *v1.Pod) {
	for w := range m.watchers {
		if !matches(p, w.ns, w.sel) {
			continue
		}
		select {
		case w.ch <- watch.Event{Type: t, Object: p.DeepCopy()}:
		default:
			delete(m.watchers, w)
			close(w.ch)
		}
	}
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
		if sb, err := m.cfg.Runtime.PodSandboxStatus(ctx, sandboxID); err == nil {
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

// update applies fn to the pod's object under the lock, recomputes phase and conditions,
// bumps the resourceVersion, tells the watchers and persists the result.
func (m *Manager) update(e *podEntry, fn func(p *v1.Pod)) {
	m.mu.Lock()
	// After Shutdown nothing is written: the next daemon re-reads the runtime's truth.
	if e.removed || m.ctx.Err() != nil {
		m.mu.Unlock()
		return
	}
	fn(e.pod)
	m.refreshStatusLocked(e)
	m.rv++
	e.pod.ResourceVersion = strconv.FormatUint(m.rv, 10)
	snap := e.pod.DeepCopy()
	e.pendingPod, e.pendingRV = snap, m.rv
	m.notifyLocked(watch.Modified, snap)
	m.mu.Unlock()
	e.wake()
}

func (e *podEntry) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// saver writes the pod's latest status and events until the pod is removed; at Shutdown it
// writes what is pending and returns.
func (m *Manager) saver(e *podEntry) {
	for {
		select {
		case <-e.kick:
			m.flush(e)
		case <-e.gone:
			return
		case <-m.ctx.Done():
			m.flush(e)
			return
		}
	}
}

func (m *Manager) flush(e *podEntry) {
	m.mu.Lock()
	p, rv := e.pendingPod, e.pendingRV
	evs, seq := e.pendingEvents, e.pendingSeq
	e.pendingPod, e.pendingEvents = nil, nil
	m.mu.Unlock()
	if p != nil {
		m.savePod(e, p, rv)
	}
	if evs != nil {
		m.saveEvents(e, e.w.pod.UID, evs, seq)
	}
}

// refreshStatusLocked recomputes the derived parts of the status: phase (never leaving a
// terminal phase, as the kubelet), conditions and QoS.
func (m *Manager) refreshStatusLocked(e *podEntry) {
	p := e.pod
	st := &p.Status
	if !isTerminal(st.Phase) {
		phase := podPhase(&p.Spec, st.InitContainerStatuses, st.ContainerStatuses)
		if e.sandboxLost && !isTerminal(phase) {
			phase = v1.PodUnknown
		}
		st.Phase = phase
	}
	if len(st.ContainerStatuses) > 0 {
		st.Conditions = podConditions(conditionsInput{
			Spec:         &p.Spec,
			InitStatuses: st.InitContainerStatuses,
			Statuses:     st.ContainerStatuses,
			Phase:        st.Phase,
			SandboxReady: e.sandboxReady,
		}, st.Conditions, metav1.NewTime(m.now().Truncate(time.Second)))
	}
	st.QOSClass = podQOS(&p.Spec)
}

// event records an event about a pod (or one of its containers) and persists events.json.
func (m *Manager) event(e *podEntry, ref eventRef, typ, reason, msg string) {
	m.mu.Lock()
	if e.removed || m.ctx.Err() != nil {
		m.mu.Unlock()
		return
	}
	e.events = addEvent(e.events, e.pod, m.cfg.NodeName, ref, typ, reason, msg, m.now())
	e.eventSeq++
	evs := make([]v1.Event, len(e.events))
	for i := range e.events {
		e.events[i].DeepCopyInto(&evs[i])
	}
	e.pendingEvents, e.pendingSeq = evs, e.eventSeq
	m.mu.Unlock()
	e.wake()
}

// remove forgets a pod whose every trace is gone and sends DELETED.
func (m *Manager) remove(e *podEntry) {
	m.mu.Lock()
	if e.removed {
		m.mu.Unlock()
		return
	}
	e.removed = true
	close(e.gone)
	p := e.pod
	delete(m.pods, p.UID)
	if m.names[p.Namespace+"/"+p.Name] == p.UID {
		delete(m.names, p.Namespace+"/"+p.Name)
	}
	m.rv++
	p.ResourceVersion = strconv.FormatUint(m.rv, 10)
	m.notifyLocked(watch.Deleted, p.DeepCopy())
	m.mu.Unlock()
}
