package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
	"github.com/atoll-edge/atoll/dc/sqlstore"
)

type cachedHarness struct{ path string }

func (h *cachedHarness) open(ctx context.Context) (dc.Store, error) {
	st, err := sqlstore.Open(ctx, h.path, sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	return newCachedStore(st), nil
}

func (h *cachedHarness) MakeStore(ctx context.Context) (dc.Store, error) { return h.open(ctx) }
func (h *cachedHarness) Reopen(ctx context.Context) (dc.Store, error)    { return h.open(ctx) }
func (h *cachedHarness) Close()                                          {}

// TestCachedStoreConformance runs dc's store conformance suite (with its
// model-based case) on the cache in front of SQLite.
func TestCachedStoreConformance(t *testing.T) {
	dctest.RunStoreTests(t, func(_ context.Context, t *testing.T) (dctest.Harness, error) {
		return &cachedHarness{path: filepath.Join(t.TempDir(), "dc.db")}, nil
	})
}
