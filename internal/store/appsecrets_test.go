package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/secretbox"
)

// The AppSecretStore contract, run against both stores.

func TestSQLiteAppSecretContract(t *testing.T) {
	testAppSecretContract(t, func(t *testing.T) appSecretTestStore { return newSQLite(t).(*SQLite) })
}

func TestPostgresAppSecretContract(t *testing.T) {
	testAppSecretContract(t, func(t *testing.T) appSecretTestStore { return newPostgres(t).(*Postgres) })
}

// appSecretTestStore is a store the tests can also reach with raw SQL.
type appSecretTestStore interface {
	Store
	AppSecretStore
}

func testAppSecretContract(t *testing.T, open func(t *testing.T) appSecretTestStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s appSecretTestStore)
	}{
		{"CRUD", testAppSecretCRUD},
		{"scopes are isolated", testAppSecretIsolation},
		{"limit per scope", testAppSecretLimit},
		{"expiry", testAppSecretExpiry},
		{"concurrent creates respect the limit", testAppSecretConcurrentLimit},
		{"invalid input", testAppSecretInvalid},
		{"writes fire no Changes", testAppSecretNoChanges},
		{"sealed and bound to the key", testAppSecretSealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

var (
	t0        = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	userScope = AppSecretScope{App: "my-app", Account: "acct_1", Type: ScopeUser, User: "usr_a"}
	acctScope = AppSecretScope{App: "my-app", Account: "acct_1", Type: ScopeAccount}
)

var idSeq atomic.Int64

func appSecret(scope AppSecretScope, name, payload string, created time.Time) AppSecret {
	return AppSecret{
		AppSecretKey: AppSecretKey{AppSecretScope: scope, Name: name},
		ID:           fmt.Sprintf("appsecret_test%d", idSeq.Add(1)),
		Payload:      []byte(payload),
		Created:      created,
	}
}

func put(t *testing.T, s AppSecretStore, sec AppSecret, now time.Time) bool {
	t.Helper()
	created, err := s.PutAppSecret(t.Context(), sec, 10, now)
	if err != nil {
		t.Fatalf("PutAppSecret(%s): %v", sec.AppSecretKey, err)
	}
	return created
}

func testAppSecretCRUD(t *testing.T, s appSecretTestStore) {
	ctx := t.Context()
	first := appSecret(userScope, "github_token", "gho_one", t0)
	if !put(t, s, first, t0) {
		t.Fatal("first put: created = false")
	}
	got, err := s.FindAppSecret(ctx, first.AppSecretKey, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != first.ID || string(got.Payload) != "gho_one" || !got.Created.Equal(t0) || !got.ExpiresAt.IsZero() || got.AppSecretKey != first.AppSecretKey {
		t.Errorf("FindAppSecret = %+v, want %+v", got, first)
	}

	second := appSecret(userScope, "github_token", "gho_two", t0.Add(time.Second))
	second.ExpiresAt = t0.Add(time.Hour)
	if put(t, s, second, t0.Add(time.Second)) {
		t.Error("replace: created = true")
	}
	got, _ = s.FindAppSecret(ctx, first.AppSecretKey, t0.Add(time.Second))
	if got.ID != second.ID || string(got.Payload) != "gho_two" || !got.ExpiresAt.Equal(second.ExpiresAt) {
		t.Errorf("after replace: %+v, want %+v", got, second)
	}

	put(t, s, appSecret(userScope, "older", "x", t0.Add(-time.Minute)), t0.Add(time.Second))
	put(t, s, appSecret(userScope, "newest", "y", t0.Add(time.Minute)), t0.Add(time.Second))
	list, err := s.ListAppSecrets(ctx, userScope, false, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Name)
		if l.Payload != nil {
			t.Errorf("list without payload returned one for %s", l.Name)
		}
	}
	if strings.Join(names, ",") != "newest,github_token,older" {
		t.Errorf("list order = %v, want newest first", names)
	}
	list, _ = s.ListAppSecrets(ctx, userScope, true, t0.Add(time.Second))
	if len(list) != 3 || string(list[1].Payload) != "gho_two" {
		t.Errorf("list with payload = %+v", list)
	}
	if n, err := s.CountAppSecrets(ctx, userScope, t0); err != nil || n != 3 {
		t.Errorf("CountAppSecrets = %d, %v; want 3", n, err)
	}

	deleted, err := s.DeleteAppSecret(ctx, first.AppSecretKey, t0.Add(time.Second))
	if err != nil || deleted.ID != second.ID || string(deleted.Payload) != "gho_two" {
		t.Fatalf("DeleteAppSecret = %+v, %v", deleted, err)
	}
	if _, err := s.FindAppSecret(ctx, first.AppSecretKey, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("find after delete: %v, want ErrNotFound", err)
	}
	if _, err := s.DeleteAppSecret(ctx, first.AppSecretKey, t0); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "github_token") {
		t.Errorf("second delete: %v, want ErrNotFound naming the secret", err)
	}
}

func testAppSecretIsolation(t *testing.T, s appSecretTestStore) {
	ctx := t.Context()
	scopes := []AppSecretScope{
		userScope,
		{App: "my-app", Account: "acct_1", Type: ScopeUser, User: "usr_b"},
		acctScope,
		{App: "my-app", Account: "acct_2", Type: ScopeAccount},
		{App: "my-app", Account: "acct_2", Type: ScopeUser, User: "usr_a"},
		{App: "other-app", Account: "acct_1", Type: ScopeUser, User: "usr_a"},
	}
	for i, sc := range scopes {
		put(t, s, appSecret(sc, "token", fmt.Sprint("value-", i), t0), t0)
	}
	for i, sc := range scopes {
		got, err := s.FindAppSecret(ctx, AppSecretKey{AppSecretScope: sc, Name: "token"}, t0)
		if err != nil || string(got.Payload) != fmt.Sprint("value-", i) {
			t.Errorf("scope %+v: %q, %v", sc, got.Payload, err)
		}
		if list, _ := s.ListAppSecrets(ctx, sc, false, t0); len(list) != 1 {
			t.Errorf("scope %+v lists %d secrets, want its own 1", sc, len(list))
		}
	}
	if _, err := s.DeleteAppSecret(ctx, AppSecretKey{AppSecretScope: scopes[1], Name: "token"}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindAppSecret(ctx, AppSecretKey{AppSecretScope: userScope, Name: "token"}, t0); err != nil {
		t.Errorf("deleting usr_b's secret removed usr_a's: %v", err)
	}
}

func testAppSecretLimit(t *testing.T, s appSecretTestStore) {
	ctx := t.Context()
	for i := range 10 {
		put(t, s, appSecret(acctScope, fmt.Sprint("key_", i), "v", t0), t0)
	}
	_, err := s.PutAppSecret(ctx, appSecret(acctScope, "key_10", "v", t0), 10, t0)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "10") {
		t.Fatalf("11th put: %v, want ErrLimit naming the limit", err)
	}
	if created := put(t, s, appSecret(acctScope, "key_3", "replaced", t0), t0); created {
		t.Error("replacing in a full scope reported created")
	}
	// Another scope has its own room.
	put(t, s, appSecret(userScope, "key_10", "v", t0), t0)
	if _, err := s.DeleteAppSecret(ctx, AppSecretKey{AppSecretScope: acctScope, Name: "key_0"}, t0); err != nil {
		t.Fatal(err)
	}
	put(t, s, appSecret(acctScope, "key_10", "v", t0), t0)
}

func testAppSecretExpiry(t *testing.T, s appSecretTestStore) {
	ctx := t.Context()
	short := appSecret(userScope, "short", "soon gone", t0)
	short.ExpiresAt = t0.Add(time.Minute)
	put(t, s, short, t0)
	put(t, s, appSecret(userScope, "long", "stays", t0), t0)

	if _, err := s.FindAppSecret(ctx, short.AppSecretKey, t0.Add(59*time.Second)); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	later := t0.Add(time.Minute)
	if _, err := s.FindAppSecret(ctx, short.AppSecretKey, later); !errors.Is(err, ErrNotFound) {
		t.Errorf("at expiry: %v, want ErrNotFound", err)
	}
	// Found expired, it was deleted: even an earlier clock no longer sees it.
	if n, _ := s.CountAppSecrets(ctx, userScope, t0); n != 1 {
		t.Errorf("count after the expired find = %d, want 1 (deleted lazily)", n)
	}

	// An expired secret neither lists nor takes room in a full scope.
	for i := range 9 {
		sec := appSecret(acctScope, fmt.Sprint("e", i), "v", t0)
		if i < 3 {
			sec.ExpiresAt = t0.Add(time.Second)
		}
		put(t, s, sec, t0)
	}
	if list, _ := s.ListAppSecrets(ctx, acctScope, false, later); len(list) != 6 {
		t.Errorf("list after expiry = %d secrets, want 6", len(list))
	}
	for i := range 4 {
		put(t, s, appSecret(acctScope, fmt.Sprint("f", i), "v", later), later)
	}
	if n, _ := s.CountAppSecrets(ctx, acctScope, later); n != 10 {
		t.Errorf("count = %d, want 10", n)
	}
	if _, err := s.DeleteAppSecret(ctx, AppSecretKey{AppSecretScope: acctScope, Name: "e0"}, later); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete of an expired secret: %v, want ErrNotFound", err)
	}
}

func testAppSecretConcurrentLimit(t *testing.T, s appSecretTestStore) {
	const writers = 24
	var created, limited atomic.Int64
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			c, err := s.PutAppSecret(t.Context(), appSecret(userScope, fmt.Sprint("race_", i), "v", t0), 10, t0)
			switch {
			case errors.Is(err, ErrLimit):
				limited.Add(1)
			case err != nil:
				t.Errorf("writer %d: %v", i, err)
			case c:
				created.Add(1)
			}
		})
	}
	wg.Wait()
	if created.Load() != 10 || limited.Load() != writers-10 {
		t.Errorf("%d created, %d refused; want 10 and %d", created.Load(), limited.Load(), writers-10)
	}
	if n, _ := s.CountAppSecrets(t.Context(), userScope, t0); n != 10 {
		t.Errorf("count = %d, want 10", n)
	}
}

func testAppSecretInvalid(t *testing.T, s appSecretTestStore) {
	const payload = "sk_live_must_not_leak"
	with := func(f func(*AppSecret)) AppSecret {
		sec := appSecret(userScope, "n", payload, t0)
		f(&sec)
		return sec
	}
	tests := []struct {
		name    string
		sec     AppSecret
		wantMsg string
	}{
		{"no app", with(func(s *AppSecret) { s.App = "" }), "app is empty"},
		{"no account", with(func(s *AppSecret) { s.Account = "" }), "account is empty"},
		{"bad type", with(func(s *AppSecret) { s.Type = "team" }), "use account or user"},
		{"user scope without user", with(func(s *AppSecret) { s.User = "" }), "user is empty"},
		{"account scope with user", with(func(s *AppSecret) { s.Type = ScopeAccount }), "names no user"},
		{"user with a space", with(func(s *AppSecret) { s.User = "usr a" }), "whitespace"},
		{"empty name", with(func(s *AppSecret) { s.Name = "" }), "name: it is empty"},
		{"long name", with(func(s *AppSecret) { s.Name = strings.Repeat("n", MaxAppSecretName+1) }), "at most 5000"},
		{"control in name", with(func(s *AppSecret) { s.Name = "a\nb" }), "control"},
		{"empty payload", with(func(s *AppSecret) { s.Payload = nil }), "payload is empty"},
		{"long payload", with(func(s *AppSecret) { s.Payload = []byte(strings.Repeat("é", MaxAppSecretPayload+1)) }), "limit is 5000"},
		{"no id", with(func(s *AppSecret) { s.ID = "" }), "no id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.PutAppSecret(t.Context(), tt.sec, 10, t0)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), payload) {
				t.Errorf("error leaks the payload: %v", err)
			}
		})
	}
	if _, err := s.FindAppSecret(t.Context(), AppSecretKey{AppSecretScope: AppSecretScope{App: "a", Account: "b", Type: "x"}, Name: "n"}, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("find with a bad scope: %v", err)
	}
	if n, _ := s.CountAppSecrets(t.Context(), userScope, t0); n != 0 {
		t.Errorf("invalid puts stored %d secrets", n)
	}
}

func testAppSecretNoChanges(t *testing.T, s appSecretTestStore) {
	ch := s.Changes(t.Context())
	sec := appSecret(userScope, "quiet", "v", t0)
	put(t, s, sec, t0)
	if _, err := s.DeleteAppSecret(t.Context(), sec.AppSecretKey, t0); err != nil {
		t.Fatal(err)
	}
	noFire(t, ch, "app secret writes (data, not configuration)")
}

// testAppSecretSealed checks that the database holds no payload in clear,
// and that a sealed payload moved to another key does not open there.
func testAppSecretSealed(t *testing.T, s appSecretTestStore) {
	ctx := t.Context()
	put(t, s, appSecret(userScope, "victim", "gho_victim_token_value", t0), t0)
	attacker := AppSecretScope{App: "my-app", Account: "acct_1", Type: ScopeUser, User: "usr_attacker"}
	put(t, s, appSecret(attacker, "victim", "mine", t0), t0)

	var raw []byte
	const copySealed = `UPDATE app_secrets SET sealed = (SELECT sealed FROM app_secrets WHERE scope_user = 'usr_a') WHERE scope_user = 'usr_attacker'`
	switch st := s.(type) {
	case *SQLite:
		if err := st.db.QueryRowContext(ctx, `SELECT sealed FROM app_secrets WHERE scope_user = 'usr_a'`).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if _, err := st.db.ExecContext(ctx, copySealed); err != nil {
			t.Fatal(err)
		}
	case *Postgres:
		if err := st.pool.QueryRow(ctx, `SELECT sealed FROM app_secrets WHERE scope_user = 'usr_a'`).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if _, err := st.pool.Exec(ctx, copySealed); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown store %T", s)
	}
	if strings.Contains(string(raw), "gho_victim") {
		t.Error("the payload is stored in clear")
	}
	_, err := s.FindAppSecret(ctx, AppSecretKey{AppSecretScope: attacker, Name: "victim"}, t0)
	if !errors.Is(err, secretbox.ErrOpen) {
		t.Errorf("a sealed payload moved to another user opened: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "gho_victim") {
		t.Errorf("error leaks the payload: %v", err)
	}
}
