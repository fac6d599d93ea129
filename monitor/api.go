package monitor

// The monitor's API, HTTP+JSON over <sandbox dir>/monitor.sock. Every call is a POST to
// /<verb> with a JSON body; errors are a non-2xx status with the message as body (404 = no
// such container).

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

type CreateRequest struct {
	ID      string `json:"id"`
	LogPath string `json:"logPath"`
	TTY     bool   `json:"tty,omitempty"`
	Stdin   bool   `json:"stdin,omitempty"`
	// Launch is the bundle's spec, converted by the daemon for libcontainer; the monitor
	// hands it to its helper as it is.
	Launch json.RawMessage `json:"launch,omitempty"`
}

type CreateResponse struct {
	Pid int `json:"pid"`
}

type IDRequest struct {
	ID string `json:"id"`
}

type SignalRequest struct {
	ID     string `json:"id"`
	Signal int    `json:"signal"`
}

type StatusResponse struct {
	Pid       int         `json:"pid"`
	Running   bool        `json:"running"`
	StartedAt time.Time   `json:"startedAt,omitempty"`
	Exit      *ExitRecord `json:"exit,omitempty"`
}

// StartRecord is written by the monitor once the container's process runs.
type StartRecord struct {
	Pid       int       `json:"pid"`
	StartedAt time.Time `json:"startedAt"`
	// StartTime is the init's start time (/proc/<pid>/stat field 22): with Pid, it tells the
	// init from a later process with the same pid. 0 when unknown.
	StartTime uint64 `json:"startTime,omitempty"`
}

// ExitRecord is the monitor's record of a finished container process, written atomically to
// exit.json before any waiter is answered.
type ExitRecord struct {
	ExitCode   int       `json:"exitCode"`
	Signal     int       `json:"signal,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	Reason     string    `json:"reason"`
	Message    string    `json:"message,omitempty"`
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
		var req CreateRequest
		if !decodeReq(w, r, &req) {
			return
		}
		pid, err := m.createContainer(&req, req.Launch)
		if err != nil {
			httpError(w, err)
			return
		}
		writeJSONResponse(w, CreateResponse{Pid: pid})
	})
	mux.HandleFunc("POST /start", handle(func(req *IDRequest) error { return m.startContainer(req.ID) }))
	mux.HandleFunc("POST /signal", handle(func(req *SignalRequest) error { return m.signalContainer(req.ID, req.Signal) }))
	mux.HandleFunc("POST /wait", func(w http.ResponseWriter, r *http.Request) {
		c := m.requestedContainer(w, r)
		if c == nil {
			return
		}
		select {
		case <-c.done:
			writeJSONResponse(w, c.exit)
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("POST /status", func(w http.ResponseWriter, r *http.Request) {
		c := m.requestedContainer(w, r)
		if c == nil {
			return
		}
		resp := StatusResponse{Pid: c.pid}
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
		var req IDRequest
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

// requestedContainer decodes an IDRequest and returns its container, or answers the error
// (bad request, 404) and returns nil.
func (m *monitor) requestedContainer(w http.ResponseWriter, r *http.Request) *monContainer {
	var req IDRequest
	if !decodeReq(w, r, &req) {
		return nil
	}
	c := m.get(req.ID)
	if c == nil {
		httpError(w, errUnknownContainer)
	}
	return c
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

// ShortSockPath works around the 108-byte limit of unix socket paths (deep state dirs in
// tests): a long path is reached through /proc/self/fd/<dir fd>/<name>. done closes the dir.
func ShortSockPath(path string) (string, func(), error) {
	if len(path) < 100 {
		return path, func() {}, nil
	}
	dir, err := os.OpenFile(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	return "/proc/self/fd/" + strconv.Itoa(int(dir.Fd())) + "/" + filepath.Base(path), func() { dir.Close() }, nil
}
