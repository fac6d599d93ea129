// Package probe answers probes and runs hooks (exec, httpGet, tcpSocket, grpc, sleep): handlers
// answer Success/Failure/Unknown; workers apply delays and thresholds.
package probe
