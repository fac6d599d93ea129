// Package crilog writes and reads container logs in the CRI format the kubelet uses:
// "<RFC3339Nano> <stdout|stderr> <F|P> <line>".
package crilog
