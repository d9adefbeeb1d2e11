package metrics

import (
	"sync"
	"sync/atomic"
)

// children caches the label children of one metric vector for the request
// path. A hit is a lookup in an immutable map: no lock, no hashing of label
// values into a new slice, no allocation. A miss (once per label
// combination) resolves the child and publishes a copy of the map with it.
//
// At most limit combinations are cached; past that, a key is rewritten by
// overflow (its adapter becomes OtherAdapter) so the vector stays bounded.
type children[K comparable, V any] struct {
	m        atomic.Pointer[map[K]V]
	mu       sync.Mutex // serialises misses
	limit    int
	resolve  func(K) V
	overflow func(K) K
}

func newChildren[K comparable, V any](limit int, resolve func(K) V, overflow func(K) K) *children[K, V] {
	c := &children[K, V]{limit: limit, resolve: resolve, overflow: overflow}
	empty := map[K]V{}
	c.m.Store(&empty)
	return c
}

func (c *children[K, V]) get(k K) V {
	if v, ok := (*c.m.Load())[k]; ok {
		return v
	}
	return c.miss(k)
}

func (c *children[K, V]) miss(k K) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if v, ok := old[k]; ok {
		return v
	}
	if len(old) >= c.limit {
		k = c.overflow(k)
		if v, ok := old[k]; ok {
			return v
		}
		// The overflow child itself is cached even past the limit, once.
	}
	v := c.resolve(k)
	next := make(map[K]V, len(old)+1)
	for key, val := range old {
		next[key] = val
	}
	next[k] = v
	c.m.Store(&next)
	return v
}
