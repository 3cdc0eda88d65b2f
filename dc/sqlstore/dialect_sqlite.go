package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/internal/flock"
)

// This file holds everything specific to SQLite: the driver, the DSN, the
// connection pools, the error codes and the migrations directory.

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

func sqliteDialect() (*dialect, error) {
	ms, err := fs.Sub(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		return nil, err
	}
	return &dialect{
		name:       "sqlite",
		migrations: ms,
		// The writer's transactions begin IMMEDIATE: each holds the
		// database's write lock from its start, across processes.
		lockMigrations: "",
		rebind:         func(query string) string { return query },
		mapError:       sqliteMapError,
		retryable:      sqliteBusy,
	}, nil
}

// Open opens (creating if needed) the SQLite database at path and applies
// the pending migrations. Writes go through one connection; reads use up
// to Options.MaxReadConns read-only connections.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	o := opts.withDefaults()
	d, err := sqliteDialect()
	if err != nil {
		return nil, err
	}
	d.lockWriter = func(ctx context.Context) (<-chan struct{}, func() error, error) {
		l, err := flock.Acquire(ctx, path+".lock", 250*time.Millisecond)
		if err != nil {
			return nil, nil, err
		}
		// The kernel keeps the lock as long as the process lives.
		return make(chan struct{}), l.Unlock, nil
	}
	w, err := sql.Open("sqlite", sqliteDSN(path, o.BusyTimeout, false))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	// One writer connection: writers in this process queue here rather
	// than on SQLite's lock.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", sqliteDSN(path, o.BusyTimeout, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	return open(ctx, d, path, w, r, o)
}

// sqliteDSN returns the SQLite DSN for path: WAL, a busy timeout, foreign
// keys enforced; readOnly connections refuse writes.
func sqliteDSN(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func sqliteMapError(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", dc.ErrAlreadyExists, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", errForeignKey, err)
	}
	return err
}

// sqliteBusy reports whether err is SQLite's "database is locked".
func sqliteBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
