package store

import (
	"context"
	"testing"
)

func TestNotifierCoalesces(t *testing.T) {
	n := newNotifier()
	defer n.close()
	ch := n.subscribe(t.Context())
	for range 5 {
		n.fire()
	}
	<-ch
	select {
	case <-ch:
		t.Fatal("five fires before a read gave two signals, want one")
	default:
	}
}

func TestNotifierSubscribeAfterEnd(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() context.Context
		stop func(n *notifier)
	}{
		{"ended ctx", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, func(*notifier) {}},
		{"closed notifier", context.Background, (*notifier).close},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNotifier()
			tt.stop(n)
			if _, ok := <-n.subscribe(tt.ctx()); ok {
				t.Fatal("got a signal, want a closed channel")
			}
			n.fire() // must not panic on closed channels
			n.close()
		})
	}
}
