package network

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ipam hands out the addresses of one IPv4 subnet. Its state is a directory with one file per
// allocated address (named after the address, holding the sandbox ID), as the CNI host-local
// plugin keeps it: easy to read by hand, and each allocation is one atomic rename.
//
// Allocation is serialised by a mutex (goroutines of this process) and an flock on
// <dir>/lock (other processes, e.g. a second daemon during a restart).
type ipam struct {
	dir    string
	subnet *net.IPNet
	// first and last are the allocatable range: the network address, the gateway (first
	// host) and the broadcast address are never handed out.
	first, last uint32
	mu          sync.Mutex
}

// lastReservedFile remembers the last address handed out, so allocation goes round the range
// instead of reusing a just-released address (whose ARP entries may still be cached).
const lastReservedFile = "last_reserved_ip"

func newIPAM(root string, subnet *net.IPNet) (*ipam, error) {
	base := ip4ToUint(subnet.IP)
	ones, bits := subnet.Mask.Size()
	size := uint32(1) << uint(bits-ones)
	return &ipam{
		// "10.88.0.0/16" → "10.88.0.0-16": a valid file name.
		dir:    filepath.Join(root, strings.ReplaceAll(subnet.String(), "/", "-")),
		subnet: subnet,
		first:  base + 2,
		last:   base + size - 2,
	}, nil
}

func (a *ipam) gateway() net.IP { return uintToIP4(ip4ToUint(a.subnet.IP) + 1) }

func ip4ToUint(ip net.IP) uint32 { return binary.BigEndian.Uint32(ip.To4()) }

func uintToIP4(v uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, v)
	return ip
}

// lock takes the in-process mutex and the cross-process file lock.
func (a *ipam) lock() (func(), error) {
	a.mu.Lock()
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("IPAM state dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(a.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("IPAM lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		a.mu.Unlock()
		return nil, fmt.Errorf("IPAM lock: %w", err)
	}
	return func() {
		// Closing the file releases the flock.
		f.Close()
		a.mu.Unlock()
	}, nil
}

// readAll maps each allocated address (as uint32) to its sandbox ID. Callers hold the lock.
func (a *ipam) readAll() (map[uint32]string, error) {
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		if os.IsNotExist(err) {
			return map[uint32]string{}, nil
		}
		return nil, fmt.Errorf("read IPAM state: %w", err)
	}
	held := make(map[uint32]string, len(entries))
	for _, e := range entries {
		ip := net.ParseIP(e.Name()).To4()
		if ip == nil || e.IsDir() {
			continue // lock, last_reserved_ip, temp files
		}
		b, err := os.ReadFile(filepath.Join(a.dir, e.Name()))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, fmt.Errorf("read IPAM state: %w", err)
		}
		held[ip4ToUint(ip)] = strings.TrimSpace(string(b))
	}
	return held, nil
}

// allocate returns the sandbox's address, allocating one if it has none (fresh = true).
func (a *ipam) allocate(id string) (ip net.IP, fresh bool, err error) {
	unlock, err := a.lock()
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	held, err := a.readAll()
	if err != nil {
		return nil, false, err
	}
	for v, owner := range held {
		if owner == id {
			return uintToIP4(v), false, nil
		}
	}
	start := a.first
	if b, err := os.ReadFile(filepath.Join(a.dir, lastReservedFile)); err == nil {
		if last := net.ParseIP(strings.TrimSpace(string(b))).To4(); last != nil {
			if v := ip4ToUint(last); v >= a.first && v < a.last {
				start = v + 1
			}
		}
	}
	n := a.last - a.first + 1
	for i := uint32(0); i < n; i++ {
		v := a.first + (start-a.first+i)%n
		if _, used := held[v]; used {
			continue
		}
		ip := uintToIP4(v)
		if err := writeFile(a.dir, ip.String(), []byte(id), true); err != nil {
			return nil, false, fmt.Errorf("allocate %s: %w", ip, err)
		}
		// Losing the hint only means an address may be reused sooner: not an error, and not
		// worth a second fsync.
		_ = writeFile(a.dir, lastReservedFile, []byte(ip.String()), false)
		return ip, true, nil
	}
	return nil, false, fmt.Errorf("no free address left in %s (%d allocated)", a.subnet, len(held))
}

// release frees every address held by the sandbox; releasing nothing is not an error.
func (a *ipam) release(id string) error {
	unlock, err := a.lock()
	if err != nil {
		return err
	}
	defer unlock()
	held, err := a.readAll()
	if err != nil {
		return err
	}
	for v, owner := range held {
		if owner != id {
			continue
		}
		if err := os.Remove(filepath.Join(a.dir, uintToIP4(v).String())); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("release %s: %w", uintToIP4(v), err)
		}
	}
	return nil
}

// list maps sandbox IDs to their addresses.
func (a *ipam) list() (map[string]net.IP, error) {
	unlock, err := a.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	held, err := a.readAll()
	if err != nil {
		return nil, err
	}
	out := make(map[string]net.IP, len(held))
	for v, owner := range held {
		out[owner] = uintToIP4(v)
	}
	return out, nil
}

// writeFile writes dir/name through a temp file and a rename, so a crash leaves either the old
// content or the new, never a torn file; durable also fsyncs the file and the directory.
func writeFile(dir, name string, data []byte, durable bool) error {
	f, err := os.CreateTemp(dir, ".tmp-"+name+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	if !durable {
		return nil
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
