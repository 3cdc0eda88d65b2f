package dctest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/memstore"
)

// errClass names the dc error class of err, for comparing two stores.
func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, dc.ErrNotFound):
		return "not found"
	case errors.Is(err, dc.ErrAlreadyExists):
		return "already exists"
	case errors.Is(err, dc.ErrConflict):
		return "conflict"
	case errors.Is(err, dc.ErrInvalidState):
		return "invalid state"
	default:
		return "other: " + err.Error()
	}
}

// testModelBased runs random operation sequences against the store under
// test and against memstore, the reference, and checks that every result
// and the final contents agree.
func testModelBased(t *testing.T, ctx context.Context, _ Harness, sut dc.Store) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("DCTEST_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DCTEST_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (rerun with DCTEST_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x61746f6c6c))
	ref := memstore.New()
	defer ref.Close()

	// Stores create the Default group with their own timestamps.
	opts := append(cmpOptions(), cmpopts.IgnoreFields(dc.Group{}, "CreatedAt", "UpdatedAt"))
	const ops = 400
	names := 12 // a small pool of names makes collisions frequent
	var now time.Time = baseTime()
	pickID := func(s dc.Store) int64 {
		list, _ := s.ListSubclouds(ctx)
		if len(list) == 0 || rng.IntN(8) == 0 {
			return int64(rng.IntN(50) + 1) // likely missing
		}
		return list[rng.IntN(len(list))].ID
	}
	pickGroup := func() int64 {
		gs, _ := ref.ListGroups(ctx)
		if len(gs) == 0 || rng.IntN(10) == 0 {
			return 999 // missing (even Default can be deleted at the Store level)
		}
		return gs[rng.IntN(len(gs))].ID
	}
	// revisionFor returns the current revision or, sometimes, a stale one.
	revisionFor := func(cur int64) int64 {
		if rng.IntN(5) == 0 {
			return cur - 1
		}
		return cur
	}
	for step := range ops {
		now = now.Add(time.Duration(rng.IntN(1e9)))
		var (
			desc           string
			refVal, sutVal any
			refErr, sutErr error
		)
		switch op := rng.IntN(11); op {
		case 0, 1: // create subcloud
			sc := subcloudRecord(rng.IntN(names))
			sc.GroupID = pickGroup()
			sc.CreatedAt, sc.UpdatedAt = now, now
			desc = fmt.Sprintf("CreateSubcloud(%s, group %d)", sc.Name, sc.GroupID)
			refVal, refErr = ref.CreateSubcloud(ctx, sc)
			sutVal, sutErr = sut.CreateSubcloud(ctx, sc)
		case 2, 3: // update subcloud
			id := pickID(ref)
			cur, err := ref.GetSubcloud(ctx, id)
			if err != nil {
				cur = subcloudRecord(0)
				cur.ID, cur.Revision = id, 1
			}
			cur.Revision = revisionFor(cur.Revision)
			cur.Description = fmt.Sprintf("step %d", step)
			cur.DeployStatus = dc.DeployStatuses()[rng.IntN(len(dc.DeployStatuses()))]
			cur.Availability = []dc.Availability{dc.Online, dc.Offline}[rng.IntN(2)]
			if rng.IntN(4) == 0 {
				cur.Name = Bootstrap(rng.IntN(names)).Name
			}
			if rng.IntN(6) == 0 {
				cur.GroupID = pickGroup()
			}
			if rng.IntN(3) == 0 {
				cur.Install = nil
			}
			cur.UpdatedAt = now
			desc = fmt.Sprintf("UpdateSubcloud(%d rev %d name %s)", cur.ID, cur.Revision, cur.Name)
			refVal, refErr = ref.UpdateSubcloud(ctx, cur)
			sutVal, sutErr = sut.UpdateSubcloud(ctx, cur)
		case 4: // delete subcloud
			id := pickID(ref)
			rev := int64(1)
			if cur, err := ref.GetSubcloud(ctx, id); err == nil {
				rev = revisionFor(cur.Revision)
			}
			desc = fmt.Sprintf("DeleteSubcloud(%d rev %d)", id, rev)
			refErr = ref.DeleteSubcloud(ctx, id, rev)
			sutErr = sut.DeleteSubcloud(ctx, id, rev)
		case 5: // get
			id := pickID(ref)
			desc = fmt.Sprintf("GetSubcloud(%d)", id)
			refVal, refErr = ref.GetSubcloud(ctx, id)
			sutVal, sutErr = sut.GetSubcloud(ctx, id)
		case 6: // get by name
			name := Bootstrap(rng.IntN(names)).Name
			desc = fmt.Sprintf("GetSubcloudByName(%s)", name)
			refVal, refErr = ref.GetSubcloudByName(ctx, name)
			sutVal, sutErr = sut.GetSubcloudByName(ctx, name)
		case 7: // create group
			g := &dc.Group{Name: fmt.Sprintf("g%d", rng.IntN(4)), UpdateApplyType: dc.ApplySerial, MaxParallelSubclouds: 1 + rng.IntN(5000), CreatedAt: now, UpdatedAt: now}
			desc = fmt.Sprintf("CreateGroup(%s)", g.Name)
			refVal, refErr = ref.CreateGroup(ctx, g)
			sutVal, sutErr = sut.CreateGroup(ctx, g)
		case 8: // update or delete group
			id := pickGroup()
			cur, err := ref.GetGroup(ctx, id)
			if err != nil {
				cur = &dc.Group{ID: id, Revision: 1, Name: "x", UpdateApplyType: dc.ApplySerial, MaxParallelSubclouds: 1}
			}
			cur.Revision = revisionFor(cur.Revision)
			if rng.IntN(2) == 0 {
				desc = fmt.Sprintf("DeleteGroup(%d rev %d)", id, cur.Revision)
				refErr = ref.DeleteGroup(ctx, id, cur.Revision)
				sutErr = sut.DeleteGroup(ctx, id, cur.Revision)
			} else {
				cur.Name = fmt.Sprintf("g%d", rng.IntN(4))
				cur.MaxParallelSubclouds = 1 + rng.IntN(5000)
				cur.UpdatedAt = now
				desc = fmt.Sprintf("UpdateGroup(%d rev %d name %s)", id, cur.Revision, cur.Name)
				refVal, refErr = ref.UpdateGroup(ctx, cur)
				sutVal, sutErr = sut.UpdateGroup(ctx, cur)
			}
		case 9: // append log
			id := pickID(ref)
			e := dc.LogEntry{Time: now, Phase: dc.PhaseConfig, Message: fmt.Sprintf("step %d", step)}
			desc = fmt.Sprintf("AppendDeployLog(%d)", id)
			refErr = ref.AppendDeployLog(ctx, id, e)
			sutErr = sut.AppendDeployLog(ctx, id, e)
		case 10: // read log
			id := pickID(ref)
			desc = fmt.Sprintf("DeployLog(%d)", id)
			refVal, refErr = ref.DeployLog(ctx, id)
			sutVal, sutErr = sut.DeployLog(ctx, id)
		}
		if rc, sc := errClass(refErr), errClass(sutErr); rc != sc {
			t.Fatalf("step %d %s: reference says %s (%v), store says %s (%v)", step, desc, rc, refErr, sc, sutErr)
		}
		if refErr == nil {
			if d := cmp.Diff(refVal, sutVal, opts); d != "" {
				t.Fatalf("step %d %s: results differ (-reference +store):\n%s", step, desc, d)
			}
		}
	}
	if d := cmp.Diff(takeSnapshot(t, ctx, ref), takeSnapshot(t, ctx, sut), opts); d != "" {
		t.Fatalf("final contents differ (-reference +store):\n%s", d)
	}
}
