package dc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
	"github.com/atoll-edge/atoll/dc/memstore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newManager(t *testing.T, opts dc.Options) (*dc.Manager, *memstore.Store) {
	t.Helper()
	s := memstore.New()
	m, err := dc.NewManager(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		s.Close()
	})
	return m, s
}

func sealer(t *testing.T) dc.Sealer {
	t.Helper()
	key, err := dc.LoadOrCreateKey(t.TempDir() + "/key")
	if err != nil {
		t.Fatal(err)
	}
	s, err := dc.NewAESGCMSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// statuses returns the deploy statuses the subcloud went through, from the
// DeployStatusChanged events.
func statuses(ev *dctest.Events, name string) []dc.DeployStatus {
	var out []dc.DeployStatus
	for _, e := range ev.All() {
		if e.Type == dc.DeployStatusChanged && e.Subcloud.Name == name {
			out = append(out, e.Subcloud.DeployStatus)
		}
	}
	return out
}

// histogramCount returns the sample count of the histogram with that name
// and labels (0 when there is none).
func histogramCount(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) uint64 {
	t.Helper()
	return findMetric(t, g, name, labels).GetHistogram().GetSampleCount()
}

func equalStatuses(a, b []dc.DeployStatus) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestDeployPipelinePaths(t *testing.T) {
	ctx := context.Background()
	full := []dc.DeployStatus{dc.CreateComplete, dc.PreInstall, dc.Installing, dc.InstallComplete,
		dc.PreBootstrap, dc.Bootstrapping, dc.BootstrapComplete, dc.PreConfig, dc.Configuring, dc.Complete}
	for _, tc := range []struct {
		name                  string
		install, boot, config bool
		withInstallValues     bool
		withDeployConfig      bool
		want                  []dc.DeployStatus
	}{
		{"install values, deploy config, all phases", true, true, true, true, true, full},
		{"no install values: start at bootstrap", true, true, true, false, true,
			[]dc.DeployStatus{dc.CreateComplete, dc.PreBootstrap, dc.Bootstrapping, dc.BootstrapComplete, dc.PreConfig, dc.Configuring, dc.Complete}},
		{"no deploy config: config skipped", true, true, true, true, false,
			[]dc.DeployStatus{dc.CreateComplete, dc.PreInstall, dc.Installing, dc.InstallComplete, dc.PreBootstrap, dc.Bootstrapping, dc.BootstrapComplete, dc.Complete}},
		{"no config phase", true, true, false, true, false,
			[]dc.DeployStatus{dc.CreateComplete, dc.PreInstall, dc.Installing, dc.InstallComplete, dc.PreBootstrap, dc.Bootstrapping, dc.BootstrapComplete, dc.Complete}},
		{"no bootstrap phase: straight to complete", false, false, true, false, true,
			[]dc.DeployStatus{dc.CreateComplete, dc.Complete}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &dctest.Events{}
			reg := prometheus.NewRegistry()
			opts := dc.Options{Events: ev, Sealer: sealer(t), Registerer: reg}
			phases := map[string]*dctest.Phase{}
			if tc.install {
				phases["install"] = dctest.NewPhase()
				opts.Install = phases["install"]
			}
			if tc.boot {
				phases["bootstrap"] = dctest.NewPhase()
				opts.Bootstrap = phases["bootstrap"]
			}
			if tc.config {
				phases["config"] = dctest.NewPhase()
				opts.Config = phases["config"]
			}
			m, _ := newManager(t, opts)
			req := dctest.AddRequest(1)
			if tc.withInstallValues {
				req.Install = dctest.Install("pw")
			}
			if tc.withDeployConfig {
				req.DeployConfig = dctest.DeployConfig(1)
			}
			sc, err := m.AddSubcloud(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if sc.DeployStatus != dc.Creating {
				t.Fatalf("AddSubcloud returned deploy status %q, want creating", sc.DeployStatus)
			}
			dctest.WaitDeploy(t, m, sc.Name, dc.Complete)
			// The log line follows the status change that WaitDeploy saw.
			var log []dc.LogEntry
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if log, err = m.DeployLog(ctx, sc.Name); err != nil {
					t.Fatal(err)
				}
				if len(log) > 0 && log[len(log)-1].Message == "deploy complete" {
					break
				}
			}
			if len(log) == 0 || log[len(log)-1].Message != "deploy complete" {
				t.Fatalf("deploy log %v does not end with completion", log)
			}
			// The log line is written after the last event is published.
			if got := statuses(ev, sc.Name); !equalStatuses(got, tc.want) {
				t.Fatalf("went through %v, want %v", got, tc.want)
			}
			// A configured phase runs once if the path goes through it, else never.
			running := map[string]dc.DeployStatus{"install": dc.Installing, "bootstrap": dc.Bootstrapping, "config": dc.Configuring}
			for name, p := range phases {
				want := 0
				if slices.Contains(tc.want, running[name]) {
					want = 1
				}
				if got := len(p.Jobs()); got != want {
					t.Fatalf("phase %s ran %d times, want %d", name, got, want)
				}
				if got := histogramCount(t, reg, "atoll_dc_deploy_phase_duration_seconds", map[string]string{"phase": name, "result": "succeeded"}); got != uint64(want) {
					t.Fatalf("phase %s duration histogram has %d samples, want %d", name, got, want)
				}
			}
		})
	}
}

func TestResumeFromFailedPhase(t *testing.T) {
	ctx := context.Background()
	install, boot, config := dctest.NewPhase(), dctest.NewPhase(), dctest.NewPhase()
	var fail atomic.Bool
	fail.Store(true)
	boot.SetHook(func(ctx context.Context, job *dc.PhaseJob) error {
		job.Logf("running ansible for %s", job.Subcloud.Name)
		if fail.Load() {
			return errors.New("bootstrap playbook failed")
		}
		return nil
	})
	m, _ := newManager(t, dc.Options{Install: install, Bootstrap: boot, Config: config, Sealer: sealer(t)})
	req := dctest.AddRequest(1)
	req.Install = dctest.Install("pw")
	req.DeployConfig = dctest.DeployConfig(1)
	sc, err := m.AddSubcloud(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	failed := dctest.WaitDeploy(t, m, sc.Name, dc.BootstrapFailed)
	if failed.ErrorDescription != "bootstrap playbook failed" || failed.Phase != dc.PhaseBootstrap {
		t.Fatalf("failed subcloud: error %q phase %q", failed.ErrorDescription, failed.Phase)
	}
	if _, err := m.ResumeDeploy(ctx, "complete-me"); !errors.Is(err, dc.ErrNotFound) {
		t.Fatalf("resume unknown: %v", err)
	}
	fail.Store(false)
	resumed, err := m.ResumeDeploy(ctx, strconv.FormatInt(sc.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	if resumed.DeployStatus != dc.PreBootstrap || resumed.ErrorDescription != "" {
		t.Fatalf("resumed to %q (error %q), want pre-bootstrap with the error cleared", resumed.DeployStatus, resumed.ErrorDescription)
	}
	dctest.WaitDeploy(t, m, sc.Name, dc.Complete)
	if install.Calls(sc.Name) != 1 || boot.Calls(sc.Name) != 2 || config.Calls(sc.Name) != 1 {
		t.Fatalf("phase runs install=%d bootstrap=%d config=%d, want 1, 2, 1", install.Calls(sc.Name), boot.Calls(sc.Name), config.Calls(sc.Name))
	}
	var se *dc.StateError
	if _, err := m.ResumeDeploy(ctx, sc.Name); !errors.As(err, &se) || se.State != dc.Complete || se.Op != dc.OpResume {
		t.Fatalf("resume a complete subcloud: err = %v, want StateError{complete, resume}", err)
	}
	log, err := m.DeployLog(ctx, sc.Name)
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, e := range log {
		text = append(text, string(e.Phase)+": "+e.Message)
	}
	joined := strings.Join(text, "\n")
	for _, want := range []string{"bootstrap: running ansible for subcloud-1", "bootstrap: phase failed: bootstrap playbook failed", "bootstrap: deploy resumed", "config: phase succeeded"} {
		if !strings.Contains(joined, want) {
			t.Errorf("deploy log lacks %q:\n%s", want, joined)
		}
	}
}

func TestAbortAndResume(t *testing.T) {
	ctx := context.Background()
	gate := dctest.NewGate()
	install := dctest.NewPhase()
	install.SetHook(gate.Hook)
	m, _ := newManager(t, dc.Options{Install: install, Bootstrap: dctest.NewPhase(), Sealer: sealer(t)})
	req := dctest.AddRequest(1)
	req.Install = dctest.Install("pw")
	sc, err := m.AddSubcloud(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	gate.WaitEntered(t)
	if _, err := m.DeleteSubcloud(ctx, sc.Name); !errors.Is(err, dc.ErrInvalidState) {
		t.Fatalf("delete while installing: err = %v, want ErrInvalidState", err)
	}
	aborted, err := m.AbortDeploy(ctx, sc.Name)
	if err != nil {
		t.Fatal(err)
	}
	if aborted.DeployStatus != dc.InstallAborted {
		t.Fatalf("after abort: %q, want install-aborted", aborted.DeployStatus)
	}
	if _, err := m.AbortDeploy(ctx, sc.Name); !errors.Is(err, dc.ErrInvalidState) {
		t.Fatalf("abort twice: err = %v, want ErrInvalidState", err)
	}
	gate.Release()
	if _, err := m.ResumeDeploy(ctx, sc.Name); err != nil {
		t.Fatal(err)
	}
	dctest.WaitDeploy(t, m, sc.Name, dc.Complete)
	if n := install.Calls(sc.Name); n != 2 {
		t.Fatalf("install ran %d times, want 2 (aborted, resumed)", n)
	}
}

func TestDeployConcurrencyBound(t *testing.T) {
	ctx := context.Background()
	const limit, fleet = 3, 10
	var inFlight, peak atomic.Int32
	entered := make(chan struct{}, fleet)
	release := make(chan struct{})
	boot := dctest.NewPhase()
	boot.SetHook(func(ctx context.Context, job *dc.PhaseJob) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	m, _ := newManager(t, dc.Options{Bootstrap: boot, MaxConcurrentDeploys: limit})
	for i := range fleet {
		if _, err := m.AddSubcloud(ctx, dctest.AddRequest(i)); err != nil {
			t.Fatal(err)
		}
	}
	for range limit {
		<-entered
	}
	// The others must be waiting for a slot, in pre-bootstrap.
	waiting := 0
	deadline := time.Now().Add(5 * time.Second)
	for waiting != fleet-limit && time.Now().Before(deadline) {
		waiting = 0
		all, err := m.Subclouds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range all {
			if s.DeployStatus == dc.PreBootstrap {
				waiting++
			}
		}
	}
	if waiting != fleet-limit {
		t.Fatalf("%d subclouds wait in pre-bootstrap, want %d", waiting, fleet-limit)
	}
	close(release)
	for i := range fleet {
		dctest.WaitDeploy(t, m, dctest.Bootstrap(i).Name, dc.Complete)
	}
	if p := peak.Load(); p != limit {
		t.Fatalf("peak concurrent phases %d, want %d", p, limit)
	}
}

// TestResumeInterruptedDeployOnStart covers every in-progress state a
// controller can stop in: Start re-enters the phase (or the step) and the
// deploy completes.
func TestResumeInterruptedDeployOnStart(t *testing.T) {
	ctx := context.Background()
	for _, st := range dc.DeployStatuses() {
		if !st.InProgress() {
			continue
		}
		t.Run(string(st), func(t *testing.T) {
			s := memstore.New()
			// Write the subcloud as a stopped controller left it.
			m0, err := dc.NewManager(s, dc.Options{})
			if err != nil {
				t.Fatal(err)
			}
			req := dctest.AddRequest(1)
			req.Install = dctest.Install("")
			req.Install.BMCPassword = ""
			req.Install.BMCUsername = ""
			req.Install.BMCAddress = ""
			sc, err := s.CreateSubcloud(ctx, &dc.Subcloud{Name: "edge-1", GroupID: dc.DefaultGroupID, DeployStatus: st,
				ManagementState: dc.Unmanaged, Availability: dc.Offline, Phase: st.Phase(), Install: req.Install,
				DeployConfig: dctest.DeployConfig(1)})
			if err != nil {
				t.Fatal(err)
			}
			m0.Close()
			install, boot, config := dctest.NewPhase(), dctest.NewPhase(), dctest.NewPhase()
			m, err := dc.NewManager(s, dc.Options{Install: install, Bootstrap: boot, Config: config})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if err := m.Start(ctx); err != nil {
				t.Fatal(err)
			}
			dctest.WaitDeploy(t, m, sc.Name, dc.Complete)
			var want map[dc.PhaseName]int
			switch st.Phase() {
			case dc.PhaseInstall:
				want = map[dc.PhaseName]int{dc.PhaseInstall: 1, dc.PhaseBootstrap: 1, dc.PhaseConfig: 1}
			case dc.PhaseBootstrap:
				want = map[dc.PhaseName]int{dc.PhaseBootstrap: 1, dc.PhaseConfig: 1}
			case dc.PhaseConfig:
				want = map[dc.PhaseName]int{dc.PhaseConfig: 1}
			default: // creating, with install values
				want = map[dc.PhaseName]int{dc.PhaseInstall: 1, dc.PhaseBootstrap: 1, dc.PhaseConfig: 1}
			}
			got := map[dc.PhaseName]int{dc.PhaseInstall: install.Calls(sc.Name), dc.PhaseBootstrap: boot.Calls(sc.Name), dc.PhaseConfig: config.Calls(sc.Name)}
			for p, n := range got {
				if n != want[p] {
					t.Errorf("phase %s ran %d times after restart in %s, want %d", p, n, st, want[p])
				}
			}
		})
	}
}

func TestManagementRules(t *testing.T) {
	ctx := context.Background()
	ev := &dctest.Events{}
	gate := dctest.NewGate()
	boot := dctest.NewPhase()
	boot.SetHook(gate.Hook)
	m, _ := newManager(t, dc.Options{Bootstrap: boot, Events: ev})
	sc, err := m.AddSubcloud(ctx, dctest.AddRequest(1))
	if err != nil {
		t.Fatal(err)
	}
	gate.WaitEntered(t)
	if _, err := m.SetAvailability(ctx, sc.ID, dc.Online); err != nil {
		t.Fatal(err)
	}
	var se *dc.StateError
	if _, err := m.Manage(ctx, sc.Name, false); !errors.As(err, &se) || se.State != dc.Bootstrapping {
		t.Fatalf("manage while bootstrapping: err = %v, want StateError naming bootstrapping", err)
	}
	// force skips the deploy-status check.
	forced, err := m.Manage(ctx, sc.Name, true)
	if err != nil || forced.ManagementState != dc.Managed {
		t.Fatalf("forced manage: %+v, %v", forced, err)
	}
	if _, err := m.Manage(ctx, sc.Name, true); !errors.As(err, &se) || se.Kind != "management" {
		t.Fatalf("manage twice: err = %v, want a management StateError", err)
	}
	gate.Release()
	dctest.WaitDeploy(t, m, sc.Name, dc.Complete)
	if _, err := m.SetEndpointStatus(ctx, sc.ID, "platform", dc.OutOfSync); err != nil {
		t.Fatal(err)
	}
	got, err := m.Subcloud(ctx, sc.Name)
	if err != nil || got.SyncStatus() != dc.OutOfSync {
		t.Fatalf("sync status %v, %v; want out-of-sync", got.SyncStatus(), err)
	}
	// Going offline sets every endpoint unknown.
	off, err := m.SetAvailability(ctx, sc.ID, dc.Offline)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range off.Endpoints {
		if e.SyncStatus != dc.SyncUnknown {
			t.Fatalf("offline subcloud has endpoint %s %s", e.EndpointType, e.SyncStatus)
		}
	}
	// Rename needs unmanaged.
	newName := "edge-renamed"
	if _, err := m.UpdateSubcloud(ctx, sc.Name, dc.UpdateRequest{Name: &newName}); !errors.Is(err, dc.ErrInvalidState) {
		t.Fatalf("rename a managed subcloud: err = %v, want ErrInvalidState", err)
	}
	unmanaged := dc.Unmanaged
	if _, err := m.UpdateSubcloud(ctx, sc.Name, dc.UpdateRequest{ManagementState: &unmanaged}); err != nil {
		t.Fatal(err)
	}
	loc := "Ottawa"
	renamed, err := m.UpdateSubcloud(ctx, sc.Name, dc.UpdateRequest{Name: &newName, Location: &loc})
	if err != nil || renamed.Name != newName || renamed.Location != loc {
		t.Fatalf("rename: %+v, %v", renamed, err)
	}
	// The index follows the rename: the old name is free, the new one taken.
	if _, err := m.AddSubcloud(ctx, dctest.AddRequest(2)); err != nil {
		t.Fatal(err)
	}
	dup := dctest.AddRequest(3)
	dup.Bootstrap.Name = strings.ToUpper(newName)
	var ve *dc.ValidationError
	if _, err := m.AddSubcloud(ctx, dup); !errors.As(err, &ve) || ve.Field != "name" || ve.Conflict != newName || !errors.Is(err, dc.ErrAlreadyExists) {
		t.Fatalf("add a name differing only in case: err = %v", err)
	}
	if n := ev.Count(dc.SubcloudManaged, newName) + ev.Count(dc.SubcloudManaged, sc.Name); n != 1 {
		t.Fatalf("%d managed events, want 1", n)
	}
	for _, e := range ev.All() {
		if e.Type == dc.AvailabilityChanged && e.Previous == "" {
			t.Fatalf("availability event without the previous value: %+v", e)
		}
	}
}

func TestConcurrentAddsNeverOverlap(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t, dc.Options{})
	// 16 goroutines add subclouds whose subnets pairwise collide; exactly
	// one per collision group may win.
	var wg sync.WaitGroup
	var wins atomic.Int32
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := dctest.AddRequest(g)
			req.Bootstrap.ManagementSubnet = "10.50.0.0/24"
			req.Bootstrap.ManagementStartAddress, req.Bootstrap.ManagementEndAddress = "10.50.0.2", "10.50.0.9"
			req.Bootstrap.ManagementGatewayAddress = "10.50.0.1"
			if _, err := m.AddSubcloud(ctx, req); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, dc.ErrInvalid) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent adds of the same subnet succeeded, want 1", wins.Load())
	}
}

func TestCloseStopsWorkersAndRefusesCalls(t *testing.T) {
	ctx := context.Background()
	gate := dctest.NewGate()
	boot := dctest.NewPhase()
	boot.SetHook(gate.Hook)
	s := memstore.New()
	m, err := dc.NewManager(s, dc.Options{Bootstrap: boot})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := m.AddSubcloud(ctx, dctest.AddRequest(1))
	if err != nil {
		t.Fatal(err)
	}
	gate.WaitEntered(t)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSubcloud(ctx, sc.ID)
	if err != nil || got.DeployStatus != dc.Bootstrapping {
		t.Fatalf("after Close: %q, %v; want bootstrapping left for Start", got.DeployStatus, err)
	}
	if _, err := m.AddSubcloud(ctx, dctest.AddRequest(2)); !errors.Is(err, dc.ErrClosed) {
		t.Fatalf("AddSubcloud after Close: err = %v, want ErrClosed", err)
	}
}

// TestCloseEndsStandby: a Manager waiting for the store's writer lock
// (another Manager holds it) stops waiting when it is closed.
func TestCloseEndsStandby(t *testing.T) {
	ctx := context.Background()
	active, store := newManager(t, dc.Options{})
	if err := active.Start(ctx); err != nil {
		t.Fatal(err)
	}
	standby, err := dc.NewManager(store.Reopen(), dc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- standby.Start(ctx) }()
	select {
	case err := <-started:
		t.Fatalf("second Manager started while the first holds the lock: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	closed := make(chan error, 1)
	go func() { closed <- standby.Close() }()
	select {
	case err := <-started:
		if !errors.Is(err, dc.ErrClosed) {
			t.Errorf("Start of a closed standby: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the standby's wait")
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}
