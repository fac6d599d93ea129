package main

import (
	"encoding/json"
	"testing"
)

// podSettled reads the pod's JSON as the daemon sends it.
func TestPodSettled(t *testing.T) {
	tests := []struct {
		name            string
		pod             string
		done, failedPod bool
	}{
		{"pending", `{"status":{"phase":"Pending"}}`, false, false},
		{"succeeded", `{"status":{"phase":"Succeeded"}}`, true, false},
		{"failed", `{"status":{"phase":"Failed","reason":"Evicted"}}`, true, true},
		{"running and ready", `{"spec":{"containers":[{"name":"a"}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}`, true, false},
		{"running, not ready", `{"spec":{"containers":[{"name":"a"}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"False"}],"containerStatuses":[{"ready":false}]}}`, false, false},
		{"running, no conditions, all ready", `{"spec":{"containers":[{"name":"a"},{"name":"b"}]},"status":{"phase":"Running","containerStatuses":[{"ready":true},{"ready":true}]}}`, true, false},
		{"running, no conditions, one not ready", `{"spec":{"containers":[{"name":"a"},{"name":"b"}]},"status":{"phase":"Running","containerStatuses":[{"ready":true},{"ready":false}]}}`, false, false},
		{"running, no conditions, a status missing", `{"spec":{"containers":[{"name":"a"},{"name":"b"}]},"status":{"phase":"Running","containerStatuses":[{"ready":true}]}}`, false, false},
	}
	for _, tt := range tests {
		var p podProgress
		if err := json.Unmarshal([]byte(tt.pod), &p); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if done, failedPod := podSettled(&p); done != tt.done || failedPod != tt.failedPod {
			t.Errorf("%s: podSettled = %v, %v; want %v, %v", tt.name, done, failedPod, tt.done, tt.failedPod)
		}
	}
}
