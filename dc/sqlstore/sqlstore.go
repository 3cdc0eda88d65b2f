package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/atoll-edge/atoll/dc"
)

// Options configure Open and OpenPostgres; the zero value means the
// defaults.
type Options struct {
	// BusyTimeout is how long SQLite waits for a lock held by another
	// process (default 5s). SQLite only.
	BusyTimeout time.Duration
	// MaxReadConns bounds the read connections (default 4).
	MaxReadConns int
	// MaxWriteConns bounds the write connections (default 4). PostgreSQL
	// only: SQLite writes through one connection.
	MaxWriteConns int
	// Logger receives migration logs; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.MaxReadConns <= 0 {
		o.MaxReadConns = 4
	}
	if o.MaxWriteConns <= 0 {
		o.MaxWriteConns = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is a dc.Store in a SQL database: SQLite (Open) or PostgreSQL
// (OpenPostgres). Writes and reads use separate connection pools; the
// read pool's connections refuse writes.
type Store struct {
	d      *dialect
	w, r   *sql.DB
	opts   Options
	closed atomic.Bool
}

var (
	_ dc.Store        = (*Store)(nil)
	_ dc.WriterLocker = (*Store)(nil)
)

// LockWriter implements dc.WriterLocker: on SQLite an flock(2) on the file
// DATABASE.lock beside the database, which the kernel releases when the
// process dies, polled while another process holds it; on PostgreSQL a
// session advisory lock on a connection of its own, which the server
// releases when that session ends, checked every few seconds (lost is
// closed when the check fails). ctx bounds only the wait.
func (s *Store) LockWriter(ctx context.Context) (lost <-chan struct{}, unlock func() error, err error) {
	if err := s.check(); err != nil {
		return nil, nil, err
	}
	return s.d.lockWriter(ctx)
}

// open migrates the database behind the write and read pools w and r
// (which it owns from now on, closing them on failure) and returns the
// Store over them; label names the database in errors.
func open(ctx context.Context, d *dialect, label string, w, r *sql.DB, o Options) (*Store, error) {
	s := &Store{d: d, w: w, r: r, opts: o}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: migrate %s database %s: %w", d.name, label, err)
	}
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: open %s database %s: %w", d.name, label, err)
	}
	return s, nil
}

// SchemaVersion returns the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || path.Ext(name) != ".sql" {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must be 1, 2, 3, ... without gaps", out[i].name)
		}
	}
	return out, nil
}

// migrate applies the pending migrations, each in its own transaction with
// its schema_migrations row. Every transaction first takes the dialect's
// migration lock and reads the version again, so that processes opening
// one database together apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.d.migrations)
	if err != nil {
		return err
	}
	for {
		done, err := s.migrateOne(ctx, ms)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the first pending migration of ms, or reports that
// none is pending.
func (s *Store) migrateOne(ctx context.Context, ms []migration) (done bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if s.d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockMigrations); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)`); err != nil {
		return false, err
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return false, err
	}
	if cur > len(ms) {
		return false, fmt.Errorf("database schema version %d is newer than this program's %d", cur, len(ms))
	}
	if cur == len(ms) {
		return true, tx.Commit()
	}
	m := ms[cur]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("%s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, formatTime(time.Now())); err != nil {
		return false, fmt.Errorf("%s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("%s: %w", m.name, err)
	}
	s.opts.Logger.InfoContext(ctx, "schema migration applied", "dialect", s.d.name, "version", m.version, "name", m.name)
	return false, nil
}

// Close closes both connection pools. Later calls return dc.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

func (s *Store) check() error {
	if s.closed.Load() {
		return dc.ErrClosed
	}
	return nil
}

// write runs fn in a write transaction, retrying with backoff if it failed
// only because of another writer: SQLite's lock held by another process
// beyond BusyTimeout, a PostgreSQL serialisation failure or deadlock.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.check(); err != nil {
		return err
	}
	b := backoff.WithContext(backoff.WithMaxRetries(backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(10*time.Millisecond), backoff.WithMaxInterval(time.Second)), 5), ctx)
	return backoff.Retry(func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			if s.d.retryable(err) {
				return err
			}
			return backoff.Permanent(err)
		}
		if err := fn(tx); err != nil {
			tx.Rollback()
			if s.d.retryable(err) {
				return err
			}
			return backoff.Permanent(err)
		}
		if err := tx.Commit(); err != nil {
			if s.d.retryable(err) {
				return err
			}
			return backoff.Permanent(err)
		}
		return nil
	}, b)
}

const timeLayout = time.RFC3339Nano

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(timeLayout, v); err == nil {
		return t, nil
	}
	// CURRENT_TIMESTAMP, as written by migrations.
	return time.ParseInLocation("2006-01-02 15:04:05", v, time.UTC)
}

// subcloudRecord is the JSON blob of a subcloud: the dc.Subcloud fields plus
// the ones its JSON encoding leaves out, minus the ones stored as columns.
// The column fields are shadowed by zero-valued omitzero fields, so they
// are neither written nor decoded twice (rows written before carry them;
// they decode into the shadows and the columns win).
type subcloudRecord struct {
	dc.Subcloud
	Install      *installRecord `json:"install,omitempty"`
	Phase        dc.PhaseName   `json:"phase,omitempty"`
	DeployConfig []byte         `json:"deploy_config,omitempty"`
	// SealedSysadminPassword is ciphertext (the Manager seals it).
	SealedSysadminPassword []byte `json:"sealed_sysadmin_password,omitempty"`

	ID              int64     `json:"id,omitzero"`
	Name            string    `json:"name,omitzero"`
	GroupID         int64     `json:"group_id,omitzero"`
	ManagementState string    `json:"management-state,omitzero"`
	Availability    string    `json:"availability-status,omitzero"`
	DeployStatus    string    `json:"deploy-status,omitzero"`
	CreatedAt       time.Time `json:"created-at,omitzero"`
	UpdatedAt       time.Time `json:"updated-at,omitzero"`

	// Endpoints shadows dc.Subcloud.Endpoints with a compact form.
	Endpoints endpointList `json:"endpoint_sync_status,omitzero"`
}

// endpointList is the sync status of a subcloud's endpoints, stored as one
// string "type=status,type=status" (older rows hold a JSON array, which it
// still reads). The known endpoint types and statuses are interned, so a
// list of 10,000 subclouds does not allocate them 10,000 times.
type endpointList []dc.EndpointStatus

func (l endpointList) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	for i, e := range l {
		if strings.ContainsAny(e.EndpointType, ",=") || strings.ContainsAny(string(e.SyncStatus), ",=") {
			return json.Marshal([]dc.EndpointStatus(l))
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.EndpointType)
		b.WriteByte('=')
		b.WriteString(string(e.SyncStatus))
	}
	return json.Marshal(b.String())
}

func (l *endpointList) UnmarshalJSON(data []byte) error {
	if len(data) == 0 || data[0] != '"' {
		return json.Unmarshal(data, (*[]dc.EndpointStatus)(l))
	}
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		return err
	}
	if text == "" {
		*l = endpointList{}
		return nil
	}
	out := make(endpointList, 0, strings.Count(text, ",")+1)
	for item := range strings.SplitSeq(text, ",") {
		typ, st, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("endpoint %q: want type=status", item)
		}
		out = append(out, dc.EndpointStatus{EndpointType: intern(typ), SyncStatus: dc.SyncStatus(intern(st))})
	}
	*l = out
	return nil
}

// intern returns the constant for a known endpoint type or sync status.
func intern(s string) string {
	for _, k := range [...]string{"platform", "identity", "patching", "load", "dc-cert", "firmware", "kubernetes",
		"kube-rootca", "usm", string(dc.InSync), string(dc.OutOfSync), string(dc.SyncUnknown)} {
		if s == k {
			return k
		}
	}
	return strings.Clone(s)
}

type installRecord struct {
	dc.InstallValues
	SealedBMCPassword []byte `json:"sealed_bmc_password,omitempty"`
}

func encodeSubcloud(s *dc.Subcloud) (string, error) {
	rec := subcloudRecord{Subcloud: *s, Phase: s.Phase, DeployConfig: s.DeployConfig, SealedSysadminPassword: s.SealedSysadminPassword,
		Endpoints: endpointList(s.Endpoints)}
	if s.Install != nil {
		if s.Install.BMCPassword != "" {
			return "", errors.New("sqlstore: refusing to store a plaintext BMC password; seal it first")
		}
		rec.Install = &installRecord{InstallValues: *s.Install, SealedBMCPassword: s.Install.SealedBMCPassword}
	}
	b, err := json.Marshal(rec)
	return string(b), err
}

// prefixText is the management_subnet column: the CIDR, or empty.
func prefixText(s *dc.Subcloud) string {
	if !s.ManagementSubnet.IsValid() {
		return ""
	}
	return s.ManagementSubnet.String()
}

const subcloudColumns = `id, name, group_id, management_state, availability_status, deploy_status, revision, created_at, updated_at, data`

type scanner interface{ Scan(dest ...any) error }

func scanSubcloud(row scanner) (*dc.Subcloud, error) {
	var (
		id, group, rev       int64
		name, ms, av, ds     string
		created, updated, js string
	)
	if err := row.Scan(&id, &name, &group, &ms, &av, &ds, &rev, &created, &updated, &js); err != nil {
		return nil, err
	}
	var rec subcloudRecord
	if err := json.Unmarshal([]byte(js), &rec); err != nil {
		return nil, fmt.Errorf("sqlstore: subcloud %d: corrupt record: %w", id, err)
	}
	s := rec.Subcloud
	if rec.Endpoints != nil {
		s.Endpoints = []dc.EndpointStatus(rec.Endpoints)
	}
	s.Phase = rec.Phase
	s.DeployConfig = rec.DeployConfig
	s.SealedSysadminPassword = rec.SealedSysadminPassword
	if rec.Install != nil {
		iv := rec.Install.InstallValues
		iv.SealedBMCPassword = rec.Install.SealedBMCPassword
		s.Install = &iv
	}
	s.ID, s.Name, s.GroupID, s.Revision = id, name, group, rev
	s.ManagementState, s.Availability, s.DeployStatus = dc.ManagementState(ms), dc.Availability(av), dc.DeployStatus(ds)
	var err error
	if s.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if s.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &s, nil
}

// refusedInsert returns the error an insert would fail with, checked
// before it where a failed insert would use up an ID (dialect.idGaps): err
// from the check, ErrAlreadyExists if taken rows hold the unique name,
// errForeignKey if no parent row exists. The constraints still decide a
// race with another process.
func refusedInsert(err error, taken, parents int) error {
	switch {
	case err != nil:
		return err
	case taken > 0:
		return fmt.Errorf("name taken: %w", dc.ErrAlreadyExists)
	case parents == 0:
		return errForeignKey
	}
	return nil
}

func notFound(what string, key any) error {
	return fmt.Errorf("sqlstore: %s %v: %w", what, key, dc.ErrNotFound)
}

// CreateSubcloud implements dc.Store.
func (s *Store) CreateSubcloud(ctx context.Context, sc *dc.Subcloud) (*dc.Subcloud, error) {
	c := sc.Clone()
	c.Revision = 1
	data, err := encodeSubcloud(c)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if s.d.idGaps {
			var taken, groups int
			err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT
    (SELECT COUNT(*) FROM subclouds WHERE name = ?), (SELECT COUNT(*) FROM subcloud_groups WHERE id = ?)`),
				c.Name, c.GroupID).Scan(&taken, &groups)
			if err := refusedInsert(err, taken, groups); err != nil {
				return err
			}
		}
		return tx.QueryRowContext(ctx, s.d.rebind(`INSERT INTO subclouds
    (name, group_id, management_state, availability_status, deploy_status, management_subnet, revision, created_at, updated_at, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			c.Name, c.GroupID, string(c.ManagementState), string(c.Availability), string(c.DeployStatus),
			prefixText(c), c.Revision, formatTime(c.CreatedAt), formatTime(c.UpdatedAt), data).Scan(&c.ID)
	})
	if err = s.d.mapError(err); errors.Is(err, errForeignKey) {
		return nil, notFound("group", c.GroupID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: create subcloud %q: %w", c.Name, err)
	}
	return c, nil
}

// GetSubcloud implements dc.Store.
func (s *Store) GetSubcloud(ctx context.Context, id int64) (*dc.Subcloud, error) {
	return s.getSubcloud(ctx, `id = ?`, id)
}

// GetSubcloudByName implements dc.Store.
func (s *Store) GetSubcloudByName(ctx context.Context, name string) (*dc.Subcloud, error) {
	return s.getSubcloud(ctx, `name = ?`, name)
}

func (s *Store) getSubcloud(ctx context.Context, where string, key any) (*dc.Subcloud, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	sc, err := scanSubcloud(s.r.QueryRowContext(ctx, s.d.rebind(`SELECT `+subcloudColumns+` FROM subclouds WHERE `+where), key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("subcloud", key)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get subcloud %v: %w", key, err)
	}
	return sc, nil
}

// ListSubclouds implements dc.Store.
func (s *Store) ListSubclouds(ctx context.Context) ([]*dc.Subcloud, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT `+subcloudColumns+` FROM subclouds ORDER BY id`))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list subclouds: %w", err)
	}
	defer rows.Close()
	var out []*dc.Subcloud
	for rows.Next() {
		sc, err := scanSubcloud(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list subclouds: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list subclouds: %w", err)
	}
	return out, nil
}

// UpdateSubcloud implements dc.Store.
func (s *Store) UpdateSubcloud(ctx context.Context, sc *dc.Subcloud) (*dc.Subcloud, error) {
	c := sc.Clone()
	data, err := encodeSubcloud(c)
	if err != nil {
		return nil, err
	}
	var created string
	err = s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.d.rebind(`UPDATE subclouds SET
    name = ?, group_id = ?, management_state = ?, availability_status = ?, deploy_status = ?,
    management_subnet = ?, revision = revision + 1, updated_at = ?, data = ?
WHERE id = ? AND revision = ? RETURNING created_at`),
			c.Name, c.GroupID, string(c.ManagementState), string(c.Availability), string(c.DeployStatus),
			prefixText(c), formatTime(c.UpdatedAt), data, c.ID, c.Revision).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return s.missingOrStale(ctx, tx, "subclouds", c.ID, c.Revision)
		}
		return err
	})
	if err = s.d.mapError(err); errors.Is(err, errForeignKey) {
		return nil, notFound("group", c.GroupID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: update subcloud %d: %w", c.ID, err)
	}
	c.Revision++
	if c.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	return c, nil
}

// missingOrStale explains why a CAS touched no row.
func (s *Store) missingOrStale(ctx context.Context, tx *sql.Tx, table string, id, revision int64) error {
	var cur int64
	err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT revision FROM `+table+` WHERE id = ?`), id).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(strings.TrimSuffix(table, "s"), id)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("revision %d, stored %d: %w", revision, cur, dc.ErrConflict)
}

// DeleteSubcloud implements dc.Store.
func (s *Store) DeleteSubcloud(ctx context.Context, id, revision int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM subclouds WHERE id = ? AND revision = ?`), id, revision)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return s.missingOrStale(ctx, tx, "subclouds", id, revision)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete subcloud %d: %w", id, s.d.mapError(err))
	}
	return nil
}

const groupColumns = `id, name, description, update_apply_type, max_parallel_subclouds, revision, created_at, updated_at`

func scanGroup(row scanner) (*dc.Group, error) {
	var (
		g                dc.Group
		at               string
		created, updated string
	)
	if err := row.Scan(&g.ID, &g.Name, &g.Description, &at, &g.MaxParallelSubclouds, &g.Revision, &created, &updated); err != nil {
		return nil, err
	}
	g.UpdateApplyType = dc.ApplyType(at)
	var err error
	if g.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if g.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &g, nil
}

// CreateGroup implements dc.Store.
func (s *Store) CreateGroup(ctx context.Context, g *dc.Group) (*dc.Group, error) {
	c := g.Clone()
	c.Revision = 1
	err := s.write(ctx, func(tx *sql.Tx) error {
		if s.d.idGaps {
			var taken int
			err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM subcloud_groups WHERE name = ?`), c.Name).Scan(&taken)
			if err := refusedInsert(err, taken, 1); err != nil {
				return err
			}
		}
		return tx.QueryRowContext(ctx, s.d.rebind(`INSERT INTO subcloud_groups
    (name, description, update_apply_type, max_parallel_subclouds, revision, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			c.Name, c.Description, string(c.UpdateApplyType), c.MaxParallelSubclouds, c.Revision,
			formatTime(c.CreatedAt), formatTime(c.UpdatedAt)).Scan(&c.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: create group %q: %w", c.Name, s.d.mapError(err))
	}
	return c, nil
}

// GetGroup implements dc.Store.
func (s *Store) GetGroup(ctx context.Context, id int64) (*dc.Group, error) {
	return s.getGroup(ctx, `id = ?`, id)
}

// GetGroupByName implements dc.Store.
func (s *Store) GetGroupByName(ctx context.Context, name string) (*dc.Group, error) {
	return s.getGroup(ctx, `name = ?`, name)
}

func (s *Store) getGroup(ctx context.Context, where string, key any) (*dc.Group, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	g, err := scanGroup(s.r.QueryRowContext(ctx, s.d.rebind(`SELECT `+groupColumns+` FROM subcloud_groups WHERE `+where), key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("group", key)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get group %v: %w", key, err)
	}
	return g, nil
}

// ListGroups implements dc.Store.
func (s *Store) ListGroups(ctx context.Context) ([]*dc.Group, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT `+groupColumns+` FROM subcloud_groups ORDER BY id`))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list groups: %w", err)
	}
	defer rows.Close()
	var out []*dc.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// UpdateGroup implements dc.Store.
func (s *Store) UpdateGroup(ctx context.Context, g *dc.Group) (*dc.Group, error) {
	c := g.Clone()
	var created string
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.d.rebind(`UPDATE subcloud_groups SET
    name = ?, description = ?, update_apply_type = ?, max_parallel_subclouds = ?, revision = revision + 1, updated_at = ?
WHERE id = ? AND revision = ? RETURNING created_at`),
			c.Name, c.Description, string(c.UpdateApplyType), c.MaxParallelSubclouds, formatTime(c.UpdatedAt),
			c.ID, c.Revision).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return s.missingOrStale(ctx, tx, "subcloud_groups", c.ID, c.Revision)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: update group %d: %w", c.ID, s.d.mapError(err))
	}
	c.Revision++
	if c.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteGroup implements dc.Store.
func (s *Store) DeleteGroup(ctx context.Context, id, revision int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM subcloud_groups WHERE id = ? AND revision = ?`), id, revision)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return s.missingOrStale(ctx, tx, "subcloud_groups", id, revision)
		}
		return nil
	})
	if err = s.d.mapError(err); errors.Is(err, errForeignKey) {
		return fmt.Errorf("sqlstore: delete group %d: it still has subclouds: %w", id, dc.ErrInvalidState)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete group %d: %w", id, err)
	}
	return nil
}

// AppendDeployLog implements dc.Store.
func (s *Store) AppendDeployLog(ctx context.Context, subcloudID int64, e dc.LogEntry) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO subcloud_deploy_log (subcloud_id, logged_at, phase, message) VALUES (?, ?, ?, ?)`),
			subcloudID, formatTime(e.Time), string(e.Phase), e.Message)
		return err
	})
	if err = s.d.mapError(err); errors.Is(err, errForeignKey) {
		return notFound("subcloud", subcloudID)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: append deploy log of subcloud %d: %w", subcloudID, err)
	}
	return nil
}

// DeployLog implements dc.Store.
func (s *Store) DeployLog(ctx context.Context, subcloudID int64) ([]dc.LogEntry, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: deploy log: %w", err)
	}
	defer tx.Rollback()
	var one int
	if err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT 1 FROM subclouds WHERE id = ?`), subcloudID).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("subcloud", subcloudID)
		}
		return nil, fmt.Errorf("sqlstore: deploy log: %w", err)
	}
	rows, err := tx.QueryContext(ctx, s.d.rebind(`SELECT logged_at, phase, message FROM subcloud_deploy_log WHERE subcloud_id = ? ORDER BY seq`), subcloudID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: deploy log: %w", err)
	}
	defer rows.Close()
	var out []dc.LogEntry
	for rows.Next() {
		var (
			e     dc.LogEntry
			at, p string
		)
		if err := rows.Scan(&at, &p, &e.Message); err != nil {
			return nil, fmt.Errorf("sqlstore: deploy log: %w", err)
		}
		e.Phase = dc.PhaseName(p)
		if e.Time, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
