package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// NetnsDialContext returns a DialContext whose TCP sockets live in the network namespace at
// netnsPath (e.g. /run/podrun/netns/<sandboxID>), so that "127.0.0.1:8080" is the pod's
// loopback. Only the socket(2) call happens inside the namespace: a socket stays bound to
// the namespace it was created in, so connect, the deadline and all I/O then run on ordinary
// goroutines through Go's poller and no OS thread is held while connecting.
//
// addr must be an IP literal or "localhost" (there is no resolver inside the pod's netns).
func NetnsDialContext(netnsPath string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("dial %s %s in netns %s: %w", network, addr, netnsPath, err)
		}
		ap, err := parseAddr(network, addr)
		if err != nil {
			return nil, fmt.Errorf("dial %s %s in netns %s: %w", network, addr, netnsPath, err)
		}
		family := unix.AF_INET
		if ap.Addr().Is6() {
			family = unix.AF_INET6
		}
		fd, err := socketInNetns(netnsPath, family)
		if err != nil {
			return nil, fmt.Errorf("dial %s %s in netns %s: %w", network, addr, netnsPath, err)
		}
		conn, err := connectFD(ctx, fd, ap)
		if err != nil {
			// Shaped like net.Dialer's errors ("dial tcp 127.0.0.1:80: connect: connection
			// refused"): probe failures put this text in Unhealthy events, where users expect
			// the kubelet's wording.
			return nil, &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(ap), Err: err}
		}
		return conn, nil
	}
}

func parseAddr(network, addr string) (netip.AddrPort, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return netip.AddrPort{}, fmt.Errorf("network %q not supported", network)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	return netip.ParseAddrPort(net.JoinHostPort(host, port))
}

// socketInNetns creates a non-blocking TCP socket inside the namespace. It runs on a goroutine
// of its own with its OS thread locked: if switching back to the host namespace fails, the
// goroutine exits still locked and Go discards the thread instead of reusing a thread that
// sits in the pod's namespace.
func socketInNetns(netnsPath string, family int) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, err, restored := socketOnThread(netnsPath, family)
		if restored {
			runtime.UnlockOSThread()
		}
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

func socketOnThread(netnsPath string, family int) (fd int, err error, restored bool) {
	target, err := unix.Open(netnsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open netns: %w", err), true
	}
	defer unix.Close(target)
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open current netns: %w", err), true
	}
	defer unix.Close(self)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return -1, fmt.Errorf("setns: %w", err), true
	}
	fd, sockErr := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		if sockErr == nil {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("setns back to host netns: %w", err), false
	}
	if sockErr != nil {
		return -1, fmt.Errorf("socket: %w", sockErr), true
	}
	return fd, nil, true
}

// connectFD connects the non-blocking socket, waiting in Go's poller, and returns it as a
// net.Conn. ctx's deadline and cancellation abort the connect.
func connectFD(ctx context.Context, fd int, ap netip.AddrPort) (net.Conn, error) {
	var sa unix.Sockaddr
	if ap.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	// os.NewFile registers a non-blocking fd with the poller; f owns fd from here.
	f := os.NewFile(uintptr(fd), "netns-socket")
	defer f.Close() // net.FileConn dups the fd

	raw, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var connectErr error
	if err := raw.Control(func(fd uintptr) { connectErr = unix.Connect(int(fd), sa) }); err != nil {
		return nil, err
	}
	switch {
	case connectErr == nil:
	case errors.Is(connectErr, unix.EINPROGRESS) || errors.Is(connectErr, unix.EINTR):
		if err := waitConnected(ctx, f, raw); err != nil {
			return nil, err
		}
	default:
		return nil, os.NewSyscallError("connect", connectErr)
	}
	return net.FileConn(f)
}

func waitConnected(ctx context.Context, f *os.File, raw interface {
	Write(func(uintptr) bool) error
}) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = f.SetWriteDeadline(dl)
	}
	// A cancelled ctx wakes the poller by moving the deadline to the past.
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var soErr error
	err := raw.Write(func(fd uintptr) bool {
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			soErr = err
			return true
		}
		if v == int(unix.EINPROGRESS) || v == int(unix.EALREADY) {
			return false
		}
		// Writable with SO_ERROR 0 = connected; the poller reports writability only once
		// the connect finished, so a spurious wake-up shows as ENOTCONN via getpeername.
		if v == 0 {
			if _, err := unix.Getpeername(int(fd)); err != nil {
				if errors.Is(err, unix.ENOTCONN) {
					return false
				}
				soErr = err
			}
			return true
		}
		soErr = unix.Errno(v)
		return true
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return context.DeadlineExceeded
		}
		return err
	}
	if soErr != nil {
		return os.NewSyscallError("connect", soErr)
	}
	return nil
}
