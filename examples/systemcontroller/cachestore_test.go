package main

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/api"
	"github.com/atoll-edge/atoll/dc/dctest"
	"github.com/atoll-edge/atoll/dc/sqlstore"
)

type cachedHarness struct{ path string }

func (h *cachedHarness) open(ctx context.Context) (dc.Store, error) {
	st, err := sqlstore.Open(ctx, h.path, sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	return newCachedStore(st), nil
}

func (h *cachedHarness) MakeStore(ctx context.Context) (dc.Store, error) { return h.open(ctx) }
func (h *cachedHarness) Reopen(ctx context.Context) (dc.Store, error)    { return h.open(ctx) }
func (h *cachedHarness) Close()                                          {}

// TestCachedStoreConformance runs dc's store conformance suite (with its
// model-based case) on the cache in front of SQLite.
func TestCachedStoreConformance(t *testing.T) {
	dctest.RunStoreTests(t, func(_ context.Context, t *testing.T) (dctest.Harness, error) {
		return &cachedHarness{path: filepath.Join(t.TempDir(), "dc.db")}, nil
	})
}

var _ api.SubcloudViewer = (*cachedStore)(nil)

// TestCachedStoreView checks the no-copy view against the backend's own
// list across creates, updates and deletes, and that a record handed out
// by the view is never changed afterwards.
func TestCachedStoreView(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "dc.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := newCachedStore(sq)
	defer st.Close()
	m, err := dc.NewManager(st, dc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i := 1; i <= 20; i++ {
		if _, err := m.AddSubcloud(ctx, dctest.AddRequest(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "deploys complete", 10*time.Second, func() (bool, error) {
		all, err := m.Subclouds(ctx)
		for _, s := range all {
			if s.DeployStatus != dc.Complete {
				return false, err
			}
		}
		return err == nil, err
	})
	view, err := st.ViewSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := view[4]
	heldDesc, heldRev := held.Description, held.Revision
	desc := "changed"
	if _, err := m.UpdateSubcloud(ctx, "5", dc.UpdateRequest{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DeleteSubcloud(ctx, "7"); err != nil {
		t.Fatal(err)
	}
	if held.Description != heldDesc || held.Revision != heldRev {
		t.Fatal("a record handed out by the view changed")
	}
	view, err = st.ViewSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sq.ListSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, view, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
		t.Fatalf("view differs from SQLite (-sqlite +view):\n%s", diff)
	}
	if len(view) != 19 || view[4].Description != "changed" {
		t.Fatalf("view: %d subclouds, #5 %q", len(view), view[4].Description)
	}
}
