package integration

import (
	"strings"
	"testing"
)

// The harness's table parser must cope with kubectl's multi-word headers; it runs without root.
func TestParseTable(t *testing.T) {
	out := "NAME    READY   STATUS    RESTARTS   AGE   IP           NODE   NOMINATED NODE   READINESS GATES   LABELS\n" +
		"mypod   1/1     Running   0          46s   10.88.0.2    host   <none>           <none>            app=mypod,release=canary\n"
	header, rows := parseTable(out)
	if got := strings.Join(header, "|"); got != "NAME|READY|STATUS|RESTARTS|AGE|IP|NODE|NOMINATED NODE|READINESS GATES|LABELS" {
		t.Fatalf("header %q", got)
	}
	want := map[string]string{"NAME": "mypod", "READY": "1/1", "STATUS": "Running", "RESTARTS": "0", "AGE": "46s",
		"IP": "10.88.0.2", "NODE": "host", "NOMINATED NODE": "<none>", "READINESS GATES": "<none>",
		"LABELS": "app=mypod,release=canary"}
	if len(rows) != 1 {
		t.Fatalf("rows %v", rows)
	}
	for k, v := range want {
		if rows[0][k] != v {
			t.Errorf("%s = %q, want %q", k, rows[0][k], v)
		}
	}
	if h, r := parseTable(""); h != nil || r != nil {
		t.Errorf("empty input: %v %v", h, r)
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", "/plain": "/plain", `/x\134y`: `/x\y`} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
