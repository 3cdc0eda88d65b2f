package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
	"github.com/atoll-edge/atoll/dc/sqlstore"
)

// harness keeps one SQLite file per subtest in a temporary directory.
type harness struct{ path string }

func (h *harness) MakeStore(ctx context.Context) (dc.Store, error) {
	return sqlstore.Open(ctx, h.path, sqlstore.Options{})
}

func (h *harness) Reopen(ctx context.Context) (dc.Store, error) {
	return sqlstore.Open(ctx, h.path, sqlstore.Options{})
}

func (h *harness) Close() {}

func TestMain(m *testing.M) {
	// A Store that leaks a connection or a goroutine fails here.
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	dctest.RunStoreTests(t, func(_ context.Context, t *testing.T) (dctest.Harness, error) {
		return &harness{path: filepath.Join(t.TempDir(), "dc.db")}, nil
	})
}

func BenchmarkStore(b *testing.B) {
	dctest.RunStoreBenchmarks(b, func(ctx context.Context, b *testing.B) (dc.Store, error) {
		return sqlstore.Open(ctx, filepath.Join(b.TempDir(), "dc.db"), sqlstore.Options{})
	})
}
