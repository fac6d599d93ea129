package printers

import ()

// TableOptions selects the columns of PrintPods, as kubectl's flags do.
type TableOptions struct {
	Wide          bool // -o wide: IP, NODE, NOMINATED NODE, READINESS GATES
	ShowLabels    bool // --show-labels: LABELS last
	NoHeaders     bool // --no-headers
	WithNamespace bool // -A / --all-namespaces: NAMESPACE first
}
