package pod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
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
	// StrictImagePull reports ErrImagePull when pulling an image fails even though the
	// store has it (imagePullPolicy Always: an untagged or :latest image), as the kubelet
	// does. False (the default): the local image runs, after a Warning event "Failed to pull
	// image …" — podrun cannot pull from registries yet, and `podrun load` is how images
	// arrive, so `image: busybox` must run once busybox was loaded.
	StrictImagePull bool
	// Hooks runs postStart/preStop handlers and Prober runs startup/liveness/readiness
	// probes. Nil = package probe through Runtime (NewProbes): the daemon needs to set
	// neither. Tests pass fakes.
	Hooks  ContainerHooks
	Prober Prober
	// AllowedUnsafeSysctls are the daemon's --allowed-unsafe-sysctls patterns ("net.core.*"):
	// pod sysctls outside the kubelet's safe set are refused at creation unless they match.
	AllowedUnsafeSysctls []string
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

	// Status, event and runtime record writes are handed to the pod's saver goroutine
	// (latest wins), so that no fsync sits in the path of starting a container. Guarded by
	// Manager.mu.
	pendingPod    *v1.Pod
	pendingRV     uint64
	pendingEvents []v1.Event
	pendingSeq    uint64
	pendingRT     *runtimeRecord
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
	if cfg.Prober == nil || cfg.Hooks == nil {
		p := NewProbes(cfg.Runtime)
		if cfg.Prober == nil {
			cfg.Prober = p
		}
		if cfg.Hooks == nil {
			cfg.Hooks = p
		}
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
	if errs := append(validatePod(p), validateSecurity(&p.Spec, field.NewPath("spec"), m.cfg.AllowedUnsafeSysctls)...); len(errs) > 0 {
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
	if errs := m.hostPortConflictsLocked(p); len(errs) > 0 {
		m.mu.Unlock()
		return nil, invalid(p.Name, errs)
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
	syncRecord, err := m.persistNew(e, rv)
	if err != nil {
		m.mu.Lock()
		delete(m.names, key)
		m.mu.Unlock()
		_ = os.RemoveAll(m.podDir(p.UID))
		return nil, apierrors.NewInternalError(fmt.Errorf("persist pod %s: %w", key, err))
	}
	// The worker exists before the pod is visible, so that a Delete can always reach it.
	e.w = newWorker(m, e, false)
	m.mu.Lock()
	// Checked again with the registration: a concurrent Create may have taken one of the
	// hostPorts while this pod was written to disk.
	if errs := m.hostPortConflictsLocked(p); len(errs) > 0 {
		delete(m.names, key)
		m.mu.Unlock()
		_ = syncRecord() // closes it
		_ = os.RemoveAll(m.podDir(p.UID))
		return nil, invalid(p.Name, errs)
	}
	m.pods[p.UID] = e
	out := p.DeepCopy()
	m.notifyLocked(watch.Added, out)
	m.mu.Unlock()
	m.runWorker(e.w)
	// The answer waits for the record to be durable, as the API server's for etcd; the pod's
	// start does not.
	if err := syncRecord(); err != nil {
		m.log.Error("persist pod: the record is not durable; deleting the pod", "pod", key, "err", err)
		if _, derr := m.Delete(context.Background(), p.Namespace, p.Name, DeleteOptions{Force: true}); derr != nil {
			m.log.Error("delete pod", "pod", key, "err", derr)
		}
		return nil, apierrors.NewInternalError(fmt.Errorf("persist pod %s: %w", key, err))
	}
	return out.DeepCopy(), nil
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
