// Package watch reports changes to one file, robustly.
//
// Editors save in different ways: in place, by writing a temp file and
// renaming it over the original (vim, most IDEs), or, in Kubernetes, by
// swapping a ..data symlink. Watching the file itself loses it after the
// first rename, so File watches the parent directory and, after a short
// quiet period, compares the file's bytes with the last ones it reported:
// only a real content change is reported.
package watch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce is the quiet period after the last event before the file is read;
// editors often write a file in several steps.
const Debounce = 20 * time.Millisecond

// File calls onChange with the new contents whenever path's contents change,
// until ctx ends. initial is the content already loaded by the caller.
// Read errors (e.g. the file is briefly missing during a swap) are passed to
// onError and the watch goes on.
func File(ctx context.Context, path string, initial []byte, onChange func([]byte), onError func(error)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := w.Add(dir); err != nil {
		w.Close()
		return fmt.Errorf("watching directory %s for changes to %s: %w", dir, filepath.Base(path), err)
	}
	go loop(ctx, w, path, initial, onChange, onError)
	return nil
}

func loop(ctx context.Context, w *fsnotify.Watcher, path string, last []byte, onChange func([]byte), onError func(error)) {
	defer w.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-w.Events:
			if !ok {
				return
			}
			// Any event in the directory may be ours (renames, symlink
			// swaps): re-read after the quiet period and compare bytes.
			timer.Reset(Debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			onError(fmt.Errorf("file watcher: %w", err))
		case <-timer.C:
			data, err := os.ReadFile(path)
			if err != nil {
				onError(fmt.Errorf("reading %s after a change: %w", path, err))
				continue
			}
			if bytes.Equal(data, last) {
				continue
			}
			last = data
			onChange(data)
		}
	}
}
