// Package pgtest gives tests a real PostgreSQL server: a private one
// started from the installed server binaries for the test binary, or the
// server ATOLL_TEST_POSTGRES_DSN names.
//
// # Sections
//
// Starting. Start(tb) returns a running Server and stops it in tb's
// cleanup; it skips the test, saying what to install, when the server
// binaries (initdb, postgres) are missing. New and Close do the same for a
// TestMain or any caller that manages the lifetime itself. A private
// server lives in a temporary directory and listens only on a unix socket
// there (listen_addresses is empty), with fsync off: it is for tests only.
// Run as root, it runs as the postgres system user, as initdb demands. It
// gets SIGQUIT (immediate shutdown) if the test binary dies without
// stopping it.
//
// Databases. NewDatabase creates a fresh, empty database (from template0)
// and returns its DSN, so every subtest can have its own. The databases of
// a private server go with it; on a server named by
// ATOLL_TEST_POSTGRES_DSN, which must be a role allowed to create
// databases, Close drops the ones it created.
//
// Binaries. The server binaries are looked up on PATH, then in
// /usr/lib/postgresql/*/bin (Debian's layout, newest version first).
package pgtest
