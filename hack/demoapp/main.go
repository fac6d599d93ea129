// Command demoapp is a small HTTP server modelled on ikubernetes/demoapp, the image the seed
// document's pods run. It is built statically (CGO_ENABLED=0) into the demoapp test image by
// hack/mkimage.
//
//	GET /           iKubernetes demoapp v1.0 !! ClientIP: <ip>, ServerName: <host>, ServerIP: <ip>!
//	GET /hostname   the hostname
//	GET /livez      200 "OK" (or 506 after POST /livez with body "FAIL"; "OK" restores)
//	GET /readyz     the same, for readiness
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

const version = "v1.0"

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "80"
	}
	host := os.Getenv("HOST") // all addresses when empty
	log.SetFlags(0)
	log.SetOutput(os.Stdout)

	addr := net.JoinHostPort(host, port)
	log.Printf("%s demoapp %s listening on %s", time.Now().Format(time.RFC3339), version, addr)
	srv := &http.Server{Addr: addr, Handler: logRequests(newHandler()), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Printf("demoapp: %v", err)
		os.Exit(1)
	}
}

// newHandler serves the demoapp endpoints; live and ready start healthy.
func newHandler() http.Handler {
	var live, ready atomic.Bool
	live.Store(true)
	ready.Store(true)

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		hn, _ := os.Hostname()
		fmt.Fprintf(w, "iKubernetes demoapp %s !! ClientIP: %s, ServerName: %s, ServerIP: %s!\n",
			version, clientIP(r), hn, serverIP())
	})
	mux.HandleFunc("/hostname", func(w http.ResponseWriter, r *http.Request) {
		hn, _ := os.Hostname()
		fmt.Fprintln(w, hn)
	})
	mux.HandleFunc("/livez", healthHandler(&live))
	mux.HandleFunc("/readyz", healthHandler(&ready))
	return mux
}

// healthHandler answers GET with the current state; POST "FAIL" or "OK" sets it, so tests can
// make a probe fail on demand (as ikubernetes/demoapp allows).
func healthHandler(ok *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(io.LimitReader(r.Body, 64))
			switch strings.TrimSpace(string(b)) {
			case "FAIL":
				ok.Store(false)
			case "OK":
				ok.Store(true)
			default:
				http.Error(w, `body must be "OK" or "FAIL"`, http.StatusBadRequest)
				return
			}
		}
		if ok.Load() {
			fmt.Fprint(w, "OK")
			return
		}
		w.WriteHeader(http.StatusVariantAlsoNegotiates) // 506, what demoapp answers
		fmt.Fprint(w, "FAIL")
	}
}

func clientIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// serverIP is the first non-loopback IPv4 address (the pod IP in a pod), else 127.0.0.1.
func serverIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		log.Printf("%s - - [%s] \"%s %s %s\" %d - \"%s\"", clientIP(r), time.Now().Format("02/Jan/2006 15:04:05"),
			r.Method, r.URL.RequestURI(), r.Proto, rec.status, r.UserAgent())
	})
}
