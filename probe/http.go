package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
)

// DialContext opens a connection for a probe or hook. The pod manager passes
// NetnsDialContext(netns) to reach a pod's loopback, or nil to dial from the host (pod IP).
type DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

func dialOrDefault(d DialContext) DialContext {
	if d != nil {
		return d
	}
	return (&net.Dialer{}).DialContext
}

// maxRedirects is the redirect limit of Go's default client, which the kubelet keeps.
const maxRedirects = 10

// NewHTTPRequest builds the GET of an httpGet probe or hook like the kubelet: scheme (default
// http), host (default podIP), port by number or name, path with its query, headers in order
// (a "Host" header sets the request's Host), User-Agent userAgent unless the spec sets one,
// and "Accept: */*" unless the spec sets one (an empty Accept removes the header).
func NewHTTPRequest(ctx context.Context, a *v1.HTTPGetAction, c *v1.Container, podIP, userAgent string) (*http.Request, error) {
	if a == nil {
		return nil, errors.New("httpGet: no action")
	}
	scheme := strings.ToLower(string(a.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	host := a.Host
	if host == "" {
		host = podIP
	}
	if host == "" {
		return nil, errors.New("httpGet: no host and no pod IP")
	}
	port, err := ResolvePort(a.Port, c)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(a.Path)
	if err != nil {
		// The kubelet falls back to the raw path rather than refusing the probe.
		u = &url.URL{Path: a.Path}
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(host, strconv.Itoa(port))

	headers := http.Header{}
	for _, h := range a.HTTPHeaders {
		headers.Add(h.Name, h.Value)
	}
	if _, ok := headers["User-Agent"]; !ok {
		headers.Set("User-Agent", userAgent)
	}
	if _, ok := headers["Accept"]; !ok {
		headers.Set("Accept", "*/*")
	} else if headers.Get("Accept") == "" {
		headers.Del("Accept")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("httpGet: %w", err)
	}
	req.Header = headers
	if h := headers.Get("Host"); h != "" {
		req.Host = h
	}
	return req, nil
}

// newHTTPClient is the probes' client: no keep-alives (each probe is a fresh connection, as
// the kubelet does, so a wedged server is noticed), no proxy, no compression, TLS without
// verification (probes check liveness, not identity), and redirects followed only within the
// same host.
func newHTTPClient(dial DialContext, timeout time.Duration, followNonLocal bool) *http.Client {
	tr := &http.Transport{
		DialContext:         dialOrDefault(dial),
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
		DisableKeepAlives:   true,
		DisableCompression:  true,
		Proxy:               nil,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !followNonLocal && req.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
}

// HTTPGet runs an httpGet probe: 2xx → Success with the body (first 10 KiB); a 3xx left
// unfollowed (redirect to another host) → Warning "Probe terminated redirects, Response body:
// …"; another status → Failure "HTTP probe failed with statuscode: N"; a connection error or
// the timeout → Failure with the error text; a bad spec (unknown port name) → Unknown.
func HTTPGet(ctx context.Context, a *v1.HTTPGetAction, c *v1.Container, podIP string, timeout time.Duration, dial DialContext) (Result, string, error) {
	req, err := NewHTTPRequest(ctx, a, c, podIP, UserAgent)
	if err != nil {
		return Unknown, "", err
	}
	res, err := newHTTPClient(dial, timeout, false).Do(req)
	if err != nil {
		return Failure, err.Error(), nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxOutput))
	if err != nil {
		return Failure, "", fmt.Errorf("read probe response body: %w", err)
	}
	body := string(b)
	if res.StatusCode >= http.StatusOK && res.StatusCode < http.StatusBadRequest {
		if res.StatusCode >= http.StatusMultipleChoices {
			return Warning, fmt.Sprintf("Probe terminated redirects, Response body: %v", body), nil
		}
		return Success, body, nil
	}
	return Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode), nil
}
