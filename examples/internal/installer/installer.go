// Package installer adapts the redfish zero-touch install to the dc install
// phase, and routes the status reports of booted hosts (received by
// pxe/httpboot) to the install that waits for them.
//
// It lives under examples/ because it joins three leaf packages (dc,
// redfish, pxe/httpboot) that never import each other: the reference daemon
// composes them here.
package installer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/redfish"
)

// ErrNoInstallValues is returned by Phase.Run for a subcloud without install
// values: it cannot be installed over Redfish.
var ErrNoInstallValues = errors.New("installer: subcloud has no install values")

// errNotWaiting is answered to a host reporting while no install waits for
// it; httpboot turns it into a 503 so that the host retries (after a
// controller restart the install re-registers and the report then lands).
var errNotWaiting = errors.New("installer: no install is waiting for this host yet")

// Completions routes host status reports to waiting installs by MAC address.
// It implements httpboot.StatusSink. The zero value is ready to use.
type Completions struct {
	mu      sync.Mutex
	waiters map[string]chan error // upper-case MAC -> outcome
}

var _ httpboot.StatusSink = (*Completions)(nil)

// Expect registers an install waiting for any of macs and returns the channel
// that receives its outcome (nil for install-complete) and a function that
// unregisters it.
func (c *Completions) Expect(macs []string) (<-chan error, func()) {
	ch := make(chan error, 1)
	c.mu.Lock()
	if c.waiters == nil {
		c.waiters = make(map[string]chan error)
	}
	for _, m := range macs {
		c.waiters[strings.ToUpper(m)] = ch
	}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		for _, m := range macs {
			if c.waiters[strings.ToUpper(m)] == ch {
				delete(c.waiters, strings.ToUpper(m))
			}
		}
		c.mu.Unlock()
	}
}

// PublishHostStatus delivers a report to the install waiting for its MAC.
// Intermediate states (booted, installing) are acknowledged and dropped.
func (c *Completions) PublishHostStatus(_ context.Context, s httpboot.HostStatus) error {
	mac := strings.ToUpper(s.MAC.String())
	c.mu.Lock()
	ch, ok := c.waiters[mac]
	c.mu.Unlock()
	if !ok {
		return errNotWaiting
	}
	var outcome error
	switch s.State {
	case httpboot.StateInstallComplete:
	case httpboot.StateInstallFailed:
		outcome = fmt.Errorf("host %s reported install-failed: %s", mac, s.Message)
	default:
		return nil
	}
	select {
	case ch <- outcome:
	default: // an outcome is already pending; the host repeated itself
	}
	return nil
}

// Options tune a Phase. The zero value uses redfish defaults.
type Options struct {
	// Redfish configures the BMC client (TLS trust, retries, logger).
	Redfish redfish.Options
	// Install tunes RemoteInstall (timeouts, poll interval).
	Install redfish.InstallOptions
	// DefaultImageURL is inserted when the install values name no image.
	DefaultImageURL string
	// Logger receives one line per install step, with the subcloud's name.
	Logger *slog.Logger
}

// Phase is a dc.Phase that installs a subcloud through its BMC with
// redfish.RemoteInstall and waits for the booted host's install-complete
// report. It is an idempotent re-entry point, as dc requires: RemoteInstall
// reads the BMC's state first and skips the steps already done.
type Phase struct {
	done *Completions
	opts Options
	log  *slog.Logger
}

var _ dc.Phase = (*Phase)(nil)

// NewPhase returns a Phase waiting for completions reported to done.
func NewPhase(done *Completions, opts Options) *Phase {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Phase{done: done, opts: opts, log: log}
}

// Run installs job.Subcloud.
func (p *Phase) Run(ctx context.Context, job *dc.PhaseJob) error {
	iv := job.Install
	if iv == nil || iv.BMCAddress == "" {
		return ErrNoInstallValues
	}
	image := iv.Image
	if image == "" {
		image = p.opts.DefaultImageURL
	}
	if image == "" {
		return fmt.Errorf("installer: subcloud %q: no image in install values and no default image", job.Subcloud.Name)
	}
	log := p.log.With("subcloud", job.Subcloud.Name, "bmc", iv.BMCAddress)
	bmc, err := redfish.Dial(ctx, redfish.Endpoint{Address: iv.BMCAddress, Username: iv.BMCUsername, Password: iv.BMCPassword}, p.opts.Redfish)
	if err != nil {
		return fmt.Errorf("installer: subcloud %q: %w", job.Subcloud.Name, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		bmc.Close(cctx)
	}()
	inv, err := bmc.Inventory(ctx)
	if err != nil {
		return fmt.Errorf("installer: subcloud %q: %w", job.Subcloud.Name, err)
	}
	macs := inv.MACAddresses
	if len(macs) == 0 {
		return fmt.Errorf("installer: subcloud %q: BMC %s lists no MAC address to recognise the host by", job.Subcloud.Name, iv.BMCAddress)
	}
	for _, m := range macs {
		if _, err := net.ParseMAC(m); err != nil {
			return fmt.Errorf("installer: subcloud %q: BMC %s lists a bad MAC %q", job.Subcloud.Name, iv.BMCAddress, m)
		}
	}
	outcome, cancel := p.done.Expect(macs)
	defer cancel()
	job.Logf("%s %s (serial %s), image %s", inv.Manufacturer, inv.Model, inv.SerialNumber, image)
	io := p.opts.Install
	prev := io.OnEvent
	io.OnEvent = func(ev redfish.Event) {
		if ev.Detail != "" {
			job.Logf("%s %s: %s", ev.Step, ev.State, ev.Detail)
		} else {
			job.Logf("%s %s", ev.Step, ev.State)
		}
		log.Debug("install step", "step", ev.Step, "state", ev.State, "detail", ev.Detail)
		if prev != nil {
			prev(ev)
		}
	}
	return redfish.RemoteInstall(ctx, bmc, redfish.InstallSpec{ImageURL: image, Done: outcome}, io)
}
