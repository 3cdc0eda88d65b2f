package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
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
	d.lockWriter = postgresWriterLock(cfg.Copy())
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

// postgresWriterLockKey is the pg_advisory_lock key of the writer lock
// (ASCII "atolldcw"); advisory locks are per database.
const postgresWriterLockKey = 0x61746f6c6c646377

// postgresLockCheck is how often a held writer lock's session is checked.
const postgresLockCheck = 2 * time.Second

// postgresWriterLock returns the dialect's lockWriter: a session advisory
// lock on a connection of its own, which the server releases when the
// session ends (the process died, the network broke). While it waits, a
// cancelled ctx sends a cancel request, so the server drops the queued
// lock request at once.
func postgresWriterLock(cfg *pgx.ConnConfig) func(context.Context) (<-chan struct{}, func() error, error) {
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
	}
	return func(ctx context.Context) (<-chan struct{}, func() error, error) {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlstore: writer lock connection: %w", err)
		}
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(postgresWriterLockKey)); err != nil {
			conn.Close(context.Background())
			if ctx.Err() != nil {
				return nil, nil, fmt.Errorf("sqlstore: waiting for the writer lock: %w", context.Cause(ctx))
			}
			return nil, nil, fmt.Errorf("sqlstore: writer lock: %w", err)
		}
		lost, stop, exited := make(chan struct{}), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(exited)
			t := time.NewTicker(postgresLockCheck)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				pctx, cancel := context.WithTimeout(context.Background(), 2*postgresLockCheck)
				err := conn.Ping(pctx)
				cancel()
				if err != nil {
					close(lost)
					return
				}
			}
		}()
		var once sync.Once
		var uerr error
		unlock := func() error {
			once.Do(func() {
				close(stop)
				<-exited // conn is the checker's until it has returned
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				select {
				case <-lost: // the session is gone, and the lock with it
				default:
					_, uerr = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", int64(postgresWriterLockKey))
				}
				uerr = errors.Join(uerr, conn.Close(ctx))
			})
			return uerr
		}
		return lost, unlock, nil
	}
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
