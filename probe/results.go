package probe

import (
	"context"
	"sync"
)

// Update is published on a Results' channel whenever a container's result changes.
type Update struct {
	ContainerID string
	PodUID      string
	ProbeType   Type
	// Result is Success or Failure (never Warning or Unknown).
	Result Result
	// Message is the output of the probe that caused the change ("" when the result was set
	// by a worker starting up).
	Message string
}

// Results holds the latest result of one probe type per container, like the kubelet's
// prober/results package: the pod manager reads it (and its updates) without knowing how
// probing works. Safe for concurrent use.
type Results struct {
	probeType Type
	mu        sync.RWMutex
	m         map[string]Result
	updates   chan Update
}

// NewResults returns an empty Results whose Updates channel buffers buffer updates. Set blocks
// while the buffer is full, so the consumer must drain Updates.
func NewResults(t Type, buffer int) *Results {
	return &Results{probeType: t, m: map[string]Result{}, updates: make(chan Update, buffer)}
}

// Type is the probe type these results are for.
func (r *Results) Type() Type { return r.probeType }

// Get returns the cached result of the container and whether there is one.
func (r *Results) Get(containerID string) (Result, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	res, ok := r.m[containerID]
	return res, ok
}

// Set records a result and publishes an Update when it differs from the cached one.
func (r *Results) Set(containerID, podUID string, result Result, message string) {
	r.set(context.Background(), containerID, podUID, result, message)
}

// set is Set that gives up waiting for the consumer when ctx ends (a worker being stopped must
// not block on a full channel). It reports false when ctx ended first.
func (r *Results) set(ctx context.Context, containerID, podUID string, result Result, message string) bool {
	if result == Warning {
		result = Success
	}
	r.mu.Lock()
	prev, ok := r.m[containerID]
	r.m[containerID] = result
	r.mu.Unlock()
	if ok && prev == result {
		return true
	}
	// Sent outside the lock so that readers are never blocked by a slow consumer.
	select {
	case r.updates <- Update{ContainerID: containerID, PodUID: podUID, ProbeType: r.probeType, Result: result, Message: message}:
		return true
	case <-ctx.Done():
		return false
	}
}

// Remove forgets the container (its worker stopped). No update is sent.
func (r *Results) Remove(containerID string) {
	r.mu.Lock()
	delete(r.m, containerID)
	r.mu.Unlock()
}

// Updates is the channel of result changes.
func (r *Results) Updates() <-chan Update { return r.updates }
