package dctest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/dc"
)

// Bootstrap returns valid IPv4 bootstrap values for subcloud number i
// (0 ≤ i < 65536): name "subcloud-i", management subnet 10.x.y.0/24 and
// OAM subnet inside 100.64.0.0/10, neither overlapping those of any other i.
func Bootstrap(i int) *dc.BootstrapValues {
	hi, lo := (i>>8)&0xff, i&0xff
	oam := netip.AddrFrom4([4]byte{100, byte(64 + (i >> 12)), byte((i >> 4) & 0xff), byte((i & 15) << 4)})
	return &dc.BootstrapValues{
		Name:                           fmt.Sprintf("subcloud-%d", i),
		SystemMode:                     dc.Simplex,
		ManagementSubnet:               fmt.Sprintf("10.%d.%d.0/24", hi, lo),
		ManagementStartAddress:         fmt.Sprintf("10.%d.%d.2", hi, lo),
		ManagementEndAddress:           fmt.Sprintf("10.%d.%d.100", hi, lo),
		ManagementGatewayAddress:       fmt.Sprintf("10.%d.%d.1", hi, lo),
		SystemControllerGatewayAddress: "192.168.204.101",
		ExternalOAMSubnet:              netip.PrefixFrom(oam, 28).String(),
		ExternalOAMGatewayAddress:      oam.Next().String(),
		ExternalOAMFloatingAddress:     oam.Next().Next().String(),
	}
}

// Bootstrap6 returns valid IPv6 bootstrap values for subcloud number i
// (name "subcloud6-i", management fd01:i::/64, OAM fd02:i::/64).
func Bootstrap6(i int) *dc.BootstrapValues {
	return &dc.BootstrapValues{
		Name:                           fmt.Sprintf("subcloud6-%d", i),
		SystemMode:                     dc.Duplex,
		ManagementSubnet:               fmt.Sprintf("fd01:%x::/64", i),
		ManagementStartAddress:         fmt.Sprintf("fd01:%x::2", i),
		ManagementEndAddress:           fmt.Sprintf("fd01:%x::ff", i),
		ManagementGatewayAddress:       fmt.Sprintf("fd01:%x::1", i),
		SystemControllerGatewayAddress: "fd00::1",
		ExternalOAMSubnet:              fmt.Sprintf("fd02:%x::/64", i),
		ExternalOAMGatewayAddress:      fmt.Sprintf("fd02:%x::1", i),
		ExternalOAMFloatingAddress:     fmt.Sprintf("fd02:%x::2", i),
	}
}

// AddRequest returns a valid add request for subcloud number i, without
// install values.
func AddRequest(i int) dc.AddRequest {
	return dc.AddRequest{
		Bootstrap:        Bootstrap(i),
		BootstrapAddress: netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}),
		Release:          "24.09",
	}
}

// DeployConfig returns a valid deploy config file (a two-document YAML
// stream, as StarlingX deploy configs are) for subcloud number i.
func DeployConfig(i int) []byte {
	return fmt.Appendf(nil, "apiVersion: starlingx.windriver.com/v1\nkind: System\nmetadata:\n  name: subcloud-%d\n---\napiVersion: starlingx.windriver.com/v1\nkind: Host\nmetadata:\n  name: controller-0\n", i)
}

// Install returns valid install values with the given BMC password.
func Install(password string) *dc.InstallValues {
	return &dc.InstallValues{
		BMCAddress:         "192.0.2.10",
		BMCUsername:        "root",
		BMCPassword:        password,
		BootstrapInterface: "enp0s3",
		BootstrapAddress:   "198.51.100.10",
		Image:              "https://images.example/atoll/bootimage.iso",
		BootDevice:         "/dev/disk/by-path/pci-0000:00:1f.2-ata-1.0",
		RootfsDevice:       "/dev/sda",
		InstallType:        0,
	}
}

// FakeClock is a dc.TimerClock whose time moves only when told to.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	changed chan struct{}
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

// NewFakeClock returns a FakeClock at t.
func NewFakeClock(t time.Time) *FakeClock {
	return &FakeClock{now: t, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the fake time once it has moved d
// forward.
func (c *FakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	close(c.changed)
	c.changed = make(chan struct{})
	return ch
}

// Advance moves the time forward by d, firing the timers that are due.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// Waiters returns the number of pending After timers.
func (c *FakeClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// WaitForWaiters blocks until at least n After timers are pending or ctx is
// done.
func (c *FakeClock) WaitForWaiters(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		got, ch := len(c.waiters), c.changed
		c.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d timers (have %d): %w", n, got, ctx.Err())
		}
	}
}

// Phase is a programmable dc.Phase that counts its runs per subcloud.
// Without a hook it succeeds at once.
type Phase struct {
	mu    sync.Mutex
	calls map[string]int
	jobs  []dc.PhaseJob
	hook  func(ctx context.Context, job *dc.PhaseJob) error
}

var _ dc.Phase = (*Phase)(nil)

// NewPhase returns a Phase that succeeds.
func NewPhase() *Phase { return &Phase{calls: make(map[string]int)} }

// SetHook makes Run call fn (nil: succeed).
func (p *Phase) SetHook(fn func(ctx context.Context, job *dc.PhaseJob) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hook = fn
}

// Run implements dc.Phase.
func (p *Phase) Run(ctx context.Context, job *dc.PhaseJob) error {
	p.mu.Lock()
	p.calls[job.Subcloud.Name]++
	p.jobs = append(p.jobs, *job)
	hook := p.hook
	p.mu.Unlock()
	if hook != nil {
		return hook(ctx, job)
	}
	return nil
}

// Calls returns how many times the phase ran for the named subcloud.
func (p *Phase) Calls(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[name]
}

// Jobs returns copies of the jobs the phase ran, in order.
func (p *Phase) Jobs() []dc.PhaseJob {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.jobs)
}

// Gate is a phase hook that signals when a phase is entered and blocks it
// until Release or until its context is done (then it returns the
// context's error).
type Gate struct {
	Entered chan string
	release chan struct{}
	once    sync.Once
}

// NewGate returns a closed gate.
func NewGate() *Gate {
	return &Gate{Entered: make(chan string, 1024), release: make(chan struct{})}
}

// Hook is the phase hook.
func (g *Gate) Hook(ctx context.Context, job *dc.PhaseJob) error {
	g.Entered <- job.Subcloud.Name
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release lets every blocked and later phase through.
func (g *Gate) Release() { g.once.Do(func() { close(g.release) }) }

// WaitEntered waits until a phase entered the gate and returns the
// subcloud's name.
func (g *Gate) WaitEntered(t testing.TB) string {
	t.Helper()
	select {
	case name := <-g.Entered:
		return name
	case <-time.After(10 * time.Second):
		t.Fatal("no phase entered the gate within 10s")
		return ""
	}
}

// Events records published events; it is a dc.Publisher.
type Events struct {
	mu     sync.Mutex
	events []dc.Event
}

var _ dc.Publisher = (*Events)(nil)

// Publish implements dc.Publisher.
func (e *Events) Publish(_ context.Context, ev dc.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, ev)
}

// All returns the events so far.
func (e *Events) All() []dc.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.events)
}

// Count returns the number of events of type t about the named subcloud.
func (e *Events) Count(t dc.EventType, name string) int {
	n := 0
	for _, ev := range e.All() {
		if ev.Type == t && ev.Subcloud.Name == name {
			n++
		}
	}
	return n
}

// WaitDeploy polls the Manager until the subcloud's deploy status is one of
// want, failing the test after 10s.
func WaitDeploy(t testing.TB, m *dc.Manager, ref string, want ...dc.DeployStatus) *dc.Subcloud {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var last *dc.Subcloud
	for {
		s, err := m.Subcloud(ctx, ref)
		if err != nil {
			t.Fatalf("WaitDeploy %s: %v", ref, err)
		}
		last = s
		if slices.Contains(want, s.DeployStatus) {
			return s
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("WaitDeploy %s: deploy status %q, want one of %q", ref, last.DeployStatus, want)
			return nil
		}
	}
}

// SubcloudRecord returns a complete subcloud record numbered i, as a Manager
// would store it after an add (deploy status creating, install values with
// no password), for filling a Store directly in benchmarks.
func SubcloudRecord(i int) *dc.Subcloud { return subcloudRecord(i) }
