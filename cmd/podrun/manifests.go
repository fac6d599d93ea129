package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api"
)

// readPods decodes the pods of every file ("-" is stdin), in order, printing the decoder's
// warnings (ignored ConfigMaps and Secrets). Pods without a namespace get the -n one; a pod
// whose namespace differs from an explicit -n is an error, as with kubectl.
//
// With deferred (create and run, which send each pod's JSON as read), the pods are not decoded
// into v1.Pods (api.DecodeManifestsDeferred): each *v1.Pod has only its names. One pod is
// checked in full only if the daemon refuses it (createPods), for the line of the error;
// several are all checked here before any is sent, so that no bad one is found after others
// were created.
func (c *cli) readPods(files []string, nsExplicit, deferred bool) ([]*v1.Pod, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("must specify one of -f and -k")
	}
	files, err := expandDirs(files)
	if err != nil {
		return nil, err
	}
	var pods []*v1.Pod
	for _, f := range files {
		var data []byte
		name := f
		if f == "-" {
			name = "STDIN"
			data, err = io.ReadAll(c.in)
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			if os.IsNotExist(err) {
				return nil, fmt.Errorf("the path %q does not exist", f)
			}
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		decode := api.DecodeManifests
		if deferred {
			decode = api.DecodeManifestsDeferred
		}
		ms, warnings, err := decode(data, name)
		if err != nil {
			return nil, err
		}
		for _, w := range warnings {
			fmt.Fprintf(c.errOut, "Warning: %s\n", w)
		}
		for _, m := range ms {
			p := m.Pod
			switch {
			case p.Namespace == "":
				p.Namespace = c.namespace
			case nsExplicit && p.Namespace != c.namespace:
				return nil, fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", p.Namespace, c.namespace, p.Namespace)
			}
			pods = append(pods, p)
			if c.read == nil {
				c.read = map[*v1.Pod][]byte{}
			}
			c.read[p] = m.JSON
			if m.Check != nil {
				if c.checks == nil {
					c.checks = map[*v1.Pod]func() error{}
				}
				c.checks[p] = m.Check
			}
		}
	}
	if len(pods) == 0 {
		return nil, fmt.Errorf("no objects passed to create")
	}
	if len(pods) > 1 {
		for _, p := range pods {
			if check := c.checks[p]; check != nil {
				if err := check(); err != nil {
					return nil, err
				}
			}
		}
	}
	return pods, nil
}

// expandDirs replaces each directory by its .yaml, .yml and .json files, in name order, as
// kubectl -f DIR does.
func expandDirs(files []string) ([]string, error) {
	var out []string
	for _, f := range files {
		if f == "-" {
			out = append(out, f)
			continue
		}
		st, err := os.Stat(f)
		if err != nil || !st.IsDir() {
			out = append(out, f) // the read reports a missing file
			continue
		}
		entries, err := os.ReadDir(f)
		if err != nil {
			return nil, fmt.Errorf("read directory %s: %w", f, err)
		}
		for _, e := range entries {
			switch filepath.Ext(e.Name()) {
			case ".yaml", ".yml", ".json":
				if !e.IsDir() {
					out = append(out, filepath.Join(f, e.Name()))
				}
			}
		}
	}
	return out, nil
}
