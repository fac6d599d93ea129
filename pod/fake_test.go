package pod

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podrun/podrun/cri"
)

// fakeRuntime is a cri.RuntimeService in memory. A container's behaviour is its command:
//
//	["exit", CODE]            exits with CODE as soon as it starts
//	["exit", CODE, DELAY]     exits with CODE after DELAY (a Go duration)
//	["exit", CODE, DELAY, MSG] also writes MSG to its termination message file
//	anything else             runs until stopped (137 after SIGKILL, 143 after SIGTERM)
type fakeRuntime struct {
	mu         sync.Mutex
	seq        int
	sandboxes  map[string]*cri.SandboxStatus
	containers map[string]*fakeContainer
	ops        []string // "create NAME", "start NAME", "stop NAME", "remove NAME", "runsandbox", …

	sandboxFailures int // RunPodSandbox fails this many times first
	// execCode answers ExecSync (probes, hooks): the exit code of cmd; nil = 0.
	execCode  func(cmd []string) int
	createErr func(cfg *cri.ContainerConfig) error
}

type fakeContainer struct {
	status cri.ContainerStatus
	cfg    *cri.ContainerConfig
	exited chan struct{}
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{sandboxes: map[string]*cri.SandboxStatus{}, containers: map[string]*fakeContainer{}}
}

func (f *fakeRuntime) id() string {
	f.seq++
	return fmt.Sprintf("%064x", f.seq)
}

func (f *fakeRuntime) op(s string) { f.ops = append(f.ops, s) }

func (f *fakeRuntime) opsCopy() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ops...)
}

func (f *fakeRuntime) RunPodSandbox(ctx context.Context, cfg *cri.SandboxConfig) (*cri.SandboxStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.op("runsandbox")
	if f.sandboxFailures > 0 {
		f.sandboxFailures--
		return nil, fmt.Errorf("injected sandbox failure")
	}
	sb := &cri.SandboxStatus{ID: f.id(), PodUID: string(cfg.Pod.UID), State: cri.SandboxReady, Pid: 4242,
		CreatedAt: time.Now(), IP: "10.88.0.5", Namespaces: map[string]string{"net": "/run/podrun/netns/x"}}
	f.sandboxes[sb.ID] = sb
	cp := *sb
	return &cp, nil
}

func (f *fakeRuntime) StopPodSandbox(ctx context.Context, id string) error {
	f.mu.Lock()
	sb, ok := f.sandboxes[id]
	if ok {
		sb.State = cri.SandboxNotReady
	}
	var running []string
	for cid, c := range f.containers {
		if c.status.SandboxID == id && c.status.State == cri.ContainerRunning {
			running = append(running, cid)
		}
	}
	f.op("stopsandbox")
	f.mu.Unlock()
	for _, cid := range running {
		_ = f.StopContainer(ctx, cid, 0)
	}
	return nil
}

func (f *fakeRuntime) RemovePodSandbox(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sandboxes, id)
	f.op("removesandbox")
	return nil
}

func (f *fakeRuntime) PodSandboxStatus(ctx context.Context, id string) (*cri.SandboxStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb, ok := f.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("sandbox %s: %w", id, cri.ErrNotFound)
	}
	cp := *sb
	return &cp, nil
}

func (f *fakeRuntime) ListPodSandboxes(ctx context.Context) ([]*cri.SandboxStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*cri.SandboxStatus
	for _, sb := range f.sandboxes {
		cp := *sb
		out = append(out, &cp)
	}
	return out, nil
}

func (f *fakeRuntime) CreateContainer(ctx context.Context, sandboxID string, cfg *cri.ContainerConfig) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.createErr != nil {
		if err := f.createErr(cfg); err != nil {
			return "", err
		}
	}
	if sb, ok := f.sandboxes[sandboxID]; !ok || sb.State != cri.SandboxReady {
		return "", fmt.Errorf("sandbox %s is not ready", sandboxID)
	}
	id := f.id()
	f.containers[id] = &fakeContainer{
		status: cri.ContainerStatus{ID: id, SandboxID: sandboxID, Name: cfg.Container.Name, Attempt: cfg.Attempt,
			State: cri.ContainerCreated, CreatedAt: time.Now(), LogPath: cfg.LogPath, ImageID: cfg.Image.ID},
		cfg:    cfg,
		exited: make(chan struct{}),
	}
	f.op("create " + cfg.Container.Name)
	return id, nil
}

func (f *fakeRuntime) StartContainer(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return cri.ErrNotFound
	}
	c.status.State = cri.ContainerRunning
	c.status.StartedAt = time.Now()
	c.status.Pid = 1000 + f.seq
	f.op("start " + c.cfg.Container.Name)
	cmd := c.cfg.Container.Command
	if len(cmd) >= 2 && cmd[0] == "exit" {
		code, _ := strconv.Atoi(cmd[1])
		var delay time.Duration
		if len(cmd) >= 3 {
			delay, _ = time.ParseDuration(cmd[2])
		}
		if len(cmd) >= 4 && c.cfg.TerminationMessageHostPath != "" {
			_ = os.WriteFile(c.cfg.TerminationMessageHostPath, []byte(cmd[3]), 0o644)
		}
		go func() {
			time.Sleep(delay)
			f.finish(id, code, 0)
		}()
	}
	return nil
}

func (f *fakeRuntime) finish(id string, code, sig int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok || c.status.State != cri.ContainerRunning {
		return
	}
	c.status.State = cri.ContainerExited
	c.status.ExitCode = code
	c.status.Signal = sig
	c.status.FinishedAt = time.Now()
	c.status.Reason = "Completed"
	if code != 0 {
		c.status.Reason = "Error"
	}
	close(c.exited)
}

// exitWhileAway makes a running container exit (as if while the daemon was down).
func (f *fakeRuntime) exitWhileAway(name string, code int) {
	f.mu.Lock()
	var id string
	for cid, c := range f.containers {
		if c.cfg.Container.Name == name && c.status.State == cri.ContainerRunning {
			id = cid
		}
	}
	f.mu.Unlock()
	f.finish(id, code, 0)
}

func (f *fakeRuntime) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	f.mu.Lock()
	c, ok := f.containers[id]
	if ok {
		f.op("stop " + c.cfg.Container.Name)
	}
	f.mu.Unlock()
	if !ok {
		return cri.ErrNotFound
	}
	if timeout > 0 {
		f.finish(id, 143, 15)
	} else {
		f.finish(id, 137, 9)
	}
	f.mu.Lock()
	if c.status.State == cri.ContainerCreated {
		c.status.State = cri.ContainerExited
		close(c.exited)
	}
	f.mu.Unlock()
	return nil
}

func (f *fakeRuntime) RemoveContainer(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.containers[id]; ok {
		if c.status.State == cri.ContainerRunning {
			return fmt.Errorf("container %s is running", id)
		}
		f.op("remove " + c.cfg.Container.Name)
		delete(f.containers, id)
	}
	return nil
}

func (f *fakeRuntime) ContainerStatus(ctx context.Context, id string) (*cri.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return nil, cri.ErrNotFound
	}
	cp := c.status
	return &cp, nil
}

func (f *fakeRuntime) ListContainers(ctx context.Context, sandboxID string) ([]*cri.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*cri.ContainerStatus
	for _, c := range f.containers {
		if sandboxID == "" || c.status.SandboxID == sandboxID {
			cp := c.status
			out = append(out, &cp)
		}
	}
	return out, nil
}

func (f *fakeRuntime) WaitContainer(ctx context.Context, id string) (*cri.ContainerStatus, error) {
	f.mu.Lock()
	c, ok := f.containers[id]
	f.mu.Unlock()
	if !ok {
		return nil, cri.ErrNotFound
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.exited:
	}
	return f.ContainerStatus(ctx, id)
}

func (f *fakeRuntime) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*cri.ExecResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok || c.status.State != cri.ContainerRunning {
		return nil, cri.ErrNotRunning
	}
	f.op("exec " + c.cfg.Container.Name + " " + strings.Join(cmd, " "))
	code := 0
	if fn := f.execCode; fn != nil {
		f.mu.Unlock()
		code = fn(cmd) // may block: not under the lock
		f.mu.Lock()
	}
	return &cri.ExecResult{ExitCode: code, Stdout: []byte("out of " + cmd[0])}, nil
}

func (f *fakeRuntime) Exec(ctx context.Context, id string, req *cri.ExecRequest) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok || c.status.State != cri.ContainerRunning {
		return -1, cri.ErrNotRunning
	}
	return 7, nil
}

func (f *fakeRuntime) counts() (sandboxes, containers int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sandboxes), len(f.containers)
}

// fakeImages holds present images by reference; pullable ones appear on PullImage.
type fakeImages struct {
	mu       sync.Mutex
	present  map[string]*cri.Image
	pullable map[string]bool
	pulls    int
}

func newFakeImages(refs ...string) *fakeImages {
	f := &fakeImages{present: map[string]*cri.Image{}, pullable: map[string]bool{}}
	for _, r := range refs {
		f.present[r] = &cri.Image{ID: "sha256:" + fmt.Sprintf("%064x", len(r)), RepoTags: []string{r},
			RepoDigests: []string{"docker.io/library/" + r + "@sha256:abc"}}
	}
	return f
}

func (f *fakeImages) ImageStatus(ctx context.Context, ref string) (*cri.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if img, ok := f.present[ref]; ok {
		return img, nil
	}
	return nil, fmt.Errorf("%s: %w", ref, cri.ErrImageNotFound)
}

func (f *fakeImages) PullImage(ctx context.Context, ref string) (*cri.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls++
	if !f.pullable[ref] {
		return nil, fmt.Errorf("no registry reachable for %s", ref)
	}
	img := &cri.Image{ID: "sha256:pulled", RepoTags: []string{ref}, Size: 1234}
	f.present[ref] = img
	return img, nil
}

func (f *fakeImages) ListImages(ctx context.Context) ([]*cri.Image, error) { return nil, nil }
func (f *fakeImages) RemoveImage(ctx context.Context, ref string) error    { return nil }

// killSandbox makes the pause die: the sandbox is not ready and its containers are killed.
func (f *fakeRuntime) killSandbox() {
	f.mu.Lock()
	var ids []string
	for _, sb := range f.sandboxes {
		sb.State = cri.SandboxNotReady
		for cid, c := range f.containers {
			if c.status.SandboxID == sb.ID {
				ids = append(ids, cid)
			}
		}
	}
	f.mu.Unlock()
	for _, id := range ids {
		f.finish(id, 137, 9)
	}
}

type fakeConfigErr struct{}

func (fakeConfigErr) Error() string        { return `couldn't find key mode in ConfigMap default/cfg` }
func (fakeConfigErr) ConfigReason() string { return "CreateContainerConfigError" }

// restartBehindOurBack replaces the running container name with a new attempt, as if the
// daemon had died between starting it and recording it.
func (f *fakeRuntime) restartBehindOurBack(name string) string {
	f.mu.Lock()
	var old *fakeContainer
	var oldID string
	for id, c := range f.containers {
		if c.cfg.Container.Name == name && c.status.State == cri.ContainerRunning {
			old, oldID = c, id
		}
	}
	f.mu.Unlock()
	f.finish(oldID, 1, 0)
	cfg := *old.cfg
	cfg.Attempt++
	id, err := f.CreateContainer(context.Background(), old.status.SandboxID, &cfg)
	if err != nil {
		panic(err)
	}
	if err := f.StartContainer(context.Background(), id); err != nil {
		panic(err)
	}
	return id
}
