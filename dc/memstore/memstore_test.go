package memstore_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
	"github.com/atoll-edge/atoll/dc/memstore"
)

type harness struct{ s *memstore.Store }

func (h *harness) MakeStore(context.Context) (dc.Store, error) {
	h.s = memstore.New()
	return h.s, nil
}

func (h *harness) Reopen(context.Context) (dc.Store, error) { return h.s.Reopen(), nil }

func (h *harness) Close() {}

func TestMain(m *testing.M) {
	// The suite's Managers must stop every deploy worker.
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	dctest.RunStoreTests(t, func(context.Context, *testing.T) (dctest.Harness, error) {
		return &harness{}, nil
	})
}

func BenchmarkStore(b *testing.B) {
	dctest.RunStoreBenchmarks(b, func(context.Context, *testing.B) (dc.Store, error) {
		return memstore.New(), nil
	})
}
