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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/cri"
)

// The monitor's API, HTTP+JSON over <sandbox dir>/monitor.sock. Every call is a POST to
// /<verb> with a JSON body; errors are a non-2xx status with the message as body (404 = no
// such container).

type monCreateReq struct {
	ID      string `json:"id"`
	Bundle  string `json:"bundle"`
	LogPath string `json:"logPath"`
	TTY     bool   `json:"tty,omitempty"`
	Stdin   bool   `json:"stdin,omitempty"`
	// Launch is the bundle's spec, converted by the daemon (see launchSpec).
	Launch *launchSpec `json:"launch,omitempty"`
}

type monCreateResp struct {
	Pid int `json:"pid"`
}

type monIDReq struct {
	ID string `json:"id"`
}

type monSignalReq struct {
	ID     string `json:"id"`
	Signal int    `json:"signal"`
}

type monStatusResp struct {
	Pid       int         `json:"pid"`
	Running   bool        `json:"running"`
	StartedAt time.Time   `json:"startedAt,omitempty"`
	Exit      *ExitRecord `json:"exit,omitempty"`
}

func (m *monitor) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ping", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		st := m.status
		m.mu.Unlock()
		writeJSONResponse(w, st)
	})
	mux.HandleFunc("POST /create", func(w http.ResponseWriter, r *http.Request) {
		// The launch spec stays raw: the helper decodes it (see monitor_helper.go).
		var req struct {
			monCreateReq
			Launch json.RawMessage `json:"launch"`
		}
		if !decodeReq(w, r, &req) {
			return
		}
		pid, err := m.createContainer(&req.monCreateReq, req.Launch)
		if err != nil {
			httpError(w, err)
			return
		}
		writeJSONResponse(w, monCreateResp{Pid: pid})
	})
	mux.HandleFunc("POST /start", handle(func(req *monIDReq) error { return m.startContainer(req.ID) }))
	mux.HandleFunc("POST /signal", handle(func(req *monSignalReq) error { return m.signalContainer(req.ID, req.Signal) }))
	mux.HandleFunc("POST /wait", func(w http.ResponseWriter, r *http.Request) {
		var req monIDReq
		if !decodeReq(w, r, &req) {
			return
		}
		c := m.get(req.ID)
		if c == nil {
			httpError(w, errUnknownContainer)
			return
		}
		select {
		case <-c.done:
			writeJSONResponse(w, c.exit)
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("POST /status", func(w http.ResponseWriter, r *http.Request) {
		var req monIDReq
		if !decodeReq(w, r, &req) {
			return
		}
		c := m.get(req.ID)
		if c == nil {
			httpError(w, errUnknownContainer)
			return
		}
		resp := monStatusResp{Pid: c.pid}
		select {
		case <-c.done:
			resp.Exit = c.exit
		default:
			m.mu.Lock()
			resp.StartedAt = c.started
			m.mu.Unlock()
			resp.Running = !resp.StartedAt.IsZero()
		}
		writeJSONResponse(w, resp)
	})
	mux.HandleFunc("POST /remove", func(w http.ResponseWriter, r *http.Request) {
		var req monIDReq
		if !decodeReq(w, r, &req) {
			return
		}
		c := m.get(req.ID)
		if c != nil {
			m.removeContainer(c)
		}
		writeJSONResponse(w, struct{}{})
	})
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		m.stopAll()
		writeJSONResponse(w, struct{}{})
	})
	mux.HandleFunc("POST /shutdown", func(w http.ResponseWriter, r *http.Request) {
		m.shutdown()
		writeJSONResponse(w, struct{}{})
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case <-m.stop:
		default:
			close(m.stop)
		}
	})
	return mux
}

// handle serves a request of type T that answers nothing but success or an error.
func handle[T any](fn func(*T) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req T
		if !decodeReq(w, r, &req) {
			return
		}
		if err := fn(&req); err != nil {
			httpError(w, err)
			return
		}
		writeJSONResponse(w, struct{}{})
	}
}

func decodeReq(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func httpError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, errUnknownContainer) {
		code = http.StatusNotFound
	}
	http.Error(w, err.Error(), code)
}

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
			path, done, err := shortSockPath(sock)
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

// shortSockPath works around the 108-byte limit of unix socket paths (deep state dirs in
// tests): a long path is reached through /proc/self/fd/<dir fd>/<name>. done closes the dir.
func shortSockPath(path string) (string, func(), error) {
	if len(path) < 100 {
		return path, func() {}, nil
	}
	dir, err := os.OpenFile(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	return "/proc/self/fd/" + strconv.Itoa(int(dir.Fd())) + "/" + filepath.Base(path), func() { dir.Close() }, nil
}
