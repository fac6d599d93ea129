// Package printers renders pods, events and images the way kubectl (and crictl for images)
// prints them: `kubectl get pods [-o wide] [--show-labels]`, `kubectl describe pod` and
// `kubectl get events`. Everything here is a pure function of its inputs and an io.Writer, so
// the output is golden-tested byte for byte against kubectl's.
package printers
