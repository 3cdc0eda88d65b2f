package dc_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
)

// TestReadModelFollowsWrites drives concurrent writers through the Manager
// and checks that its read model (Subclouds, ViewSubclouds) ends equal to
// the Store, that views handed out earlier never change, and that a new
// Manager loads the same view from the Store.
func TestReadModelFollowsWrites(t *testing.T) {
	ctx := context.Background()
	m, store := newManager(t, dc.Options{})
	const n = 12
	var ids []int64
	for i := range n {
		sc, err := m.AddSubcloud(ctx, dctest.AddRequest(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sc.ID)
	}
	for i := range n {
		dctest.WaitDeploy(t, m, fmt.Sprint(ids[i]), dc.Complete)
	}
	early, err := m.ViewSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snapshot := make([]*dc.Subcloud, len(early))
	for i, s := range early {
		snapshot[i] = s.Clone()
	}

	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for round := range 20 {
				id := ids[(w*7+round)%n]
				desc := fmt.Sprintf("w%d r%d", w, round)
				var err error
				switch round % 3 {
				case 0:
					_, err = m.UpdateSubcloud(ctx, fmt.Sprint(id), dc.UpdateRequest{Description: &desc})
				case 1:
					st := []dc.SyncStatus{dc.InSync, dc.OutOfSync}[w%2]
					_, err = m.SetEndpointStatus(ctx, id, "platform", st)
				case 2:
					_, err = m.SetAvailability(ctx, id, []dc.Availability{dc.Online, dc.Offline}[round%2])
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	// Offline first, so that delete is allowed.
	for _, id := range ids[:3] {
		if _, err := m.SetAvailability(ctx, id, dc.Offline); err != nil {
			t.Fatal(err)
		}
		if _, err := m.DeleteSubcloud(ctx, fmt.Sprint(id)); err != nil {
			t.Fatal(err)
		}
	}

	want, err := store.ListSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	view, err := m.ViewSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(view, want) {
		t.Fatalf("view differs from the store:\nview  %d records\nstore %d records", len(view), len(want))
	}
	copies, err := m.Subclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(copies, want) {
		t.Fatal("Subclouds differs from the store")
	}
	// Copies are the caller's: editing one leaves the view alone.
	copies[0].Description = "edited by the caller"
	copies[0].Endpoints[0].SyncStatus = "edited"
	if again, _ := m.ViewSubclouds(ctx); !reflect.DeepEqual(again, want) {
		t.Fatal("editing a copy from Subclouds changed the view")
	}
	// Records handed out before the writes are unchanged (copy-on-write).
	if !reflect.DeepEqual(early, snapshot) {
		t.Fatal("a view handed out earlier changed under its reader")
	}
	if g, err := m.Subclouds(ctx, dc.InGroup(dc.DefaultGroupID)); err != nil || len(g) != n-3 {
		t.Fatalf("InGroup(Default): %d subclouds, %v; want %d", len(g), err, n-3)
	}

	// A new Manager over the same Store (once this one is closed: one
	// Manager per store at a time) loads the same view.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2, err := dc.NewManager(store, dc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := m2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	loaded, err := m2.ViewSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, want) {
		t.Fatal("a new Manager's view differs from the store")
	}
}
