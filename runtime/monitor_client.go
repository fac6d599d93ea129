package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/podrun/podrun/cri"
	"github.com/podrun/podrun/monitor"
)

// The monitor's API, HTTP+JSON over <sandbox dir>/monitor.sock. Every call is a POST to
// /<verb> with a JSON body; errors are a non-2xx status with the message as body (404 = no
// such container).

// errMonitorGone means the sandbox's monitor does not answer (crashed or already shut down):
// callers fall back to the records on disk.
var errMonitorGone = errors.New("monitor not reachable")

// monitorClient talks to one sandbox's monitor.
type monitorClient struct {
	c *http.Client
}

func newMonitorClient(sock string) *monitorClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			path, done, err := monitor.ShortSockPath(sock)
			if err != nil {
				return nil, err
			}
			defer done()
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}
	return &monitorClient{c: &http.Client{Transport: tr}}
}

// call posts req to verb and decodes the answer into resp (may be nil).
func (mc *monitorClient) call(ctx context.Context, verb string, req, resp any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://monitor/"+verb, bytes.NewReader(b))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	r, err := mc.c.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %v", errMonitorGone, err)
	}
	defer r.Body.Close()
	if r.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
		err := errors.New(strings.TrimSpace(string(msg)))
		if r.StatusCode == http.StatusNotFound {
			return fmt.Errorf("monitor %s: %w: %w", verb, cri.ErrNotFound, err)
		}
		return fmt.Errorf("monitor %s: %w", verb, err)
	}
	if resp == nil {
		return nil
	}
	if err := json.NewDecoder(r.Body).Decode(resp); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A monitor that dies in the middle of a long poll closes the connection.
		return fmt.Errorf("%w: %v", errMonitorGone, err)
	}
	return nil
}
