package runtime

import (
	"context"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/internal/atomicfile"
	"github.com/podrun/podrun/network"
)

// sandboxNetwork is <sandbox dir>/network.json: what the pod network gave the sandbox. It is
// the daemon's file (the monitor owns sandbox.json and rewrites it when the pause exits).
type sandboxNetwork struct {
	IP string `json:"ip"`
}

// setupNetwork gives a ready sandbox its pod network and rewrites its hosts file with the pod
// IP, as the kubelet's hosts file names the pod's own address. st.IP is set on success.
func (r *Runtime) setupNetwork(ctx context.Context, st *cri.SandboxStatus, pod *v1.Pod) error {
	if r.cfg.Network == nil {
		return nil
	}
	res, err := r.cfg.Network.Setup(ctx, st.ID, st.Namespaces["net"], pod)
	if err != nil {
		return fmt.Errorf("pod network: %w", err)
	}
	if res == nil || res.IP == nil {
		return fmt.Errorf("pod network: no address")
	}
	ip := res.IP.String()
	if !pod.Spec.HostNetwork {
		if err := atomicfile.WriteFile(st.HostsPath, network.HostsFile(pod, ip, st.Hostname), 0o644); err != nil {
			return fmt.Errorf("hosts file: %w", err)
		}
	}
	if err := atomicfile.WriteJSON(r.p.SandboxFile(st.ID, "network.json"), sandboxNetwork{IP: ip}); err != nil {
		return err
	}
	st.IP = ip
	return nil
}

// teardownNetwork gives the sandbox's address back (idempotent) and forgets it.
func (r *Runtime) teardownNetwork(ctx context.Context, id string) error {
	if r.cfg.Network == nil {
		return nil
	}
	netns := r.p.Netns(id)
	if _, err := os.Stat(netns); err != nil {
		netns = ""
	}
	if err := r.cfg.Network.Teardown(ctx, id, netns); err != nil {
		return err
	}
	if err := os.Remove(r.p.SandboxFile(id, "network.json")); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
