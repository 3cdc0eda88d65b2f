package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/atoll-edge/atoll/dc"
)

// This file holds everything specific to PostgreSQL (through pgx): the
// connection pools, the $n placeholders, the SQLSTATE codes, the migration
// lock and the migrations directory.

//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// postgresMigrationLock is the pg_advisory_xact_lock key under which
// migrations run (ASCII "atolldc1").
const postgresMigrationLock = 0x61746f6c6c646331

func postgresDialect() (*dialect, error) {
	ms, err := fs.Sub(postgresMigrations, "migrations/postgres")
	if err != nil {
		return nil, err
	}
	return &dialect{
		name:           "postgres",
		migrations:     ms,
		lockMigrations: "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(postgresMigrationLock, 10) + ")",
		rebind:         postgresRebind,
		mapError:       postgresMapError,
		retryable:      postgresRetryable,
		idGaps:         true,
	}, nil
}

// OpenPostgres opens the PostgreSQL database dsn names (a libpq keyword/value
// string or a postgres:// URL, as pgx parses it) and applies the pending
// migrations under an advisory lock, so that controllers starting together
// apply each once. The database must exist. Writes use up to
// Options.MaxWriteConns connections, reads up to Options.MaxReadConns
// connections whose transactions are read-only.
//
// The dc.Manager keeps an in-memory read model and assumes it is the only
// writer of its store: several controllers may share one database, but
// only one Manager may be active on it at a time (see the package doc).
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	o := opts.withDefaults()
	d, err := postgresDialect()
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's error repeats the DSN, password included; keep it out.
		return nil, errors.New("sqlstore: open postgres: cannot parse the DSN")
	}
	label := fmt.Sprintf("%q on %s", cfg.Database, cfg.Host)
	w := stdlib.OpenDB(*cfg)
	w.SetMaxOpenConns(o.MaxWriteConns)
	w.SetMaxIdleConns(o.MaxWriteConns)
	rcfg := cfg.Copy()
	rcfg.RuntimeParams["default_transaction_read_only"] = "on"
	r := stdlib.OpenDB(*rcfg)
	r.SetMaxOpenConns(o.MaxReadConns)
	r.SetMaxIdleConns(o.MaxReadConns)
	return open(ctx, d, label, w, r, o)
}

// postgresRebind turns the shared queries' ? placeholders into $1, $2, ...
// (the queries hold no ? in literals or identifiers).
func postgresRebind(query string) string {
	n := strings.Count(query, "?")
	if n == 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 2*n)
	i := 0
	for {
		before, after, found := strings.Cut(query, "?")
		b.WriteString(before)
		if !found {
			return b.String()
		}
		i++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(i))
		query = after
	}
}

// SQLSTATE codes the store acts on.
const (
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

func postgresMapError(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case pgUniqueViolation:
		return fmt.Errorf("%w: %w", dc.ErrAlreadyExists, err)
	case pgForeignKeyViolation:
		return fmt.Errorf("%w: %w", errForeignKey, err)
	}
	return err
}

// postgresRetryable reports a serialisation failure or a deadlock: the
// transaction lost to a concurrent one and may succeed when run again.
func postgresRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == pgSerializationFailure || pe.Code == pgDeadlockDetected)
}
