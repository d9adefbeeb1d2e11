package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/secretbox"
)

// The OAuthStore contract, run against both stores.

func TestSQLiteOAuthContract(t *testing.T) {
	testOAuthContract(t, func(t *testing.T) oauthTestStore { return newSQLite(t).(*SQLite) })
}

func TestPostgresOAuthContract(t *testing.T) {
	testOAuthContract(t, func(t *testing.T) oauthTestStore { return newPostgres(t).(*Postgres) })
}

type oauthTestStore interface {
	Store
	OAuthStore
}

func testOAuthContract(t *testing.T, open func(t *testing.T) oauthTestStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s oauthTestStore)
	}{
		{"nonce lifecycle", testOAuthNonceLifecycle},
		{"nonce bound to the first poller", testOAuthNonceOwner},
		{"nonce expiry", testOAuthNonceExpiry},
		{"nonce create is idempotent while pending", testOAuthNonceRecreate},
		{"provider error is recorded", testOAuthNonceProviderError},
		{"concurrent claims: exactly one wins", testOAuthNonceConcurrentClaims},
		{"tokens CRUD", testOAuthTokensCRUD},
		{"tokens sealed and bound to the key", testOAuthTokensSealed},
		{"invalid input", testOAuthInvalid},
		{"writes fire no Changes", testOAuthNoChanges},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

var (
	oauthT0    = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	oauthAlice = OAuthClaim{App: "my-app", Provider: "github", Account: "acct_1", User: "usr_alice"}
	oauthMal   = OAuthClaim{App: "my-app", Provider: "github", Account: "acct_1", User: "usr_mallory"}
)

func oauthNonce(state string) OAuthNonce {
	return OAuthNonce{State: state, App: "my-app", Provider: "github", Verifier: "v3rifier-" + state, ExpiresAt: oauthT0.Add(10 * time.Minute)}
}

func mustCreateNonce(t *testing.T, s OAuthStore, n OAuthNonce) OAuthNonce {
	t.Helper()
	got, err := s.CreateOAuthNonce(t.Context(), n, oauthT0)
	if err != nil {
		t.Fatalf("CreateOAuthNonce: %v", err)
	}
	return got
}

func wantNonceErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func testOAuthNonceLifecycle(t *testing.T, s oauthTestStore) {
	ctx := t.Context()
	const state = "state-lifecycle-0001"
	created := mustCreateNonce(t, s, oauthNonce(state))
	if created.Verifier != "v3rifier-"+state || created.State != state {
		t.Errorf("created = %+v", created)
	}
	_, err := s.ClaimOAuthNonce(ctx, state, oauthAlice, oauthT0.Add(time.Second))
	wantNonceErr(t, "claim before the callback", err, ErrOAuthNoncePending)

	if err := s.SaveOAuthCallback(ctx, state, OAuthCallback{Code: "c0de-123"}, oauthT0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	err = s.SaveOAuthCallback(ctx, state, OAuthCallback{Code: "another-code"}, oauthT0.Add(3*time.Second))
	wantNonceErr(t, "a second callback", err, ErrOAuthNonceUsed)

	got, err := s.ClaimOAuthNonce(ctx, state, oauthAlice, oauthT0.Add(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != "c0de-123" || got.Verifier != "v3rifier-"+state || got.App != "my-app" || got.Provider != "github" || got.Error != "" {
		t.Errorf("claimed = %+v", got)
	}
	_, err = s.ClaimOAuthNonce(ctx, state, oauthAlice, oauthT0.Add(5*time.Second))
	wantNonceErr(t, "a replayed claim", err, ErrOAuthNonceUsed)

	_, err = s.ClaimOAuthNonce(ctx, "state-never-created", oauthAlice, oauthT0)
	wantNonceErr(t, "an unknown state", err, ErrOAuthNonceUnknown)
	err = s.SaveOAuthCallback(ctx, "state-never-created", OAuthCallback{Code: "x"}, oauthT0)
	wantNonceErr(t, "a callback for an unknown state", err, ErrOAuthNonceUnknown)

	// Another app or provider does not see the login.
	const other = "state-lifecycle-0002"
	mustCreateNonce(t, s, oauthNonce(other))
	wrongProvider := oauthAlice
	wrongProvider.Provider = "dropbox"
	_, err = s.ClaimOAuthNonce(ctx, other, wrongProvider, oauthT0)
	wantNonceErr(t, "a claim at another provider", err, ErrOAuthNonceUnknown)
}

func testOAuthNonceOwner(t *testing.T, s oauthTestStore) {
	ctx := t.Context()
	const state = "state-owner-000001"
	mustCreateNonce(t, s, oauthNonce(state))
	// Alice's frontend polls while she logs in: the login is now hers.
	_, err := s.ClaimOAuthNonce(ctx, state, oauthAlice, oauthT0)
	wantNonceErr(t, "alice's first poll", err, ErrOAuthNoncePending)
	if err := s.SaveOAuthCallback(ctx, state, OAuthCallback{Code: "alice-code"}, oauthT0); err != nil {
		t.Fatal(err)
	}
	// Mallory learned the state (it was in a URL) and polls first.
	_, err = s.ClaimOAuthNonce(ctx, state, oauthMal, oauthT0)
	wantNonceErr(t, "mallory's poll", err, ErrOAuthNonceOwner)
	otherAccount := oauthAlice
	otherAccount.Account = "acct_2"
	_, err = s.ClaimOAuthNonce(ctx, state, otherAccount, oauthT0)
	wantNonceErr(t, "the same user id in another account", err, ErrOAuthNonceOwner)
	got, err := s.ClaimOAuthNonce(ctx, state, oauthAlice, oauthT0)
	if err != nil || got.Code != "alice-code" {
		t.Fatalf("alice's claim = %+v, %v", got, err)
	}
	_, err = s.ClaimOAuthNonce(ctx, state, oauthMal, oauthT0)
	wantNonceErr(t, "mallory after alice claimed", err, ErrOAuthNonceOwner)
}

func testOAuthNonceExpiry(t *testing.T, s oauthTestStore) {
	ctx := t.Context()
	n := oauthNonce("state-expiry-00001")
	mustCreateNonce(t, s, n)
	err := s.SaveOAuthCallback(ctx, n.State, OAuthCallback{Code: "late"}, n.ExpiresAt)
	wantNonceErr(t, "a callback at expiry", err, ErrOAuthNonceExpired)

	m := oauthNonce("state-expiry-00002")
	mustCreateNonce(t, s, m)
	if err := s.SaveOAuthCallback(ctx, m.State, OAuthCallback{Code: "in-time"}, oauthT0); err != nil {
		t.Fatal(err)
	}
	_, err = s.ClaimOAuthNonce(ctx, m.State, oauthAlice, m.ExpiresAt.Add(time.Second))
	wantNonceErr(t, "a claim after expiry", err, ErrOAuthNonceExpired)

	// Long after expiry a new login purges the row: the state is unknown.
	late := oauthNonce("state-expiry-00003")
	late.ExpiresAt = m.ExpiresAt.Add(2 * OAuthNonceRetention)
	if _, err := s.CreateOAuthNonce(ctx, late, m.ExpiresAt.Add(OAuthNonceRetention+time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err = s.ClaimOAuthNonce(ctx, m.State, oauthAlice, m.ExpiresAt.Add(OAuthNonceRetention+time.Minute))
	wantNonceErr(t, "a purged state", err, ErrOAuthNonceUnknown)

	// An expired state may start a new login.
	again := n
	again.Verifier = "fresh-verifier"
	again.ExpiresAt = n.ExpiresAt.Add(time.Hour)
	got, err := s.CreateOAuthNonce(ctx, again, n.ExpiresAt.Add(time.Minute))
	if err != nil || got.Verifier != "fresh-verifier" {
		t.Fatalf("recreate an expired state = %+v, %v", got, err)
	}
}

func testOAuthNonceRecreate(t *testing.T, s oauthTestStore) {
	ctx := t.Context()
	n := oauthNonce("state-recreate-001")
	mustCreateNonce(t, s, n)
	// The login window is reloaded: same state, the first verifier stays.
	reload := n
	reload.Verifier = "a-different-verifier"
	got := mustCreateNonce(t, s, reload)
	if got.Verifier != n.Verifier {
		t.Errorf("reload verifier = %q, want the first %q", got.Verifier, n.Verifier)
	}
	// Once the callback came, the state cannot start another login.
	if err := s.SaveOAuthCallback(ctx, n.State, OAuthCallback{Code: "c"}, oauthT0); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateOAuthNonce(ctx, n, oauthT0)
	wantNonceErr(t, "create after the callback", err, ErrOAuthNonceUsed)
	// Nor may another provider take over a pending state.
	p := oauthNonce("state-recreate-002")
	mustCreateNonce(t, s, p)
	p.Provider = "dropbox"
	_, err = s.CreateOAuthNonce(ctx, p, oauthT0)
	wantNonceErr(t, "create for another provider", err, ErrOAuthNonceUsed)
}

func testOAuthNonceProviderError(t *testing.T, s oauthTestStore) {
	ctx := t.Context()
	const state = "state-denied-00001"
	mustCreateNonce(t, s, oauthNonce(state))
	cb := OAuthCallback{Error: "access_denied", ErrorDescription: "The user said no"}
	if err := s.SaveOAuthCallback(ctx, state, cb, oauthT0); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimOAuthNonce(ctx, state, oauthAlice, oauthT0)
	if err != nil || got.Code != "" || got.Error != "access_denied" || got.ErrorDescription != "The user said no" {
		t.Fatalf("claim = %+v, %v", got, err)
	}
	_, err = s.ClaimOAuthNonce(ctx, state, oauthAlice, oauthT0)
	wantNonceErr(t, "a second claim", err, ErrOAuthNonceUsed)
}

func testOAuthNonceConcurrentClaims(t *testing.T, s oauthTestStore) {
	const state = "state-concurrent-1"
	mustCreateNonce(t, s, oauthNonce(state))
	if err := s.SaveOAuthCallback(t.Context(), state, OAuthCallback{Code: "only-once"}, oauthT0); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	wins, used := 0, 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := s.ClaimOAuthNonce(t.Context(), state, oauthAlice, oauthT0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrOAuthNonceUsed):
				used++
			default:
				t.Errorf("claim: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || used != 7 {
		t.Errorf("%d claims won and %d were told used; want 1 and 7", wins, used)
	}
}

func testOAuthTokensCRUD(t *testing.T, s oauthTestStore) {
	ctx := t.Context()
	key := OAuthTokenKey{App: "my-app", Provider: "github", Account: "acct_1", User: "usr_alice"}
	_, err := s.GetOAuthTokens(ctx, key)
	wantNonceErr(t, "get before put", err, ErrNotFound)

	start := time.Now()
	tok := OAuthTokens{AccessToken: "gho_access_1", RefreshToken: "ghr_refresh_1", TokenType: "bearer", Scope: "repo", Expiry: oauthT0.Add(time.Hour)}
	if err := s.PutOAuthTokens(ctx, key, tok); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetOAuthTokens(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	within(t, "UpdatedAt", got.UpdatedAt, start, time.Now())
	got.UpdatedAt = time.Time{}
	if got != tok {
		t.Errorf("got %+v, want %+v", got, tok)
	}

	// Replace, without an expiry this time.
	tok2 := OAuthTokens{AccessToken: "gho_access_2"}
	if err := s.PutOAuthTokens(ctx, key, tok2); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetOAuthTokens(ctx, key)
	if got.AccessToken != "gho_access_2" || got.RefreshToken != "" || !got.Expiry.IsZero() {
		t.Errorf("after replace: %+v", got)
	}

	// Every part of the key matters.
	for _, other := range []OAuthTokenKey{
		{App: "other-app", Provider: "github", Account: "acct_1", User: "usr_alice"},
		{App: "my-app", Provider: "dropbox", Account: "acct_1", User: "usr_alice"},
		{App: "my-app", Provider: "github", Account: "acct_2", User: "usr_alice"},
		{App: "my-app", Provider: "github", Account: "acct_1", User: "usr_bob"},
	} {
		if _, err := s.GetOAuthTokens(ctx, other); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetOAuthTokens(%+v) = %v, want ErrNotFound", other, err)
		}
	}

	if err := s.DeleteOAuthTokens(ctx, key); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetOAuthTokens(ctx, key)
	wantNonceErr(t, "get after delete", err, ErrNotFound)
	wantNonceErr(t, "a second delete", s.DeleteOAuthTokens(ctx, key), ErrNotFound)
}

func testOAuthTokensSealed(t *testing.T, s oauthTestStore) {
	ctx := t.Context()
	victim := OAuthTokenKey{App: "my-app", Provider: "github", Account: "acct_1", User: "usr_alice"}
	attacker := OAuthTokenKey{App: "my-app", Provider: "github", Account: "acct_1", User: "usr_mallory"}
	if err := s.PutOAuthTokens(ctx, victim, OAuthTokens{AccessToken: "gho_victim_access", RefreshToken: "ghr_victim_refresh"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutOAuthTokens(ctx, attacker, OAuthTokens{AccessToken: "mine"}); err != nil {
		t.Fatal(err)
	}
	const state = "state-sealed-00001"
	mustCreateNonce(t, s, oauthNonce(state))
	if err := s.SaveOAuthCallback(ctx, state, OAuthCallback{Code: "victim_code_value"}, oauthT0); err != nil {
		t.Fatal(err)
	}

	var tokens, code, verifier []byte
	const copySealed = `UPDATE oauth_tokens SET sealed = (SELECT sealed FROM oauth_tokens WHERE user_id = 'usr_alice') WHERE user_id = 'usr_mallory'`
	const nonceQuery = `SELECT code, verifier FROM oauth_nonces WHERE state = 'state-sealed-00001'`
	switch st := s.(type) {
	case *SQLite:
		if err := st.db.QueryRowContext(ctx, `SELECT sealed FROM oauth_tokens WHERE user_id = 'usr_alice'`).Scan(&tokens); err != nil {
			t.Fatal(err)
		}
		if err := st.db.QueryRowContext(ctx, nonceQuery).Scan(&code, &verifier); err != nil {
			t.Fatal(err)
		}
		if _, err := st.db.ExecContext(ctx, copySealed); err != nil {
			t.Fatal(err)
		}
	case *Postgres:
		if err := st.pool.QueryRow(ctx, `SELECT sealed FROM oauth_tokens WHERE user_id = 'usr_alice'`).Scan(&tokens); err != nil {
			t.Fatal(err)
		}
		if err := st.pool.QueryRow(ctx, nonceQuery).Scan(&code, &verifier); err != nil {
			t.Fatal(err)
		}
		if _, err := st.pool.Exec(ctx, copySealed); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown store %T", s)
	}
	for what, raw := range map[string][]byte{"tokens": tokens, "code": code, "verifier": verifier} {
		if len(raw) == 0 || strings.Contains(string(raw), "victim") || strings.Contains(string(raw), "v3rifier") {
			t.Errorf("the %s are stored in clear (or not at all): %q", what, raw)
		}
	}
	_, err := s.GetOAuthTokens(ctx, attacker)
	if !errors.Is(err, secretbox.ErrOpen) {
		t.Errorf("tokens moved to another user opened: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "gho_victim") {
		t.Errorf("error leaks the token: %v", err)
	}
}

func testOAuthInvalid(t *testing.T, s oauthTestStore) {
	key := OAuthTokenKey{App: "my-app", Provider: "github", Account: "acct_1", User: "usr_alice"}
	tests := []struct {
		name string
		op   func(ctx context.Context) error
	}{
		{"short state", func(ctx context.Context) error {
			_, err := s.CreateOAuthNonce(ctx, oauthNonce("short"), oauthT0)
			return err
		}},
		{"state with a slash", func(ctx context.Context) error {
			_, err := s.CreateOAuthNonce(ctx, oauthNonce("state/with/a/slash/x"), oauthT0)
			return err
		}},
		{"state too long", func(ctx context.Context) error {
			_, err := s.CreateOAuthNonce(ctx, oauthNonce(strings.Repeat("s", 129)), oauthT0)
			return err
		}},
		{"nonce without app", func(ctx context.Context) error {
			n := oauthNonce("state-no-app-00001")
			n.App = ""
			_, err := s.CreateOAuthNonce(ctx, n, oauthT0)
			return err
		}},
		{"nonce without expiry", func(ctx context.Context) error {
			n := oauthNonce("state-no-expiry-01")
			n.ExpiresAt = time.Time{}
			_, err := s.CreateOAuthNonce(ctx, n, oauthT0)
			return err
		}},
		{"callback with neither code nor error", func(ctx context.Context) error {
			return s.SaveOAuthCallback(ctx, "state-whatever-0001", OAuthCallback{}, oauthT0)
		}},
		{"callback with both", func(ctx context.Context) error {
			return s.SaveOAuthCallback(ctx, "state-whatever-0001", OAuthCallback{Code: "c", Error: "e"}, oauthT0)
		}},
		{"claim without user", func(ctx context.Context) error {
			by := oauthAlice
			by.User = ""
			_, err := s.ClaimOAuthNonce(ctx, "state-whatever-0001", by, oauthT0)
			return err
		}},
		{"tokens without access token", func(ctx context.Context) error { return s.PutOAuthTokens(ctx, key, OAuthTokens{RefreshToken: "r"}) }},
		{"tokens too large", func(ctx context.Context) error {
			return s.PutOAuthTokens(ctx, key, OAuthTokens{AccessToken: strings.Repeat("a", MaxSecretSize)})
		}},
		{"key with a NUL", func(ctx context.Context) error {
			k := key
			k.User = "usr\x00alice"
			return s.PutOAuthTokens(ctx, k, OAuthTokens{AccessToken: "a"})
		}},
		{"get with an empty account", func(ctx context.Context) error {
			k := key
			k.Account = ""
			_, err := s.GetOAuthTokens(ctx, k)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(t.Context()); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func testOAuthNoChanges(t *testing.T, s oauthTestStore) {
	ctx := t.Context()
	ch := s.Changes(ctx)
	const state = "state-nochanges-01"
	key := OAuthTokenKey{App: "my-app", Provider: "github", Account: "acct_1", User: "usr_alice"}
	steps := []func() error{
		func() error { _, err := s.CreateOAuthNonce(ctx, oauthNonce(state), oauthT0); return err },
		func() error { return s.SaveOAuthCallback(ctx, state, OAuthCallback{Code: "c"}, oauthT0) },
		func() error { _, err := s.ClaimOAuthNonce(ctx, state, oauthAlice, oauthT0); return err },
		func() error { return s.PutOAuthTokens(ctx, key, OAuthTokens{AccessToken: "a"}) },
		func() error { return s.DeleteOAuthTokens(ctx, key) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	noFire(t, ch, fmt.Sprintf("%d OAuth writes", len(steps)))
}
