package pod

import "time"

// backoff is the restart back-off of one container, as the kubelet keeps it: the first
// restart is immediate; each later one waits base, 2×base, 4×base … up to max since the
// container finished. A container that ran for resetAfter (10 min) starts over.
type backoff struct {
	delay time.Duration // 0: no failure seen yet
}

const backoffResetAfter = 10 * time.Minute

// next returns how long to wait after a container that ran from started to finished before
// restarting it, and advances the state.
func (b *backoff) next(base, max time.Duration, started, finished time.Time) time.Duration {
	if !started.IsZero() && finished.Sub(started) >= backoffResetAfter {
		b.delay = 0
	}
	if b.delay == 0 {
		b.delay = base
		return 0
	}
	wait := b.delay
	b.delay *= 2
	if b.delay > max {
		b.delay = max
	}
	if wait > max {
		wait = max
	}
	return wait
}
