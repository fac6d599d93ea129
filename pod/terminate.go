package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/podrun/podrun/cri"
	v1 "k8s.io/api/core/v1"
)

// terminate ends a deleted pod: app containers are stopped in parallel within the grace
// period (preStop, stop signal, SIGKILL at the end), then sidecars in reverse order and any
// init container still running; then every container, the sandbox, the volumes, the logs and
// the pod directory are removed, and the pod disappears. Anything the runtime still knows
// about the pod (found by pod UID) is removed too, so a half-created pod leaves nothing.
// If the daemon stops meanwhile, the next Start resumes the termination.
func (w *worker) terminate(ctx context.Context, grace int64) {
	w.stopRunning(ctx, grace)
	p := w.snapshot()

	var bo backoff
	for {
		err := w.cleanup(ctx)
		if err == nil {
			break
		}
		w.m.log.Error("pod cleanup failed; retrying", "pod", p.Namespace+"/"+p.Name, "err", err)
		w.event(eventRef{}, v1.EventTypeWarning, evFailedKillPod, fmt.Sprintf("error killing pod: %v", err))
		if !sleep(ctx, w.failureDelay(&bo)) {
			return
		}
	}
	w.m.remove(w.e)
}

// stopRunning stops every running container of the pod within grace seconds: app
// containers in parallel, then sidecars in reverse order and any init container still
// running. A shorter grace period arriving meanwhile (delete --force) kills what still runs.
func (w *worker) stopRunning(ctx context.Context, grace int64) {
	deadline := time.Now().Add(time.Duration(grace) * time.Second)
	stopCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var mu sync.Mutex
	stopping := map[string]bool{}
	go func() {
		for {
			select {
			case <-stopCtx.Done():
				return
			case g := <-w.graceCh:
				mu.Lock()
				ids := make([]string, 0, len(stopping))
				for id := range stopping {
					ids = append(ids, id)
				}
				mu.Unlock()
				for _, id := range ids {
					go func() { _ = w.m.cfg.Runtime.StopContainer(stopCtx, id, time.Duration(g)*time.Second) }()
				}
			}
		}
	}()
	stop := func(name string, kind containerKind, id string) {
		mu.Lock()
		stopping[id] = true
		mu.Unlock()
		remaining := int64(time.Until(deadline).Round(time.Second) / time.Second)
		if remaining < 0 {
			remaining = 0
		}
		w.stopContainer(stopCtx, name, kind, id, remaining)
		mu.Lock()
		delete(stopping, id)
		mu.Unlock()
	}

	p := w.snapshot()
	var wg sync.WaitGroup
	for _, s := range p.Status.ContainerStatuses {
		if s.State.Running != nil && s.ContainerID != "" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stop(s.Name, kindApp, trimID(s.ContainerID))
			}()
		}
	}
	wg.Wait()
	for i := len(w.pod.Spec.InitContainers) - 1; i >= 0; i-- {
		c := &w.pod.Spec.InitContainers[i]
		s, ok := findStatus(p.Status.InitContainerStatuses, c.Name)
		if ok && s.State.Running != nil && s.ContainerID != "" {
			kind := kindInit
			if isSidecar(c) {
				kind = kindSidecar
			}
			stop(c.Name, kind, trimID(s.ContainerID))
		}
	}
}

// stopContainer stops one container (event Killing, preStop, StopContainer) and records its
// final state.
func (w *worker) stopContainer(ctx context.Context, name string, kind containerKind, id string, grace int64) {
	isInit := kind != kindApp
	ref := containerRef(name, isInit)
	w.event(ref, v1.EventTypeNormal, evKilling, fmt.Sprintf(msgKilling, name))
	w.stopWithPreStop(ctx, w.specContainer(name, isInit), isInit, id, grace)
	rt := w.m.cfg.Runtime
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cs, err := rt.WaitContainer(wctx, id)
	if err != nil {
		return
	}
	term := terminatedState(cs, cs.Message, w.m.now())
	w.setStatus(name, isInit, func(s *v1.ContainerStatus) {
		if s.ContainerID != containerIDPrefix+id {
			return
		}
		s.State = v1.ContainerState{Terminated: term}
		s.Ready = false
		s.Started = boolPtr(false)
	})
}

func (w *worker) specContainer(name string, init bool) *v1.Container {
	list := w.pod.Spec.Containers
	if init {
		list = w.pod.Spec.InitContainers
	}
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// cleanup removes everything the pod made. Each step is idempotent, so it can be retried.
func (w *worker) cleanup(ctx context.Context) error {
	rt := w.m.cfg.Runtime
	p := w.snapshot()
	var errs []error

	sandboxes := map[string]bool{}
	if id := w.sandboxID(); id != "" {
		sandboxes[id] = true
	}
	if list, err := rt.ListPodSandboxes(ctx); err == nil {
		for _, sb := range list {
			if sb.PodUID == string(p.UID) {
				sandboxes[sb.ID] = true
			}
		}
	} else {
		errs = append(errs, fmt.Errorf("list sandboxes: %w", err))
	}
	containers := map[string]bool{}
	for _, list := range [][]v1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, s := range list {
			for _, id := range []string{s.ContainerID, termID(s.State), termID(s.LastTerminationState)} {
				if id = trimID(id); id != "" {
					containers[id] = true
				}
			}
		}
	}
	for sb := range sandboxes {
		list, err := rt.ListContainers(ctx, sb)
		if err != nil && !errors.Is(err, cri.ErrNotFound) {
			errs = append(errs, fmt.Errorf("list containers of sandbox %s: %w", sb, err))
		}
		for _, c := range list {
			containers[c.ID] = true
			if c.State != cri.ContainerExited {
				// A container that never got to run (created, or caught mid-creation).
				_ = rt.StopContainer(ctx, c.ID, 0)
			}
		}
	}
	for id := range containers {
		if err := rt.RemoveContainer(ctx, id); err != nil && !errors.Is(err, cri.ErrNotFound) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", id, err))
		}
	}
	for sb := range sandboxes {
		if err := rt.StopPodSandbox(ctx, sb); err != nil && !errors.Is(err, cri.ErrNotFound) {
			errs = append(errs, fmt.Errorf("stop sandbox %s: %w", sb, err))
			continue
		}
		if err := rt.RemovePodSandbox(ctx, sb); err != nil && !errors.Is(err, cri.ErrNotFound) {
			errs = append(errs, fmt.Errorf("remove sandbox %s: %w", sb, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	if err := os.RemoveAll(w.m.podLogDir(p)); err != nil {
		return fmt.Errorf("remove logs: %w", err)
	}
	dir := w.m.podDir(p.UID)
	w.e.saveMu.Lock()
	defer w.e.saveMu.Unlock()
	unmountUnder(dir)
	if left := mountsUnder(dir); len(left) > 0 {
		return fmt.Errorf("still mounted under %s: %v", dir, left)
	}
	// pod.json goes first: a crash mid-way then leaves a directory that Start removes,
	// not a pod that comes back.
	_ = os.Remove(dir + "/" + podFile)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	w.e.removedOnDisk = true
	return nil
}

func termID(s v1.ContainerState) string {
	if s.Terminated != nil {
		return s.Terminated.ContainerID
	}
	return ""
}
