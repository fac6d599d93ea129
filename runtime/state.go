package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/layout"
	"github.com/podrun/podrun/monitor"
)

// State layout under Config.StateDir (see ARCHITECTURE.md):
//
//	runc/<containerID>/             libcontainer state of the containers (the pause is no libcontainer container)
//	sandboxes/<sandboxID>/
//	    pod.json                    the v1.Pod the sandbox was made for
//	    monitor.json                monitor.Config (with how to make the pause: pauseproc.Config)
//	    rootfs/{dev/,pause}         the pause's read-only root: an empty dev, the mount point of /pause
//	    monitor.sock monitor.pid monitor.log
//	    sandbox.json                cri.SandboxStatus (pause pid and start time), written by the monitor when ready
//	    hostname hosts resolv.conf  files every container bind-mounts
//	    shm/                        the pod's /dev/shm (64 MiB tmpfs; absent with hostIPC)
//	containers/<containerID>/
//	    config.json                 the container's OCI spec
//	    container.json              containerRecord, written by the daemon at create
//	    started.json                startRecord (init pid and start time), written by the monitor at start
//	    exit.json                   ExitRecord, written by the monitor when the process ended
//	    rootfs/                     overlay mountpoint
//	netns/<sandboxID>               the pod's net namespace, made and pinned by the daemon (nsenter --net=…)
//	ns/<sandboxID>/{ipc,uts,pid}    ipc, uts: made and pinned by the daemon; pid (shareProcessNamespace): by the monitor
type paths = layout.Paths

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

// The records the monitor writes beside a container's bundle (see package monitor).
type (
	startRecord = monitor.StartRecord
	ExitRecord  = monitor.ExitRecord
)

// newID returns 64 random lowercase hex characters.
func newID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func notFound(kind, id string) error {
	return fmt.Errorf("%s %s: %w", kind, id, cri.ErrNotFound)
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
