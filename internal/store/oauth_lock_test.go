package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// WithOAuthRefreshLock, on two store instances sharing one database: two
// PostgreSQL stores on one database (two replicas), two SQLite stores on
// one file. held reports how many refresh locks the database still holds
// or waits for, to check that none is left behind.

func TestPostgresOAuthRefreshLock(t *testing.T) {
	testOAuthRefreshLock(t, func(t *testing.T) (a, b OAuthStore, held func() (granted, waiting int)) {
		_, _, dsn := pgDatabase(t)
		pa, pb := openPostgres(t, dsn), openPostgres(t, dsn)
		return pa, pb, func() (granted, waiting int) {
			err := pa.pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) FROM pg_locks
				WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&granted, &waiting)
			if err != nil {
				t.Fatal(err)
			}
			return granted, waiting
		}
	})
}

func TestSQLiteOAuthRefreshLock(t *testing.T) {
	testOAuthRefreshLock(t, func(t *testing.T) (a, b OAuthStore, held func() (granted, waiting int)) {
		path := filepath.Join(t.TempDir(), "atlas.db")
		sa, sb := openSQLite(t, path), openSQLite(t, path)
		return sa, sb, func() (granted, waiting int) {
			sqliteRefreshLocks.mu.Lock()
			defer sqliteRefreshLocks.mu.Unlock()
			for name, k := range sqliteRefreshLocks.m {
				if len(name) > len(path) && name[:len(path)] == path {
					held := len(k.held)
					granted += held
					waiting += k.refs - held
				}
			}
			return granted, waiting
		}
	})
}

var (
	lockKey      = OAuthTokenKey{App: "my-app", Provider: "github", Account: "acct_1", User: "usr_alice"}
	lockOtherKey = OAuthTokenKey{App: "my-app", Provider: "github", Account: "acct_1", User: "usr_bob"}
)

func testOAuthRefreshLock(t *testing.T, open func(t *testing.T) (a, b OAuthStore, held func() (granted, waiting int))) {
	noLocks := func(t *testing.T, held func() (int, int)) {
		t.Helper()
		// A closed PostgreSQL session's locks go when its backend exits,
		// a moment after the client closed it.
		deadline := time.Now().Add(5 * time.Second)
		for {
			g, w := held()
			if g == 0 && w == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d locks held and %d waited for, want none", g, w)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	t.Run("excludes a second holder of the same key", func(t *testing.T) {
		a, b, held := open(t)
		inA, releaseA := make(chan struct{}), make(chan struct{})
		var once sync.Once
		release := func() { once.Do(func() { close(releaseA) }) }
		defer release() // a store's Close waits for its held lock
		doneA := make(chan error, 1)
		go func() {
			doneA <- a.WithOAuthRefreshLock(t.Context(), lockKey, func(context.Context) error {
				close(inA)
				<-releaseA
				return nil
			})
		}()
		<-inA
		var inB atomic.Bool
		doneB := make(chan error, 1)
		go func() {
			doneB <- b.WithOAuthRefreshLock(t.Context(), lockKey, func(context.Context) error {
				inB.Store(true)
				return nil
			})
		}()
		time.Sleep(300 * time.Millisecond)
		if inB.Load() {
			t.Fatal("B took the lock while A held it")
		}
		release()
		if err := <-doneA; err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-doneB:
			if err != nil || !inB.Load() {
				t.Fatalf("B after A released: err %v, ran %v", err, inB.Load())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("B did not get the lock after A released it")
		}
		noLocks(t, held)
	})

	t.Run("different keys do not block each other", func(t *testing.T) {
		a, b, held := open(t)
		err := a.WithOAuthRefreshLock(t.Context(), lockKey, func(context.Context) error {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			ran := false
			err := b.WithOAuthRefreshLock(ctx, lockOtherKey, func(context.Context) error { ran = true; return nil })
			if err == nil && !ran {
				err = errors.New("fn did not run")
			}
			return err
		})
		if err != nil {
			t.Fatalf("another key while one is held: %v", err)
		}
		noLocks(t, held)
	})

	t.Run("a cancelled wait fails and leaves no lock", func(t *testing.T) {
		a, b, held := open(t)
		err := a.WithOAuthRefreshLock(t.Context(), lockKey, func(context.Context) error {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ran := false
			doneB := make(chan error, 1)
			go func() {
				doneB <- b.WithOAuthRefreshLock(ctx, lockKey, func(context.Context) error { ran = true; return nil })
			}()
			// Cancel once B is seen waiting (at the server, for PostgreSQL).
			deadline := time.Now().Add(5 * time.Second)
			for _, w := held(); w != 1; _, w = held() {
				if time.Now().After(deadline) {
					t.Fatal("B is not seen waiting for the lock")
				}
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			err := <-doneB
			if ran {
				t.Error("B ran while A held the lock")
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("B's cancelled wait = %v, want a context.Canceled error", err)
			}
			// B no longer waits; A still holds it.
			deadline = time.Now().Add(5 * time.Second)
			for g, w := held(); g != 1 || w != 0; g, w = held() {
				if time.Now().After(deadline) {
					t.Errorf("after B gave up: %d held and %d waiting, want 1 and 0", g, w)
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			// Already cancelled: fails at once.
			if err := b.WithOAuthRefreshLock(ctx, lockKey, func(context.Context) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
				t.Errorf("with a cancelled context = %v (ran %v), want context.Canceled", err, ran)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		noLocks(t, held)
		// And B, or anyone, can take it again.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := b.WithOAuthRefreshLock(ctx, lockKey, func(context.Context) error { return nil }); err != nil {
			t.Fatalf("B after A released: %v", err)
		}
		noLocks(t, held)
	})

	t.Run("released after an error, a panic, a cancelled context", func(t *testing.T) {
		a, b, held := open(t)
		boom := errors.New("boom")
		if err := a.WithOAuthRefreshLock(t.Context(), lockKey, func(context.Context) error { return boom }); err != boom {
			t.Errorf("fn's error came back as %v", err)
		}
		func() {
			defer func() {
				if r := recover(); r != "oops" {
					t.Errorf("recovered %v, want fn's panic", r)
				}
			}()
			_ = a.WithOAuthRefreshLock(t.Context(), lockKey, func(context.Context) error { panic("oops") })
		}()
		ctx, cancel := context.WithCancel(t.Context())
		_ = a.WithOAuthRefreshLock(ctx, lockKey, func(context.Context) error { cancel(); return nil })
		noLocks(t, held)
		ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := b.WithOAuthRefreshLock(ctx, lockKey, func(context.Context) error { return nil }); err != nil {
			t.Fatalf("B after A's error, panic and cancel: %v", err)
		}
	})

	t.Run("one holder at a time under contention", func(t *testing.T) {
		a, b, held := open(t)
		var inside, maxInside, runs atomic.Int64
		var wg sync.WaitGroup
		for i := range 16 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				err := s.WithOAuthRefreshLock(t.Context(), lockKey, func(context.Context) error {
					n := inside.Add(1)
					for m := maxInside.Load(); n > m && !maxInside.CompareAndSwap(m, n); m = maxInside.Load() {
					}
					time.Sleep(5 * time.Millisecond)
					inside.Add(-1)
					runs.Add(1)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if maxInside.Load() != 1 || runs.Load() != 16 {
			t.Errorf("%d runs, up to %d at once; want 16, one at a time", runs.Load(), maxInside.Load())
		}
		noLocks(t, held)
	})

	t.Run("invalid key", func(t *testing.T) {
		a, _, _ := open(t)
		if err := a.WithOAuthRefreshLock(t.Context(), OAuthTokenKey{App: "my-app"}, func(context.Context) error { return nil }); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty key parts = %v, want ErrInvalid", err)
		}
	})
}
