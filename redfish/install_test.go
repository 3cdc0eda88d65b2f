package redfish_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish"
	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
	"github.com/google/go-cmp/cmp"
)

// installRig is an emulated BMC whose host "finishes installing" when it
// boots from the image under test.
type installRig struct {
	e         *redfishtest.Emulator
	img       *redfishtest.Image
	installed atomic.Bool
	mu        sync.Mutex
	boots     []emulator.BootEvent
}

func newInstallRig(t *testing.T, p emulator.Profile) *installRig {
	r := &installRig{img: redfishtest.ServeImage(t, "install.iso", 256<<10)}
	r.e = redfishtest.NewEmulator(t, p, redfishtest.Options{BMC: emulator.Options{
		OnBoot: func(ev emulator.BootEvent) {
			r.mu.Lock()
			r.boots = append(r.boots, ev)
			r.mu.Unlock()
			if ev.Image == r.img.URL {
				r.installed.Store(true)
			}
		},
	}})
	return r
}

func (r *installRig) spec() redfish.InstallSpec {
	return redfish.InstallSpec{
		ImageURL: r.img.URL,
		BootMode: redfish.BootUEFI,
		Complete: func(context.Context) (bool, error) { return r.installed.Load(), nil },
	}
}

func (r *installRig) bootCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.boots)
}

// writes classifies the recorded requests that change the BMC.
type writes struct{ insert, eject, forceOff, on, boot int }

func countWrites(rec *recorder, cd string) writes {
	var w writes
	for _, k := range rec.all() {
		switch {
		case strings.HasPrefix(k, "POST") && strings.Contains(k, "InsertMedia"):
			w.insert++
		case strings.HasPrefix(k, "POST") && strings.Contains(k, "EjectMedia"):
			w.eject++
		case k == "PATCH "+cd: // Lenovo: media by PATCH (insert or eject)
			w.insert++
		case strings.HasSuffix(k, " ForceOff"):
			w.forceOff++
		case strings.HasSuffix(k, " On"):
			w.on++
		case strings.HasPrefix(k, "PATCH"):
			w.boot++
		}
	}
	return w
}

func installOpts(events *[]string) redfish.InstallOptions {
	return redfish.InstallOptions{
		PollInterval: 10 * time.Millisecond,
		OnEvent: func(ev redfish.Event) {
			*events = append(*events, fmt.Sprintf("%s:%s", ev.Step, ev.State))
		},
	}
}

// TestRemoteInstallEveryProfile: from a host that is on with another image
// attached, every step runs once and the host boots the image.
func TestRemoteInstallEveryProfile(t *testing.T) {
	for _, p := range emulator.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			r := newInstallRig(t, p)
			old := redfishtest.ServeImage(t, "old.iso", 16<<10)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			setup := dialEmu(t, r.e, testOpts(nil))
			if err := setup.InsertMedia(ctx, old.URL); err != nil {
				t.Fatal(err)
			}
			if err := setup.SetPower(ctx, redfish.ActionOn); err != nil {
				t.Fatal(err)
			}

			rec := &recorder{}
			c := dialEmu(t, r.e, testOpts(rec))
			var events []string
			if err := redfish.RemoteInstall(ctx, c, r.spec(), installOpts(&events)); err != nil {
				t.Fatalf("RemoteInstall: %v (events %v)", err, events)
			}
			var want []string
			for _, s := range []redfish.Step{redfish.StepReadState, redfish.StepEject, redfish.StepPowerOff,
				redfish.StepInsert, redfish.StepBootOnce, redfish.StepPowerOn, redfish.StepWaitInstall} {
				want = append(want, string(s)+":started", string(s)+":done")
			}
			if diff := cmp.Diff(want, events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			w := countWrites(rec, r.e.BMC.Layout().CD)
			wantInsert := 1
			if p == emulator.ProfileLenovo {
				wantInsert = 2 // the eject is a PATCH too
			}
			if w.insert != wantInsert || w.forceOff != 1 || w.on != 1 || w.boot < 1 {
				t.Errorf("writes = %+v (requests %v)", w, rec.all())
			}
			r.mu.Lock()
			last := r.boots[len(r.boots)-1]
			r.mu.Unlock()
			if last.Image != r.img.URL || last.Mode != "UEFI" || (last.Target != emulator.BootCd && last.Target != emulator.BootUsbCd) {
				t.Errorf("last boot = %+v, want from %s in UEFI", last, r.img.URL)
			}
		})
	}
}

// TestRemoteInstallResumes crashes the install at two points and resumes
// it with a new Client against the same BMC: nothing done is done again.
func TestRemoteInstallResumes(t *testing.T) {
	for _, p := range []emulator.Profile{emulator.ProfileDell, emulator.ProfileSupermicro, emulator.ProfileLenovo} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			r := newInstallRig(t, p)
			cd := r.e.BMC.Layout().CD
			setup := dialEmu(t, r.e, testOpts(nil))
			if err := setup.SetPower(context.Background(), redfish.ActionOn); err != nil {
				t.Fatal(err)
			}

			// Crash 1: right after the image is attached.
			crash := func(after redfish.Step) {
				t.Helper()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				c := dialEmu(t, r.e, testOpts(nil))
				opts := redfish.InstallOptions{PollInterval: 10 * time.Millisecond, OnEvent: func(ev redfish.Event) {
					if ev.Step == after && ev.State == redfish.StepDone {
						cancel() // the process dies here
					}
				}}
				err := redfish.RemoteInstall(ctx, c, r.spec(), opts)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("crashed install = %v, want context.Canceled", err)
				}
			}
			crash(redfish.StepInsert)
			if st := r.e.BMC.State(); st.Power != emulator.PowerOff || r.installed.Load() {
				t.Fatalf("after crash 1: power %s installed %v", st.Power, r.installed.Load())
			}

			rec := &recorder{}
			c := dialEmu(t, r.e, testOpts(rec))
			var events []string
			if err := redfish.RemoteInstall(context.Background(), c, r.spec(), installOpts(&events)); err != nil {
				t.Fatalf("resumed install: %v", err)
			}
			w := countWrites(rec, cd)
			if w.insert != 0 || w.eject != 0 || w.forceOff != 0 || w.on != 1 {
				t.Errorf("resume after insert: writes %+v, want only the power-on and the boot override (requests %v)", w, rec.all())
			}
			for _, s := range []redfish.Step{redfish.StepEject, redfish.StepPowerOff, redfish.StepInsert} {
				if !contains(events, string(s)+":skipped") {
					t.Errorf("step %s not skipped on resume: %v", s, events)
				}
			}
			if !r.installed.Load() {
				t.Fatal("host never booted the image")
			}

			// Crash 2: a fresh install of the same host, killed right after
			// power-on; the host boots the image meanwhile.
			r.installed.Store(false)
			if err := setup.EjectMedia(context.Background()); err != nil {
				t.Fatal(err)
			}
			crash(redfish.StepPowerOn)
			deadline := time.Now().Add(5 * time.Second)
			for !r.installed.Load() && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			boots := r.bootCount()
			rec = &recorder{}
			c = dialEmu(t, r.e, testOpts(rec))
			events = events[:0]
			if err := redfish.RemoteInstall(context.Background(), c, r.spec(), installOpts(&events)); err != nil {
				t.Fatalf("resumed install: %v", err)
			}
			if w := countWrites(rec, cd); w != (writes{}) {
				t.Errorf("resume after power-on sent writes %+v: %v", w, rec.all())
			}
			if got := r.bootCount(); got != boots {
				t.Errorf("resume after power-on booted the host again (%d -> %d boots)", boots, got)
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestRemoteInstallTimeout: a host that never reports install-complete is
// bounded by InstallTimeout; a failing condition fails the install.
func TestRemoteInstallTimeout(t *testing.T) {
	r := newInstallRig(t, emulator.ProfileGeneric)
	c := dialEmu(t, r.e, testOpts(nil))
	spec := r.spec()
	spec.Complete = func(context.Context) (bool, error) { return false, nil }
	err := redfish.RemoteInstall(context.Background(), c, spec, redfish.InstallOptions{
		PollInterval: 10 * time.Millisecond, InstallTimeout: 200 * time.Millisecond,
	})
	if !errors.Is(err, redfish.ErrTimeout) || !strings.Contains(err.Error(), string(redfish.StepWaitInstall)) {
		t.Fatalf("install that never completes = %v, want ErrTimeout in %s", err, redfish.StepWaitInstall)
	}

	boom := errors.New("kickstart failed")
	done := make(chan error, 1)
	done <- boom
	spec.Complete = nil
	spec.Done = done
	err = redfish.RemoteInstall(context.Background(), c, spec, redfish.InstallOptions{PollInterval: 10 * time.Millisecond})
	if !errors.Is(err, redfish.ErrInstallFailed) || !errors.Is(err, boom) {
		t.Fatalf("install reported failed = %v, want ErrInstallFailed wrapping the cause", err)
	}
}

// plainBMC hides the Client's extras (WaitPower), as a BMC carried over a
// plugin boundary would: RemoteInstall must poll PowerState itself.
type plainBMC struct{ redfish.BMC }

func TestRemoteInstallPlainBMC(t *testing.T) {
	r := newInstallRig(t, emulator.ProfileOpenBMC)
	c := dialEmu(t, r.e, testOpts(nil))
	ctx := context.Background()
	if err := c.SetPower(ctx, redfish.ActionOn); err != nil {
		t.Fatal(err)
	}
	var bmc redfish.BMC = plainBMC{c}
	if _, ok := bmc.(redfish.PowerWaiter); ok {
		t.Fatal("plainBMC must not be a PowerWaiter")
	}
	var events []string
	if err := redfish.RemoteInstall(ctx, bmc, r.spec(), installOpts(&events)); err != nil {
		t.Fatalf("RemoteInstall: %v (%v)", err, events)
	}
	if !r.installed.Load() || !contains(events, "power-off:done") {
		t.Errorf("installed %v, events %v", r.installed.Load(), events)
	}
}

// fakeClock moves time forward by exactly what is waited for, at once.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- f.now
	return ch
}

// TestLongWaitsOnAFakeClock: the two-hour install timeout and a power wait
// run on the injected clock, polling at the configured pace, in no real
// time.
func TestLongWaitsOnAFakeClock(t *testing.T) {
	r := newInstallRig(t, emulator.ProfileGeneric)
	clk := &fakeClock{now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	opts := testOpts(nil)
	opts.Clock = clk
	opts.PollInterval = 30 * time.Second
	c := dialEmu(t, r.e, opts)
	start := time.Now()

	// The host is off and nobody powers it on.
	const powerWait = 10 * time.Minute
	rec := &recorder{}
	c2 := dialEmu(t, r.e, func() redfish.Options { o := opts; o.WrapTransport = rec.wrap; return o }())
	rec.reset()
	t0 := clk.Now()
	err := c2.WaitPower(context.Background(), redfish.PowerOn, powerWait)
	if !errors.Is(err, redfish.ErrTimeout) {
		t.Fatalf("WaitPower = %v, want ErrTimeout", err)
	}
	polls := rec.count(has("GET " + r.e.BMC.Layout().System))
	if want := int(powerWait/opts.PollInterval) + 1; polls != want || clk.Now().Sub(t0) != powerWait {
		t.Errorf("WaitPower polled %d times over %v of fake time, want %d over %v", polls, clk.Now().Sub(t0), want, powerWait)
	}

	// The install never completes.
	var checks atomic.Int64
	spec := r.spec()
	spec.Complete = func(context.Context) (bool, error) { checks.Add(1); return false, nil }
	const installWait, every = 2 * time.Hour, 10 * time.Minute
	err = redfish.RemoteInstall(context.Background(), c, spec, redfish.InstallOptions{
		Clock: clk, PollInterval: every, InstallTimeout: installWait,
	})
	if !errors.Is(err, redfish.ErrTimeout) {
		t.Fatalf("RemoteInstall = %v, want ErrTimeout", err)
	}
	if want := int64(installWait/every) + 1; checks.Load() != want {
		t.Errorf("install-complete checked %d times, want %d", checks.Load(), want)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("fake-clock waits took %v of real time", took)
	}
}
