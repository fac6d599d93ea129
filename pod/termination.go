package pod

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"

	v1 "k8s.io/api/core/v1"
)

// Kubernetes' limits on termination messages (pkg/kubelet/kuberuntime).
const (
	maxTerminationMessage = 4096
	fallbackLogLines      = 80
	fallbackLogBytes      = 2048
)

func (m *Manager) terminationLogPath(p *v1.Pod, container string, attempt int) string {
	return filepath.Join(m.podDir(p.UID), "containers", container, strconv.Itoa(attempt)+"-termination-log")
}

// prepareTerminationLog creates the empty host file the runtime bind-mounts at
// terminationMessagePath (world-writable: the container may run as any user).
func (m *Manager) prepareTerminationLog(p *v1.Pod, c *v1.Container, attempt int) (string, error) {
	if c.TerminationMessagePath == "" {
		return "", nil
	}
	path := m.terminationLogPath(p, c.Name, attempt)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o666)
	if err != nil {
		return "", err
	}
	f.Close()
	return path, os.Chmod(path, 0o666)
}

// terminationMessage reads what the container left at terminationMessagePath; with
// FallbackToLogsOnError and an empty file after a failure, the tail of its log.
func terminationMessage(termPath, logPath string, policy v1.TerminationMessagePolicy, exitCode int) string {
	if termPath != "" {
		if f, err := os.Open(termPath); err == nil {
			data, _ := io.ReadAll(io.LimitReader(f, maxTerminationMessage))
			f.Close()
			if len(data) > 0 {
				return string(data)
			}
		}
	}
	if policy == v1.TerminationMessageFallbackToLogsOnError && exitCode != 0 && logPath != "" {
		return tailCRILog(logPath, fallbackLogLines, fallbackLogBytes)
	}
	return ""
}

// tailCRILog returns the content of the last lines of a CRI log file (the
// "<time> <stream> <P|F> " prefixes stripped, partial lines joined), at most maxBytes.
func tailCRILog(path string, lines, maxBytes int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	// Read enough of the end of the file: prefixes make records longer than their content.
	const window = 64 * 1024
	if st, err := f.Stat(); err == nil && st.Size() > window {
		_, _ = f.Seek(st.Size()-window, io.SeekStart)
	}
	data, _ := io.ReadAll(f)
	recs := bytes.Split(data, []byte("\n"))
	var out [][]byte
	var cur []byte
	for _, r := range recs {
		parts := bytes.SplitN(r, []byte(" "), 4)
		if len(parts) < 4 {
			continue
		}
		cur = append(cur, parts[3]...)
		if string(parts[2]) == "F" {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	if len(out) > lines {
		out = out[len(out)-lines:]
	}
	msg := bytes.Join(out, []byte("\n"))
	if len(out) > 0 {
		msg = append(msg, '\n')
	}
	if len(msg) > maxBytes {
		msg = msg[len(msg)-maxBytes:]
	}
	return string(msg)
}
