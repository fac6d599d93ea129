package pod

import (
	"context"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
)

// watcher is one Watch call: its filter and its channel.
type watcher struct {
	ns  string
	sel labels.Selector
	ch  chan watch.Event
}

// Watch streams ADDED/MODIFIED/DELETED events of the pods in namespace matching sel from
// now on (no synthetic ADDED for the pods that exist: a client lists them, as kubectl get -w
// does) until ctx ends; the channel is then closed. A consumer that falls more than 256
// events behind has its channel closed, as the API server drops a slow watcher.
func (m *Manager) Watch(ctx context.Context, namespace string, sel labels.Selector) (<-chan watch.Event, error) {
	w := &watcher{ns: namespace, sel: sel, ch: make(chan watch.Event, 256)}
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		return nil, apierrors.NewServiceUnavailable("the pod manager is shutting down")
	}
	m.watchers[w] = struct{}{}
	m.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-m.ctx.Done():
		}
		m.mu.Lock()
		if _, ok := m.watchers[w]; ok {
			delete(m.watchers, w)
			close(w.ch)
		}
		m.mu.Unlock()
	}()
	return w.ch, nil
}

func (m *Manager) notifyLocked(t watch.EventType, p *v1.Pod) {
	for w := range m.watchers {
		if !matches(p, w.ns, w.sel) {
			continue
		}
		select {
		case w.ch <- watch.Event{Type: t, Object: p.DeepCopy()}:
		default:
			delete(m.watchers, w)
			close(w.ch)
		}
	}
}
