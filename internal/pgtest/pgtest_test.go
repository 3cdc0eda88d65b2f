package pgtest_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"go.uber.org/goleak"

	"github.com/atoll-edge/atoll/internal/pgtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestNewDatabase creates two databases: each is empty, and a table made in
// one is not in the other.
func TestNewDatabase(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t)
	var dbs []*sql.DB
	for range 2 {
		dsn, err := srv.NewDatabase(ctx)
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	if _, err := dbs[0].ExecContext(ctx, `CREATE TABLE t (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := dbs[1].QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("second database has %d tables, %v; want a fresh, empty one", n, err)
	}
	var names [2]string
	for i, db := range dbs {
		if err := db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&names[i]); err != nil {
			t.Fatal(err)
		}
	}
	if names[0] == names[1] {
		t.Fatalf("both DSNs name database %s", names[0])
	}
}
