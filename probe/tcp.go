package probe

import (
	"context"
	"net"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
)

// TCPSocket runs a tcpSocket probe: a connection opened within the timeout → Success (closed
// at once, nothing sent); an error → Failure with the error text; a bad port → Unknown.
func TCPSocket(ctx context.Context, a *v1.TCPSocketAction, c *v1.Container, podIP string, timeout time.Duration, dial DialContext) (Result, string, error) {
	port, err := ResolvePort(a.Port, c)
	if err != nil {
		return Unknown, "", err
	}
	host := a.Host
	if host == "" {
		host = podIP
	}
	return DialTCP(ctx, net.JoinHostPort(host, strconv.Itoa(port)), timeout, dial)
}

// DialTCP is the mechanism of TCPSocket, exported for callers with an address at hand.
func DialTCP(ctx context.Context, addr string, timeout time.Duration, dial DialContext) (Result, string, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	conn, err := dialOrDefault(dial)(ctx, "tcp", addr)
	if err != nil {
		return Failure, err.Error(), nil
	}
	_ = conn.Close()
	return Success, "", nil
}
