package monitor

import "time"

// stopAll is the monitor's half of StopPodSandbox.
func (m *monitor) stopAll() {
	m.closeNext()
	ctrs := m.markNotReady()
	for _, c := range ctrs {
		select {
		case <-c.done:
			continue
		default:
		}
		m.killContainer(c.id)
	}
	for _, c := range ctrs {
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
		}
	}
	select {
	case <-m.pauseSettled: // a pause still being made is killed once it runs
	case <-time.After(30 * time.Second):
	}
	m.killPause()
}
