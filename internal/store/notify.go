package store

import (
	"context"
	"sync"
	"time"
)

// notifier hands out Changes channels and fires them all. Each channel is
// buffered 1 and sent to without blocking, so any number of writes while a
// consumer is busy coalesce into one pending signal, and a slow consumer
// never holds up a writer.
type notifier struct {
	mu     sync.Mutex
	subs   map[chan struct{}]struct{}
	done   chan struct{} // closed by close
	closed bool
}

func newNotifier() *notifier {
	return &notifier{subs: make(map[chan struct{}]struct{}), done: make(chan struct{})}
}

// subscribe returns a channel closed when ctx ends or the notifier closes.
func (n *notifier) subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || ctx.Err() != nil {
		close(ch)
		return ch
	}
	n.subs[ch] = struct{}{}
	go func() {
		select {
		case <-ctx.Done():
		case <-n.done:
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if _, ok := n.subs[ch]; ok {
			delete(n.subs, ch)
			close(ch)
		}
	}()
	return ch
}

func (n *notifier) fire() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending
		}
	}
}

func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	close(n.done)
	for ch := range n.subs {
		delete(n.subs, ch)
		close(ch)
	}
}

// now is the time stamped on writes: UTC, at the microsecond resolution
// PostgreSQL keeps, so both stores return identical values.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
