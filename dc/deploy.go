package dc

import (
	"context"
	"errors"
	"fmt"
)

// Phase runs one deploy phase of one subcloud. Run must be an idempotent
// re-entry point: after a controller restart the Manager calls it again for
// the phase that was in flight. Run must return soon after ctx is done.
type Phase interface {
	Run(ctx context.Context, job *PhaseJob) error
}

// PhaseFunc adapts a function to Phase.
type PhaseFunc func(ctx context.Context, job *PhaseJob) error

// Run calls f.
func (f PhaseFunc) Run(ctx context.Context, job *PhaseJob) error { return f(ctx, job) }

// PhaseJob is what a Phase gets to work on.
type PhaseJob struct {
	// Phase is the phase being run.
	Phase PhaseName
	// Subcloud is a copy of the subcloud as stored when the phase started.
	Subcloud Subcloud
	// Install holds the install values with the BMC password opened (nil
	// when the subcloud has none).
	Install *InstallValues
	// DeployConfig is the subcloud's deploy config file (the Config phase
	// runs only when it is set).
	DeployConfig []byte
	// SysadminPassword is the subcloud's sysadmin password, opened, in the
	// Bootstrap phase only (empty in the others, or when none was given).
	SysadminPassword string
	// Logf appends a line to the subcloud's deploy log.
	Logf func(format string, args ...any)
}

// errAborted is the cancel cause of a phase stopped by AbortDeploy.
var errAborted = errors.New("dc: deploy aborted")

type deployWorker struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// launch starts the deploy worker of one subcloud unless one is running.
func (m *Manager) launch(id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.workers[id]; ok {
		return nil
	}
	ctx, cancel := context.WithCancelCause(m.base)
	w := &deployWorker{cancel: cancel, done: make(chan struct{})}
	m.workers[id] = w
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(w.done)
		defer cancel(nil)
		m.runDeploy(ctx, id)
		m.mu.Lock()
		delete(m.workers, id)
		m.mu.Unlock()
	}()
	return nil
}

// Start rebuilds the fleet index from the Store and resumes every deploy
// that was in progress when the previous controller stopped, re-entering
// the phase it was in. It returns once the workers are launched.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.load(ctx); err != nil {
		return err
	}
	all := m.view.list()
	n := 0
	for _, s := range all {
		if !s.DeployStatus.InProgress() {
			continue
		}
		m.log.InfoContext(ctx, "resuming interrupted deploy", "subcloud", s.Name, "deploy_status", s.DeployStatus)
		if err := m.launch(s.ID); err != nil {
			return err
		}
		n++
	}
	m.log.InfoContext(ctx, "manager started", "subclouds", len(all), "resumed_deploys", n)
	return nil
}

// ResumeRequest carries what a resumed deploy may replace.
type ResumeRequest struct {
	// SysadminPassword, when set, replaces the sysadmin password
	// (plaintext here, sealed before storage).
	SysadminPassword string
	// Install, when set, replaces the install values (validated; the
	// BMC password is plaintext here, sealed before storage).
	Install *InstallValues
}

// ResumeDeploy restarts a failed or aborted deploy from the phase that
// failed. It is ResumeDeployWith with an empty ResumeRequest.
func (m *Manager) ResumeDeploy(ctx context.Context, ref string) (*Subcloud, error) {
	return m.ResumeDeployWith(ctx, ref, ResumeRequest{})
}

// ResumeDeployWith restarts a failed or aborted deploy from the phase that
// failed, replacing the sysadmin password and install values given in req
// in the same write. A refused resume writes nothing.
func (m *Manager) ResumeDeployWith(ctx context.Context, ref string, req ResumeRequest) (*Subcloud, error) {
	cur, err := m.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	var install *InstallValues
	if req.Install != nil {
		if err := validateInstall(req.Install); err != nil {
			return nil, err
		}
		if install, err = m.sealInstall(req.Install); err != nil {
			return nil, err
		}
	}
	sysadmin, err := m.sealSysadmin(req.SysadminPassword)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	w := m.workers[cur.ID]
	m.mu.Unlock()
	if w != nil {
		if !cur.DeployStatus.Failed() && !cur.DeployStatus.Aborted() {
			return nil, &StateError{State: cur.DeployStatus, Op: OpResume}
		}
		// The worker recorded the failure and is on its way out.
		select {
		case <-w.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s, _, err := m.mutate(ctx, cur.ID, func(s *Subcloud) error {
		next, err := Transition(s.DeployStatus, OpResume)
		if err != nil {
			return err
		}
		s.DeployStatus = next
		s.Phase = next.Phase()
		s.ErrorDescription = ""
		if install != nil {
			s.Install = install.Clone()
		}
		if sysadmin != nil {
			s.SealedSysadminPassword = sysadmin
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.appendLog(ctx, s, s.Phase, "deploy resumed")
	m.log.InfoContext(ctx, "deploy resumed", "subcloud", s.Name, "deploy_status", s.DeployStatus)
	if err := m.launch(s.ID); err != nil {
		return nil, err
	}
	return s, nil
}

// AbortDeploy stops the phase in progress; the subcloud moves to the
// phase's aborted state, from which ResumeDeploy continues. It waits for
// the phase to return.
func (m *Manager) AbortDeploy(ctx context.Context, ref string) (*Subcloud, error) {
	cur, err := m.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if _, err := Transition(cur.DeployStatus, OpAbort); err != nil {
		return nil, err
	}
	m.mu.Lock()
	w := m.workers[cur.ID]
	m.mu.Unlock()
	if w != nil {
		w.cancel(errAborted)
		select {
		case <-w.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s, err := m.store.GetSubcloud(ctx, cur.ID)
		if err != nil {
			return nil, err
		}
		if !s.DeployStatus.Aborted() {
			// The phase finished before it saw the abort.
			return nil, &StateError{State: s.DeployStatus, Op: OpAbort}
		}
		return s, nil
	}
	// No worker (for example before Start after a restart): abort in place.
	s, _, err := m.mutate(ctx, cur.ID, func(s *Subcloud) error {
		next, err := Transition(s.DeployStatus, OpAbort)
		if err != nil {
			return err
		}
		s.DeployStatus = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.appendLog(ctx, s, s.Phase, "deploy aborted")
	return s, nil
}

func (m *Manager) appendLog(ctx context.Context, s *Subcloud, phase PhaseName, msg string) {
	e := LogEntry{Time: m.now(), Phase: phase, Message: msg}
	if err := m.store.AppendDeployLog(context.WithoutCancel(ctx), s.ID, e); err != nil {
		m.log.WarnContext(ctx, "append deploy log failed", "subcloud", s.Name, "phase", phase, "err", err)
	}
}

// step moves the subcloud's deploy status by op, persisting it with CAS.
// It uses a context that survives cancellation of the phase, so that the
// outcome of an aborted phase is still recorded.
func (m *Manager) step(ctx context.Context, id int64, op Operation, edit func(s *Subcloud)) (*Subcloud, error) {
	s, before, err := m.mutate(context.WithoutCancel(ctx), id, func(s *Subcloud) error {
		next, err := Transition(s.DeployStatus, op)
		if err != nil {
			return err
		}
		s.DeployStatus = next
		if p := next.Phase(); p != "" {
			s.Phase = p
		}
		if edit != nil {
			edit(s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.log.DebugContext(ctx, "deploy status changed", "subcloud", s.Name, "from", before.DeployStatus, "to", s.DeployStatus)
	if s.DeployStatus == Complete {
		m.appendLog(ctx, s, "", "deploy complete")
		m.log.InfoContext(ctx, "deploy complete", "subcloud", s.Name)
	}
	return s, nil
}

// nextOp chooses how a subcloud leaves a *-complete state.
func (m *Manager) nextOp(s *Subcloud) Operation {
	switch s.DeployStatus {
	case CreateComplete:
		if s.Install != nil && m.opts.Install != nil {
			return OpInstall
		}
		if m.opts.Bootstrap != nil {
			return OpBootstrap
		}
	case InstallComplete:
		if m.opts.Bootstrap != nil {
			return OpBootstrap
		}
	case BootstrapComplete:
		if m.opts.Config != nil && len(s.DeployConfig) > 0 {
			return OpConfig
		}
	}
	return OpComplete
}

func (m *Manager) phaseImpl(p PhaseName) Phase {
	switch p {
	case PhaseInstall:
		return m.opts.Install
	case PhaseBootstrap:
		return m.opts.Bootstrap
	case PhaseConfig:
		return m.opts.Config
	}
	return nil
}

// runDeploy drives one subcloud through its deploy until it completes,
// fails, is aborted, or the Manager closes.
func (m *Manager) runDeploy(ctx context.Context, id int64) {
	for {
		s, err := m.store.GetSubcloud(context.WithoutCancel(ctx), id)
		if err != nil {
			m.log.ErrorContext(ctx, "deploy worker cannot read subcloud", "subcloud", id, "err", err)
			return
		}
		if context.Cause(ctx) == ErrClosed {
			return
		}
		var op Operation
		switch st := s.DeployStatus; {
		case st == Creating:
			// The record exists: creation is done.
			op = OpPhaseSucceed
		case st == CreateComplete || st == InstallComplete || st == BootstrapComplete:
			// Between phases there is nothing to abort: an abort requested
			// now stops the next phase while it waits for its slot.
			op = m.nextOp(s)
		case st == PreInstall || st == PreBootstrap || st == PreConfig:
			if err := m.acquire(ctx); err != nil {
				m.interrupted(ctx, s)
				return
			}
			// The slot is held through the phase run below.
			started, err := m.step(ctx, id, OpPhaseStart, func(s *Subcloud) { s.ErrorDescription = "" })
			if err == nil {
				err = m.runPhase(ctx, started)
			}
			m.release()
			if err != nil {
				m.log.ErrorContext(ctx, "deploy step failed", "subcloud", s.Name, "err", err)
				return
			}
			continue
		case st == Installing || st == Bootstrapping || st == Configuring:
			// Re-entry after a restart.
			if err := m.acquire(ctx); err != nil {
				m.interrupted(ctx, s)
				return
			}
			err := m.runPhase(ctx, s)
			m.release()
			if err != nil {
				m.log.ErrorContext(ctx, "deploy step failed", "subcloud", s.Name, "err", err)
				return
			}
			continue
		default:
			return // complete, failed, aborted, not-deployed
		}
		if _, err := m.step(ctx, id, op, nil); err != nil {
			m.log.ErrorContext(ctx, "deploy step failed", "subcloud", s.Name, "op", op, "err", err)
			return
		}
	}
}

func (m *Manager) acquire(ctx context.Context) error {
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Manager) release() { <-m.sem }

// interrupted records an abort if the worker's context was cancelled by
// AbortDeploy; on shutdown it leaves the status for Start to resume.
func (m *Manager) interrupted(ctx context.Context, s *Subcloud) {
	if context.Cause(ctx) != errAborted {
		return
	}
	if next, err := m.step(ctx, s.ID, OpAbort, nil); err == nil {
		m.appendLog(ctx, next, next.Phase, "deploy aborted")
		m.log.InfoContext(ctx, "deploy aborted", "subcloud", next.Name, "deploy_status", next.DeployStatus)
	}
}

// runPhase runs the phase of a subcloud in an X-ing state and records its
// outcome. It returns an error only when the outcome could not be stored.
func (m *Manager) runPhase(ctx context.Context, s *Subcloud) error {
	phase := s.DeployStatus.Phase()
	impl := m.phaseImpl(phase)
	log := m.log.With("subcloud", s.Name, "phase", phase)
	job := &PhaseJob{
		Phase:        phase,
		Subcloud:     *s.Clone(),
		DeployConfig: append([]byte(nil), s.DeployConfig...),
		Logf: func(format string, args ...any) {
			m.appendLog(ctx, s, phase, fmt.Sprintf(format, args...))
		},
	}
	start := m.now()
	var runErr error
	install, err := m.openInstall(s.Install)
	if err != nil {
		runErr = fmt.Errorf("open install values: %w", err)
	} else if phase == PhaseBootstrap && len(s.SealedSysadminPassword) > 0 {
		if job.SysadminPassword, err = m.openSysadmin(s.SealedSysadminPassword); err != nil {
			runErr = fmt.Errorf("open sysadmin password: %w", err)
		}
	}
	if runErr == nil {
		job.Install = install
		m.appendLog(ctx, s, phase, "phase started")
		log.InfoContext(ctx, "deploy phase started")
		if impl != nil {
			runErr = impl.Run(ctx, job)
		}
	}
	elapsed := m.now().Sub(start)
	switch {
	case runErr == nil && ctx.Err() == nil:
		m.metrics.observePhase(phase, "succeeded", elapsed)
		m.appendLog(ctx, s, phase, "phase succeeded")
		log.InfoContext(ctx, "deploy phase succeeded", "duration", elapsed)
		_, err := m.step(ctx, s.ID, OpPhaseSucceed, nil)
		return err
	case context.Cause(ctx) == errAborted:
		m.metrics.observePhase(phase, "aborted", elapsed)
		m.interrupted(ctx, s)
		return nil
	case ctx.Err() != nil:
		// Shutdown: leave the in-progress status for Start to resume.
		log.InfoContext(ctx, "deploy phase interrupted by shutdown")
		return nil
	default:
		m.metrics.observePhase(phase, "failed", elapsed)
		m.appendLog(ctx, s, phase, "phase failed: "+runErr.Error())
		log.WarnContext(ctx, "deploy phase failed", "err", runErr)
		_, err := m.step(ctx, s.ID, OpPhaseFail, func(s *Subcloud) { s.ErrorDescription = runErr.Error() })
		return err
	}
}
