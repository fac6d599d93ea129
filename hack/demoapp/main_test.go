package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestDemoapp(t *testing.T) {
	srv := httptest.NewServer(logRequests(newHandler()))
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	hn, _ := os.Hostname()
	code, body := do("GET", "/", "")
	re := regexp.MustCompile(`^iKubernetes demoapp v1\.0 !! ClientIP: 127\.0\.0\.1, ServerName: ` + regexp.QuoteMeta(hn) + `, ServerIP: [0-9.]+!\n$`)
	if code != 200 || !re.MatchString(body) {
		t.Errorf("GET / = %d %q", code, body)
	}
	if code, body := do("GET", "/hostname", ""); code != 200 || body != hn+"\n" {
		t.Errorf("GET /hostname = %d %q", code, body)
	}
	if code, _ := do("GET", "/nope", ""); code != 404 {
		t.Errorf("GET /nope = %d", code)
	}
	steps := []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"GET", "/livez", "", 200, "OK"},
		{"GET", "/readyz", "", 200, "OK"},
		{"POST", "/readyz", "FAIL", 506, "FAIL"},
		{"GET", "/readyz", "", 506, "FAIL"},
		{"GET", "/livez", "", 200, "OK"}, // independent of readiness
		{"POST", "/readyz", "OK", 200, "OK"},
		{"GET", "/readyz", "", 200, "OK"},
		{"POST", "/livez", "FAIL\n", 506, "FAIL"},
		{"GET", "/livez", "", 506, "FAIL"},
		{"POST", "/livez", "bogus", 400, ""},
	}
	for _, s := range steps {
		code, body := do(s.method, s.path, s.body)
		if code != s.code || (s.want != "" && body != s.want) {
			t.Errorf("%s %s %q = %d %q, want %d %q", s.method, s.path, s.body, code, body, s.code, s.want)
		}
	}
}
