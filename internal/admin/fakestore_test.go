package admin

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/atlas-gateway/atlas/internal/store"
)

// fakeStore is an in-memory store.Store. failWith, when set, is returned by
// every call, to exercise the store-failure path.
type fakeStore struct {
	mu       sync.Mutex
	adapters map[string]store.Adapter
	secrets  map[string][]byte
	meta     map[string]store.SecretMeta
	failWith error
	now      func() time.Time
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		adapters: map[string]store.Adapter{},
		secrets:  map[string][]byte{},
		meta:     map[string]store.SecretMeta{},
		now:      func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	}
}

func (f *fakeStore) ListAdapters(context.Context) ([]store.Adapter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	out := make([]store.Adapter, 0, len(f.adapters))
	for _, a := range f.adapters {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeStore) PutAdapter(_ context.Context, a store.Adapter) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return false, f.failWith
	}
	_, existed := f.adapters[a.Name]
	f.adapters[a.Name] = a
	return !existed, nil
}

func (f *fakeStore) DeleteAdapter(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.adapters[name]; !ok {
		return fmt.Errorf("adapter %q: %w", name, store.ErrNotFound)
	}
	delete(f.adapters, name)
	return nil
}

func (f *fakeStore) SetSecret(_ context.Context, name string, value []byte) (store.SecretMeta, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return store.SecretMeta{}, false, f.failWith
	}
	m, existed := f.meta[name]
	if !existed {
		m = store.SecretMeta{Name: name, CreatedAt: f.now()}
	}
	m.Size, m.UpdatedAt = len(value), f.now()
	f.meta[name], f.secrets[name] = m, append([]byte(nil), value...)
	return m, !existed, nil
}

func (f *fakeStore) ListSecrets(context.Context) ([]store.SecretMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]store.SecretMeta, 0, len(f.meta))
	for _, m := range f.meta {
		out = append(out, m)
	}
	return out, nil
}

func (f *fakeStore) GetSecret(_ context.Context, name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.secrets[name]
	if !ok {
		return nil, fmt.Errorf("secret %s: %w", name, store.ErrNotFound)
	}
	return v, nil
}

func (f *fakeStore) DeleteSecret(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.meta[name]; !ok {
		return fmt.Errorf("secret %s: %w", name, store.ErrNotFound)
	}
	delete(f.meta, name)
	delete(f.secrets, name)
	return nil
}

func (f *fakeStore) Changes(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{})
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}

func (f *fakeStore) Close() error { return nil }

// The helpers below let tests look inside under the lock: the server's
// goroutines write concurrently.

func (f *fakeStore) adapter(name string) (store.Adapter, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.adapters[name]
	return a, ok
}

func (f *fakeStore) adapterCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.adapters)
}

func (f *fakeStore) setUpdatedAt(name string, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.adapters[name]
	a.UpdatedAt = t
	f.adapters[name] = a
}

func (f *fakeStore) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failWith = err
}
