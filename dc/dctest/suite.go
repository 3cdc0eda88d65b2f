package dctest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/atoll-edge/atoll/dc"
)

// Harness makes stores for one subtest of the suite.
type Harness interface {
	// MakeStore returns a fresh, empty store (holding only the Default
	// group). It is called once per subtest.
	MakeStore(ctx context.Context) (dc.Store, error)
	// Reopen returns a new store over the data of the store MakeStore
	// returned, after the suite closed that one, or while it is still
	// open (the WriterLock case: a second handle, as a second process
	// would have).
	Reopen(ctx context.Context) (dc.Store, error)
	// Close releases what the harness holds.
	Close()
}

// HarnessMaker makes the Harness of one subtest.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// RunStoreTests runs the conformance suite against the backend newHarness
// makes. Every subtest gets a fresh harness and store. User-visible
// behaviour is tested through dc.Manager; the rest calls the Store
// directly.
func RunStoreTests(t *testing.T, newHarness HarnessMaker) {
	cases := []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, h Harness, s dc.Store)
	}{
		{"SubcloudCRUD", testSubcloudCRUD},
		{"SubcloudErrors", testSubcloudErrors},
		{"CopiesOnReadAndWrite", testCopies},
		{"ConcurrentCAS", testConcurrentCAS},
		{"Groups", testGroups},
		{"GroupsThroughManager", testGroupsThroughManager},
		{"DeployLog", testDeployLog},
		{"ReopenAfterClose", testReopen},
		{"ManagerLifecycle", testManagerLifecycle},
		{"ResumeAfterRestart", testResumeAfterRestart},
		{"SealedSecrets", testSealedSecrets},
		{"ModelBased", testModelBased},
		{"WriterLock", testWriterLock},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			h, err := newHarness(ctx, t)
			if err != nil {
				t.Fatalf("new harness: %v", err)
			}
			t.Cleanup(h.Close)
			s, err := h.MakeStore(ctx)
			if err != nil {
				t.Fatalf("make store: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			c.fn(t, ctx, h, s)
		})
	}
}

// cmpOptions compare dc records: addresses by value, times by instant,
// nil and empty collections alike.
func cmpOptions() cmp.Options {
	return cmp.Options{
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
		cmpopts.EquateEmpty(),
	}
}

// baseTime is the fixed time of records written directly to stores; its
// nanoseconds check that stores keep full precision.
func baseTime() time.Time { return time.Date(2026, 11, 22, 10, 30, 0, 123456789, time.UTC) }

// subcloudRecord returns a stored-shape subcloud for number i, as the
// Manager would hand it to a Store.
func subcloudRecord(i int) *dc.Subcloud {
	b := Bootstrap(i)
	at := baseTime().Add(time.Duration(i) * time.Second)
	s := &dc.Subcloud{
		Name:                      b.Name,
		Description:               "edge site " + b.Name,
		Location:                  "rack " + fmt.Sprint(i),
		GroupID:                   dc.DefaultGroupID,
		SoftwareVersion:           "24.09",
		ManagementState:           dc.Unmanaged,
		Availability:              dc.Offline,
		DeployStatus:              dc.Creating,
		ManagementSubnet:          netip.MustParsePrefix(b.ManagementSubnet),
		ManagementStartIP:         netip.MustParseAddr(b.ManagementStartAddress),
		ManagementEndIP:           netip.MustParseAddr(b.ManagementEndAddress),
		ManagementGatewayIP:       netip.MustParseAddr(b.ManagementGatewayAddress),
		SystemControllerGatewayIP: netip.MustParseAddr(b.SystemControllerGatewayAddress),
		OAMSubnet:                 netip.MustParsePrefix(b.ExternalOAMSubnet),
		OAMGatewayIP:              netip.MustParseAddr(b.ExternalOAMGatewayAddress),
		OAMFloatingIP:             netip.MustParseAddr(b.ExternalOAMFloatingAddress),
		BootstrapAddress:          netip.MustParseAddr("198.18.0.1"),
		SystemMode:                dc.Simplex,
		Phase:                     dc.PhaseInstall,
		CreatedAt:                 at,
		UpdatedAt:                 at,
	}
	for _, e := range dc.DefaultEndpointTypes() {
		s.Endpoints = append(s.Endpoints, dc.EndpointStatus{EndpointType: e, SyncStatus: dc.SyncUnknown})
	}
	s.Install = Install("")
	s.Install.BMCPassword = ""
	s.DeployConfig = DeployConfig(i)
	s.Install.SealedBMCPassword = []byte{1, 2, 3, 0, 255}
	s.Install.Extra = map[string]any{"console_type": "tty0"}
	return s
}

func mustCreate(t *testing.T, ctx context.Context, s dc.Store, sc *dc.Subcloud) *dc.Subcloud {
	t.Helper()
	got, err := s.CreateSubcloud(ctx, sc)
	if err != nil {
		t.Fatalf("CreateSubcloud(%s): %v", sc.Name, err)
	}
	return got
}

func testSubcloudCRUD(t *testing.T, ctx context.Context, _ Harness, s dc.Store) {
	var created []*dc.Subcloud
	for i := range 3 {
		in := subcloudRecord(i)
		got := mustCreate(t, ctx, s, in)
		if got.ID <= 0 || got.Revision != 1 {
			t.Fatalf("created ID %d revision %d, want ID > 0 and revision 1", got.ID, got.Revision)
		}
		for _, prev := range created {
			if prev.ID == got.ID {
				t.Fatalf("ID %d assigned twice", got.ID)
			}
		}
		want := in.Clone()
		want.ID, want.Revision = got.ID, 1
		if d := cmp.Diff(want, got, cmpOptions()); d != "" {
			t.Fatalf("created subcloud differs from input (-want +got):\n%s", d)
		}
		created = append(created, got)
	}
	for _, c := range created {
		byID, err := s.GetSubcloud(ctx, c.ID)
		if err != nil {
			t.Fatalf("GetSubcloud(%d): %v", c.ID, err)
		}
		if d := cmp.Diff(c, byID, cmpOptions()); d != "" {
			t.Fatalf("GetSubcloud(%d) (-want +got):\n%s", c.ID, d)
		}
		byName, err := s.GetSubcloudByName(ctx, c.Name)
		if err != nil {
			t.Fatalf("GetSubcloudByName(%s): %v", c.Name, err)
		}
		if d := cmp.Diff(c, byName, cmpOptions()); d != "" {
			t.Fatalf("GetSubcloudByName(%s) (-want +got):\n%s", c.Name, d)
		}
	}
	list, err := s.ListSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(created, list, cmpOptions()); d != "" {
		t.Fatalf("ListSubclouds (-want +got):\n%s", d)
	}

	// Update every field the Manager changes.
	u := created[1].Clone()
	u.Name = "renamed"
	u.DeployStatus = dc.Complete
	u.ManagementState = dc.Managed
	u.Availability = dc.Online
	u.ErrorDescription = "none"
	u.Endpoints[0].SyncStatus = dc.InSync
	u.Phase = dc.PhaseConfig
	u.Install.SealedBMCPassword = []byte("other sealed bytes")
	u.UpdatedAt = u.UpdatedAt.Add(time.Hour)
	got, err := s.UpdateSubcloud(ctx, u)
	if err != nil {
		t.Fatalf("UpdateSubcloud: %v", err)
	}
	want := u.Clone()
	want.Revision = 2
	if d := cmp.Diff(want, got, cmpOptions()); d != "" {
		t.Fatalf("UpdateSubcloud returned (-want +got):\n%s", d)
	}
	reread, err := s.GetSubcloud(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, reread, cmpOptions()); d != "" {
		t.Fatalf("after update, GetSubcloud (-want +got):\n%s", d)
	}
	if _, err := s.GetSubcloudByName(ctx, created[1].Name); !errors.Is(err, dc.ErrNotFound) {
		t.Fatalf("old name after rename: err = %v, want ErrNotFound", err)
	}

	if err := s.DeleteSubcloud(ctx, created[0].ID, created[0].Revision); err != nil {
		t.Fatalf("DeleteSubcloud: %v", err)
	}
	if _, err := s.GetSubcloud(ctx, created[0].ID); !errors.Is(err, dc.ErrNotFound) {
		t.Fatalf("GetSubcloud after delete: err = %v, want ErrNotFound", err)
	}
	list, err = s.ListSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != created[1].ID || list[1].ID != created[2].ID {
		t.Fatalf("after delete, list has %d subclouds, want the 2 left in ID order", len(list))
	}
	// IDs are not reused.
	again := mustCreate(t, ctx, s, subcloudRecord(0))
	if again.ID <= created[2].ID {
		t.Fatalf("new subcloud got ID %d, not after the highest ever assigned %d", again.ID, created[2].ID)
	}
}

func testSubcloudErrors(t *testing.T, ctx context.Context, _ Harness, s dc.Store) {
	a := mustCreate(t, ctx, s, subcloudRecord(1))
	b := mustCreate(t, ctx, s, subcloudRecord(2))
	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", what, err, want)
		}
	}
	_, err := s.CreateSubcloud(ctx, subcloudRecord(1))
	check("create duplicate name", err, dc.ErrAlreadyExists)
	noGroup := subcloudRecord(3)
	noGroup.GroupID = 999
	_, err = s.CreateSubcloud(ctx, noGroup)
	check("create in missing group", err, dc.ErrNotFound)
	_, err = s.GetSubcloud(ctx, 999)
	check("get missing", err, dc.ErrNotFound)
	_, err = s.GetSubcloudByName(ctx, "nope")
	check("get missing by name", err, dc.ErrNotFound)

	stale := a.Clone()
	if _, err := s.UpdateSubcloud(ctx, a); err != nil {
		t.Fatalf("update: %v", err)
	}
	_, err = s.UpdateSubcloud(ctx, stale)
	check("update with stale revision", err, dc.ErrConflict)
	err = s.DeleteSubcloud(ctx, a.ID, stale.Revision)
	check("delete with stale revision", err, dc.ErrConflict)
	missing := a.Clone()
	missing.ID = 999
	_, err = s.UpdateSubcloud(ctx, missing)
	check("update missing", err, dc.ErrNotFound)
	check("delete missing", s.DeleteSubcloud(ctx, 999, 1), dc.ErrNotFound)

	rename := b.Clone()
	rename.Name = a.Name
	_, err = s.UpdateSubcloud(ctx, rename)
	check("rename onto an existing name", err, dc.ErrAlreadyExists)
	moved := b.Clone()
	moved.GroupID = 999
	_, err = s.UpdateSubcloud(ctx, moved)
	check("move to missing group", err, dc.ErrNotFound)
	if got, err := s.GetSubcloud(ctx, b.ID); err != nil || got.Revision != b.Revision || got.Name != b.Name {
		t.Errorf("failed updates changed the record: %+v, %v", got, err)
	}
}

func testCopies(t *testing.T, ctx context.Context, _ Harness, s dc.Store) {
	in := subcloudRecord(1)
	got := mustCreate(t, ctx, s, in)
	// Mutating the input or the result must not change the store.
	in.Endpoints[0].SyncStatus = dc.OutOfSync
	in.Install.SealedBMCPassword[0] = 42
	got.Endpoints[0].SyncStatus = dc.OutOfSync
	got.Install.SealedBMCPassword[0] = 42
	got.Name = "mutated"
	again, err := s.GetSubcloud(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Name != subcloudRecord(1).Name || again.Endpoints[0].SyncStatus != dc.SyncUnknown || again.Install.SealedBMCPassword[0] != 1 {
		t.Fatalf("store shares memory with its callers: %+v", again)
	}
	again.Endpoints[0].SyncStatus = dc.InSync
	third, err := s.GetSubcloud(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if third.Endpoints[0].SyncStatus != dc.SyncUnknown {
		t.Fatal("mutating a read result changed the store")
	}
}

func testConcurrentCAS(t *testing.T, ctx context.Context, _ Harness, s dc.Store) {
	base := mustCreate(t, ctx, s, subcloudRecord(1))
	const workers, attempts = 8, 20
	type win struct{ from, to int64 }
	var (
		mu        sync.Mutex
		wins      []win
		conflicts int
		wg        sync.WaitGroup
	)
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for a := range attempts {
				cur, err := s.GetSubcloud(ctx, base.ID)
				if err != nil {
					t.Errorf("get: %v", err)
					return
				}
				cur.Description = fmt.Sprintf("worker %d attempt %d", w, a)
				from := cur.Revision
				got, err := s.UpdateSubcloud(ctx, cur)
				mu.Lock()
				switch {
				case err == nil:
					wins = append(wins, win{from, got.Revision})
				case errors.Is(err, dc.ErrConflict):
					conflicts++
				default:
					t.Errorf("update: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(wins) == 0 {
		t.Fatal("no update succeeded")
	}
	if len(wins)+conflicts != workers*attempts {
		t.Fatalf("%d wins + %d conflicts != %d attempts", len(wins), conflicts, workers*attempts)
	}
	sort.Slice(wins, func(i, j int) bool { return wins[i].from < wins[j].from })
	for i, w := range wins {
		if w.to != w.from+1 {
			t.Fatalf("update from revision %d returned revision %d", w.from, w.to)
		}
		if w.from != int64(i)+1 {
			t.Fatalf("revision %d won %s (wins sorted by revision: %v)", w.from,
				map[bool]string{true: "twice", false: "never"}[i > 0 && wins[i-1].from == w.from], wins)
		}
	}
	final, err := s.GetSubcloud(ctx, base.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.Revision != int64(len(wins))+1 {
		t.Fatalf("final revision %d, want 1 + %d successful updates", final.Revision, len(wins))
	}
	t.Logf("%d updates won, %d lost to a concurrent writer", len(wins), conflicts)
}

func testGroups(t *testing.T, ctx context.Context, _ Harness, s dc.Store) {
	def, err := s.GetGroup(ctx, dc.DefaultGroupID)
	if err != nil {
		t.Fatalf("Default group: %v", err)
	}
	if def.Name != dc.DefaultGroupName {
		t.Fatalf("group 1 is %q, want %q", def.Name, dc.DefaultGroupName)
	}
	byName, err := s.GetGroupByName(ctx, dc.DefaultGroupName)
	if err != nil || byName.ID != dc.DefaultGroupID {
		t.Fatalf("GetGroupByName(Default) = %+v, %v", byName, err)
	}
	at := baseTime()
	g, err := s.CreateGroup(ctx, &dc.Group{Name: "east", Description: "east coast", UpdateApplyType: dc.ApplySerial, MaxParallelSubclouds: 7, CreatedAt: at, UpdatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if g.ID == dc.DefaultGroupID || g.Revision != 1 {
		t.Fatalf("created group ID %d revision %d", g.ID, g.Revision)
	}
	if _, err := s.CreateGroup(ctx, &dc.Group{Name: "east", UpdateApplyType: dc.ApplySerial, MaxParallelSubclouds: 1}); !errors.Is(err, dc.ErrAlreadyExists) {
		t.Fatalf("duplicate group: err = %v, want ErrAlreadyExists", err)
	}
	list, err := s.ListGroups(ctx)
	if err != nil || len(list) != 2 || list[0].ID != dc.DefaultGroupID || list[1].ID != g.ID {
		t.Fatalf("ListGroups = %v, %v", list, err)
	}
	if d := cmp.Diff(g, list[1], cmpOptions()); d != "" {
		t.Fatalf("listed group (-want +got):\n%s", d)
	}
	u := g.Clone()
	u.MaxParallelSubclouds = 5000
	u.UpdatedAt = at.Add(time.Minute)
	g2, err := s.UpdateGroup(ctx, u)
	if err != nil || g2.Revision != 2 || g2.MaxParallelSubclouds != 5000 || !g2.CreatedAt.Equal(at) {
		t.Fatalf("UpdateGroup = %+v, %v", g2, err)
	}
	if _, err := s.UpdateGroup(ctx, u); !errors.Is(err, dc.ErrConflict) {
		t.Fatalf("stale group update: err = %v, want ErrConflict", err)
	}
	sc := subcloudRecord(1)
	sc.GroupID = g.ID
	member := mustCreate(t, ctx, s, sc)
	if err := s.DeleteGroup(ctx, g.ID, g2.Revision); !errors.Is(err, dc.ErrInvalidState) {
		t.Fatalf("delete group with a subcloud: err = %v, want ErrInvalidState", err)
	}
	if err := s.DeleteSubcloud(ctx, member.ID, member.Revision); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, g.ID, g.Revision); !errors.Is(err, dc.ErrConflict) {
		t.Fatalf("stale group delete: err = %v, want ErrConflict", err)
	}
	if err := s.DeleteGroup(ctx, g.ID, g2.Revision); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	if _, err := s.GetGroup(ctx, g.ID); !errors.Is(err, dc.ErrNotFound) {
		t.Fatalf("deleted group: err = %v, want ErrNotFound", err)
	}
}

func newTestManager(t *testing.T, s dc.Store, opts dc.Options) *dc.Manager {
	t.Helper()
	m, err := dc.NewManager(s, opts)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func testGroupsThroughManager(t *testing.T, ctx context.Context, _ Harness, s dc.Store) {
	m := newTestManager(t, s, dc.Options{})
	if _, err := m.DeleteGroup(ctx, dc.DefaultGroupName); !errors.Is(err, dc.ErrInvalid) {
		t.Fatalf("delete Default: err = %v, want ErrInvalid", err)
	}
	newName := "renamed"
	if _, err := m.UpdateGroup(ctx, "1", dc.GroupUpdate{Name: &newName}); !errors.Is(err, dc.ErrInvalid) {
		t.Fatalf("rename Default: err = %v, want ErrInvalid", err)
	}
	for _, n := range []int{dc.MinMaxParallel - 1, dc.MaxMaxParallel + 1, -5} {
		_, err := m.CreateGroup(ctx, dc.GroupRequest{Name: fmt.Sprintf("g%d", n+10), MaxParallelSubclouds: n})
		var ve *dc.ValidationError
		if n != 0 && (!errors.As(err, &ve) || ve.Field != "max_parallel_subclouds") {
			t.Fatalf("max_parallel %d: err = %v, want a ValidationError on max_parallel_subclouds", n, err)
		}
	}
	for _, n := range []int{dc.MinMaxParallel, dc.MaxMaxParallel} {
		g, err := m.CreateGroup(ctx, dc.GroupRequest{Name: fmt.Sprintf("edge-%d", n), MaxParallelSubclouds: n, UpdateApplyType: dc.ApplySerial})
		if err != nil || g.MaxParallelSubclouds != n {
			t.Fatalf("max_parallel %d: %+v, %v", n, g, err)
		}
	}
	if _, err := m.CreateGroup(ctx, dc.GroupRequest{Name: "edge-1"}); !errors.Is(err, dc.ErrAlreadyExists) {
		t.Fatalf("duplicate group: err = %v, want ErrAlreadyExists", err)
	}
	req := AddRequest(1)
	req.Group = "edge-1"
	sc, err := m.AddSubcloud(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	members, err := m.GroupSubclouds(ctx, "edge-1")
	if err != nil || len(members) != 1 || members[0].ID != sc.ID {
		t.Fatalf("GroupSubclouds = %v, %v", members, err)
	}
	if _, err := m.DeleteGroup(ctx, "edge-1"); !errors.Is(err, dc.ErrInvalid) {
		t.Fatalf("delete group with members: err = %v, want ErrInvalid", err)
	}
	if _, err := m.DeleteGroup(ctx, "edge-5000"); err != nil {
		t.Fatalf("delete empty group: %v", err)
	}
	req = AddRequest(2)
	req.Group = "no-such-group"
	if _, err := m.AddSubcloud(ctx, req); !errors.Is(err, dc.ErrInvalid) {
		t.Fatalf("add into a missing group: err = %v, want ErrInvalid", err)
	}
}

func testDeployLog(t *testing.T, ctx context.Context, _ Harness, s dc.Store) {
	a := mustCreate(t, ctx, s, subcloudRecord(1))
	b := mustCreate(t, ctx, s, subcloudRecord(2))
	var want []dc.LogEntry
	for i := range 40 {
		e := dc.LogEntry{Time: baseTime().Add(time.Duration(i%3) * time.Second), Phase: dc.PhaseBootstrap, Message: fmt.Sprintf("step %d", i)}
		// Equal timestamps must keep append order.
		if err := s.AppendDeployLog(ctx, a.ID, e); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendDeployLog(ctx, b.ID, dc.LogEntry{Time: e.Time, Phase: dc.PhaseInstall, Message: "other"}); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	got, err := s.DeployLog(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, cmpOptions()); d != "" {
		t.Fatalf("DeployLog (-want +got):\n%s", d)
	}
	if err := s.AppendDeployLog(ctx, 999, want[0]); !errors.Is(err, dc.ErrNotFound) {
		t.Fatalf("append to a missing subcloud: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSubcloud(ctx, a.ID, a.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeployLog(ctx, a.ID); !errors.Is(err, dc.ErrNotFound) {
		t.Fatalf("log of a deleted subcloud: err = %v, want ErrNotFound", err)
	}
	if got, err := s.DeployLog(ctx, b.ID); err != nil || len(got) != 40 {
		t.Fatalf("other subcloud's log: %d entries, %v", len(got), err)
	}
}

// snapshot reads everything a store holds.
type snapshot struct {
	Subclouds []*dc.Subcloud
	Groups    []*dc.Group
	Logs      map[int64][]dc.LogEntry
}

func takeSnapshot(t *testing.T, ctx context.Context, s dc.Store) snapshot {
	t.Helper()
	subs, err := s.ListSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := s.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs := map[int64][]dc.LogEntry{}
	for _, sc := range subs {
		if logs[sc.ID], err = s.DeployLog(ctx, sc.ID); err != nil {
			t.Fatal(err)
		}
	}
	return snapshot{subs, groups, logs}
}

func testReopen(t *testing.T, ctx context.Context, h Harness, s dc.Store) {
	sealer := newSealer(t)
	clock := NewFakeClock(baseTime())
	install := NewPhase()
	m := newTestManager(t, s, dc.Options{Clock: clock, Sealer: sealer, Install: install, Bootstrap: NewPhase()})
	if _, err := m.CreateGroup(ctx, dc.GroupRequest{Name: "west", MaxParallelSubclouds: 9}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		req := AddRequest(i)
		if i%2 == 0 {
			req.Install = Install(fmt.Sprintf("secret-%d", i))
			req.Group = "west"
		}
		if _, err := m.AddSubcloud(ctx, req); err != nil {
			t.Fatal(err)
		}
		WaitDeploy(t, m, req.Bootstrap.Name, dc.Complete)
	}
	if _, err := m.SetAvailability(ctx, 1, dc.Online); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Manage(ctx, "1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetEndpointStatus(ctx, 1, "platform", dc.InSync); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, ctx, s)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := h.Reopen(ctx)
	if err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	t.Cleanup(func() { s2.Close() })
	after := takeSnapshot(t, ctx, s2)
	if d := cmp.Diff(before, after, cmpOptions()); d != "" {
		t.Fatalf("data changed across close and reopen (-before +after):\n%s", d)
	}
	if len(after.Subclouds) != 5 || len(after.Groups) != 2 {
		t.Fatalf("reopened store has %d subclouds and %d groups, want 5 and 2", len(after.Subclouds), len(after.Groups))
	}
	// A new Manager on the reopened store sees the same fleet and opens
	// the sealed secrets with the same key.
	m2 := newTestManager(t, s2, dc.Options{Clock: clock, Sealer: sealer, Install: install})
	if err := m2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	dup := AddRequest(3)
	if _, err := m2.AddSubcloud(ctx, dup); !errors.Is(err, dc.ErrAlreadyExists) {
		t.Fatalf("add an existing name after reopen: err = %v, want ErrAlreadyExists", err)
	}
	overlap := AddRequest(100)
	overlap.Bootstrap.ManagementSubnet = "10.0.0.0/16"
	overlap.Bootstrap.ManagementStartAddress, overlap.Bootstrap.ManagementEndAddress = "10.0.200.2", "10.0.200.9"
	overlap.Bootstrap.ManagementGatewayAddress = "10.0.200.1"
	var ve *dc.ValidationError
	if _, err := m2.AddSubcloud(ctx, overlap); !errors.As(err, &ve) || ve.Field != "management_subnet" || ve.Conflict == "" {
		t.Fatalf("overlapping add after reopen: err = %v, want a management_subnet ValidationError naming the subcloud", err)
	}
}

func newSealer(t *testing.T) dc.Sealer {
	t.Helper()
	key := make([]byte, dc.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s, err := dc.NewAESGCMSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testManagerLifecycle(t *testing.T, ctx context.Context, _ Harness, s dc.Store) {
	events := &Events{}
	install, boot, config := NewPhase(), NewPhase(), NewPhase()
	m := newTestManager(t, s, dc.Options{Sealer: newSealer(t), Install: install, Bootstrap: boot, Config: config, Events: events})

	req := AddRequest(1)
	req.Install = Install("pw")
	req.DeployConfig = DeployConfig(1)
	sc, err := m.AddSubcloud(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if string(sc.DeployConfig) != string(req.DeployConfig) {
		t.Fatalf("stored deploy config %q, want %q", sc.DeployConfig, req.DeployConfig)
	}
	if sc.ManagementState != dc.Unmanaged || sc.Availability != dc.Offline {
		t.Fatalf("new subcloud is %s/%s, want unmanaged/offline", sc.ManagementState, sc.Availability)
	}
	WaitDeploy(t, m, sc.Name, dc.Complete)
	for _, p := range []*Phase{install, boot, config} {
		if n := p.Calls(sc.Name); n != 1 {
			t.Fatalf("a phase ran %d times, want 1", n)
		}
	}
	if jobs := config.Jobs(); len(jobs) != 1 || string(jobs[0].DeployConfig) != string(req.DeployConfig) {
		t.Fatalf("config phase did not get the deploy config: %+v", jobs)
	}
	// Manage needs online.
	var se *dc.StateError
	if _, err := m.Manage(ctx, sc.Name, false); !errors.As(err, &se) || se.Op != dc.OpManage {
		t.Fatalf("manage offline subcloud: err = %v, want StateError for manage", err)
	}
	if _, err := m.SetAvailability(ctx, sc.ID, dc.Online); err != nil {
		t.Fatal(err)
	}
	managed, err := m.Manage(ctx, sc.Name, false)
	if err != nil || managed.ManagementState != dc.Managed {
		t.Fatalf("manage: %+v, %v", managed, err)
	}
	if _, err := m.SetEndpointStatus(ctx, sc.ID, "identity", dc.InSync); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DeleteSubcloud(ctx, sc.Name); !errors.Is(err, dc.ErrInvalidState) {
		t.Fatalf("delete managed subcloud: err = %v, want ErrInvalidState", err)
	}
	un, err := m.Unmanage(ctx, sc.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range un.Endpoints {
		if e.SyncStatus != dc.SyncUnknown {
			t.Fatalf("after unmanage, endpoint %s is %s, want unknown", e.EndpointType, e.SyncStatus)
		}
	}
	if _, err := m.DeleteSubcloud(ctx, sc.Name); !errors.Is(err, dc.ErrInvalidState) {
		t.Fatalf("delete online subcloud: err = %v, want ErrInvalidState", err)
	}
	if _, err := m.SetAvailability(ctx, sc.ID, dc.Offline); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DeleteSubcloud(ctx, sc.Name); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := m.Subcloud(ctx, sc.Name); !errors.Is(err, dc.ErrNotFound) {
		t.Fatalf("deleted subcloud: err = %v, want ErrNotFound", err)
	}
	for _, typ := range []dc.EventType{dc.SubcloudAdded, dc.SubcloudManaged, dc.SubcloudUnmanaged, dc.SubcloudDeleted} {
		if events.Count(typ, sc.Name) != 1 {
			t.Errorf("%d %s events, want 1", events.Count(typ, sc.Name), typ)
		}
	}
	if n := events.Count(dc.AvailabilityChanged, sc.Name); n != 2 {
		t.Errorf("%d availability events, want 2", n)
	}
	// The name and subnets are free again.
	if _, err := m.AddSubcloud(ctx, AddRequest(1)); err != nil {
		t.Fatalf("re-add after delete: %v", err)
	}
}

func testResumeAfterRestart(t *testing.T, ctx context.Context, h Harness, s dc.Store) {
	gate := NewGate()
	boot := NewPhase()
	boot.SetHook(gate.Hook)
	m := newTestManager(t, s, dc.Options{Bootstrap: boot})
	sc, err := m.AddSubcloud(ctx, AddRequest(7))
	if err != nil {
		t.Fatal(err)
	}
	gate.WaitEntered(t)
	// The controller stops while the bootstrap phase runs.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := h.Reopen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	got, err := s2.GetSubcloud(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DeployStatus != dc.Bootstrapping {
		t.Fatalf("after shutdown mid-phase the status is %q, want bootstrapping (in progress, to resume)", got.DeployStatus)
	}
	boot2 := NewPhase()
	m2 := newTestManager(t, s2, dc.Options{Bootstrap: boot2})
	if err := m2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	WaitDeploy(t, m2, sc.Name, dc.Complete)
	if n := boot2.Calls(sc.Name); n != 1 {
		t.Fatalf("bootstrap re-entered %d times after restart, want 1", n)
	}
}

func testSealedSecrets(t *testing.T, ctx context.Context, _ Harness, s dc.Store) {
	const password = "Sup3r-Secret-BMC-pw"
	const sysadmin = "Sup3r-Secret-sysadmin-pw"
	install, boot := NewPhase(), NewPhase()
	m := newTestManager(t, s, dc.Options{Sealer: newSealer(t), Install: install, Bootstrap: boot})
	req := AddRequest(1)
	req.Install = Install(password)
	req.SysadminPassword = sysadmin
	sc, err := m.AddSubcloud(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	WaitDeploy(t, m, sc.Name, dc.Complete)
	stored, err := s.GetSubcloud(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Install == nil || stored.Install.BMCPassword != "" || len(stored.Install.SealedBMCPassword) == 0 {
		t.Fatalf("stored install values: %+v, want a sealed password only", stored.Install)
	}
	if string(stored.Install.SealedBMCPassword) == password {
		t.Fatal("sealed password equals the plaintext")
	}
	if len(stored.SealedSysadminPassword) == 0 || strings.Contains(string(stored.SealedSysadminPassword), sysadmin) {
		t.Fatalf("stored sysadmin password %q, want it sealed", stored.SealedSysadminPassword)
	}
	jobs := install.Jobs()
	if len(jobs) != 1 || jobs[0].Install == nil || jobs[0].Install.BMCPassword != password {
		t.Fatalf("install phase did not get the opened password: %+v", jobs)
	}
	if jobs[0].SysadminPassword != "" {
		t.Fatal("the install phase got the sysadmin password; only bootstrap should")
	}
	if bj := boot.Jobs(); len(bj) != 1 || bj[0].SysadminPassword != sysadmin {
		t.Fatalf("bootstrap phase did not get the opened sysadmin password: %+v", bj)
	}
	// One Manager per store at a time (a store may enforce it: WriterLocker).
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	noSealer := newTestManager(t, s, dc.Options{})
	req2 := AddRequest(2)
	req2.Install = Install(password)
	if _, err := noSealer.AddSubcloud(ctx, req2); !errors.Is(err, dc.ErrNoSealer) {
		t.Fatalf("a Manager without a Sealer, adding a BMC password: %v, want ErrNoSealer", err)
	}
	req3 := AddRequest(3)
	req3.SysadminPassword = sysadmin
	if _, err := noSealer.AddSubcloud(ctx, req3); !errors.Is(err, dc.ErrNoSealer) {
		t.Fatalf("a Manager without a Sealer, adding a sysadmin password: %v, want ErrNoSealer", err)
	}
}

// testWriterLock checks the optional dc.WriterLocker capability through
// two handles on the same data: while one holds the lock the other waits
// until its context ends; once it is released the other takes it. Then
// the same through the portable type: a second Manager cannot start while
// the first is open, and starts once it is closed.
func testWriterLock(t *testing.T, ctx context.Context, h Harness, s dc.Store) {
	wl, ok := s.(dc.WriterLocker)
	if !ok {
		t.Log("the store does not implement dc.WriterLocker: one Manager per store is the caller's to ensure")
		return
	}
	s2, err := h.Reopen(ctx)
	if err != nil {
		t.Fatalf("second handle: %v", err)
	}
	defer s2.Close()
	wl2, ok := s2.(dc.WriterLocker)
	if !ok {
		t.Fatal("the second handle does not implement dc.WriterLocker")
	}
	lost, unlock, err := wl.LockWriter(ctx)
	if err != nil {
		t.Fatalf("LockWriter: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, _, err = wl2.LockWriter(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockWriter while held elsewhere: %v, want it to wait until the deadline", err)
	}
	type result struct {
		unlock func() error
		err    error
	}
	got := make(chan result, 1)
	go func() {
		_, u, err := wl2.LockWriter(ctx)
		got <- result{u, err}
	}()
	select {
	case r := <-got:
		t.Fatalf("second LockWriter returned while the lock was held: %v", r.err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("LockWriter after release: %v", r.err)
	}
	select {
	case <-lost:
		t.Fatal("lost closed after a normal unlock")
	default:
	}
	if err := r.unlock(); err != nil {
		t.Fatalf("second unlock: %v", err)
	}

	// Through the Manager: the first one to read the store holds the lock
	// until Close.
	m1 := newTestManager(t, s, dc.Options{})
	if err := m1.Start(ctx); err != nil {
		t.Fatalf("first Manager: %v", err)
	}
	m2 := newTestManager(t, s2, dc.Options{})
	short, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
	err = m2.Start(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Manager started while the first is open: %v", err)
	}
	if err := m1.Close(); err != nil {
		t.Fatalf("first Manager Close: %v", err)
	}
	if err := m2.Start(ctx); err != nil {
		t.Fatalf("second Manager after the first closed: %v", err)
	}
}
