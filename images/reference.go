package images

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// The grammar below follows the distribution reference grammar that docker uses
// (github.com/distribution/reference), written out here so that normalisation does not depend
// on go-containerregistry's idea of the default registry ("index.docker.io").
// Compiled on first use (sync.OnceValue): every podrun process, each pod's monitor too, would
// otherwise carry them from its start.
var (
	// One path component of a repository: lowercase alphanumerics joined by ".", "_", "__" or
	// runs of "-".
	pathComponentRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`) })
	// A registry host, optionally with a port: DNS-ish labels or a bracketed IPv6 address.
	domainRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$`)
	})
	tagRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w][\w.-]{0,127}$`) })
	digestRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$`)
	})
	// A bare 64-hex string is an image ID, never a repository name (docker refuses it too).
	fullIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-f0-9]{64}$`) })
)

const (
	defaultDomain    = "docker.io"
	legacyDomain     = "index.docker.io"
	officialRepoPath = "library/"
	defaultTag       = "latest"
	// nameTotalLengthMax is docker's limit on domain + path.
	nameTotalLengthMax = 255
)

// Normalize returns the docker-normalised form of a reference:
// "busybox" → "docker.io/library/busybox:latest", "ikubernetes/demoapp:v1.0" →
// "docker.io/ikubernetes/demoapp:v1.0", "localhost:5000/x" → "localhost:5000/x:latest".
// A digest is kept ("busybox@sha256:…" → "docker.io/library/busybox@sha256:…"); ":latest" is
// added only when the reference has neither tag nor digest, as docker does.
func Normalize(ref string) (string, error) {
	r, err := parseReference(ref)
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

// reference is a parsed, normalised image reference.
type reference struct {
	domain string // "docker.io"
	path   string // "library/busybox"
	tag    string // "" when absent
	digest string // "" when absent; "sha256:…"
}

// Repository is "domain/path", the part RepoDigests are built from.
func (r reference) Repository() string { return r.domain + "/" + r.path }

func (r reference) String() string {
	s := r.Repository()
	if r.tag != "" {
		s += ":" + r.tag
	}
	if r.digest != "" {
		s += "@" + r.digest
	}
	return s
}

func parseReference(ref string) (reference, error) {
	bad := func(why string) (reference, error) {
		return reference{}, fmt.Errorf("invalid image reference %q: %s", ref, why)
	}
	if ref == "" {
		return bad("empty")
	}
	if strings.TrimSpace(ref) != ref {
		return bad("contains leading or trailing white space")
	}
	if fullIDRE().MatchString(ref) {
		return bad("a 64-character hexadecimal string is an image ID, not a repository name")
	}
	var r reference
	rest := ref
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		r.digest = rest[i+1:]
		rest = rest[:i]
		if !digestRE().MatchString(r.digest) {
			return bad("invalid digest " + fmt.Sprintf("%q", r.digest))
		}
	}
	// A tag is after the last ":" that follows the last "/" (a ":" before it is a port).
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && i > strings.LastIndexByte(rest, '/') {
		r.tag = rest[i+1:]
		rest = rest[:i]
		if !tagRE().MatchString(r.tag) {
			return bad(fmt.Sprintf("invalid tag %q", r.tag))
		}
	}
	if rest == "" {
		return bad("missing repository name")
	}
	// The first component is a registry only if it looks like a host (has "." or ":", is
	// "localhost", or has uppercase letters, which a repository path may not have).
	i := strings.IndexByte(rest, '/')
	if i == -1 || (!strings.ContainsAny(rest[:i], ".:") && rest[:i] != "localhost" && strings.ToLower(rest[:i]) == rest[:i]) {
		r.domain, r.path = defaultDomain, rest
	} else {
		r.domain, r.path = rest[:i], rest[i+1:]
	}
	if r.domain == legacyDomain {
		r.domain = defaultDomain
	}
	if r.domain == defaultDomain && !strings.Contains(r.path, "/") {
		r.path = officialRepoPath + r.path
	}
	if !domainRE().MatchString(r.domain) {
		return bad(fmt.Sprintf("invalid registry host %q", r.domain))
	}
	if strings.ToLower(r.path) != r.path {
		return bad("repository name must be lowercase")
	}
	for _, c := range strings.Split(r.path, "/") {
		if !pathComponentRE().MatchString(c) {
			return bad(fmt.Sprintf("invalid repository path component %q", c))
		}
	}
	if len(r.domain)+1+len(r.path) > nameTotalLengthMax {
		return bad(fmt.Sprintf("repository name longer than %d characters", nameTotalLengthMax))
	}
	if r.tag == "" && r.digest == "" {
		r.tag = defaultTag
	}
	return r, nil
}
