package main

import (
	"context"
	"fmt"
	"time"

	"github.com/atoll-edge/atoll/dc"
)

// Phases are the deploy phases the Manager runs. This is the seam where
// real implementations replace the simulated ones: a provider set that
// builds a Phases value (phaseSet in wire.go: the Redfish install phase,
// simulated bootstrap and config until the subcloud agent exists).
type Phases struct {
	Install, Bootstrap, Config dc.Phase
}

// simDuration is how long each simulated phase takes.
type simDuration time.Duration

// newSimPhases returns the simulated phases, or none at all for --phases
// none.
func newSimPhases(cfg Config, d simDuration) Phases {
	if cfg.Phases == "none" {
		return Phases{}
	}
	return Phases{
		Install:   simPhase{name: dc.PhaseInstall, steps: installSteps(), total: time.Duration(d)},
		Bootstrap: simPhase{name: dc.PhaseBootstrap, steps: bootstrapSteps(), total: time.Duration(d)},
		Config:    simPhase{name: dc.PhaseConfig, steps: configSteps(), total: time.Duration(d)},
	}
}

func installSteps() []string {
	return []string{"powering off through the BMC", "inserting the install image as virtual media",
		"setting one-time boot to the virtual CD", "powering on", "installing the host image", "rebooting into the installed system"}
}

func bootstrapSteps() []string {
	return []string{"reaching the subcloud at its bootstrap address", "copying bootstrap values", "running the bootstrap playbook",
		"unlocking controller-0", "waiting for services"}
}

func configSteps() []string {
	return []string{"applying the deploy configuration", "waiting for hosts to reconfigure"}
}

// simPhase pretends to run a phase: it writes its steps to the deploy log,
// spread over total, and honours ctx (an abort or a shutdown stops it at
// once). Re-entering it after a crash simply runs it again from the first
// step, as a real phase re-enters from its idempotent start.
type simPhase struct {
	name  dc.PhaseName
	steps []string
	total time.Duration
}

func (p simPhase) Run(ctx context.Context, job *dc.PhaseJob) error {
	per := p.total / time.Duration(len(p.steps))
	for i, step := range p.steps {
		job.Logf("%s step %d/%d: %s (simulated)", p.name, i+1, len(p.steps), step)
		t := time.NewTimer(per)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	job.Logf("%s done (simulated, %s)", p.name, p.total)
	return nil
}

// simHealth is the audit's health checker when neither the simulated fleet
// (--demo) nor the subcloud agents (--health https) are in use: it touches
// no network and reports every subcloud unreachable, so every subcloud
// stays offline.
type simHealth struct{}

func (simHealth) Check(context.Context, *dc.Subcloud) error {
	return fmt.Errorf("no fleet simulator wired: subcloud unreachable")
}
