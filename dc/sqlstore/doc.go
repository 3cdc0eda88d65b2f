// Package sqlstore is a dc.Store on database/sql with two backends: SQLite
// (modernc.org/sqlite, pure Go), the embedded default of the System
// Controller, and PostgreSQL (github.com/jackc/pgx/v5), a database several
// controllers can reach.
//
// # Sections
//
// Opening. Open takes a SQLite file path, creating the file if needed, and
// sets WAL, a busy timeout and foreign keys. OpenPostgres takes a pgx DSN
// (keyword/value or postgres:// URL) naming an existing database. Both
// apply the embedded migrations of their backend (migrations/sqlite,
// migrations/postgres, versioned separately) that the database has not
// applied yet, recorded in schema_migrations; a database written by a newer
// program is refused. Every migration runs in its own transaction under a
// lock taken first (SQLite's write lock; pg_advisory_xact_lock on
// PostgreSQL), so controllers starting together apply each once.
// Migration 1 creates the Default group (id 1).
//
// Concurrency. Writes and reads use separate connection pools; the read
// connections refuse writes. On SQLite all writes go through one
// connection, so writers in one process never meet SQLITE_BUSY; a write
// that still finds the database locked by another process beyond the busy
// timeout is retried with backoff, as is a PostgreSQL write that fails with
// a serialisation failure or a deadlock. Updates and deletes are
// compare-and-swap on the revision column on both backends. Options says
// which settings apply to one backend only.
//
// Sharing one PostgreSQL database. The store itself is safe for several
// processes: revisions, unique names and foreign keys are enforced by the
// database. The dc.Manager above it is not: it keeps an in-memory read
// model loaded at start and assumes it is the only writer of its store, so
// a second active Manager on the same database would neither see the
// first's changes nor keep its own read model right. The Store therefore
// implements dc.WriterLocker, which the Manager takes before it first
// reads: on PostgreSQL a session advisory lock on a connection of its own
// (released by the server when that session ends, so a controller that
// dies hands over at once), on SQLite an flock(2) on DATABASE.lock. Several
// controllers may share one PostgreSQL database: one active, the others
// standing by in Manager.Start until the lock is theirs. A change feed that
// would keep several active Managers in step is future work.
//
// Layout. Subclouds keep the fields the store queries (name, group,
// states, revision, timestamps) as columns and the rest of the record as a
// JSON document, which does not repeat the columns and holds the endpoint
// sync statuses as one "type=status,..." string (decoding that document
// dominates ListSubclouds; rows in the first format, with every field and
// an endpoint array, still read). The deploy config is part of the
// document. Install values are stored as given by the Manager, with the
// BMC and sysadmin passwords sealed; a plaintext BMC password is refused.
// Times are RFC 3339 text on both backends, and the document is text, not
// jsonb: the store never queries inside it.
//
// Dialects. sqlstore.go holds the one copy of the queries and the store
// logic; they use ? placeholders, RETURNING and types both engines accept.
// Everything engine-specific is in one file per backend: dialect_sqlite.go
// and dialect_postgres.go (driver and pools, placeholder rebinding, error
// codes, retryable errors, migration lock). One difference shows in
// behaviour: a PostgreSQL sequence is not rolled back with its transaction,
// so on PostgreSQL a create first checks the name and the group, and a
// refused create uses up no ID; only two processes racing for one name can
// leave a gap in the IDs.
package sqlstore
