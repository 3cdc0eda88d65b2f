package sqlstore

import (
	"context"
	"errors"
	"io/fs"
)

// dialect is what differs between the database engines behind a Store; the
// queries and the store logic in sqlstore.go are shared. Each backend fills
// one in its own file (dialect_sqlite.go, dialect_postgres.go), which holds
// all of that engine's differences.
type dialect struct {
	// name names the engine in errors and logs.
	name string
	// migrations holds the backend's NNNN_description.sql files at its
	// root, versioned per backend.
	migrations fs.FS
	// lockMigrations is run first in every migration transaction, so that
	// several processes opening one database apply each migration once ("" if
	// the transaction itself already excludes other writers).
	lockMigrations string
	// rebind adapts a query's ? placeholders to the engine.
	rebind func(query string) string
	// mapError maps driver errors onto the dc vocabulary (and errForeignKey),
	// keeping the driver error in the chain.
	mapError func(error) error
	// retryable reports whether a write failed only because of another
	// writer (a lock, a serialisation failure), so that retrying it may
	// succeed.
	retryable func(error) bool
	// idGaps is true where a failed insert uses up an ID (PostgreSQL
	// sequences are not transactional): creates then check the name and
	// group first, so that a refused create does not skip an ID.
	idGaps bool
	// lockWriter takes the database's writer lock (see dc.WriterLocker)
	// on a connection of its own.
	lockWriter func(ctx context.Context) (lost <-chan struct{}, unlock func() error, err error)
}

// errForeignKey marks a foreign-key violation; callers turn it into
// ErrNotFound (missing parent) or ErrInvalidState (existing children).
var errForeignKey = errors.New("foreign key violation")
