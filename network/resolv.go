package network

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Limits the kubelet applies to a pod's resolv.conf (k8s.io/kubernetes pkg/apis/core/validation:
// MaxDNSNameservers, MaxDNSSearchPathsExpanded, MaxDNSSearchListCharsExpanded; a search domain
// longer than a DNS-1123 subdomain is dropped because some libcs abort on it).
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
	maxDNSSearchPathLen   = 253
)

// DNS is the content of a resolv.conf.
type DNS struct {
	Nameservers []string
	Searches    []string
	Options     []string
}

// Bytes renders the file the way CRI runtimes write it: search, nameservers, options.
func (d DNS) Bytes() []byte {
	var b bytes.Buffer
	if len(d.Searches) > 0 {
		b.WriteString("search " + strings.Join(d.Searches, " ") + "\n")
	}
	for _, ns := range d.Nameservers {
		b.WriteString("nameserver " + ns + "\n")
	}
	if len(d.Options) > 0 {
		b.WriteString("options " + strings.Join(d.Options, " ") + "\n")
	}
	return b.Bytes()
}

// ParseResolvConf reads nameservers, the search list and options as the kubelet does:
// nameservers accumulate, the last search line wins (trailing dots trimmed, "." dropped), the
// last options line wins; comments start with # or ; ("domain" lines are ignored, as the
// kubelet ignores them).
func ParseResolvConf(data []byte) DNS {
	var d DNS
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			d.Nameservers = append(d.Nameservers, f[1])
		case "search":
			d.Searches = nil
			for _, s := range f[1:] {
				if s != "." {
					d.Searches = append(d.Searches, strings.TrimSuffix(s, "."))
				}
			}
		case "options":
			d.Options = append([]string(nil), f[1:]...)
		}
	}
	return d
}

// ResolvConf builds a pod's /etc/resolv.conf from the host's. See PodDNS.
func ResolvConf(pod *v1.Pod, hostResolvConf []byte) ([]byte, error) {
	d, _, err := PodDNS(pod, hostResolvConf)
	if err != nil {
		return nil, err
	}
	return d.Bytes(), nil
}

// PodDNS computes a pod's DNS settings by its dnsPolicy, as a kubelet without cluster DNS
// does (podrun has no cluster DNS service):
//
//   - ClusterFirst, ClusterFirstWithHostNet and Default: the host's nameservers, search list
//     and options, loopback nameservers dropped (a 127.0.0.53 stub resolver of the host is not
//     reachable from the pod's network namespace);
//   - None: nothing but spec.dnsConfig.
//
// spec.dnsConfig is then merged in: nameservers and searches appended without duplicates,
// options by name with the pod's value winning. The kubelet's limits are applied (3
// nameservers, 32 search domains, 2048 characters of search line); each cut is reported in
// warnings with the kubelet's message (its event reason is "DNSConfigForming").
func PodDNS(pod *v1.Pod, hostResolvConf []byte) (d DNS, warnings []string, err error) {
	if pod == nil {
		return d, nil, errors.New("resolv.conf: no pod")
	}
	switch pod.Spec.DNSPolicy {
	case v1.DNSNone:
		if pod.Spec.DNSConfig == nil {
			return d, nil, errors.New(`resolv.conf: dnsPolicy "None" needs spec.dnsConfig`)
		}
	case "", v1.DNSClusterFirst, v1.DNSClusterFirstWithHostNet, v1.DNSDefault:
		host := ParseResolvConf(hostResolvConf)
		for _, ns := range host.Nameservers {
			if ip := net.ParseIP(ns); ip != nil && ip.IsLoopback() {
				continue
			}
			d.Nameservers = append(d.Nameservers, ns)
		}
		d.Searches = host.Searches
		d.Options = host.Options
	default:
		return d, nil, fmt.Errorf("resolv.conf: invalid dnsPolicy %q", pod.Spec.DNSPolicy)
	}
	if c := pod.Spec.DNSConfig; c != nil {
		d.Nameservers = dedup(append(d.Nameservers, c.Nameservers...))
		d.Searches = dedup(append(d.Searches, c.Searches...))
		d.Options = mergeOptions(d.Options, c.Options)
	}
	if len(d.Nameservers) > maxDNSNameservers {
		d.Nameservers = d.Nameservers[:maxDNSNameservers]
		warnings = append(warnings, "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: "+strings.Join(d.Nameservers, " "))
	}
	var cut bool
	if d.Searches, cut = fitSearches(d.Searches); cut {
		warnings = append(warnings, "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: "+strings.Join(d.Searches, " "))
	}
	return d, warnings, nil
}

func fitSearches(s []string) ([]string, bool) {
	cut := false
	if len(s) > maxDNSSearchPaths {
		s, cut = s[:maxDNSSearchPaths], true
	}
	var kept []string
	for _, x := range s {
		if len(x) > maxDNSSearchPathLen {
			cut = true
			continue
		}
		kept = append(kept, x)
	}
	// Drop domains from the end until the line fits.
	for len(kept) > 0 && len(strings.Join(kept, " ")) > maxDNSSearchListChars {
		kept, cut = kept[:len(kept)-1], true
	}
	return kept, cut
}

func dedup(in []string) []string {
	seen := make(map[string]bool, len(in))
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeOptions merges the pod's options into the host's by name; the pod's value wins. Unlike
// the kubelet (which goes through a map) the order is stable: existing options first, in
// place, then the new ones.
func mergeOptions(existing []string, add []v1.PodDNSConfigOption) []string {
	var names []string
	vals := map[string]string{}
	set := func(name, val string) {
		if _, ok := vals[name]; !ok {
			names = append(names, name)
		}
		vals[name] = val
	}
	for _, o := range existing {
		name, val, _ := strings.Cut(o, ":")
		set(name, val)
	}
	for _, o := range add {
		val := ""
		if o.Value != nil {
			val = *o.Value
		}
		set(o.Name, val)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if vals[n] != "" {
			out = append(out, n+":"+vals[n])
		} else {
			out = append(out, n)
		}
	}
	return out
}

// HostResolvConf reads the host's /etc/resolv.conf. When it names only loopback resolvers
// (systemd-resolved's 127.0.0.53 stub), it reads the upstream list systemd-resolved keeps in
// /run/systemd/resolve/resolv.conf instead, as kubeadm points the kubelet at: the stub is
// not reachable from a pod.
func HostResolvConf() ([]byte, error) {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil, fmt.Errorf("read host resolv.conf: %w", err)
	}
	d := ParseResolvConf(data)
	onlyLoopback := len(d.Nameservers) > 0
	for _, ns := range d.Nameservers {
		if ip := net.ParseIP(ns); ip == nil || !ip.IsLoopback() {
			onlyLoopback = false
		}
	}
	if onlyLoopback {
		if up, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
			return up, nil
		}
	}
	return data, nil
}
