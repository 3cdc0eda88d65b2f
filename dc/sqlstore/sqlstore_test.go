package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
	"github.com/atoll-edge/atoll/dc/sqlstore"
	"github.com/atoll-edge/atoll/internal/pgtest"
)

// harness opens the store of one subtest: MakeStore and Reopen both open
// the same database (a SQLite file, a PostgreSQL database).
type harness struct {
	open func(ctx context.Context) (*sqlstore.Store, error)
}

func (h *harness) MakeStore(ctx context.Context) (dc.Store, error) { return h.open(ctx) }

func (h *harness) Reopen(ctx context.Context) (dc.Store, error) { return h.open(ctx) }

func (h *harness) Close() {}

func TestMain(m *testing.M) {
	// A Store that leaks a connection or a goroutine fails here.
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	dctest.RunStoreTests(t, func(_ context.Context, t *testing.T) (dctest.Harness, error) {
		path := filepath.Join(t.TempDir(), "dc.db")
		return &harness{open: func(ctx context.Context) (*sqlstore.Store, error) {
			return sqlstore.Open(ctx, path, sqlstore.Options{})
		}}, nil
	})
}

// BenchmarkStore runs the shared benchmarks on both backends, SQLite and
// PostgreSQL (a private server on a unix socket, see internal/pgtest), in
// one run so that their figures compare.
func BenchmarkStore(b *testing.B) {
	b.Run("backend=sqlite", func(b *testing.B) {
		dctest.RunStoreBenchmarks(b, func(ctx context.Context, b *testing.B) (dc.Store, error) {
			return sqlstore.Open(ctx, filepath.Join(b.TempDir(), "dc.db"), sqlstore.Options{})
		})
	})
	b.Run("backend=postgres", func(b *testing.B) {
		srv := pgtest.Start(b)
		dctest.RunStoreBenchmarks(b, func(ctx context.Context, b *testing.B) (dc.Store, error) {
			dsn, err := srv.NewDatabase(ctx)
			if err != nil {
				return nil, err
			}
			return sqlstore.OpenPostgres(ctx, dsn, sqlstore.Options{})
		})
	})
}

// BenchmarkManagerList lists n subclouds stored in SQLite through the
// Manager: "load" is a fresh Manager's first list (one Store scan, which
// builds the read model), "copies" is Subclouds (copies from the read
// model) and "view" is ViewSubclouds (shared records, dc/api's path).
func BenchmarkManagerList(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "dc.db"), sqlstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			for i := range n {
				if _, err := st.CreateSubcloud(ctx, dctest.SubcloudRecord(i)); err != nil {
					b.Fatal(err)
				}
			}
			list := func(b *testing.B, m *dc.Manager, view bool) {
				var (
					l   []*dc.Subcloud
					err error
				)
				if view {
					l, err = m.ViewSubclouds(ctx)
				} else {
					l, err = m.Subclouds(ctx)
				}
				if err != nil || len(l) != n {
					b.Fatal(len(l), err)
				}
			}
			b.Run("load", func(b *testing.B) {
				for b.Loop() {
					m, err := dc.NewManager(st, dc.Options{})
					if err != nil {
						b.Fatal(err)
					}
					list(b, m, true)
					m.Close()
				}
			})
			m, err := dc.NewManager(st, dc.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { m.Close() })
			list(b, m, true)
			b.Run("copies", func(b *testing.B) {
				for b.Loop() {
					list(b, m, false)
				}
			})
			b.Run("view", func(b *testing.B) {
				for b.Loop() {
					list(b, m, true)
				}
			})
		})
	}
}
