package runner

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNextCreateRefuses: a request for the first container that is cut, malformed, names a
// bad id or a descriptor it did not send is refused before anything is made.
func TestNextCreateRefuses(t *testing.T) {
	id := strings.Repeat("a", 64)
	tests := []struct {
		name, msg string
		flags     int
		files     int
		want      string
	}{
		{"truncated", `{"id":"` + id + `","stdio":[-1,-1,-1,-1]}` + "\n{}", unix.MSG_TRUNC, 0, "truncated"},
		{"descriptors cut", `{"id":"` + id + `","stdio":[-1,-1,-1,-1]}` + "\n{}", unix.MSG_CTRUNC, 0, "truncated"},
		{"no launch spec", `{"id":"` + id + `","stdio":[-1,-1,-1,-1]}`, 0, 0, "no launch spec"},
		{"bad json", `{"id":` + "\n{}", 0, 0, "create request:"},
		{"bad id", `{"id":"../x","stdio":[-1,-1,-1,-1]}` + "\n{}", 0, 0, "invalid id"},
		{"descriptor not sent", `{"id":"` + id + `","stdio":[-1,2,-1,-1]}` + "\n{}", 0, 2, "names descriptor 2 of 2"},
		{"negative descriptor", `{"id":"` + id + `","stdio":[-2,-1,-1,-1]}` + "\n{}", 0, 0, "names descriptor -2"},
		{"no config in the launch spec", `{"id":"` + id + `","stdio":[-1,-1,-1,-1]}` + "\n{}", 0, 0, "no config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := make([]*os.File, tt.files)
			for i := range files {
				files[i] = os.Stdin
			}
			_, err := nextCreate(paths{State: t.TempDir()}, []byte(tt.msg), tt.flags, files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}
