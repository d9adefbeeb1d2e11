package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atlas-gateway/atlas/internal/secretbox"
)

// Two stores on one database stand for two Atlas replicas.
func TestPostgresReplicasSeeEachOthersWrites(t *testing.T) {
	_, _, dsn := pgDatabase(t)
	a, b := openPostgres(t, dsn), openPostgres(t, dsn)
	tests := []struct {
		name  string
		from  *Postgres
		to    *Postgres
		write func(ctx context.Context, s *Postgres) error
		check func(ctx context.Context, s *Postgres) error
	}{
		{"adapter from A reaches B", a, b,
			func(ctx context.Context, s *Postgres) error {
				_, err := s.PutAdapter(ctx, Adapter{Name: "orders", Document: adapterDoc("orders", "a")})
				return err
			},
			func(ctx context.Context, s *Postgres) error {
				got, err := s.ListAdapters(ctx)
				if err == nil && (len(got) != 1 || got[0].Name != "orders") {
					err = errors.New("B does not list orders")
				}
				return err
			}},
		{"secret from B reaches A", b, a,
			func(ctx context.Context, s *Postgres) error {
				_, _, err := s.SetSecret(ctx, "SHARED", []byte("v1"))
				return err
			},
			func(ctx context.Context, s *Postgres) error {
				v, err := s.GetSecret(ctx, "SHARED")
				if err == nil && string(v) != "v1" {
					err = errors.New("A reads a different value")
				}
				return err
			}},
		{"delete from A reaches B", a, b,
			func(ctx context.Context, s *Postgres) error { return s.DeleteAdapter(ctx, "orders") },
			func(ctx context.Context, s *Postgres) error {
				if got, _ := s.ListAdapters(ctx); len(got) != 0 {
					return errors.New("B still lists orders")
				}
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := tt.to.Changes(t.Context())
			if err := tt.write(t.Context(), tt.from); err != nil {
				t.Fatal(err)
			}
			waitFire(t, ch, "the other replica's write")
			if err := tt.check(t.Context(), tt.to); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A dropped LISTEN connection is re-established; the store fires once for
// the changes it may have missed, and hears other replicas again.
func TestPostgresRelistensAfterDrop(t *testing.T) {
	_, _, dsn := pgDatabase(t)
	a, b := openPostgres(t, dsn), openPostgres(t, dsn)
	ch := a.Changes(t.Context())
	oldPID := a.listenPID.Load()

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var killed bool
	if err := conn.QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, int(oldPID)).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the LISTEN backend %d: %v, %v", oldPID, killed, err)
	}
	waitFire(t, ch, "the LISTEN connection came back")
	if newPID := a.listenPID.Load(); newPID == oldPID {
		t.Fatalf("LISTEN backend pid still %d after reconnecting", newPID)
	}
	settle(ch)
	if _, err := b.PutAdapter(t.Context(), Adapter{Name: "after-drop", Document: adapterDoc("after-drop", "b")}); err != nil {
		t.Fatal(err)
	}
	waitFire(t, ch, "a write by the other replica after the reconnect")
}

// Replicas starting together on an empty database race to migrate it;
// the advisory lock makes one migrate and the others find it done.
func TestPostgresConcurrentOpenMigratesOnce(t *testing.T) {
	_, _, dsn := pgDatabase(t)
	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() {
			p, err := OpenPostgres(t.Context(), dsn, testKey)
			if err == nil {
				p.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var rows, version int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), max(version) FROM schema_version`).Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || version != len(postgresMigrations)-1 {
		t.Errorf("schema_version has %d rows, version %d; want 1 row at %d", rows, version, len(postgresMigrations)-1)
	}
}

func TestPostgresOpenErrors(t *testing.T) {
	_, _, dsn := pgDatabase(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	tests := []struct {
		name    string
		dsn     string
		key     []byte
		wantMsg string
		notMsg  string
	}{
		{"short key", dsn, make([]byte, 16), "32 bytes", ""},
		{"bad DSN", "postgres://u:hunter2@[::1:5432/db", testKey, "expected postgres://", "hunter2"},
		{"nobody listening", "postgres://u:hunter2@127.0.0.1:1/atlas?connect_timeout=2", testKey, "is the server running", "hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := OpenPostgres(ctx, tt.dsn, tt.key)
			if err == nil {
				p.Close()
				t.Fatal("OpenPostgres succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantMsg)
			}
			if tt.notMsg != "" && strings.Contains(err.Error(), tt.notMsg) {
				t.Errorf("err leaks the password: %v", err)
			}
		})
	}
}

func TestPostgresWrongKeyCannotRead(t *testing.T) {
	_, _, dsn := pgDatabase(t)
	if _, _, err := openPostgres(t, dsn).SetSecret(t.Context(), "K", []byte("v")); err != nil {
		t.Fatal(err)
	}
	other, err := OpenPostgres(t.Context(), dsn, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.GetSecret(t.Context(), "K"); !errors.Is(err, secretbox.ErrOpen) {
		t.Errorf("GetSecret with another master key: %v, want secretbox.ErrOpen", err)
	}
}
