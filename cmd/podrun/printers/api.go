package printers

import (
	"io"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// TableOptions selects the columns of PrintPods, as kubectl's flags do.
type TableOptions struct {
	Wide          bool // -o wide: IP, NODE, NOMINATED NODE, READINESS GATES
	ShowLabels    bool // --show-labels: LABELS last
	NoHeaders     bool // --no-headers
	WithNamespace bool // -A / --all-namespaces: NAMESPACE first
}

// newTableWriter aligns `kubectl get` tables: kubectl (cli-runtime printers.GetNewTabWriter)
// uses minwidth 6, tabwidth 4, padding 3, pad ' '. Its extra RememberWidths flag only
// matters across flushes (watch), which we never do.
func newTableWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
}

// terminalEscaper neutralises the bytes kubectl's printers.WriteEscaped neutralises, so a pod
// name or a message cannot drive the user's terminal.
var terminalEscaper = strings.NewReplacer("\x1b", "^[", "\r", "\\r")

func escape(s string) string { return terminalEscaper.Replace(s) }

// writeRow writes one tab-separated table row the way cli-runtime's table printer does: a cell
// is cut at its first line break (then "..." is appended) and escaped; no trailing tab, so
// the last column is never padded.
func writeRow(w io.Writer, cells []string) error {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteByte('\t')
		}
		truncated := false
		if j := strings.IndexAny(c, "\f\n\r"); j >= 0 {
			c, truncated = c[:j], true
		}
		b.WriteString(escape(c))
		if truncated {
			b.WriteString("...")
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// since is kubectl's translateTimestampSince with an injected clock: "<unknown>" for a zero
// time, else apimachinery's HumanDuration of the elapsed time.
func since(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// sinceMicro is since for MicroTime (events.k8s.io fields).
func sinceMicro(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
