package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
	"github.com/atoll-edge/atoll/dc/sqlstore"
	"github.com/atoll-edge/atoll/internal/pgtest"
)

// TestPostgres runs the conformance suite and the PostgreSQL-specific
// cases against a real server (internal/pgtest), a fresh database for
// each subtest.
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	newDatabase := func(t *testing.T) string {
		t.Helper()
		dsn, err := srv.NewDatabase(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return dsn
	}
	openPG := func(t *testing.T, dsn string) *sqlstore.Store {
		t.Helper()
		s, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	t.Run("Conformance", func(t *testing.T) {
		dctest.RunStoreTests(t, func(_ context.Context, t *testing.T) (dctest.Harness, error) {
			dsn := newDatabase(t)
			return &harness{open: func(ctx context.Context) (*sqlstore.Store, error) {
				return sqlstore.OpenPostgres(ctx, dsn, sqlstore.Options{})
			}}, nil
		})
	})

	// Controllers starting together on a fresh database apply each
	// migration once (under the advisory lock) and all open.
	t.Run("ConcurrentMigrations", func(t *testing.T) {
		ctx := context.Background()
		dsn := newDatabase(t)
		const n = 6
		stores := make([]*sqlstore.Store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { stores[i], errs[i] = sqlstore.OpenPostgres(ctx, dsn, sqlstore.Options{}) })
		}
		wg.Wait()
		for i, s := range stores {
			if errs[i] != nil {
				t.Fatalf("open %d: %v", i, errs[i])
			}
			defer s.Close()
		}
		v, err := stores[0].SchemaVersion(ctx)
		if err != nil || v < 1 {
			t.Fatalf("schema version %d, %v", v, err)
		}
		groups, err := stores[n-1].ListGroups(ctx)
		if err != nil || len(groups) != 1 || groups[0].ID != dc.DefaultGroupID {
			t.Fatalf("groups after concurrent migrations: %v, %v; want the Default group alone", groups, err)
		}
		raw := rawDB(t, dsn)
		var rows int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != v {
			t.Fatalf("%d schema_migrations rows, %v; want %d", rows, err, v)
		}
		// A database from a newer program is refused, not downgraded.
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', 'now')`, v+1); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlstore.OpenPostgres(ctx, dsn, sqlstore.Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("newer schema accepted: %v", err)
		}
	})

	t.Run("TwoStores", func(t *testing.T) {
		dsn := newDatabase(t)
		testTwoHandles(t, openPG(t, dsn), openPG(t, dsn))
	})

	// A refused create uses up no ID (sequences are not transactional, so
	// the store checks first): IDs stay dense, as in SQLite.
	t.Run("RefusedCreateKeepsIDs", func(t *testing.T) {
		ctx := context.Background()
		s := openPG(t, newDatabase(t))
		a, err := s.CreateSubcloud(ctx, dctest.SubcloudRecord(1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSubcloud(ctx, dctest.SubcloudRecord(1)); !errors.Is(err, dc.ErrAlreadyExists) {
			t.Fatalf("duplicate name: %v, want ErrAlreadyExists", err)
		}
		orphan := dctest.SubcloudRecord(2)
		orphan.GroupID = 999
		if _, err := s.CreateSubcloud(ctx, orphan); !errors.Is(err, dc.ErrNotFound) {
			t.Fatalf("missing group: %v, want ErrNotFound", err)
		}
		if _, err := s.CreateGroup(ctx, &dc.Group{Name: dc.DefaultGroupName, UpdateApplyType: dc.ApplySerial, MaxParallelSubclouds: 1}); !errors.Is(err, dc.ErrAlreadyExists) {
			t.Fatalf("duplicate group: %v, want ErrAlreadyExists", err)
		}
		b, err := s.CreateSubcloud(ctx, dctest.SubcloudRecord(3))
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.CreateGroup(ctx, &dc.Group{Name: "west", UpdateApplyType: dc.ApplySerial, MaxParallelSubclouds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if b.ID != a.ID+1 || g.ID != dc.DefaultGroupID+1 {
			t.Fatalf("IDs after refused creates: subcloud %d after %d, group %d; want dense", b.ID, a.ID, g.ID)
		}
	})

	t.Run("ClosedStore", func(t *testing.T) {
		s := openPG(t, newDatabase(t))
		s.Close()
		if _, err := s.ListSubclouds(context.Background()); !errors.Is(err, dc.ErrClosed) {
			t.Fatalf("list on a closed store: %v, want ErrClosed", err)
		}
	})
}

// rawDB opens dsn through pgx's database/sql driver, past the Store.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
