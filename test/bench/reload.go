package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// reloadSample is one timed config change.
type reloadSample struct {
	N       int     `json:"n"`
	Adapter string  `json:"adapter"`
	Write   string  `json:"write"` // rename | in-place
	Ms      float64 `json:"ms"`
	Error   string  `json:"error,omitempty"`
}

// writeConfig saves data to path like an editor does: either write a temp
// file in the same directory and rename it over path (vim's default, most
// IDEs), or truncate and rewrite path in place.
func writeConfig(path string, data []byte, rename bool) error {
	if rename {
		tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
		if err != nil {
			return err
		}
		if _, err := tmp.Write(data); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return err
		}
		if err := tmp.Close(); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		return os.Rename(tmp.Name(), path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runReloads adds adapters reload1..reloadN to the static Atlas config, one
// per save, and times each save until the new route first answers 200. The
// clock starts before the first byte is written (for a rename, before the
// temp file is written), so the number is what a user saving a file sees.
func runReloads(ctx context.Context, o *options, a *atlasInstance, upstreamPort int) ([]reloadSample, error) {
	var extra []string
	var samples []reloadSample
	for i := 1; i <= o.reloads; i++ {
		name := fmt.Sprintf("reload%d", i)
		extra = append(extra, name)
		data := atlasConfig(a.ingressPort, a.adminPort, upstreamPort, extra, a.signed)
		rename := i%2 == 1
		s := reloadSample{N: i, Adapter: name, Write: "in-place"}
		if rename {
			s.Write = "rename"
		}
		url := a.url(name)
		if ok, _ := get200(ctx, url, nil); ok {
			return samples, fmt.Errorf("%s answers 200 before it was configured", url)
		}
		start := time.Now()
		if err := writeConfig(a.configPath, data, rename); err != nil {
			return samples, err
		}
		_, err := waitFor200(ctx, a.proc, reqSpec{method: "GET", url: url}, o.reloadPoll, o.reloadTimeout)
		s.Ms = float64(time.Since(start).Microseconds()) / 1000
		if err != nil {
			if ctx.Err() != nil || a.proc.exited() {
				return samples, err
			}
			s.Error = err.Error()
		}
		samples = append(samples, s)
		if o.verbose || s.Error != "" {
			fmt.Fprintf(os.Stderr, "bench:   reload %2d (%s): %.1f ms %s\n", i, s.Write, s.Ms, s.Error)
		}
		if err := sleepCtx(ctx, o.reloadGap); err != nil {
			return samples, err
		}
	}
	return samples, nil
}
