package main

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/atlas-gateway/atlas/internal/model"
)

// Shape of the synthetic configuration. The numbers are what a large
// multi-tenant deployment plausibly looks like: many adapters, a few hundred
// upstream hosts shared between them.
const (
	httpsHosts   = 250 // distinct https upstream hosts
	plainHosts   = 150 // distinct plain-http upstreams (IPs and names)
	customCAs    = 3   // distinct private CAs; 1 in 100 https adapters uses one
	signedEvery  = 20  // 1 adapter in 20 has spec.stripeApp
	twoHdrsEvery = 3   // 1 adapter in 3 injects two headers
	stripeAppNm  = "scale-app"
)

// fakeCA is not a real certificate: translate only copies the bytes into the
// cluster's TLS context, and a realistic size (~1.2 KB) is what matters.
func fakeCA(i int) []byte {
	b := []byte(fmt.Sprintf("-----BEGIN CERTIFICATE-----\n# scale-test CA %d\n", i))
	line := make([]byte, 64)
	for j := 0; j < 18; j++ {
		for k := range line {
			line[k] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i*31+j*7+k)%64]
		}
		b = append(b, line...)
		b = append(b, '\n')
	}
	return append(b, "-----END CERTIFICATE-----\n"...)
}

func secretish(r *rand.Rand, prefix string, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	for i := 0; i < n; i++ {
		b = append(b, alphabet[r.IntN(len(alphabet))])
	}
	return string(b)
}

// adapterName is zero-padded so that name order is index order.
func adapterName(i int) string { return fmt.Sprintf("tenant-%06d", i) }

// makeAdapter builds adapter i deterministically (seeded by i).
func makeAdapter(i int, cas [][]byte) model.Adapter {
	r := rand.New(rand.NewPCG(uint64(i), 0x5ca1e))
	a := model.Adapter{Name: adapterName(i), Source: fmt.Sprintf("scale.yaml:%d", 10*i+1)}
	if i%2 == 0 {
		h := (i / 2) % httpsHosts
		a.Upstream = model.Upstream{Scheme: "https", Host: fmt.Sprintf("api%03d.vendor%02d.example.com", h, h%40), Port: 443}
		if h%7 == 0 {
			a.Upstream.Port = 8443
		}
		if i%200 == 0 {
			a.Upstream.CAPEM = cas[(i/200)%len(cas)]
		}
	} else {
		h := (i / 2) % plainHosts
		if h%3 == 0 {
			a.Upstream = model.Upstream{Scheme: "http", Host: fmt.Sprintf("10.20.%d.%d", h/250, h%250+1), Port: 8080}
		} else {
			a.Upstream = model.Upstream{Scheme: "http", Host: fmt.Sprintf("svc%03d.internal", h), Port: 80}
		}
	}
	if i%4 == 1 {
		a.Upstream.BasePath = fmt.Sprintf("/v%d", 1+i%3)
	}
	a.Headers = []model.Header{{Name: "Authorization", Value: "Bearer " + secretish(r, "sk_live_", 48)}}
	if i%twoHdrsEvery == 0 {
		a.Headers = append(a.Headers, model.Header{Name: "X-Api-Key", Value: secretish(r, "", 32)})
	}
	if i%signedEvery == 7 {
		a.StripeApp = &model.AdapterStripeApp{Name: stripeAppNm, OnBehalfOf: i%40 == 7}
	}
	return a
}

// buildConfig returns a validated-looking model.Config with adapters
// 0..n-1 (sorted by name, as internal/config produces it).
func buildConfig(n int) *model.Config {
	cas := make([][]byte, customCAs)
	for i := range cas {
		cas[i] = fakeCA(i)
	}
	cfg := &model.Config{IngressPort: 18082, AdminPort: 9000, Adapters: make([]model.Adapter, 0, n)}
	for i := 0; i < n; i++ {
		cfg.Adapters = append(cfg.Adapters, makeAdapter(i, cas))
	}
	cfg.StripeApps = []model.StripeApp{{
		Name:           stripeAppNm,
		SigningSecrets: []string{"absec_" + fmt.Sprintf("%040d", 1), "absec_" + fmt.Sprintf("%040d", 2)},
		Tolerance:      model.DefaultSignatureTolerance,
		MaxBodyBytes:   model.DefaultMaxBodyBytes,
		Source:         "scale.yaml:1",
	}}
	return cfg
}

// withAdapters returns a copy of cfg whose adapter list is base's plus
// adapters n..n+extra-1 (a new slice; base is not mutated).
func withAdapters(base *model.Config, extra int) *model.Config {
	cas := make([][]byte, customCAs)
	for i := range cas {
		cas[i] = fakeCA(i)
	}
	c := *base
	c.Adapters = make([]model.Adapter, len(base.Adapters), len(base.Adapters)+extra)
	copy(c.Adapters, base.Adapters)
	n := len(base.Adapters)
	for i := n; i < n+extra; i++ {
		c.Adapters = append(c.Adapters, makeAdapter(i, cas))
	}
	sort.Slice(c.Adapters, func(i, j int) bool { return c.Adapters[i].Name < c.Adapters[j].Name })
	return &c
}

// shape summarises a config for the report.
type shape struct {
	Adapters    int `json:"adapters"`
	HTTPS       int `json:"https_adapters"`
	Signed      int `json:"signed_adapters"`
	Headers     int `json:"headers"`
	Clusters    int `json:"clusters"`
	Secrets     int `json:"secrets"`
	Routes      int `json:"routes"`
	HTTPFilters int `json:"listener_http_filters"`
	// Upstream HTTP filters of all clusters (static injection since the
	// per-adapter clusters: credential injectors and upstream codecs).
	UpstreamFilters int `json:"cluster_upstream_http_filters"`
}
