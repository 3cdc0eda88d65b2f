// Package sqlstore is a dc.Store on database/sql with SQLite
// (modernc.org/sqlite, pure Go): the embedded default backend of the System
// Controller.
//
// # Sections
//
// Opening. Open creates the database file if needed, sets WAL, a busy
// timeout and foreign keys, and applies the embedded migrations it has not
// applied yet (recorded in schema_migrations; a database written by a newer
// program is refused). Migration 1 creates the Default group (id 1).
//
// Concurrency. All writes go through one connection, so writers in one
// process never meet SQLITE_BUSY; a write that still finds the database
// locked by another process beyond the busy timeout is retried with backoff.
// Reads use a pool of read-only connections that WAL runs beside the writer.
// Updates and deletes are compare-and-swap on the revision column.
//
// Layout. Subclouds keep the fields the store queries (name, group,
// states, revision, timestamps) as columns and the rest of the record as a
// JSON document, which does not repeat the columns and holds the endpoint
// sync statuses as one "type=status,..." string (decoding that document
// dominates ListSubclouds; rows in the first format, with every field and
// an endpoint array, still read). The deploy config is part of the
// document. Install values are stored as given by the Manager, with the
// BMC and sysadmin passwords sealed; a plaintext BMC password is refused.
//
// Dialect. Queries use ? placeholders and RETURNING, which PostgreSQL also
// accepts once rebound; everything SQLite-specific (driver, DSN, error
// codes, migrations directory) is in dialect.go.
package sqlstore
