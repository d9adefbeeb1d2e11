package rollout

import (
	"context"
	"testing"
	"time"

	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/xds"
)

// fakeServer is a hand-written stand-in for xds.Server that records what
// was published and in which order.
type fakeServer struct {
	published []*translate.Resources
	waits     []xds.Want
}

func (f *fakeServer) Publish(_ context.Context, r *translate.Resources) (string, error) {
	f.published = append(f.published, r)
	return string(rune('0' + len(f.published))), nil
}

func (f *fakeServer) WaitAcked(_ context.Context, _ string, want xds.Want, _ time.Duration) bool {
	f.waits = append(f.waits, want)
	return true
}

func cfg(adapters ...string) *model.Config {
	c := &model.Config{}
	for _, a := range adapters {
		c.Adapters = append(c.Adapters, model.Adapter{Name: a,
			Upstream: model.Upstream{Scheme: "http", Host: "127.0.0.1", Port: 1},
			Headers:  []model.Header{{Name: "Authorization", Value: "Bearer " + a}}})
	}
	return c
}

func translated(t *testing.T, c *model.Config, opts translate.Options) *translate.Resources {
	t.Helper()
	r, err := translate.Translate(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPublishMakesBeforeItBreaks(t *testing.T) {
	opts := translate.Options{Injection: translate.InjectionStatic}
	old, next := cfg("a"), cfg("a", "b")
	prev, nextRes := translated(t, old, opts), translated(t, next, opts)
	f := &fakeServer{}
	v, waits, err := Publish(t.Context(), f, Change{Opts: opts, Old: old, Prev: prev, New: next, Next: nextRes})
	if err != nil || v != "3" || len(f.published) != 3 || len(waits) != 2 {
		t.Fatalf("version %q, %d publishes, %d waits, err %v; want 3 publishes with 2 waits", v, len(f.published), len(waits), err)
	}
	if f.published[0].Routes[0] != prev.Routes[0] {
		t.Error("step 1 must keep the old routes")
	}
	if f.published[1].Routes[0] != nextRes.Routes[0] || f.published[2] != nextRes {
		t.Error("step 2 must carry the new routes and step 3 the exact new config")
	}
	if len(f.published[0].Secrets) != 2 {
		t.Errorf("the transition carries %d secrets, want the old and new adapters' 2", len(f.published[0].Secrets))
	}
}

func TestPublishInOneStepOtherwise(t *testing.T) {
	for name, c := range map[string]Change{
		"extproc injection": {Opts: translate.Options{Injection: translate.InjectionExtProc}, Old: cfg("a"), New: cfg("a", "b")},
		"same injectors":    {Opts: translate.Options{Injection: translate.InjectionStatic}, Old: cfg("a"), New: cfg("a")},
		"first publish":     {Opts: translate.Options{Injection: translate.InjectionStatic}, New: cfg("a")},
	} {
		t.Run(name, func(t *testing.T) {
			c.Next = translated(t, c.New, c.Opts)
			if c.Old != nil {
				c.Prev = translated(t, c.Old, c.Opts)
			}
			f := &fakeServer{}
			if _, _, err := Publish(t.Context(), f, c); err != nil || len(f.published) != 1 || len(f.waits) != 0 {
				t.Fatalf("%d publishes, %d waits, err %v; want one publish", len(f.published), len(f.waits), err)
			}
		})
	}
}

// Removing an adapter: its cluster and secret stay through the step that
// still has its old routes, and are gone only from the exact new config.
func TestPublishRemovalKeepsTheOldClusterUntilTheRoutesMove(t *testing.T) {
	opts := translate.Options{Injection: translate.InjectionStatic}
	old, next := cfg("a", "b"), cfg("a")
	prev, nextRes := translated(t, old, opts), translated(t, next, opts)
	f := &fakeServer{}
	if _, _, err := Publish(t.Context(), f, Change{Opts: opts, Old: old, Prev: prev, New: next, Next: nextRes}); err != nil || len(f.published) != 3 {
		t.Fatalf("%d publishes, err %v; want 3", len(f.published), err)
	}
	has := func(r *translate.Resources, name string) bool {
		for _, c := range r.Clusters {
			if cache.GetResourceName(c) == name {
				return true
			}
		}
		return false
	}
	for i, want := range []bool{true, true, false} {
		if got := has(f.published[i], "atlas_adapter_b"); got != want {
			t.Errorf("step %d: removed adapter's cluster present = %v, want %v", i+1, got, want)
		}
	}
	if len(f.published[1].Secrets) != 2 || len(f.published[2].Secrets) != 1 {
		t.Errorf("secrets per step: %d, %d; want 2 then 1", len(f.published[1].Secrets), len(f.published[2].Secrets))
	}
	if _, ok := f.waits[0][resource.ClusterType]; !ok {
		t.Errorf("step 1 waits for %v, want the clusters", f.waits[0])
	}
}

// Step 1 waits for the secrets the new routes need, not for every secret.
func TestPublishWaitsForTheAddedSecrets(t *testing.T) {
	opts := translate.Options{Injection: translate.InjectionStatic}
	old, next := cfg("a", "b"), cfg("a", "b", "c")
	f := &fakeServer{}
	if _, _, err := Publish(t.Context(), f, Change{Opts: opts, Old: old, Prev: translated(t, old, opts), New: next, Next: translated(t, next, opts)}); err != nil {
		t.Fatal(err)
	}
	if got := f.waits[0][resource.SecretType]; len(got) != 1 || got[0] != "atlas/c/authorization" {
		t.Errorf("step 1 waits for secrets %v, want only the added atlas/c/authorization", got)
	}
}

// A change that adds no secret does not wait for secrets at all.
func TestPublishWaitsForNoSecretWhenNoneIsAdded(t *testing.T) {
	opts := translate.Options{Injection: translate.InjectionStatic}
	old, next := cfg("a", "b"), cfg("a")
	f := &fakeServer{}
	if _, _, err := Publish(t.Context(), f, Change{Opts: opts, Old: old, Prev: translated(t, old, opts), New: next, Next: translated(t, next, opts)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.waits[0][resource.SecretType]; ok {
		t.Errorf("step 1 waits for secrets %v though none was added", f.waits[0][resource.SecretType])
	}
}
