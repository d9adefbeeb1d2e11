package oauth

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/pgtest"
	"github.com/atlas-gateway/atlas/internal/store"
)

// Two Atlas replicas on one real PostgreSQL, a provider that rotates
// refresh tokens, and concurrent calls split across both after the access
// token expired: one refresh at the provider, every call succeeds, and the
// user stays logged in. Without the store's refresh lock each replica
// refreshes (singleflight is per process); the second spends the rotated
// refresh token, gets invalid_grant and, as the first has not stored the
// new tokens yet (its writes are slowed down here), deletes them: its
// calls fail with 401 oauth_refresh_failed.
func TestConcurrentRefreshAcrossReplicas(t *testing.T) {
	dsn := pgtest.Start(t)
	open := func() Store {
		st, err := store.OpenPostgres(t.Context(), dsn, []byte(strings.Repeat("k", 32)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return slowPuts{st}
	}
	a := newEnv(t, envConfig{store: open()})
	b := a.replica(open())
	a.fullLogin("replicas-0123456789", alice)
	key := store.OAuthTokenKey{App: testApp, Provider: testProvider, Account: alice.account, User: alice.id}
	before, err := b.store.GetOAuthTokens(t.Context(), key)
	if err != nil {
		t.Fatalf("replica B does not see the login's tokens: %v", err)
	}

	a.clock.Advance(2 * time.Hour) // both replicas' clock
	// A slow refresh, so the calls on both replicas overlap it.
	a.provider.SetRefreshDelay(200 * time.Millisecond)
	var wg sync.WaitGroup
	results := make([]response, 20)
	for i := range results {
		r := a
		if i%2 == 1 {
			r = b
		}
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, r.url("/v1/apis/oauth/"+testProvider+"/user"), nil)
			alice.sign(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			results[i] = response{resp.StatusCode, resp.Header, string(body)}
		})
	}
	wg.Wait()
	for i, res := range results {
		if res.status != http.StatusOK {
			t.Errorf("call %d (replica %c): %d %s", i, "AB"[i%2], res.status, res.body)
		}
	}
	if n := a.provider.RefreshCalls.Load(); n != 1 {
		t.Errorf("%d refresh calls at the provider, want exactly 1", n)
	}
	if la, lb := a.refreshLog(), b.refreshLog(); len(la)+len(lb) != 1 {
		t.Errorf("OnRefresh calls: A %v, B %v; want one in all", la, lb)
	}
	after, err := a.store.GetOAuthTokens(t.Context(), key)
	if err != nil {
		t.Fatalf("the tokens after the refresh: %v (deleted: the user was logged out)", err)
	}
	issued := a.provider.Issued()
	if last := issued[len(issued)-1]; after.AccessToken != last.AccessToken || after.RefreshToken != last.RefreshToken || after.RefreshToken == before.RefreshToken {
		t.Error("the stored tokens are not the ones the refresh issued")
	}
	// Both replicas go on with them, without another refresh.
	for _, r := range []*env{a, b} {
		if res := r.api(http.MethodGet, "/user", "", alice, nil); res.status != http.StatusOK {
			t.Errorf("call after the refresh: %d %s", res.status, res.body)
		}
	}
	if n := a.provider.RefreshCalls.Load(); n != 1 {
		t.Errorf("%d refresh calls at the provider after more calls, want 1", n)
	}
}

// slowPuts is a store whose token writes take a while (a loaded database):
// a refresh's new tokens are stored well after the provider issued them.
type slowPuts struct{ Store }

func (s slowPuts) PutOAuthTokens(ctx context.Context, key store.OAuthTokenKey, t store.OAuthTokens) error {
	time.Sleep(300 * time.Millisecond)
	return s.Store.PutOAuthTokens(ctx, key, t)
}
