// Package sandboxstate is the state of a pod sandbox as the monitor records it in
// sandbox.json and the runtime reports it (cri.SandboxStatus is this Status).
package sandboxstate

import "time"

// State is the CRI PodSandboxState.
type State string

const (
	Ready    State = "SANDBOX_READY"
	NotReady State = "SANDBOX_NOTREADY"
)

// Status describes a running (or stopped) pause sandbox.
type Status struct {
	ID     string `json:"id"`
	PodUID string `json:"podUID"`
	State  State  `json:"state"`
	Pid    int    `json:"pid"` // pid of the pause process in the host pid namespace; 0 when not running
	// PidStartTime is the pause's start time (/proc/<pid>/stat field 22): with Pid, it tells
	// the pause from a later process with the same pid. 0 when unknown.
	PidStartTime uint64 `json:"pidStartTime,omitempty"`
	// Starting: the pause is still being made, its namespaces exist (the daemon pinned them)
	// and containers may be made in them; Pid is 0 until it runs. The monitor making it,
	// MonitorPid with its start time, is what is alive meanwhile.
	Starting         bool      `json:"starting,omitempty"`
	MonitorPid       int       `json:"monitorPid,omitempty"`
	MonitorStartTime uint64    `json:"monitorStartTime,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
	// Namespaces maps "net", "ipc", "uts" (and "pid" with shareProcessNamespace) to the pinned
	// namespace files (/run/podrun/netns/<id>, /run/podrun/ns/<id>/ipc…). Host namespaces are
	// absent from the map.
	Namespaces map[string]string `json:"namespaces"`
	// IP is the pod IP ("" until networking is configured; the host IP with hostNetwork).
	IP string `json:"ip,omitempty"`
	// CgroupParent is the pod cgroup, relative to the cgroup root, e.g. "/podrun/pod<uid>".
	CgroupParent string `json:"cgroupParent"`
	// Hostname is the pod's hostname (spec.hostname or the pod name), set on the pause's UTS ns.
	Hostname string `json:"hostname"`
	// Files the sandbox made that every container bind-mounts: /etc/hosts, /etc/hostname,
	// /etc/resolv.conf, and the pod's /dev/shm (a tmpfs shared by the pod's IPC namespace;
	// "" with hostIPC).
	HostsPath      string `json:"hostsPath"`
	HostnamePath   string `json:"hostnamePath"`
	ResolvConfPath string `json:"resolvConfPath"`
	ShmPath        string `json:"shmPath,omitempty"`
}
