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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
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
// It implements httpboot.StatusSink. The zero value is ready to use and
// keeps nothing across restarts; NewCompletions(dir) journals every final
// report (install-complete or install-failed) of an expected host to dir
// before acknowledging it, so that an install resumed after a controller
// crash still learns an outcome the host reported to the crashed process.
type Completions struct {
	dir     string // journal directory; "" keeps no journal
	mu      sync.Mutex
	waiters map[string]chan error // upper-case MAC -> outcome
}

// NewCompletions returns Completions journaling final reports in dir
// (created 0700 if missing).
func NewCompletions(dir string) (*Completions, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("installer: journal: %w", err)
	}
	return &Completions{dir: dir}, nil
}

// journalRecord is one final host report, as journaled.
type journalRecord struct {
	State   httpboot.HostState `json:"state"`
	Message string             `json:"message,omitempty"`
	Time    time.Time          `json:"time"`
}

// journalPath is the journal file of mac (canonical, from net.ParseMAC,
// so it is a safe file name).
func (c *Completions) journalPath(mac string) (string, bool) {
	if c.dir == "" {
		return "", false
	}
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return "", false
	}
	return filepath.Join(c.dir, strings.ReplaceAll(strings.ToUpper(hw.String()), ":", "-")+".json"), true
}

// record journals a final report durably (write, fsync, rename).
func (c *Completions) record(mac string, rec journalRecord) error {
	p, ok := c.journalPath(mac)
	if !ok {
		return nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Forget drops the journaled reports of macs: a fresh install of the host
// starts, so whatever it reported before is stale.
func (c *Completions) Forget(macs []string) {
	for _, m := range macs {
		if p, ok := c.journalPath(m); ok {
			_ = os.Remove(p)
		}
	}
}

// Replay delivers a journaled final report of any of macs to the install
// waiting for it, if there is one. It reports whether it delivered.
func (c *Completions) Replay(macs []string) bool {
	for _, m := range macs {
		p, ok := c.journalPath(m)
		if !ok {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var rec journalRecord
		if json.Unmarshal(b, &rec) != nil {
			continue
		}
		c.mu.Lock()
		ch, ok := c.waiters[strings.ToUpper(m)]
		c.mu.Unlock()
		if !ok {
			continue
		}
		select {
		case ch <- outcomeOf(strings.ToUpper(m), rec.State, rec.Message):
		default:
		}
		return true
	}
	return false
}

func outcomeOf(mac string, state httpboot.HostState, msg string) error {
	if state == httpboot.StateInstallFailed {
		return fmt.Errorf("host %s reported install-failed: %s", mac, msg)
	}
	return nil
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
// Intermediate states (booted, installing) are acknowledged and dropped. A
// final report is journaled (with NewCompletions) before it is delivered
// and acknowledged; if the journal cannot be written the host is told to
// retry.
func (c *Completions) PublishHostStatus(_ context.Context, s httpboot.HostStatus) error {
	mac := strings.ToUpper(s.MAC.String())
	c.mu.Lock()
	ch, ok := c.waiters[mac]
	c.mu.Unlock()
	if !ok {
		return errNotWaiting
	}
	switch s.State {
	case httpboot.StateInstallComplete, httpboot.StateInstallFailed:
	default:
		return nil
	}
	if err := c.record(mac, journalRecord{State: s.State, Message: s.Message, Time: s.Time}); err != nil {
		return fmt.Errorf("installer: journal the report of %s: %w", mac, err)
	}
	outcome := outcomeOf(mac, s.State, s.Message)
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
		switch {
		case ev.Step == redfish.StepInsert && ev.State == redfish.StepStarted:
			// A fresh boot of the image: older reports are stale.
			p.done.Forget(macs)
		case ev.Step == redfish.StepWaitInstall && ev.State == redfish.StepStarted:
			// Resumed after a crash: the host may have reported already.
			if p.done.Replay(macs) {
				job.Logf("host's install outcome replayed from the journal")
			}
		}
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
