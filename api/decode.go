package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// Manifest is one Pod read from a file, with where it came from (for messages).
type Manifest struct {
	Pod *v1.Pod
	// JSON is the object as the file has it, converted to JSON (an item's own with a List):
	// what `create` sends.
	JSON []byte
	// Line is the first line of the object in the file (1-based).
	Line int
	// Check, set by DecodeManifestsDeferred on a Pod it did not decode, decodes the object as
	// DecodeManifests does: nil, or the error DecodeManifests would have returned.
	Check func() error
}

// DecodeManifests reads a file of one or more YAML (or JSON) documents the way `kubectl create
// -f` does, but strictly: every unknown field and every wrongly typed value is an error naming
// the field path and its line. Pods (v1) and Lists of Pods are returned in file order;
// ConfigMap and Secret documents are accepted and skipped with a warning (podrun does not store
// them yet). The YAML is converted with sigs.k8s.io/yaml, as kubectl does, so YAML 1.1 scalars
// ("yes", "on") mean what they mean to kubectl.
func DecodeManifests(data []byte, filename string) (pods []Manifest, warnings []string, err error) {
	return decodeManifests(data, filename, false)
}

// DecodeManifestsDeferred is DecodeManifests for a caller that sends the objects' JSON to the
// daemon, which decodes them as strictly. No Pod is decoded into a v1.Pod here (that typed
// decode, cold in a fresh process, was the CLI's costliest step before its request, ≈ 2 ms):
// each Manifest.Pod holds only apiVersion, kind, name and namespace, and its Check decodes it
// fully, to put on its line the error of a daemon that refused it. A caller sending several
// pods runs every Check first, so that a bad one is found before any is created.
func DecodeManifestsDeferred(data []byte, filename string) (pods []Manifest, warnings []string, err error) {
	return decodeManifests(data, filename, true)
}

func decodeManifests(data []byte, filename string, deferPods bool) (pods []Manifest, warnings []string, err error) {
	for i, doc := range splitDocuments(data) {
		// sigs.k8s.io/yaml first: its syntax errors are the ones kubectl prints, and its strict
		// mode rejects duplicate keys. yaml.v3's node tree then gives the lines of fields.
		js, err := sigsyaml.YAMLToJSONStrict(doc.data)
		if err != nil {
			return nil, nil, fmt.Errorf("error parsing %s: %s", filename, oneLine(shiftYAMLLines(err.Error(), doc.line-1)))
		}
		var root yaml.Node
		if err := yaml.Unmarshal(doc.data, &root); err != nil {
			return nil, nil, fmt.Errorf("error parsing %s: %s", filename, oneLine(shiftYAMLLines(err.Error(), doc.line-1)))
		}
		if root.Kind == 0 || len(root.Content) == 0 {
			continue // empty document (comments only)
		}
		d := &docDecoder{filename: filename, offset: doc.line - 1, index: i + 1, deferPods: deferPods}
		ps, ws, err := d.decodeObject(js, root.Content[0], "")
		if err != nil {
			return nil, nil, err
		}
		pods = append(pods, ps...)
		warnings = append(warnings, ws...)
	}
	return pods, warnings, nil
}

type document struct {
	data []byte
	line int // first line of data in the file, 1-based
}

// splitDocuments cuts a YAML stream at "---" lines, remembering where each document starts
// so that line numbers in messages are the file's, not the document's.
func splitDocuments(data []byte) []document {
	var docs []document
	lines := bytes.SplitAfter(data, []byte("\n"))
	var cur bytes.Buffer
	start := 1
	for i, l := range lines {
		t := bytes.TrimRight(l, "\r\n")
		if bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			docs = append(docs, document{data: bytes.Clone(cur.Bytes()), line: start})
			cur.Reset()
			start = i + 2
			continue
		}
		cur.Write(l)
	}
	docs = append(docs, document{data: cur.Bytes(), line: start})
	return docs
}

// oneLine folds the parser's multi-line "unmarshal errors:" lists into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// The regexps of this file are compiled on first use: most podrun processes (the monitors)
// never decode a manifest.
var yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })

// shiftYAMLLines rewrites "line N" in a YAML parser message into a line of the whole file.
func shiftYAMLLines(msg string, offset int) string {
	if offset == 0 {
		return msg
	}
	return yamlLineRE().ReplaceAllStringFunc(msg, func(m string) string {
		n, err := strconv.Atoi(strings.TrimPrefix(m, "line "))
		if err != nil {
			return m
		}
		return "line " + strconv.Itoa(n+offset)
	})
}

type docDecoder struct {
	filename  string
	offset    int  // lines before the document
	index     int  // document number, 1-based
	deferPods bool // Pods get a Check instead of a typed decode (DecodeManifestsDeferred)
}

func (d *docDecoder) line(n *yaml.Node) int {
	if n == nil {
		return d.offset + 1
	}
	return n.Line + d.offset
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// decodeObject decodes one object (a document or an item of a List); prefix is its field
// path in the document ("" or "items[3].").
func (d *docDecoder) decodeObject(js []byte, node *yaml.Node, prefix string) ([]Manifest, []string, error) {
	if node.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s: line %d: %sexpected an object (apiVersion, kind, metadata…), found %s", d.filename, d.line(node), pathLabel(prefix), nodeKindName(node))
	}
	var tm typeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, nil, d.typeError(err, node, prefix)
	}
	var missing []string
	if tm.APIVersion == "" {
		missing = append(missing, prefix+"apiVersion")
	}
	if tm.Kind == "" {
		missing = append(missing, prefix+"kind")
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("%s: line %d: %s not set (every object needs apiVersion and kind, e.g. apiVersion: v1, kind: Pod)", d.filename, d.line(node), strings.Join(missing, " and "))
	}
	switch {
	case tm.APIVersion == "v1" && tm.Kind == "Pod" && d.deferPods:
		p := &v1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: tm.APIVersion, Kind: tm.Kind}}
		p.Name, p.Namespace = tm.Metadata.Name, tm.Metadata.Namespace
		full := *d
		full.deferPods = false
		check := func() error {
			_, _, err := full.decodeObject(js, node, prefix)
			return err
		}
		return []Manifest{{Pod: p, JSON: js, Line: d.line(node), Check: check}}, nil, nil
	case tm.APIVersion == "v1" && tm.Kind == "Pod":
		var p v1.Pod
		strict, err := sigsjson.UnmarshalStrict(js, &p)
		if err != nil {
			return nil, nil, d.typeError(err, node, prefix)
		}
		if len(strict) > 0 {
			return nil, nil, d.strictError(strict[0], node, prefix)
		}
		return []Manifest{{Pod: &p, JSON: js, Line: d.line(node)}}, nil, nil
	case tm.APIVersion == "v1" && tm.Kind == "List":
		var l struct {
			APIVersion string            `json:"apiVersion"`
			Kind       string            `json:"kind"`
			Metadata   json.RawMessage   `json:"metadata,omitempty"`
			Items      []json.RawMessage `json:"items"`
		}
		strict, err := sigsjson.UnmarshalStrict(js, &l)
		if err != nil {
			return nil, nil, d.typeError(err, node, prefix)
		}
		if len(strict) > 0 {
			return nil, nil, d.strictError(strict[0], node, prefix)
		}
		items := mapValue(node, "items")
		var pods []Manifest
		var warnings []string
		for i, it := range l.Items {
			var in *yaml.Node
			if items != nil && items.Kind == yaml.SequenceNode && i < len(items.Content) {
				in = items.Content[i]
			}
			if in == nil {
				return nil, nil, fmt.Errorf("%s: document %d: cannot locate %sitems[%d]", d.filename, d.index, prefix, i)
			}
			ps, ws, err := d.decodeObject(it, in, fmt.Sprintf("%sitems[%d].", prefix, i))
			if err != nil {
				return nil, nil, err
			}
			pods = append(pods, ps...)
			warnings = append(warnings, ws...)
		}
		return pods, warnings, nil
	case tm.APIVersion == "v1" && (tm.Kind == "ConfigMap" || tm.Kind == "Secret"):
		return nil, []string{fmt.Sprintf("%s: line %d: %s %q ignored: podrun does not store ConfigMaps and Secrets yet", d.filename, d.line(node), tm.Kind, tm.Metadata.Name)}, nil
	default:
		return nil, nil, fmt.Errorf("%s: line %d: %skind %q of apiVersion %q is not supported: podrun runs Pods (apiVersion: v1, kind: Pod or List)", d.filename, d.line(node), pathLabel(prefix), tm.Kind, tm.APIVersion)
	}
}

func pathLabel(prefix string) string {
	if prefix == "" {
		return ""
	}
	return strings.TrimSuffix(prefix, ".") + ": "
}

var strictFieldRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(unknown|duplicate) field "(.*)"$`) })

// strictError places an "unknown field"/"duplicate field" error of sigs.k8s.io/json (whose
// path has indices: spec.containers[0].imagee) on its line.
func (d *docDecoder) strictError(err error, node *yaml.Node, prefix string) error {
	m := strictFieldRE().FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("%s: line %d: %s%v", d.filename, d.line(node), pathLabel(prefix), err)
	}
	n := findIndexedPath(node, m[2])
	if m[1] == "duplicate" {
		// The decoder reports the path once; the line worth showing is the second key.
		n = findLastKey(node, m[2])
	}
	return fmt.Errorf("%s: line %d: %s field %q", d.filename, d.line(n), m[1], prefix+m[2])
}

// typeError places a json.UnmarshalTypeError (whose path has no indices:
// spec.containers.ports.containerPort) on the first node of that path holding a value of the
// wrong JSON type, and names the path with indices.
func (d *docDecoder) typeError(err error, node *yaml.Node, prefix string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		path, n := findUnindexedPath(node, strings.Split(te.Field, "."), te.Value, "")
		if n == nil {
			path = te.Field
		}
		want := te.Type.String()
		if te.Type.Name() != "" {
			want = te.Type.Name()
		}
		return fmt.Errorf("%s: line %d: %s: cannot unmarshal %s into %s", d.filename, d.line(n), prefix+path, te.Value, want)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("error parsing %s: document %d: %v", d.filename, d.index, err)
	}
	// Errors of custom unmarshalers (quantities, int-or-string, times) carry no path.
	return fmt.Errorf("%s: line %d: %s%v", d.filename, d.line(node), pathLabel(prefix), err)
}

// mapValue returns the value node of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	k, v := mapEntry(n, key)
	_ = k
	return v
}

func mapEntry(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

var segRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`) })
var idxRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\[(\d+)\]`) })

// findIndexedPath returns the key node of a path like spec.containers[0].imagee (the deepest
// node found when the path runs out).
func findIndexedPath(root *yaml.Node, path string) *yaml.Node {
	cur, last := root, root
	for _, seg := range strings.Split(path, ".") {
		m := segRE().FindStringSubmatch(seg)
		if m == nil {
			return last
		}
		k, v := mapEntry(cur, m[1])
		if k == nil {
			return last
		}
		last, cur = k, v
		for _, im := range idxRE().FindAllStringSubmatch(m[2], -1) {
			i, _ := strconv.Atoi(im[1])
			if cur == nil || cur.Kind != yaml.SequenceNode || i >= len(cur.Content) {
				return last
			}
			cur = cur.Content[i]
			last = cur
		}
	}
	return last
}

// findLastKey returns the last key node matching the final segment of path (a duplicate).
func findLastKey(root *yaml.Node, path string) *yaml.Node {
	parentPath, key := "", path
	if i := strings.LastIndex(path, "."); i >= 0 {
		parentPath, key = path[:i], path[i+1:]
	}
	parent := root
	if parentPath != "" {
		k := findIndexedPath(root, parentPath)
		_, parent = mapEntryByKeyNode(root, k)
	}
	var found *yaml.Node
	if parent != nil && parent.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == key {
				found = parent.Content[i]
			}
		}
	}
	if found == nil {
		return findIndexedPath(root, path)
	}
	return found
}

// mapEntryByKeyNode finds the value whose key node is k (or k itself when it is a sequence
// element), searching the whole tree.
func mapEntryByKeyNode(n, k *yaml.Node) (*yaml.Node, *yaml.Node) {
	if n == nil || k == nil {
		return nil, nil
	}
	if n == k {
		return k, k
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i] == k {
				return k, n.Content[i+1]
			}
		}
	}
	for _, c := range n.Content {
		if a, b := mapEntryByKeyNode(c, k); a != nil {
			return a, b
		}
	}
	return nil, nil
}

// findUnindexedPath walks segs through mappings, trying every element of the sequences it
// meets, and returns the indexed path and the value node of the first match whose JSON type
// is jsonType (the UnmarshalTypeError's Value: "string", "number", "bool", "object", "array").
func findUnindexedPath(n *yaml.Node, segs []string, jsonType, path string) (string, *yaml.Node) {
	if n == nil {
		return "", nil
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if len(segs) == 0 {
		if n.Kind == yaml.SequenceNode && jsonType != "array" {
			for i, c := range n.Content {
				if p, f := findUnindexedPath(c, nil, jsonType, fmt.Sprintf("%s[%d]", path, i)); f != nil {
					return p, f
				}
			}
		}
		if jsonTypeOf(n) == jsonType {
			return path, n
		}
		// encoding/json names the map, not the key, when a map value has the wrong type.
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if jsonTypeOf(n.Content[i+1]) == jsonType {
					return path + "." + n.Content[i].Value, n.Content[i+1]
				}
			}
		}
		return "", nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		_, v := mapEntry(n, segs[0])
		if v == nil {
			return "", nil
		}
		p := segs[0]
		if path != "" {
			p = path + "." + segs[0]
		}
		return findUnindexedPath(v, segs[1:], jsonType, p)
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p, f := findUnindexedPath(c, segs, jsonType, fmt.Sprintf("%s[%d]", path, i)); f != nil {
				return p, f
			}
		}
	}
	return "", nil
}

// jsonTypeOf names the JSON type sigs.k8s.io/yaml turns a node into.
func jsonTypeOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "number"
		case "!!bool":
			return "bool"
		case "!!null":
			return "null"
		}
		// YAML 1.1 booleans, as sigs.k8s.io/yaml (yaml.v2) reads them.
		if n.Style == 0 {
			switch strings.ToLower(n.Value) {
			case "yes", "no", "on", "off", "y", "n":
				return "bool"
			}
		}
		return "string"
	}
	return ""
}

func nodeKindName(n *yaml.Node) string {
	switch jsonTypeOf(n) {
	case "array":
		return "a list"
	case "":
		return "nothing"
	default:
		return "a " + jsonTypeOf(n)
	}
}
