package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A dump of either database must not show a secret's value; GetSecret
// must still return it. The positive checks (the secret's name, an
// adapter's document) prove each scan really reads the stored data.

const dumpSecret = "sk_live_51DumpTestValueThatMustNeverAppear"

func TestSQLiteFileShowsNoSecret(t *testing.T) {
	dir := t.TempDir()
	s := openSQLite(t, filepath.Join(dir, "atlas.db"))
	ctx := t.Context()
	if _, _, err := s.SetSecret(ctx, "STRIPE_KEY", []byte(dumpSecret)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAdapter(ctx, Adapter{Name: "orders", Document: adapterDoc("orders", "dump-marker")}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetSecret(ctx, "STRIPE_KEY"); err != nil || string(v) != dumpSecret {
		t.Fatalf("GetSecret = %q, %v", v, err)
	}
	// While open the rows sit in atlas.db-wal; Close checkpoints them into
	// atlas.db. Scan both states.
	scanFiles(t, "open", dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	scanFiles(t, "closed", dir)
}

func scanFiles(t *testing.T, state, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(dumpSecret)) {
			t.Errorf("%s: %s contains the secret value", state, e.Name())
		}
		all = append(all, b...)
	}
	for _, want := range []string{"STRIPE_KEY", "dump-marker"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("%s: the database files do not contain %q: the scan misses the data", state, want)
		}
	}
}

func TestPostgresDumpShowsNoSecret(t *testing.T) {
	srv, db, dsn := pgDatabase(t)
	s := openPostgres(t, dsn)
	ctx := t.Context()
	if _, _, err := s.SetSecret(ctx, "STRIPE_KEY", []byte(dumpSecret)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetSecret(ctx, "STRIPE_KEY"); err != nil || string(v) != dumpSecret {
		t.Fatalf("GetSecret = %q, %v", v, err)
	}
	dump, err := srv.Dump(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(dump, []byte(dumpSecret)) {
		t.Error("pg_dump output contains the secret value")
	}
	if !bytes.Contains(dump, []byte("STRIPE_KEY")) {
		t.Error("pg_dump output does not contain the secret's name: the dump misses the data")
	}
}
