package probe

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	v1 "k8s.io/api/core/v1"
)

// GRPC runs a grpc probe against the standard health service (grpc.health.v1.Health/Check)
// on podIP:port with the spec's service name, over plaintext like the kubelet: SERVING →
// Success "service healthy"; anything else → Failure with the kubelet's wording.
func GRPC(ctx context.Context, a *v1.GRPCAction, podIP string, timeout time.Duration, dial DialContext) (Result, string, error) {
	service := ""
	if a.Service != nil {
		service = *a.Service
	}
	addr := net.JoinHostPort(podIP, strconv.Itoa(int(a.Port)))
	return GRPCCheck(ctx, addr, service, timeout, dial)
}

// GRPCCheck is the mechanism of GRPC, for callers with an address at hand.
func GRPCCheck(ctx context.Context, addr, service string, timeout time.Duration, dial DialContext) (Result, string, error) {
	d := dialOrDefault(dial)
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithUserAgent(UserAgent),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return d(ctx, "tcp", addr)
		}),
	)
	if err != nil {
		return Failure, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err), nil
	}
	defer conn.Close()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		if st, ok := status.FromError(err); ok {
			switch st.Code() {
			case codes.Unimplemented:
				return Failure, fmt.Sprintf("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", st.Message()), nil
			case codes.DeadlineExceeded:
				return Failure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout), nil
			}
		}
		return Failure, fmt.Sprintf("error: health rpc probe failed: %+v", err), nil
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String()), nil
	}
	return Success, "service healthy", nil
}
