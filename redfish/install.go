package redfish

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Step is one step of [RemoteInstall].
type Step string

// The steps of a remote install, in order.
const (
	StepReadState   Step = "read-state"
	StepEject       Step = "eject"
	StepPowerOff    Step = "power-off"
	StepInsert      Step = "insert-media"
	StepBootOnce    Step = "boot-once"
	StepPowerOn     Step = "power-on"
	StepWaitInstall Step = "wait-install"
)

// StepState is what happened to a step.
type StepState string

// Step states. A step is Started then Done or Failed, or only Skipped when
// the BMC already is where the step would take it.
const (
	StepStarted StepState = "started"
	StepSkipped StepState = "skipped"
	StepDone    StepState = "done"
	StepFailed  StepState = "failed"
)

// Event reports progress of a remote install.
type Event struct {
	Step  Step
	State StepState
	// Detail says why a step was skipped, or what it did.
	Detail string
	// Err is set when State is StepFailed.
	Err error
	At  time.Time
}

// InstallSpec says what to install.
type InstallSpec struct {
	// ImageURL is the boot image the BMC attaches as a virtual CD. The BMC
	// itself fetches it.
	ImageURL string
	// BootMode is the firmware mode for the one-time boot; empty leaves the
	// host's mode alone.
	BootMode BootMode
	// Complete reports whether the host has finished installing; it is
	// polled every InstallOptions.PollInterval. An error from it fails the
	// install. Either Complete or Done must be set.
	Complete func(ctx context.Context) (bool, error)
	// Done, when set, delivers the install's outcome: nil for success.
	Done <-chan error
}

// InstallOptions tunes [RemoteInstall]. The zero value is valid.
type InstallOptions struct {
	// OnEvent receives progress events, synchronously, in order.
	OnEvent func(Event)
	// PollInterval is how often Complete is called (default 10s).
	PollInterval time.Duration
	// PowerTimeout bounds the wait for the host to power off (default 5m).
	PowerTimeout time.Duration
	// InstallTimeout bounds the wait for install-complete (default 2h).
	InstallTimeout time.Duration
	// Clock paces polling and measures the timeouts; nil means the real
	// clock.
	Clock Clock
}

func (o InstallOptions) withDefaults() InstallOptions {
	if o.OnEvent == nil {
		o.OnEvent = func(Event) {}
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 10 * time.Second
	}
	if o.PowerTimeout <= 0 {
		o.PowerTimeout = 5 * time.Minute
	}
	if o.InstallTimeout <= 0 {
		o.InstallTimeout = 2 * time.Hour
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	return o
}

// PowerWaiter is implemented by BMCs that can wait for a power state
// themselves ([*Client] does, with the vendor's settle delay); for others
// RemoteInstall polls PowerState.
type PowerWaiter interface {
	WaitPower(ctx context.Context, want PowerState, timeout time.Duration) error
}

// RemoteInstall installs the host behind bmc from spec.ImageURL:
// eject → power off → insert the image → boot once from CD → power on →
// wait for install-complete.
//
// It is idempotent and resumable: it reads the BMC's state first and every
// step checks before it acts, so running it again after a crash continues
// where the BMC is. The image already attached is not attached again, a
// boot override already set is not set again, and a host already powered
// on with the image attached is not power-cycled: only the wait remains.
func RemoteInstall(ctx context.Context, bmc BMC, spec InstallSpec, opts InstallOptions) error {
	if spec.ImageURL == "" {
		return errors.New("redfish: remote install: empty ImageURL")
	}
	if spec.Complete == nil && spec.Done == nil {
		return errors.New("redfish: remote install: neither Complete nor Done set")
	}
	opts = opts.withDefaults()
	r := &installRun{bmc: bmc, spec: spec, opts: opts}
	return r.run(ctx)
}

type installRun struct {
	bmc  BMC
	spec InstallSpec
	opts InstallOptions
}

func (r *installRun) emit(step Step, state StepState, detail string, err error) {
	r.opts.OnEvent(Event{Step: step, State: state, Detail: detail, Err: err, At: r.opts.Clock.Now()})
}

// do runs one step: skip when skip is non-empty, else act. A cancelled
// context stops the run before the step.
func (r *installRun) do(ctx context.Context, step Step, skip string, act func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redfish: remote install: %s: %w", step, err)
	}
	if skip != "" {
		r.emit(step, StepSkipped, skip, nil)
		return nil
	}
	r.emit(step, StepStarted, "", nil)
	if err := act(); err != nil {
		r.emit(step, StepFailed, "", err)
		return fmt.Errorf("redfish: remote install: %s: %w", step, err)
	}
	r.emit(step, StepDone, "", nil)
	return nil
}

func (r *installRun) run(ctx context.Context) error {
	var (
		media MediaStatus
		power PowerState
	)
	err := r.do(ctx, StepReadState, "", func() error {
		var err error
		if media, err = r.bmc.MediaStatus(ctx); err != nil {
			return err
		}
		power, err = r.bmc.PowerState(ctx)
		return err
	})
	if err != nil {
		return err
	}
	ours := media.Inserted && media.Image == r.spec.ImageURL
	// Our image is attached only after power-off, so our image plus power
	// on means the host was powered on for the install: only wait.
	resumed := ours && (power == PowerOn || power == PowerPoweringOn)

	skipIf := func(cond bool, why string) string {
		if cond {
			return why
		}
		return ""
	}
	steps := []struct {
		step Step
		skip string
		act  func() error
	}{
		{StepEject, skipIf(ours || (!media.Inserted && media.Image == ""), "nothing else attached"), func() error {
			return r.bmc.EjectMedia(ctx)
		}},
		{StepPowerOff, skipIf(resumed || power == PowerOff, "host already off or installing"), func() error {
			if power != PowerPoweringOff {
				if err := r.bmc.SetPower(ctx, ActionForceOff); err != nil {
					return err
				}
			}
			return r.waitOff(ctx)
		}},
		{StepInsert, skipIf(ours, "image already attached"), func() error {
			return r.bmc.InsertMedia(ctx, r.spec.ImageURL)
		}},
		{StepBootOnce, skipIf(resumed, "host already booted from the image"), func() error {
			return r.bmc.SetBootOverride(ctx, BootOverride{Target: BootCd, Enabled: BootOnce, Mode: r.spec.BootMode})
		}},
		{StepPowerOn, skipIf(resumed, "host already on"), func() error {
			return r.bmc.SetPower(ctx, ActionOn)
		}},
	}
	for _, s := range steps {
		if err := r.do(ctx, s.step, s.skip, s.act); err != nil {
			return err
		}
	}
	return r.do(ctx, StepWaitInstall, "", func() error { return r.waitInstall(ctx) })
}

func (r *installRun) waitOff(ctx context.Context) error {
	if w, ok := r.bmc.(PowerWaiter); ok {
		return w.WaitPower(ctx, PowerOff, r.opts.PowerTimeout)
	}
	clk := r.opts.Clock
	deadline := clk.Now().Add(r.opts.PowerTimeout)
	for {
		st, err := r.bmc.PowerState(ctx)
		if err != nil {
			return err
		}
		if st == PowerOff {
			return nil
		}
		if !clk.Now().Before(deadline) {
			return fmt.Errorf("%w: host still %s after %v", ErrTimeout, st, r.opts.PowerTimeout)
		}
		if err := sleep(ctx, clk, r.opts.PollInterval); err != nil {
			return fmt.Errorf("%w: host still %s: %w", ErrTimeout, st, err)
		}
	}
}

func (r *installRun) waitInstall(ctx context.Context) error {
	clk := r.opts.Clock
	deadline := clk.Now().Add(r.opts.InstallTimeout)
	for {
		if r.spec.Complete != nil {
			done, err := r.spec.Complete(ctx)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrInstallFailed, err)
			}
			if done {
				return nil
			}
		}
		left := deadline.Sub(clk.Now())
		if left <= 0 {
			return fmt.Errorf("%w: install not complete after %v", ErrTimeout, r.opts.InstallTimeout)
		}
		wait := left
		if r.spec.Complete != nil {
			wait = min(left, r.opts.PollInterval)
		}
		select {
		case err := <-r.spec.Done:
			if err != nil {
				return fmt.Errorf("%w: %w", ErrInstallFailed, err)
			}
			return nil
		case <-clk.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("%w: install not complete: %w", ErrTimeout, ctx.Err())
		}
	}
}
