package dctest

import (
	"context"
	"fmt"
	"testing"

	"github.com/atoll-edge/atoll/dc"
)

// StoreMaker makes a fresh, empty store for one benchmark.
type StoreMaker func(ctx context.Context, b *testing.B) (dc.Store, error)

// RunStoreBenchmarks runs the shared benchmarks against the backend
// newStore makes: create, get, compare-and-swap update, list of 1,000,
// deploy-log append, and a Manager add (validation, sealing, store).
func RunStoreBenchmarks(b *testing.B, newStore StoreMaker) {
	ctx := context.Background()
	fresh := func(b *testing.B) dc.Store {
		b.Helper()
		s, err := newStore(ctx, b)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	b.Run("CreateSubcloud", func(b *testing.B) {
		s := fresh(b)
		i := 0
		for b.Loop() {
			if _, err := s.CreateSubcloud(ctx, subcloudRecord(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("GetSubcloud", func(b *testing.B) {
		s := fresh(b)
		sc, err := s.CreateSubcloud(ctx, subcloudRecord(1))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.GetSubcloud(ctx, sc.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UpdateSubcloudCAS", func(b *testing.B) {
		s := fresh(b)
		sc, err := s.CreateSubcloud(ctx, subcloudRecord(1))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			sc.Description = "x"
			if sc, err = s.UpdateSubcloud(ctx, sc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListSubclouds1000", func(b *testing.B) {
		s := fresh(b)
		for i := range 1000 {
			if _, err := s.CreateSubcloud(ctx, subcloudRecord(i)); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			list, err := s.ListSubclouds(ctx)
			if err != nil || len(list) != 1000 {
				b.Fatal(len(list), err)
			}
		}
	})
	b.Run("AppendDeployLog", func(b *testing.B) {
		s := fresh(b)
		sc, err := s.CreateSubcloud(ctx, subcloudRecord(1))
		if err != nil {
			b.Fatal(err)
		}
		e := dc.LogEntry{Time: baseTime(), Phase: dc.PhaseInstall, Message: "installing"}
		for b.Loop() {
			if err := s.AppendDeployLog(ctx, sc.ID, e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ManagerAddSubcloud", func(b *testing.B) {
		s := fresh(b)
		m, err := dc.NewManager(s, dc.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.Close() })
		i := 0
		for b.Loop() {
			if _, err := m.AddSubcloud(ctx, AddRequest(i)); err != nil {
				b.Fatal(fmt.Sprint(i, err))
			}
			i++
		}
	})
}
