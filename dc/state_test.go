package dc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/atoll-edge/atoll/dc"
)

// lifecycle is the deploy lifecycle of design.md written out edge by edge,
// independently of the switch in state.go. Management operations that keep
// the deploy status are listed by the states that allow them.
func lifecycle() map[dc.DeployStatus]map[dc.Operation]dc.DeployStatus {
	t := map[dc.DeployStatus]map[dc.Operation]dc.DeployStatus{}
	add := func(from dc.DeployStatus, op dc.Operation, to dc.DeployStatus) {
		if t[from] == nil {
			t[from] = map[dc.Operation]dc.DeployStatus{}
		}
		t[from][op] = to
	}
	add(dc.NotDeployed, dc.OpCreate, dc.Creating)
	add(dc.Creating, dc.OpPhaseSucceed, dc.CreateComplete)
	add(dc.Creating, dc.OpPhaseFail, dc.CreateFailed)
	add(dc.CreateFailed, dc.OpResume, dc.Creating)

	add(dc.CreateComplete, dc.OpInstall, dc.PreInstall)
	add(dc.PreInstall, dc.OpPhaseStart, dc.Installing)
	add(dc.PreInstall, dc.OpPhaseFail, dc.PreInstallFailed)
	add(dc.PreInstall, dc.OpAbort, dc.InstallAborted)
	add(dc.Installing, dc.OpPhaseSucceed, dc.InstallComplete)
	add(dc.Installing, dc.OpPhaseFail, dc.InstallFailed)
	add(dc.Installing, dc.OpAbort, dc.InstallAborted)
	add(dc.PreInstallFailed, dc.OpResume, dc.PreInstall)
	add(dc.InstallFailed, dc.OpResume, dc.PreInstall)
	add(dc.InstallAborted, dc.OpResume, dc.PreInstall)

	add(dc.CreateComplete, dc.OpBootstrap, dc.PreBootstrap)
	add(dc.InstallComplete, dc.OpBootstrap, dc.PreBootstrap)
	add(dc.PreBootstrap, dc.OpPhaseStart, dc.Bootstrapping)
	add(dc.PreBootstrap, dc.OpPhaseFail, dc.BootstrapFailed)
	add(dc.PreBootstrap, dc.OpAbort, dc.BootstrapAborted)
	add(dc.Bootstrapping, dc.OpPhaseSucceed, dc.BootstrapComplete)
	add(dc.Bootstrapping, dc.OpPhaseFail, dc.BootstrapFailed)
	add(dc.Bootstrapping, dc.OpAbort, dc.BootstrapAborted)
	add(dc.BootstrapFailed, dc.OpResume, dc.PreBootstrap)
	add(dc.BootstrapAborted, dc.OpResume, dc.PreBootstrap)

	add(dc.BootstrapComplete, dc.OpConfig, dc.PreConfig)
	add(dc.PreConfig, dc.OpPhaseStart, dc.Configuring)
	add(dc.PreConfig, dc.OpPhaseFail, dc.ConfigFailed)
	add(dc.PreConfig, dc.OpAbort, dc.ConfigAborted)
	add(dc.Configuring, dc.OpPhaseSucceed, dc.Complete)
	add(dc.Configuring, dc.OpPhaseFail, dc.ConfigFailed)
	add(dc.Configuring, dc.OpAbort, dc.ConfigAborted)
	add(dc.ConfigFailed, dc.OpResume, dc.PreConfig)
	add(dc.ConfigAborted, dc.OpResume, dc.PreConfig)

	add(dc.CreateComplete, dc.OpComplete, dc.Complete)
	add(dc.InstallComplete, dc.OpComplete, dc.Complete)
	add(dc.BootstrapComplete, dc.OpComplete, dc.Complete)

	add(dc.Complete, dc.OpManage, dc.Complete)
	for _, s := range dc.DeployStatuses() {
		add(s, dc.OpUnmanage, s)
		add(s, dc.OpUpdate, s)
		add(s, dc.OpSetAvailable, s)
		if !s.InProgress() {
			add(s, dc.OpDelete, s)
		}
	}
	return t
}

func TestTransitionCrossProduct(t *testing.T) {
	want := lifecycle()
	edges := 0
	for _, from := range dc.DeployStatuses() {
		for _, op := range dc.Operations() {
			got, err := dc.Transition(from, op)
			to, ok := want[from][op]
			if ok {
				edges++
				if err != nil || got != to {
					t.Errorf("Transition(%s, %s) = %q, %v; want %q", from, op, got, err, to)
				}
				continue
			}
			var se *dc.StateError
			if !errors.As(err, &se) || se.State != from || se.Op != op || !errors.Is(err, dc.ErrInvalidState) {
				t.Errorf("Transition(%s, %s) = %q, %v; want a *StateError naming the state and operation", from, op, got, err)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, string(from)) || !strings.Contains(msg, string(op)) {
				t.Errorf("StateError message %q does not name %q and %q", msg, from, op)
			}
		}
	}
	// Every edge of the expected table was visited: a state or operation
	// missing from DeployStatuses or Operations would hide its edges.
	total := 0
	for _, ops := range want {
		total += len(ops)
	}
	if edges != total {
		t.Errorf("visited %d of the %d expected edges", edges, total)
	}
}

func TestDeployStatusClasses(t *testing.T) {
	for _, s := range dc.DeployStatuses() {
		n := 0
		for _, b := range []bool{s.InProgress(), s.Failed(), s.Aborted()} {
			if b {
				n++
			}
		}
		if n > 1 {
			t.Errorf("%s is in %d of in-progress, failed, aborted", s, n)
		}
		// Every failed or aborted state can be resumed; nothing else can.
		_, err := dc.Transition(s, dc.OpResume)
		if (s.Failed() || s.Aborted()) != (err == nil) {
			t.Errorf("%s: failed=%v aborted=%v but resume err = %v", s, s.Failed(), s.Aborted(), err)
		}
		// Abort is possible exactly in the in-progress states of a phase.
		_, err = dc.Transition(s, dc.OpAbort)
		if (s.InProgress() && s.Phase() != "") != (err == nil) {
			t.Errorf("%s: in progress=%v phase=%q but abort err = %v", s, s.InProgress(), s.Phase(), err)
		}
	}
}
