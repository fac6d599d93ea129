package probe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

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

// The health protocol is one unary call, so it is spoken here over net/http's cleartext
// HTTP/2 rather than through grpc-go: that keeps grpc-go and protobuf (≈13 MB) out of the
// podrun binary, which is also every pod's pause and monitor. The tests check it against
// grpc-go's own health server.
const (
	healthCheckPath = "/grpc.health.v1.Health/Check"
	// HealthCheckResponse.ServingStatus values (grpc/health/v1/health.proto).
	healthServing = 1
)

var healthStatusNames = map[uint64]string{0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}

// gRPC status codes the probe distinguishes (google.golang.org/grpc/codes).
var grpcCodeNames = map[int]string{
	0: "OK", 1: "Canceled", 2: "Unknown", 3: "InvalidArgument", 4: "DeadlineExceeded", 5: "NotFound",
	6: "AlreadyExists", 7: "PermissionDenied", 8: "ResourceExhausted", 9: "FailedPrecondition",
	10: "Aborted", 11: "OutOfRange", 12: "Unimplemented", 13: "Internal", 14: "Unavailable",
	15: "DataLoss", 16: "Unauthenticated",
}

const (
	grpcDeadlineExceeded = 4
	grpcUnimplemented    = 12
	grpcUnavailable      = 14
)

// GRPCCheck is the mechanism of GRPC, for callers with an address at hand.
func GRPCCheck(ctx context.Context, addr, service string, timeout time.Duration, dial DialContext) (Result, string, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	st, err := healthCheck(ctx, addr, service, timeout, dial)
	if err != nil {
		var se *grpcStatusError
		if errors.As(err, &se) {
			switch se.code {
			case grpcUnimplemented:
				return Failure, fmt.Sprintf("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", se.msg), nil
			case grpcDeadlineExceeded:
				return Failure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout), nil
			}
		}
		return Failure, fmt.Sprintf("error: health rpc probe failed: %+v", err), nil
	}
	if st != healthServing {
		name, ok := healthStatusNames[st]
		if !ok {
			name = strconv.FormatUint(st, 10)
		}
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", name), nil
	}
	return Success, "service healthy", nil
}

// grpcStatusError is a non-OK gRPC status, formatted as grpc-go formats it.
type grpcStatusError struct {
	code int
	msg  string
}

func (e *grpcStatusError) Error() string {
	name, ok := grpcCodeNames[e.code]
	if !ok {
		name = "Code(" + strconv.Itoa(e.code) + ")"
	}
	return fmt.Sprintf("rpc error: code = %s desc = %s", name, e.msg)
}

// healthCheck performs the unary call and returns HealthCheckResponse.status.
func healthCheck(ctx context.Context, addr, service string, timeout time.Duration, dial DialContext) (uint64, error) {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	tr := &http.Transport{DialContext: dialOrDefault(dial), Protocols: protocols, DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()

	// HealthCheckRequest{service = 1}: one length-delimited field, in a gRPC message frame
	// (1 byte "compressed" flag, 4 bytes big-endian length).
	var msg []byte
	if service != "" {
		msg = binary.AppendUvarint([]byte{0x0a}, uint64(len(service)))
		msg = append(msg, service...)
	}
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	frame = append(frame, msg...)

	u := &url.URL{Scheme: "http", Host: addr, Path: healthCheckPath}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(frame))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	req.Header.Set("User-Agent", UserAgent)
	if timeout > 0 {
		req.Header.Set("Grpc-Timeout", strconv.FormatInt(timeout.Milliseconds(), 10)+"m")
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, &grpcStatusError{code: grpcDeadlineExceeded, msg: "context deadline exceeded"}
		}
		return 0, &grpcStatusError{code: grpcUnavailable, msg: fmt.Sprintf("connection error: desc = %q", "transport: Error while dialing: "+err.Error())}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, &grpcStatusError{code: grpcUnavailable, msg: fmt.Sprintf("unexpected HTTP status code received from server: %d (%s)", resp.StatusCode, http.StatusText(resp.StatusCode))}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	if err != nil {
		if ctx.Err() != nil {
			return 0, &grpcStatusError{code: grpcDeadlineExceeded, msg: "context deadline exceeded"}
		}
		return 0, &grpcStatusError{code: grpcUnavailable, msg: err.Error()}
	}
	// A failed call may be "trailers-only": the status is then in the headers.
	status, message := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
	if status == "" {
		status, message = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	code, err := strconv.Atoi(status)
	if err != nil {
		return 0, &grpcStatusError{code: 13, msg: fmt.Sprintf("malformed grpc-status %q", status)}
	}
	if code != 0 {
		if m, err := url.PathUnescape(message); err == nil {
			message = m
		}
		return 0, &grpcStatusError{code: code, msg: message}
	}
	return parseHealthResponse(body)
}

// parseHealthResponse reads HealthCheckResponse.status (field 1, varint) from one frame.
func parseHealthResponse(body []byte) (uint64, error) {
	if len(body) < 5 || body[0] != 0 {
		return 0, &grpcStatusError{code: 13, msg: "malformed or compressed health response"}
	}
	n := binary.BigEndian.Uint32(body[1:5])
	msg := body[5:]
	if uint32(len(msg)) < n {
		return 0, &grpcStatusError{code: 13, msg: "truncated health response"}
	}
	msg = msg[:n]
	var status uint64 // proto3 default: UNKNOWN when absent
	for len(msg) > 0 {
		key, k := binary.Uvarint(msg)
		if k <= 0 {
			return 0, &grpcStatusError{code: 13, msg: "malformed health response"}
		}
		msg = msg[k:]
		switch key & 7 {
		case 0: // varint
			v, k := binary.Uvarint(msg)
			if k <= 0 {
				return 0, &grpcStatusError{code: 13, msg: "malformed health response"}
			}
			msg = msg[k:]
			if key>>3 == 1 {
				status = v
			}
		case 2: // length-delimited: skip
			l, k := binary.Uvarint(msg)
			if k <= 0 || uint64(len(msg)-k) < l {
				return 0, &grpcStatusError{code: 13, msg: "malformed health response"}
			}
			msg = msg[k+int(l):]
		case 1:
			if len(msg) < 8 {
				return 0, &grpcStatusError{code: 13, msg: "malformed health response"}
			}
			msg = msg[8:]
		case 5:
			if len(msg) < 4 {
				return 0, &grpcStatusError{code: 13, msg: "malformed health response"}
			}
			msg = msg[4:]
		default:
			return 0, &grpcStatusError{code: 13, msg: "malformed health response"}
		}
	}
	return status, nil
}
