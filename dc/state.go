package dc

// DeployStatus is where a subcloud is in its deploy lifecycle. Values are
// spelled as dcmanager spells them.
type DeployStatus string

// Deploy states. See Transition for the edges between them.
const (
	NotDeployed       DeployStatus = "not-deployed"
	Creating          DeployStatus = "creating"
	CreateComplete    DeployStatus = "create-complete"
	CreateFailed      DeployStatus = "create-failed"
	PreInstall        DeployStatus = "pre-install"
	PreInstallFailed  DeployStatus = "pre-install-failed"
	Installing        DeployStatus = "installing"
	InstallComplete   DeployStatus = "install-complete"
	InstallFailed     DeployStatus = "install-failed"
	InstallAborted    DeployStatus = "install-aborted"
	PreBootstrap      DeployStatus = "pre-bootstrap"
	Bootstrapping     DeployStatus = "bootstrapping"
	BootstrapComplete DeployStatus = "bootstrap-complete"
	BootstrapFailed   DeployStatus = "bootstrap-failed"
	BootstrapAborted  DeployStatus = "bootstrap-aborted"
	PreConfig         DeployStatus = "pre-config"
	Configuring       DeployStatus = "configuring"
	ConfigFailed      DeployStatus = "config-failed"
	ConfigAborted     DeployStatus = "config-aborted"
	Complete          DeployStatus = "complete"
)

// DeployStatuses returns every deploy status, in lifecycle order.
func DeployStatuses() []DeployStatus {
	return []DeployStatus{
		NotDeployed, Creating, CreateComplete, CreateFailed,
		PreInstall, PreInstallFailed, Installing, InstallComplete, InstallFailed, InstallAborted,
		PreBootstrap, Bootstrapping, BootstrapComplete, BootstrapFailed, BootstrapAborted,
		PreConfig, Configuring, ConfigFailed, ConfigAborted, Complete,
	}
}

// InProgress reports whether a deploy operation is under way in this state
// (Manager.Start re-enters these after a restart).
func (s DeployStatus) InProgress() bool {
	switch s {
	case Creating, PreInstall, Installing, PreBootstrap, Bootstrapping, PreConfig, Configuring:
		return true
	}
	return false
}

// Failed reports whether the state is a failure that ResumeDeploy can retry.
func (s DeployStatus) Failed() bool {
	switch s {
	case CreateFailed, PreInstallFailed, InstallFailed, BootstrapFailed, ConfigFailed:
		return true
	}
	return false
}

// Aborted reports whether the state is an abort that ResumeDeploy can retry.
func (s DeployStatus) Aborted() bool {
	switch s {
	case InstallAborted, BootstrapAborted, ConfigAborted:
		return true
	}
	return false
}

// Phase returns the deploy phase a state belongs to, or "" for states
// outside the install, bootstrap and config phases.
func (s DeployStatus) Phase() PhaseName {
	switch s {
	case PreInstall, PreInstallFailed, Installing, InstallComplete, InstallFailed, InstallAborted:
		return PhaseInstall
	case PreBootstrap, Bootstrapping, BootstrapComplete, BootstrapFailed, BootstrapAborted:
		return PhaseBootstrap
	case PreConfig, Configuring, ConfigFailed, ConfigAborted:
		return PhaseConfig
	}
	return ""
}

// Operation is something done to a subcloud that its state may forbid.
type Operation string

// Operations. The first group moves the deploy status (see Transition); the
// management operations leave it unchanged but are allowed only in some
// deploy states.
const (
	OpCreate       Operation = "create"        // not-deployed → creating
	OpInstall      Operation = "install"       // enter the install phase
	OpBootstrap    Operation = "bootstrap"     // enter the bootstrap phase
	OpConfig       Operation = "config"        // enter the config phase
	OpComplete     Operation = "complete"      // no phase left: → complete
	OpPhaseStart   Operation = "start phase"   // pre-X → X-ing
	OpPhaseSucceed Operation = "finish phase"  // X-ing → X-complete
	OpPhaseFail    Operation = "fail phase"    // pre-X or X-ing → X-failed
	OpAbort        Operation = "abort"         // pre-X or X-ing → X-aborted
	OpResume       Operation = "resume"        // X-failed or X-aborted → pre-X
	OpManage       Operation = "manage"        // needs complete
	OpUnmanage     Operation = "unmanage"      // any deploy state
	OpDelete       Operation = "delete"        // needs no operation in progress
	OpUpdate       Operation = "update"        // management-state or field update
	OpSetAvailable Operation = "set available" // audit result
)

// Operations returns every Operation.
func Operations() []Operation {
	return []Operation{
		OpCreate, OpInstall, OpBootstrap, OpConfig, OpComplete,
		OpPhaseStart, OpPhaseSucceed, OpPhaseFail, OpAbort, OpResume,
		OpManage, OpUnmanage, OpDelete, OpUpdate, OpSetAvailable,
	}
}

type edge struct {
	from DeployStatus
	op   Operation
}

// Transition returns the deploy status that op moves a subcloud in state
// from to, or a *StateError naming from and op if the table has no such
// edge. Management operations that do not change the deploy status
// (manage, unmanage, delete, update, set available) return from when
// allowed.
//
// This switch is the one transition table of the deploy lifecycle.
func Transition(from DeployStatus, op Operation) (DeployStatus, error) {
	switch (edge{from, op}) {
	// creating
	case edge{NotDeployed, OpCreate}:
		return Creating, nil
	case edge{Creating, OpPhaseSucceed}:
		return CreateComplete, nil
	case edge{Creating, OpPhaseFail}:
		return CreateFailed, nil
	case edge{CreateFailed, OpResume}:
		return Creating, nil

	// install
	case edge{CreateComplete, OpInstall}:
		return PreInstall, nil
	case edge{PreInstall, OpPhaseStart}:
		return Installing, nil
	case edge{PreInstall, OpPhaseFail}:
		return PreInstallFailed, nil
	case edge{PreInstall, OpAbort}, edge{Installing, OpAbort}:
		return InstallAborted, nil
	case edge{Installing, OpPhaseSucceed}:
		return InstallComplete, nil
	case edge{Installing, OpPhaseFail}:
		return InstallFailed, nil
	case edge{PreInstallFailed, OpResume}, edge{InstallFailed, OpResume}, edge{InstallAborted, OpResume}:
		return PreInstall, nil

	// bootstrap
	case edge{CreateComplete, OpBootstrap}, edge{InstallComplete, OpBootstrap}:
		return PreBootstrap, nil
	case edge{PreBootstrap, OpPhaseStart}:
		return Bootstrapping, nil
	case edge{PreBootstrap, OpPhaseFail}, edge{Bootstrapping, OpPhaseFail}:
		return BootstrapFailed, nil
	case edge{PreBootstrap, OpAbort}, edge{Bootstrapping, OpAbort}:
		return BootstrapAborted, nil
	case edge{Bootstrapping, OpPhaseSucceed}:
		return BootstrapComplete, nil
	case edge{BootstrapFailed, OpResume}, edge{BootstrapAborted, OpResume}:
		return PreBootstrap, nil

	// config
	case edge{BootstrapComplete, OpConfig}:
		return PreConfig, nil
	case edge{PreConfig, OpPhaseStart}:
		return Configuring, nil
	case edge{PreConfig, OpPhaseFail}, edge{Configuring, OpPhaseFail}:
		return ConfigFailed, nil
	case edge{PreConfig, OpAbort}, edge{Configuring, OpAbort}:
		return ConfigAborted, nil
	case edge{Configuring, OpPhaseSucceed}:
		return Complete, nil
	case edge{ConfigFailed, OpResume}, edge{ConfigAborted, OpResume}:
		return PreConfig, nil

	// no phase left
	case edge{CreateComplete, OpComplete}, edge{InstallComplete, OpComplete}, edge{BootstrapComplete, OpComplete}:
		return Complete, nil

	// management operations: allowed states, deploy status unchanged
	case edge{Complete, OpManage}:
		return from, nil
	}
	switch op {
	case OpUnmanage, OpUpdate, OpSetAvailable:
		return from, nil
	case OpDelete:
		if !from.InProgress() {
			return from, nil
		}
	}
	return "", &StateError{State: from, Op: op}
}
