package sqlstore

import (
	"embed"
	"errors"
	"fmt"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/atoll-edge/atoll/dc"
)

// This file holds everything specific to SQLite. The queries in
// sqlstore.go use ? placeholders, RETURNING and standard types, which
// PostgreSQL also accepts once rebind turns ? into $n; a PostgreSQL backend
// replaces this file (driver, DSN, error mapping, migrations directory).

const driverName = "sqlite"

//go:embed migrations/sqlite/*.sql
var migrationFS embed.FS

const migrationDir = "migrations/sqlite"

// dsn returns the SQLite DSN for path: WAL, a busy timeout, foreign keys
// enforced; readOnly connections refuse writes.
func dsn(path string, busy time.Duration, readOnly bool) string {
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

// rebind adapts a query's placeholders to the dialect (none for SQLite).
func rebind(query string) string { return query }

// mapError maps driver errors onto the dc vocabulary, keeping the driver
// error in the chain.
func mapError(err error) error {
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

// errForeignKey marks a foreign-key violation; callers turn it into
// ErrNotFound (missing parent) or ErrInvalidState (existing children).
var errForeignKey = errors.New("foreign key violation")

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
