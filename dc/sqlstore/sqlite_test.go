package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
	"github.com/atoll-edge/atoll/dc/sqlstore"
)

func open(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestBMCPasswordNotInFile adds subclouds with install values and a
// sysadmin password through a Manager (and resumes one with a new sysadmin
// password), then reads the database files byte by byte: no plaintext
// password may appear, while other install values and the sealed fields do
// (so the search itself works).
func TestBMCPasswordNotInFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "dc.db")
	s := open(t, path)
	key, err := dc.LoadOrCreateKey(filepath.Join(dir, "sealer.key"))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := dc.NewAESGCMSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	boot := dctest.NewPhase()
	m, err := dc.NewManager(s, dc.Options{Sealer: sealer, Install: dctest.NewPhase(), Bootstrap: boot})
	if err != nil {
		t.Fatal(err)
	}
	const password = "Plaintext-BMC-Password-4242"
	const sysadmin = "Plaintext-Sysadmin-Password-7373"
	for i := range 3 {
		req := dctest.AddRequest(i)
		req.Install = dctest.Install(password)
		req.SysadminPassword = sysadmin
		if _, err := m.AddSubcloud(ctx, req); err != nil {
			t.Fatal(err)
		}
		dctest.WaitDeploy(t, m, req.Bootstrap.Name, dc.Complete)
	}
	newPassword := password + "-rotated"
	iv := dctest.Install(newPassword)
	if _, err := m.UpdateSubcloud(ctx, "subcloud-1", dc.UpdateRequest{Install: iv}); err != nil {
		t.Fatal(err)
	}
	// A resume with a new sysadmin password (after a failed bootstrap).
	boot.SetHook(func(_ context.Context, job *dc.PhaseJob) error {
		if job.Subcloud.Name == "subcloud-3" {
			return errors.New("bootstrap failed")
		}
		return nil
	})
	req := dctest.AddRequest(3)
	req.SysadminPassword = sysadmin
	if _, err := m.AddSubcloud(ctx, req); err != nil {
		t.Fatal(err)
	}
	dctest.WaitDeploy(t, m, "subcloud-3", dc.BootstrapFailed)
	boot.SetHook(nil)
	if _, err := m.ResumeDeployWith(ctx, "subcloud-3", dc.ResumeRequest{SysadminPassword: sysadmin + "-resumed"}); err != nil {
		t.Fatal(err)
	}
	dctest.WaitDeploy(t, m, "subcloud-3", dc.Complete)
	got := map[string][]string{}
	for _, j := range boot.Jobs() {
		got[j.Subcloud.Name] = append(got[j.Subcloud.Name], j.SysadminPassword)
	}
	if p := got["subcloud-0"]; len(p) != 1 || p[0] != sysadmin {
		t.Fatalf("bootstrap of subcloud-0 got sysadmin passwords %q, want the one added", p)
	}
	if p := got["subcloud-3"]; len(p) != 2 || p[0] != sysadmin || p[1] != sysadmin+"-resumed" {
		t.Fatalf("bootstrap of subcloud-3 got sysadmin passwords %q, want the added one, then the resumed one", p)
	}
	m.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(path + "*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no database files: %v", err)
	}
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if bytes.Contains(all, []byte(password)) || bytes.Contains(all, []byte("Plaintext-BMC")) {
		t.Fatalf("the BMC password is in the database files %v in plaintext", files)
	}
	if bytes.Contains(all, []byte("Plaintext-Sysadmin")) {
		t.Fatalf("the sysadmin password is in the database files %v in plaintext", files)
	}
	if !bytes.Contains(all, []byte(dctest.Install("").BMCAddress)) || !bytes.Contains(all, []byte("sealed_bmc_password")) ||
		!bytes.Contains(all, []byte("sealed_sysadmin_password")) {
		t.Fatal("install values not found in the files: the search proves nothing")
	}
}

func TestPlaintextPasswordRefused(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "dc.db"))
	sc := &dc.Subcloud{Name: "edge-1", GroupID: dc.DefaultGroupID, Install: dctest.Install("plain")}
	if _, err := s.CreateSubcloud(ctx, sc); err == nil || !strings.Contains(err.Error(), "plaintext") {
		t.Fatalf("plaintext password stored: %v", err)
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dc.db")
	s := open(t, path)
	v, err := s.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	s.Close()
	// Reopening applies nothing twice.
	s2 := open(t, path)
	v2, err := s2.SchemaVersion(ctx)
	if err != nil || v2 != v {
		t.Fatalf("schema version after reopen %d, %v; want %d", v2, err, v)
	}
	s2.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var rows int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != v {
		t.Fatalf("%d schema_migrations rows, %v; want %d", rows, err, v)
	}
	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q, %v; want wal", mode, err)
	}
	// A database from a newer program is refused, not downgraded.
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 'now')`, v+1); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.Open(ctx, path, sqlstore.Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("newer schema accepted: %v", err)
	}
}

// TestTwoHandlesOnOneFile has two Stores (as two processes would) write
// the same file concurrently: SQLite's lock and the busy timeout serialise
// them, and compare-and-swap keeps the revisions exact.
func TestTwoHandlesOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dc.db")
	testTwoHandles(t, open(t, path), open(t, path))
}

// testTwoHandles has two Stores on one database create subclouds and
// append to a deploy log concurrently; every write must succeed once.
func testTwoHandles(t *testing.T, a, b *sqlstore.Store) {
	ctx := context.Background()
	const per = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*per)
	for h, s := range []*sqlstore.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				_, err := s.CreateSubcloud(ctx, &dc.Subcloud{Name: fmt.Sprintf("h%d-%d", h, i), GroupID: dc.DefaultGroupID})
				if err != nil {
					errs <- err
				}
				if err := s.AppendDeployLog(ctx, 1, dc.LogEntry{Message: "x"}); err != nil && !errors.Is(err, dc.ErrNotFound) {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := a.ListSubclouds(ctx)
	if err != nil || len(list) != 2*per {
		t.Fatalf("%d subclouds, %v; want %d", len(list), err, 2*per)
	}
}

func TestClosedStore(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "dc.db"))
	s.Close()
	if _, err := s.ListSubclouds(ctx); !errors.Is(err, dc.ErrClosed) {
		t.Fatalf("list on a closed store: %v, want ErrClosed", err)
	}
	if _, err := s.CreateSubcloud(ctx, &dc.Subcloud{Name: "x", GroupID: 1}); !errors.Is(err, dc.ErrClosed) {
		t.Fatalf("create on a closed store: %v, want ErrClosed", err)
	}
}

// TestRecordFormats checks that rows in the first record format (every
// field in the JSON, endpoints as an array) still read, and that endpoint
// names the compact form cannot hold round-trip.
func TestRecordFormats(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dc.db")
	s := open(t, path)
	odd := dctest.SubcloudRecord(2)
	odd.Endpoints = append(odd.Endpoints, dc.EndpointStatus{EndpointType: "a,b=c", SyncStatus: dc.InSync})
	oddStored, err := s.CreateSubcloud(ctx, odd)
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.CreateSubcloud(ctx, dctest.SubcloudRecord(1))
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the second row as the first format wrote it.
	legacy := *old
	legacy.Install, legacy.DeployConfig = nil, nil // the first format had no deploy config
	legacy.Endpoints = []dc.EndpointStatus{{EndpointType: "platform", SyncStatus: dc.InSync}, {EndpointType: "usm", SyncStatus: dc.OutOfSync}}
	data, err := json.Marshal(struct {
		dc.Subcloud
		Phase dc.PhaseName `json:"phase,omitempty"`
	}{legacy, legacy.Phase})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"endpoint_sync_status":[{`)) || !bytes.Contains(data, []byte(`"created-at"`)) {
		t.Fatalf("not the first format: %s", data)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `UPDATE subclouds SET data = ? WHERE id = ?`, string(data), old.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSubcloud(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &legacy) {
		t.Fatalf("first-format row read as\n%+v\nwant\n%+v", got, &legacy)
	}
	gotOdd, err := s.GetSubcloud(ctx, oddStored.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotOdd.Endpoints, odd.Endpoints) {
		t.Fatalf("endpoints read as %+v, want %+v", gotOdd.Endpoints, odd.Endpoints)
	}
}
