package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/api"
	"github.com/atoll-edge/atoll/dc/memstore"
)

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkListSubclouds serves GET /v1.0/subclouds in-process with 10,000
// subclouds, and splits the cost: the Manager's list (copies from its read
// model), its shared view, and the whole request (which uses the view).
func BenchmarkListSubclouds(b *testing.B) {
	const n = 10000
	st := memstore.New()
	m, err := dc.NewManager(st, dc.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		bv, err := dc.ParseBootstrapValues([]byte(bootstrapYAML(fmt.Sprintf("edge-%d", i), i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.AddSubcloud(ctx, dc.AddRequest{Bootstrap: bv, BootstrapAddress: netip.MustParseAddr(bootstrapAddr(i))}); err != nil {
			b.Fatal(err)
		}
	}
	waitDeploy(b, m, fmt.Sprint(n), dc.Complete)
	h, err := api.New(m, testToken, api.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("manager", func(b *testing.B) {
		for b.Loop() {
			if l, err := m.Subclouds(ctx); err != nil || len(l) != n {
				b.Fatal(len(l), err)
			}
		}
	})
	b.Run("view", func(b *testing.B) {
		for b.Loop() {
			if l, err := m.ViewSubclouds(ctx); err != nil || len(l) != n {
				b.Fatal(len(l), err)
			}
		}
	})
	b.Run("request", func(b *testing.B) {
		req := httptest.NewRequest("GET", "/v1.0/subclouds", nil)
		req.Header.Set("X-Auth-Token", testToken)
		w := &discardWriter{h: http.Header{}}
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	})
	_ = io.Discard
}
