package dc_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
)

// TestRefusedOperationsWriteNothing checks that every refused Manager
// operation, and every operation that changes nothing, leaves the stored
// record as it was: same revision, same updated-at, no event. The fake
// clock moves between operations, so any write would show.
func TestRefusedOperationsWriteNothing(t *testing.T) {
	ctx := context.Background()
	clock := dctest.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	ev := &dctest.Events{}
	m, store := newManager(t, dc.Options{Clock: clock, Events: ev})
	sc, err := m.AddSubcloud(ctx, dctest.AddRequest(1))
	if err != nil {
		t.Fatal(err)
	}
	other, err := m.AddSubcloud(ctx, dctest.AddRequest(2))
	if err != nil {
		t.Fatal(err)
	}
	dctest.WaitDeploy(t, m, sc.Name, dc.Complete)
	dctest.WaitDeploy(t, m, other.Name, dc.Complete)

	// unchanged runs op with the clock moved on and checks that it was
	// refused (wantErr) or accepted, and that the store did not change.
	unchanged := func(name string, wantErr error, op func() error) {
		t.Helper()
		before, err := store.GetSubcloud(ctx, sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		events := len(ev.All())
		clock.Advance(time.Minute)
		err = op()
		switch {
		case wantErr == nil && err != nil:
			t.Errorf("%s: %v, want success", name, err)
		case wantErr != nil && !errors.Is(err, wantErr):
			t.Errorf("%s: err = %v, want %v", name, err, wantErr)
		}
		after, err := store.GetSubcloud(ctx, sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Revision != before.Revision || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("%s: store changed: revision %d → %d, updated-at %v → %v",
				name, before.Revision, after.Revision, before.UpdatedAt, after.UpdatedAt)
		}
		if !reflect.DeepEqual(before, after) {
			t.Errorf("%s: record changed:\nbefore %+v\nafter  %+v", name, before, after)
		}
		if n := len(ev.All()); n != events {
			t.Errorf("%s: %d events published, want none", name, n-events)
		}
	}
	managed, unmanaged := dc.Managed, dc.Unmanaged
	ref := sc.Name

	// Unmanaged, offline, complete.
	unchanged("manage offline", dc.ErrInvalidState, func() error { _, err := m.Manage(ctx, ref, false); return err })
	unchanged("update management-state managed offline", dc.ErrInvalidState, func() error {
		_, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{ManagementState: &managed})
		return err
	})
	unchanged("unmanage unmanaged", dc.ErrInvalidState, func() error { _, err := m.Unmanage(ctx, ref); return err })
	unchanged("update management-state unmanaged", dc.ErrInvalidState, func() error {
		_, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{ManagementState: &unmanaged})
		return err
	})
	unchanged("resume complete", dc.ErrInvalidState, func() error { _, err := m.ResumeDeploy(ctx, ref); return err })
	unchanged("abort complete", dc.ErrInvalidState, func() error { _, err := m.AbortDeploy(ctx, ref); return err })
	bad := "no-such-group"
	unchanged("update unknown group", dc.ErrInvalid, func() error {
		_, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{Group: &bad})
		return err
	})
	badName := "Not_A_Label"
	unchanged("update invalid name", dc.ErrInvalid, func() error {
		_, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{Name: &badName})
		return err
	})
	taken := other.Name
	unchanged("update taken name", dc.ErrAlreadyExists, func() error {
		_, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{Name: &taken})
		return err
	})
	bogus := dc.ManagementState("bogus")
	unchanged("update bad management-state", dc.ErrInvalid, func() error {
		_, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{ManagementState: &bogus})
		return err
	})
	same := sc.Description
	unchanged("update to the same description", nil, func() error {
		_, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{Description: &same})
		return err
	})
	unchanged("empty update", nil, func() error { _, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{}); return err })
	unchanged("endpoint to the status it has", nil, func() error {
		_, err := m.SetEndpointStatus(ctx, sc.ID, "platform", dc.SyncUnknown)
		return err
	})

	// Online and managed: delete and rename are refused.
	if _, err := m.SetAvailability(ctx, sc.ID, dc.Online); err != nil {
		t.Fatal(err)
	}
	unchanged("delete online", dc.ErrInvalidState, func() error { _, err := m.DeleteSubcloud(ctx, ref); return err })
	if _, err := m.Manage(ctx, ref, false); err != nil {
		t.Fatal(err)
	}
	unchanged("manage managed", dc.ErrInvalidState, func() error { _, err := m.Manage(ctx, ref, true); return err })
	unchanged("update management-state managed twice", dc.ErrInvalidState, func() error {
		_, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{ManagementState: &managed, Force: true})
		return err
	})
	renamed := "edge-renamed"
	unchanged("rename managed", dc.ErrInvalidState, func() error {
		_, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{Name: &renamed})
		return err
	})
	if _, err := m.SetAvailability(ctx, sc.ID, dc.Offline); err != nil {
		t.Fatal(err)
	}
	unchanged("delete managed", dc.ErrInvalidState, func() error { _, err := m.DeleteSubcloud(ctx, ref); return err })

	// An accepted management change through UpdateSubcloud writes once.
	before, err := store.GetSubcloud(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	got, err := m.UpdateSubcloud(ctx, ref, dc.UpdateRequest{ManagementState: &unmanaged})
	if err != nil {
		t.Fatal(err)
	}
	if got.ManagementState != dc.Unmanaged || got.Revision != before.Revision+1 || !got.UpdatedAt.Equal(clock.Now()) {
		t.Fatalf("unmanage through update: %s revision %d (before %d) updated-at %v", got.ManagementState, got.Revision, before.Revision, got.UpdatedAt)
	}
	if n := ev.Count(dc.SubcloudUpdated, sc.Name); n != 0 {
		t.Fatalf("%d SubcloudUpdated events for a management change only, want 0", n)
	}
}

// TestRefusedGroupUpdateWritesNothing checks UpdateGroup the same way.
func TestRefusedGroupUpdateWritesNothing(t *testing.T) {
	ctx := context.Background()
	clock := dctest.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m, store := newManager(t, dc.Options{Clock: clock})
	g, err := m.CreateGroup(ctx, dc.GroupRequest{Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	zero, sameName := 0, g.Name
	for name, u := range map[string]dc.GroupUpdate{
		"invalid max parallel": {MaxParallelSubclouds: &zero},
		"same name":            {Name: &sameName},
		"empty":                {},
	} {
		clock.Advance(time.Minute)
		_, err := m.UpdateGroup(ctx, g.Name, u)
		if (name == "invalid max parallel") != errors.Is(err, dc.ErrInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
		after, err := store.GetGroup(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Revision != g.Revision || !after.UpdatedAt.Equal(g.UpdatedAt) {
			t.Errorf("%s: group changed: revision %d → %d, updated-at %v → %v", name, g.Revision, after.Revision, g.UpdatedAt, after.UpdatedAt)
		}
	}
}

// TestAddDeployConfigRefused checks that a deploy config the Manager cannot
// use is refused before anything is stored.
func TestAddDeployConfigRefused(t *testing.T) {
	ctx := context.Background()
	noConfig, store := newManager(t, dc.Options{})
	req := dctest.AddRequest(1)
	req.DeployConfig = dctest.DeployConfig(1)
	var ve *dc.ValidationError
	if _, err := noConfig.AddSubcloud(ctx, req); !errors.As(err, &ve) || ve.Field != "deploy_config" {
		t.Fatalf("deploy config without a config phase: err = %v, want a ValidationError on deploy_config", err)
	}
	noConfig.Close() // one Manager per store at a time
	withConfig, err := dc.NewManager(store, dc.Options{Config: dctest.NewPhase()})
	if err != nil {
		t.Fatal(err)
	}
	defer withConfig.Close()
	req.DeployConfig = []byte("- not\n- a mapping\n")
	if _, err := withConfig.AddSubcloud(ctx, req); !errors.As(err, &ve) || ve.Field != "deploy_config" {
		t.Fatalf("deploy config that is a list: err = %v, want a ValidationError on deploy_config", err)
	}
	if all, err := store.ListSubclouds(ctx); err != nil || len(all) != 0 {
		t.Fatalf("refused adds stored %d subclouds (%v)", len(all), err)
	}
}
