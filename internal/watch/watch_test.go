package watch

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFileSeesInPlaceWritesRenamesAndIgnoresNoops(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "atlas.yml")
	if err := os.WriteFile(path, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	if err := File(t.Context(), path, []byte("v1"), func(b []byte) { got <- string(b) }, func(error) {}); err != nil {
		t.Fatal(err)
	}
	expect := func(want string) {
		t.Helper()
		// An in-place write is truncate-then-write, so on a loaded machine a
		// read may land in between and report a partial file first.
		deadline := time.After(5 * time.Second)
		for {
			select {
			case g := <-got:
				if g == want {
					return
				}
			case <-deadline:
				t.Fatalf("change to %q not reported", want)
			}
		}
	}
	// In place.
	if err := os.WriteFile(path, []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect("v2")
	// Rename over the original, as editors do; twice, since a watcher on the
	// file itself would have lost it after the first one.
	for _, v := range []string{"v3", "v4"} {
		tmp := filepath.Join(dir, ".atlas.yml.swp")
		if err := os.WriteFile(tmp, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		expect(v)
	}
	// Touching with identical bytes is not a change.
	if err := os.WriteFile(path, []byte("v4"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("v5"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect("v5")
}
