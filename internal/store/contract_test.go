package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The contract every Store implementation keeps; sqlite_test.go and
// postgres_test.go run it.

func TestSQLiteContract(t *testing.T)   { testContract(t, newSQLite) }
func TestPostgresContract(t *testing.T) { testContract(t, newPostgres) }

func testContract(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"adapters CRUD", testAdaptersCRUD},
		{"secrets CRUD", testSecretsCRUD},
		{"not found", testNotFound},
		{"invalid input", testInvalidInput},
		{"changes fire after writes", testChangesFire},
		{"changes close", testChangesClose},
		{"concurrent writers", testConcurrentWriters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

func adapterDoc(name, marker string) []byte {
	return fmt.Appendf(nil, "kind: HTTP\nmetadata:\n  name: %s\nspec:\n  upstream: https://%s.example\n", name, marker)
}

// within checks that ts is UTC and inside [from, to].
func within(t *testing.T, what string, ts, from, to time.Time) {
	t.Helper()
	if ts.Location() != time.UTC {
		t.Errorf("%s = %v, want UTC", what, ts)
	}
	if ts.Before(from.Truncate(time.Microsecond)) || ts.After(to) {
		t.Errorf("%s = %v, want within [%v, %v]", what, ts, from, to)
	}
}

func testAdaptersCRUD(t *testing.T, s Store) {
	ctx := t.Context()
	start := time.Now()
	for _, name := range []string{"orders", "billing.v2"} {
		created, err := s.PutAdapter(ctx, Adapter{Name: name, Document: adapterDoc(name, "one")})
		if err != nil || !created {
			t.Fatalf("PutAdapter(%s) = %v, %v; want created", name, created, err)
		}
	}
	got, err := s.ListAdapters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "billing.v2" || got[1].Name != "orders" {
		t.Fatalf("ListAdapters = %+v, want billing.v2 and orders in order", got)
	}
	if string(got[1].Document) != string(adapterDoc("orders", "one")) {
		t.Errorf("document = %q", got[1].Document)
	}
	within(t, "UpdatedAt", got[1].UpdatedAt, start, time.Now())
	first := got[1].UpdatedAt

	created, err := s.PutAdapter(ctx, Adapter{Name: "orders", Document: adapterDoc("orders", "two"), UpdatedAt: time.Unix(0, 0)})
	if err != nil || created {
		t.Fatalf("PutAdapter(existing) = %v, %v; want replaced", created, err)
	}
	got, _ = s.ListAdapters(ctx)
	if len(got) != 2 || string(got[1].Document) != string(adapterDoc("orders", "two")) {
		t.Fatalf("after replace: %+v", got)
	}
	if got[1].UpdatedAt.Before(first) {
		t.Errorf("UpdatedAt went back: %v then %v (the caller's UpdatedAt must be ignored)", first, got[1].UpdatedAt)
	}

	if err := s.DeleteAdapter(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ListAdapters(ctx)
	if len(got) != 1 || got[0].Name != "billing.v2" {
		t.Fatalf("after delete: %+v", got)
	}
}

func testSecretsCRUD(t *testing.T, s Store) {
	ctx := t.Context()
	start := time.Now()
	meta, created, err := s.SetSecret(ctx, "STRIPE_KEY", []byte("sk_test_one"))
	if err != nil || !created {
		t.Fatalf("SetSecret = %v, %v; want created", created, err)
	}
	if meta.Name != "STRIPE_KEY" || meta.Size != len("sk_test_one") || !meta.CreatedAt.Equal(meta.UpdatedAt) {
		t.Errorf("meta = %+v", meta)
	}
	within(t, "CreatedAt", meta.CreatedAt, start, time.Now())

	value, err := s.GetSecret(ctx, "STRIPE_KEY")
	if err != nil || string(value) != "sk_test_one" {
		t.Fatalf("GetSecret = %q, %v", value, err)
	}

	meta2, created, err := s.SetSecret(ctx, "STRIPE_KEY", []byte("sk_test_second"))
	if err != nil || created {
		t.Fatalf("SetSecret(existing) = %v, %v; want replaced", created, err)
	}
	if !meta2.CreatedAt.Equal(meta.CreatedAt) || meta2.UpdatedAt.Before(meta.UpdatedAt) || meta2.Size != len("sk_test_second") {
		t.Errorf("after replace meta = %+v, first %+v", meta2, meta)
	}
	if value, _ := s.GetSecret(ctx, "STRIPE_KEY"); string(value) != "sk_test_second" {
		t.Errorf("GetSecret after replace = %q", value)
	}

	if _, _, err := s.SetSecret(ctx, "_other", []byte("x")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "STRIPE_KEY" || list[1].Name != "_other" {
		t.Fatalf("ListSecrets = %+v", list)
	}
	if list[0] != meta2 {
		t.Errorf("listed meta = %+v, SetSecret returned %+v", list[0], meta2)
	}

	if err := s.DeleteSecret(ctx, "STRIPE_KEY"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSecret(ctx, "STRIPE_KEY"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSecret after delete: %v, want ErrNotFound", err)
	}
}

func testNotFound(t *testing.T, s Store) {
	tests := []struct {
		name string
		op   func(ctx context.Context) error
	}{
		{"delete adapter", func(ctx context.Context) error { return s.DeleteAdapter(ctx, "missing") }},
		{"delete secret", func(ctx context.Context) error { return s.DeleteSecret(ctx, "missing") }},
		{"get secret", func(ctx context.Context) error { _, err := s.GetSecret(ctx, "missing"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op(t.Context())
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "missing") {
				t.Errorf("err = %v, want ErrNotFound naming the missing name", err)
			}
		})
	}
}

func testInvalidInput(t *testing.T, s Store) {
	const value = "sk_live_must_not_leak"
	put := func(name string, doc []byte) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := s.PutAdapter(ctx, Adapter{Name: name, Document: doc})
			return err
		}
	}
	set := func(name string, v []byte) func(ctx context.Context) error {
		return func(ctx context.Context) error { _, _, err := s.SetSecret(ctx, name, v); return err }
	}
	doc := adapterDoc("x", "x")
	tests := []struct {
		name    string
		op      func(ctx context.Context) error
		wantMsg string
	}{
		{"adapter empty name", put("", doc), "empty"},
		{"adapter uppercase", put("Orders", doc), "lowercase"},
		{"adapter leading dash", put("-orders", doc), "starting and ending"},
		{"adapter trailing dot", put("orders.", doc), "starting and ending"},
		{"adapter slash", put("a/b", doc), "pattern"},
		{"adapter too long", put(strings.Repeat("a", MaxAdapterName+1), doc), "at most 63"},
		{"adapter empty document", put("orders", nil), "document is empty"},
		{"delete adapter bad name", func(ctx context.Context) error { return s.DeleteAdapter(ctx, "A B") }, "pattern"},
		{"secret empty name", set("", []byte(value)), "empty"},
		{"secret leading digit", set("1KEY", []byte(value)), "not starting with a digit"},
		{"secret dash", set("MY-KEY", []byte(value)), "pattern"},
		{"secret too long", set("K"+strings.Repeat("k", 128), []byte(value)), "at most 128"},
		{"secret empty value", set("KEY", nil), "value is empty"},
		{"secret too large", set("KEY", make([]byte, MaxSecretSize+1)), "limit"},
		{"get secret bad name", func(ctx context.Context) error { _, err := s.GetSecret(ctx, "a.b"); return err }, "pattern"},
		{"delete secret bad name", func(ctx context.Context) error { return s.DeleteSecret(ctx, "a.b") }, "pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op(t.Context())
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), value) {
				t.Errorf("error leaks the secret value: %v", err)
			}
		})
	}
	if a, _ := s.ListAdapters(t.Context()); len(a) != 0 {
		t.Errorf("invalid puts stored adapters: %+v", a)
	}
	if m, _ := s.ListSecrets(t.Context()); len(m) != 0 {
		t.Errorf("invalid sets stored secrets: %+v", m)
	}
}

const fireTimeout = 10 * time.Second

func waitFire(t *testing.T, ch <-chan struct{}, after string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("Changes closed, want a signal after %s", after)
		}
	case <-time.After(fireTimeout):
		t.Fatalf("Changes did not fire within %s after %s", fireTimeout, after)
	}
}

// settle drains signals still in flight (PostgreSQL delivers a replica's
// own NOTIFY shortly after its local signal).
func settle(ch <-chan struct{}) {
	time.Sleep(200 * time.Millisecond)
	select {
	case <-ch:
	default:
	}
}

func noFire(t *testing.T, ch <-chan struct{}, after string) {
	t.Helper()
	select {
	case <-ch:
		t.Errorf("Changes fired after %s, which changed nothing", after)
	case <-time.After(300 * time.Millisecond):
	}
}

func testChangesFire(t *testing.T, s Store) {
	ch := s.Changes(t.Context())
	ctx := t.Context()
	writes := []struct {
		name string
		op   func() error
	}{
		{"put adapter", func() error {
			_, err := s.PutAdapter(ctx, Adapter{Name: "a", Document: adapterDoc("a", "1")})
			return err
		}},
		{"replace adapter", func() error {
			_, err := s.PutAdapter(ctx, Adapter{Name: "a", Document: adapterDoc("a", "2")})
			return err
		}},
		{"set secret", func() error { _, _, err := s.SetSecret(ctx, "K", []byte("v")); return err }},
		{"delete secret", func() error { return s.DeleteSecret(ctx, "K") }},
		{"delete adapter", func() error { return s.DeleteAdapter(ctx, "a") }},
	}
	for _, w := range writes {
		if err := w.op(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		waitFire(t, ch, w.name)
		settle(ch)
	}
	if err := s.DeleteAdapter(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	noFire(t, ch, "a delete of a missing adapter")
	if _, err := s.PutAdapter(ctx, Adapter{Name: "BAD"}); err == nil {
		t.Fatal("invalid put succeeded")
	}
	noFire(t, ch, "an invalid put")
}

func testChangesClose(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(t.Context())
	byCtx := s.Changes(ctx)
	byClose := s.Changes(t.Context())
	cancel()
	waitClosed(t, byCtx, "ctx ended")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, byClose, "Close")
	waitClosed(t, s.Changes(t.Context()), "Changes after Close")
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}, after string) {
	t.Helper()
	deadline := time.After(fireTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("Changes not closed after %s", after)
		}
	}
}

// testConcurrentWriters races writers on the same names: every write
// lands, and exactly one writer per name is told it created it.
func testConcurrentWriters(t *testing.T, s Store) {
	const writers, names = 6, 15
	ch := s.Changes(t.Context())
	var createdAdapters, createdSecrets atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range names {
				name := fmt.Sprintf("api-%d", i)
				created, err := s.PutAdapter(t.Context(), Adapter{Name: name, Document: adapterDoc(name, fmt.Sprint(w))})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if created {
					createdAdapters.Add(1)
				}
				_, created, err = s.SetSecret(t.Context(), fmt.Sprintf("KEY_%d", i), []byte(fmt.Sprint(w)))
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if created {
					createdSecrets.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := createdAdapters.Load(); n != names {
		t.Errorf("%d PutAdapter calls reported created, want %d (one per name)", n, names)
	}
	if n := createdSecrets.Load(); n != names {
		t.Errorf("%d SetSecret calls reported created, want %d (one per name)", n, names)
	}
	adapters, err := s.ListAdapters(t.Context())
	if err != nil || len(adapters) != names {
		t.Errorf("ListAdapters: %d adapters, %v; want %d", len(adapters), err, names)
	}
	secrets, err := s.ListSecrets(t.Context())
	if err != nil || len(secrets) != names {
		t.Errorf("ListSecrets: %d secrets, %v; want %d", len(secrets), err, names)
	}
	waitFire(t, ch, "concurrent writes")
}
