package pod

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/internal/atomicfile"
)

// On-disk layout under <Root>/pods/<uid>/:
//
//	pod.json      the full v1.Pod (defaulted spec + status), rewritten atomically on each change
//	events.json   []v1.Event, oldest first
//	runtime.json  what only the pod manager needs to re-adopt the pod (the sandbox ID)
//	.<file>.next  each file's previous version, the sibling it is exchanged with when rewritten
//	              (atomicfile.ReplaceDurable)
//	volumes/empty-dir/<name>/       emptyDir volumes (a tmpfs mount for medium: Memory)
//	containers/<name>/<attempt>-termination-log   terminationMessagePath files
const (
	podFile     = "pod.json"
	eventsFile  = "events.json"
	runtimeFile = "runtime.json"
)

// runtimeRecord is persisted beside pod.json.
type runtimeRecord struct {
	SandboxID string `json:"sandboxID,omitempty"`
}

func (m *Manager) podsDir() string             { return filepath.Join(m.cfg.Root, "pods") }
func (m *Manager) podDir(uid types.UID) string { return filepath.Join(m.podsDir(), string(uid)) }
func (m *Manager) emptyDirRoot(uid types.UID) string {
	return filepath.Join(m.podDir(uid), "volumes", "empty-dir")
}
func (m *Manager) podLogDir(p *v1.Pod) string {
	return filepath.Join(m.cfg.LogDir, p.Namespace+"_"+p.Name+"_"+string(p.UID))
}
func (m *Manager) containerLogPath(p *v1.Pod, container string, attempt int) string {
	return filepath.Join(m.podLogDir(p), container, strconv.Itoa(attempt)+".log")
}

// recordJSON is a record's bytes on disk: indented JSON and a newline.
func recordJSON(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

func writeJSON(path string, v any) error {
	data, err := recordJSON(v)
	if err != nil {
		return err
	}
	return atomicfile.ReplaceDurable(path, data, 0o600)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// savePod writes pod.json unless a newer version was written already (updates of one pod can
// race between its container goroutines; the resourceVersion orders them).
func (m *Manager) savePod(e *podEntry, snap *v1.Pod, rv uint64) {
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	if rv <= e.savedRV || e.removedOnDisk {
		return
	}
	if err := writeJSON(filepath.Join(m.podDir(snap.UID), podFile), snap); err != nil {
		m.log.Error("persist pod", "pod", snap.Namespace+"/"+snap.Name, "err", err)
		return
	}
	e.savedRV = rv
}

func (m *Manager) saveEvents(e *podEntry, uid types.UID, evs []v1.Event, seq uint64) {
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	if seq <= e.savedEventSeq || e.removedOnDisk {
		return
	}
	if err := writeJSON(filepath.Join(m.podDir(uid), eventsFile), evs); err != nil {
		m.log.Error("persist events", "uid", uid, "err", err)
		return
	}
	e.savedEventSeq = seq
}

func (m *Manager) saveRuntime(e *podEntry, uid types.UID, rec runtimeRecord) error {
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	if e.removedOnDisk {
		return nil
	}
	return writeJSON(filepath.Join(m.podDir(uid), runtimeFile), rec)
}

// loadedPod is one pod read back from disk by Start.
type loadedPod struct {
	pod    *v1.Pod
	events []v1.Event
	rt     runtimeRecord
}

// loadPods reads every <Root>/pods/<uid>/pod.json. A directory without a readable pod.json
// is a pod whose creation never completed: it is reported for cleanup.
func (m *Manager) loadPods() (pods []loadedPod, broken []string, err error) {
	ents, err := os.ReadDir(m.podsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read pods dir: %w", err)
	}
	for _, d := range ents {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(m.podsDir(), d.Name())
		var lp loadedPod
		lp.pod = &v1.Pod{}
		if err := readJSON(filepath.Join(dir, podFile), lp.pod); err != nil || string(lp.pod.UID) != d.Name() {
			broken = append(broken, dir)
			continue
		}
		if err := readJSON(filepath.Join(dir, eventsFile), &lp.events); err != nil && !errors.Is(err, os.ErrNotExist) {
			m.log.Warn("read events", "dir", dir, "err", err)
		}
		if err := readJSON(filepath.Join(dir, runtimeFile), &lp.rt); err != nil && !errors.Is(err, os.ErrNotExist) {
			m.log.Warn("read runtime record", "dir", dir, "err", err)
		}
		pods = append(pods, lp)
	}
	return pods, broken, nil
}

// persistNew writes the new pod's pod.json, complete but not yet durable: sync, which the
// caller must call once, waits for the disk (the pod's worker starts meanwhile: a power loss
// ends the pod's processes as surely as it may lose an unsynced record, and Start removes a
// directory whose pod.json is missing or broken).
func (m *Manager) persistNew(e *podEntry, rv uint64) (sync func() error, err error) {
	dir := m.podDir(e.pod.UID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// pod.json is what makes the directory a pod on the next Start; the first event follows
	// through the saver (as every later one), out of the create's answer's way.
	data, err := recordJSON(e.pod)
	if err != nil {
		return nil, err
	}
	if sync, err = atomicfile.WriteFileDeferSync(dir+"/"+podFile, data, 0o600); err != nil {
		return nil, err
	}
	e.savedRV = rv
	evs := make([]v1.Event, len(e.events))
	for i := range e.events {
		e.events[i].DeepCopyInto(&evs[i])
	}
	e.pendingEvents, e.pendingSeq = evs, e.eventSeq
	e.wake()
	return sync, nil
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
	rt := e.pendingRT
	e.pendingPod, e.pendingEvents, e.pendingRT = nil, nil, nil
	m.mu.Unlock()
	if p != nil {
		m.savePod(e, p, rv)
	}
	if evs != nil {
		m.saveEvents(e, e.w.pod.UID, evs, seq)
	}
	if rt != nil {
		if err := m.saveRuntime(e, e.w.pod.UID, *rt); err != nil {
			m.log.Error("persist runtime record", "uid", e.w.pod.UID, "err", err)
		}
	}
}
