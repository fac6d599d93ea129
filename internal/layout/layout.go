// Package layout names the files and directories of podrun's live state (--state) and of the
// snapshots under --root, for the daemon and the monitor alike. What each holds: runtime/state.go.
package layout

import "path/filepath"

// Paths resolves the layout below a state dir and a root dir.
type Paths struct{ State, Root string }

func (p Paths) Runc() string                    { return filepath.Join(p.State, "runc") }
func (p Paths) SandboxesDir() string            { return filepath.Join(p.State, "sandboxes") }
func (p Paths) Sandbox(id string) string        { return filepath.Join(p.State, "sandboxes", id) }
func (p Paths) SandboxFile(id, f string) string { return filepath.Join(p.State, "sandboxes", id, f) }
func (p Paths) ContainersDir() string           { return filepath.Join(p.State, "containers") }
func (p Paths) Container(id string) string      { return filepath.Join(p.State, "containers", id) }
func (p Paths) ContainerFile(id, f string) string {
	return filepath.Join(p.State, "containers", id, f)
}
func (p Paths) Netns(id string) string    { return filepath.Join(p.State, "netns", id) }
func (p Paths) NsDir(id string) string    { return filepath.Join(p.State, "ns", id) }
func (p Paths) Snapshot(id string) string { return filepath.Join(p.Root, "snapshots", id) }

// ValidID reports whether id is a sandbox or container id: 64 lowercase hex digits. Ids
// become path elements: nothing else may.
func ValidID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
