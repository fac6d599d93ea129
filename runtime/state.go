package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/podrun/podrun/cri"
)

// State layout under Config.StateDir (see ARCHITECTURE.md):
//
//	runc/<id>/                      libcontainer state of the pause (<sandboxID>) and containers
//	sandboxes/<sandboxID>/
//	    pod.json                    the v1.Pod the sandbox was made for (read by the monitor)
//	    config.json                 the pause's OCI spec (the pause bundle)
//	    rootfs/                     empty dir, the pause's read-only root
//	    monitor.sock monitor.pid monitor.log
//	    sandbox.json                cri.SandboxStatus, written by the monitor when ready
//	    hostname hosts resolv.conf  files every container bind-mounts
//	    shm/                        the pod's /dev/shm (64 MiB tmpfs; absent with hostIPC)
//	containers/<containerID>/
//	    config.json                 the container's OCI spec
//	    container.json              containerRecord, written by the daemon at create
//	    started.json                startRecord, written by the monitor at start
//	    exit.json                   ExitRecord, written by the monitor when the process ended
//	    rootfs/                     overlay mountpoint
//	netns/<sandboxID>               pinned net namespace (nsenter --net=…)
//	ns/<sandboxID>/{ipc,uts,pid}    pinned ipc/uts/pid namespaces
type paths struct{ state, root string }

func (p paths) runc() string                    { return filepath.Join(p.state, "runc") }
func (p paths) sandboxesDir() string            { return filepath.Join(p.state, "sandboxes") }
func (p paths) sandbox(id string) string        { return filepath.Join(p.state, "sandboxes", id) }
func (p paths) sandboxFile(id, f string) string { return filepath.Join(p.state, "sandboxes", id, f) }
func (p paths) containersDir() string           { return filepath.Join(p.state, "containers") }
func (p paths) container(id string) string      { return filepath.Join(p.state, "containers", id) }
func (p paths) containerFile(id, f string) string {
	return filepath.Join(p.state, "containers", id, f)
}
func (p paths) netns(id string) string    { return filepath.Join(p.state, "netns", id) }
func (p paths) nsDir(id string) string    { return filepath.Join(p.state, "ns", id) }
func (p paths) snapshot(id string) string { return filepath.Join(p.root, "snapshots", id) }

// containerRecord is what the daemon knows of a container from its creation; the rest of its
// status comes from started.json, exit.json and libcontainer.
type containerRecord struct {
	ID          string    `json:"id"`
	SandboxID   string    `json:"sandboxID"`
	Name        string    `json:"name"`
	Attempt     int       `json:"attempt"`
	CreatedAt   time.Time `json:"createdAt"`
	Image       string    `json:"image"`
	ImageID     string    `json:"imageID"`
	LogPath     string    `json:"logPath"`
	CgroupsPath string    `json:"cgroupsPath"`
	Rootfs      string    `json:"rootfs"`
	StopSignal  string    `json:"stopSignal"`
	TTY         bool      `json:"tty,omitempty"`
	Stdin       bool      `json:"stdin,omitempty"`
}

// startRecord is written by the monitor once the container's process runs.
type startRecord struct {
	Pid       int       `json:"pid"`
	StartedAt time.Time `json:"startedAt"`
}

// ExitRecord is the monitor's record of a finished container process, written atomically to
// exit.json before any waiter is answered.
type ExitRecord struct {
	ExitCode   int       `json:"exitCode"`
	Signal     int       `json:"signal,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	Reason     string    `json:"reason"`
	Message    string    `json:"message,omitempty"`
}

// newID returns 64 random lowercase hex characters.
func newID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validID guards every path built from an ID that came from a caller.
func validID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// writeJSONAtomic writes v to path via a temp file, fsync and rename: readers never see a
// half-written record, and a crash leaves either the old or the new one.
func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, 0o644)
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(name, path)
}

// readJSON reads path into v; a missing file is an error wrapping os.ErrNotExist.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

func notFound(kind, id string) error {
	return fmt.Errorf("%s %s: %w", kind, id, cri.ErrNotFound)
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
