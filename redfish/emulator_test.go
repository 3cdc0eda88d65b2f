package redfish_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish"
	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

func cdSlot(t *testing.T, b *emulator.BMC) emulator.MediaState {
	t.Helper()
	for _, m := range b.State().Media {
		if m.Path == b.Layout().CD {
			return m
		}
	}
	t.Fatalf("emulator has no slot %s", b.Layout().CD)
	return emulator.MediaState{}
}

// TestOperationsEveryProfile drives every BMC operation against the
// emulator in each vendor profile and checks the emulator's own state.
func TestOperationsEveryProfile(t *testing.T) {
	for _, p := range emulator.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			img1 := redfishtest.ServeImage(t, "one.iso", 64<<10)
			img2 := redfishtest.ServeImage(t, "two.iso", 64<<10)
			e := redfishtest.NewEmulator(t, p, redfishtest.Options{})
			rec := &recorder{}
			c := dialEmu(t, e, testOpts(rec))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			if got := c.Vendor(); got != wantVendor(p) {
				t.Errorf("Vendor = %s, want %s", got, wantVendor(p))
			}

			// Inventory.
			inv, err := c.Inventory(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Manufacturer != e.BMC.Manufacturer() || inv.Model == "" || inv.SerialNumber == "" ||
				inv.BIOSVersion == "" || inv.BMCFirmware == "" || len(inv.MACAddresses) == 0 {
				t.Errorf("inventory incomplete: %+v", inv)
			}

			// Power: the emulated host starts off.
			if got, err := c.PowerState(ctx); err != nil || got != redfish.PowerState(e.BMC.State().Power) {
				t.Fatalf("PowerState = %s, %v; emulator says %s", got, err, e.BMC.State().Power)
			}
			power := func(a redfish.PowerAction, want redfish.PowerState) {
				t.Helper()
				if err := c.SetPower(ctx, a); err != nil {
					t.Fatalf("SetPower(%s): %v", a, err)
				}
				if err := c.WaitPower(ctx, want, 5*time.Second); err != nil {
					t.Fatalf("after %s: %v", a, err)
				}
				if got := e.BMC.State().Power; string(got) != string(want) {
					t.Fatalf("after %s emulator power = %s, want %s", a, got, want)
				}
			}
			power(redfish.ActionOn, redfish.PowerOn)
			boots := e.BMC.State().Boots
			power(redfish.ActionForceRestart, redfish.PowerOn)
			if got := e.BMC.State().Boots; got != boots+1 {
				t.Errorf("ForceRestart: boots %d -> %d, want one more", boots, got)
			}
			boots = e.BMC.State().Boots
			power(redfish.ActionPowerCycle, redfish.PowerOn) // native or ForceOff+On
			if got := e.BMC.State().Boots; got != boots+1 {
				t.Errorf("PowerCycle: boots %d -> %d, want one more", boots, got)
			}
			power(redfish.ActionGracefulShutdown, redfish.PowerOff)
			power(redfish.ActionOn, redfish.PowerOn)
			power(redfish.ActionForceOff, redfish.PowerOff)

			// Boot override, in both modes and lifetimes.
			for _, o := range []redfish.BootOverride{
				{Target: redfish.BootPxe, Enabled: redfish.BootContinuous, Mode: redfish.BootLegacy},
				{Target: redfish.BootCd, Enabled: redfish.BootOnce, Mode: redfish.BootUEFI},
				{Target: redfish.BootHdd, Enabled: redfish.BootOnce, Mode: redfish.BootUEFI},
				{Target: redfish.BootCd, Enabled: redfish.BootOnce, Mode: redfish.BootUEFI},
			} {
				if err := c.SetBootOverride(ctx, o); err != nil {
					t.Fatalf("SetBootOverride(%+v): %v", o, err)
				}
				got, err := c.BootOverride(ctx)
				if err != nil || got != o {
					t.Errorf("BootOverride = %+v, %v; want %+v", got, err, o)
				}
				st := e.BMC.State()
				if st.BootEnabled != string(o.Enabled) || st.BootMode != string(o.Mode) {
					t.Errorf("emulator boot = %s/%s/%s, want %+v", st.BootTarget, st.BootEnabled, st.BootMode, o)
				}
			}
			// Setting it again sends no PATCH.
			rec.reset()
			if err := c.SetBootOverride(ctx, redfish.BootOverride{Target: redfish.BootCd, Enabled: redfish.BootOnce, Mode: redfish.BootUEFI}); err != nil {
				t.Fatal(err)
			}
			if n := rec.count(has("PATCH")); n != 0 {
				t.Errorf("re-setting the same override sent %d PATCH", n)
			}

			// Virtual media.
			if st, err := c.MediaStatus(ctx); err != nil || st.Inserted || st.Slot != e.BMC.Layout().CD {
				t.Fatalf("MediaStatus = %+v, %v; want the empty slot %s", st, err, e.BMC.Layout().CD)
			}
			if err := c.InsertMedia(ctx, img1.URL); err != nil {
				t.Fatalf("InsertMedia: %v", err)
			}
			if m := cdSlot(t, e.BMC); !m.Inserted || m.Image != img1.URL {
				t.Fatalf("emulator slot after insert = %+v", m)
			}
			if img1.Fetches() == 0 {
				t.Error("emulator never fetched the image")
			}
			rec.reset()
			if err := c.InsertMedia(ctx, img1.URL); err != nil {
				t.Fatal(err)
			}
			if n := rec.count(func(k string) bool { return !strings.HasPrefix(k, "GET") }); n != 0 {
				t.Errorf("inserting the attached image again sent %d writes: %v", n, rec.all())
			}
			// Another image replaces it (ejecting first where needed).
			if err := c.InsertMedia(ctx, img2.URL); err != nil {
				t.Fatalf("InsertMedia (replace): %v", err)
			}
			if st, err := c.MediaStatus(ctx); err != nil || !st.Inserted || st.Image != img2.URL {
				t.Fatalf("MediaStatus after replace = %+v, %v", st, err)
			}
			if err := c.EjectMedia(ctx); err != nil {
				t.Fatalf("EjectMedia: %v", err)
			}
			if m := cdSlot(t, e.BMC); m.Inserted || m.Image != "" {
				t.Fatalf("emulator slot after eject = %+v", m)
			}
			rec.reset()
			if err := c.EjectMedia(ctx); err != nil {
				t.Fatal(err)
			}
			if n := rec.count(func(k string) bool { return !strings.HasPrefix(k, "GET") }); n != 0 {
				t.Errorf("ejecting an empty slot sent %d writes", n)
			}
		})
	}
}

// TestUnsupportedPowerAction: a reset type outside the BMC's allowable
// values fails locally with ErrUnsupported, without a request.
func TestUnsupportedBootTarget(t *testing.T) {
	e := redfishtest.NewEmulator(t, emulator.ProfileOpenBMC, redfishtest.Options{})
	rec := &recorder{}
	c := dialEmu(t, e, testOpts(rec))
	rec.reset()
	err := c.SetBootOverride(context.Background(), redfish.BootOverride{Target: redfish.BootUefiHTTP, Enabled: redfish.BootOnce})
	var re *redfish.Error
	if !errors.Is(err, redfish.ErrUnsupported) || !errors.As(err, &re) || re.Op != "boot-override" {
		t.Fatalf("UefiHttp on OpenBMC = %v, want ErrUnsupported", err)
	}
	if n := rec.count(has("PATCH")); n != 0 {
		t.Errorf("sent %d PATCH for an unsupported target", n)
	}
}

// TestStuckTaskBounded: a task that never ends is bounded by the context.
func TestStuckTaskBounded(t *testing.T) {
	img := redfishtest.ServeImage(t, "stuck.iso", 16<<10)
	e := redfishtest.NewEmulator(t, emulator.ProfileSupermicro, redfishtest.Options{}) // InsertMedia answers with a task
	c := dialEmu(t, e, testOpts(nil))
	e.BMC.Faults().SetStuckTasks(true)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := c.InsertMedia(ctx, img.URL)
	var re *redfish.Error
	if !errors.Is(err, redfish.ErrTimeout) || !errors.As(err, &re) || re.Op != "insert-media" {
		t.Fatalf("InsertMedia with a stuck task = %v, want ErrTimeout for insert-media", err)
	}
	// Once the task is released, the same call completes.
	e.BMC.Faults().SetStuckTasks(false)
	if err := c.InsertMedia(context.Background(), img.URL); err != nil {
		t.Fatalf("InsertMedia after the fault cleared: %v", err)
	}
}

// TestEmulatorFaults: the emulator's own fault injection, seen through the
// client: a 5xx burst and dropped connections are retried; bad credentials
// and a hung BMC surface at once or within the context.
func TestEmulatorFaults(t *testing.T) {
	t.Run("5xx-burst", func(t *testing.T) {
		e := redfishtest.NewEmulator(t, emulator.ProfileDell, redfishtest.Options{})
		rec := &recorder{}
		c := dialEmu(t, e, testOpts(rec))
		sys := e.BMC.Layout().System
		e.BMC.Faults().Set(emulator.FaultConfig{Path: sys, FailNext: 3, FailStatus: http.StatusInternalServerError})
		rec.reset()
		if _, err := c.PowerState(context.Background()); err != nil {
			t.Fatalf("PowerState through 3 x 500: %v", err)
		}
		if n := rec.count(has("GET " + sys)); n != 4 {
			t.Errorf("system GETs = %d, want 4", n)
		}
	})
	t.Run("dropped-connections", func(t *testing.T) {
		// Count on the BMC's side: net/http itself re-sends a GET once
		// when a reused connection drops, which the client cannot see.
		b, err := emulator.New(emulator.Options{Profile: emulator.ProfileHPE})
		if err != nil {
			t.Fatal(err)
		}
		sys := b.Layout().System
		var mu sync.Mutex
		gets := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path == sys {
				mu.Lock()
				gets++
				mu.Unlock()
			}
			b.ServeHTTP(w, r)
		}))
		t.Cleanup(func() { b.Close(); srv.Close() })
		c := dialEmu(t, &redfishtest.Emulator{BMC: b, URL: srv.URL, Username: "admin", Password: "password"}, testOpts(nil))
		b.Faults().Set(emulator.FaultConfig{Path: sys, DropNext: 2})
		mu.Lock()
		gets = 0
		mu.Unlock()
		if _, err := c.BootOverride(context.Background()); err != nil {
			t.Fatalf("BootOverride through 2 dropped connections: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if gets != 3 {
			t.Errorf("system GETs at the BMC = %d, want 3 (2 dropped + 1)", gets)
		}
	})
	t.Run("bad-credentials", func(t *testing.T) {
		for _, p := range []emulator.Profile{emulator.ProfileGeneric, emulator.ProfileOpenBMC} {
			e := redfishtest.NewEmulator(t, p, redfishtest.Options{})
			rec := &recorder{}
			opts := testOpts(rec)
			_, err := redfish.Dial(context.Background(), redfish.Endpoint{Address: e.URL, Username: e.Username, Password: "wrong"}, opts)
			var re *redfish.Error
			if !errors.Is(err, redfish.ErrUnauthorized) || !errors.As(err, &re) || re.BMC != e.URL || re.Op != "login" || re.StatusCode != 401 {
				t.Fatalf("%s: Dial with a wrong password = %v, want ErrUnauthorized for login naming %s", p, err, e.URL)
			}
			if n := rec.count(has("POST")); n != 1 {
				t.Errorf("%s: %d POSTs (session logins), want 1: %v", p, n, rec.all())
			}
		}
	})
	t.Run("revoked-mid-session", func(t *testing.T) {
		e := redfishtest.NewEmulator(t, emulator.ProfileLenovo, redfishtest.Options{})
		rec := &recorder{}
		c := dialEmu(t, e, testOpts(rec))
		e.BMC.Faults().SetUnauthorized(true)
		rec.reset()
		err := c.SetPower(context.Background(), redfish.ActionOn)
		var re *redfish.Error
		if !errors.Is(err, redfish.ErrUnauthorized) || !errors.As(err, &re) || re.Op != "power" || !strings.Contains(err.Error(), e.URL) {
			t.Fatalf("SetPower with revoked credentials = %v", err)
		}
		// The power action is sent once; the one renewal of the session
		// is refused, and that refusal is the answer.
		if n, logins := rec.count(has("Reset")), rec.count(has("POST /redfish/v1/SessionService/Sessions")); n != 1 || logins != 1 {
			t.Errorf("%d power actions and %d logins, want 1 and 1: %v", n, logins, rec.all())
		}
	})
	t.Run("hang", func(t *testing.T) {
		e := redfishtest.NewEmulator(t, emulator.ProfileSupermicro, redfishtest.Options{})
		c := dialEmu(t, e, testOpts(nil))
		e.BMC.Faults().SetHang(true)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Inventory(ctx)
		if !errors.Is(err, redfish.ErrTimeout) {
			t.Fatalf("Inventory on a hung BMC = %v, want ErrTimeout", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %v, want about 300ms", took)
		}
	})
}

// TestSessionRenewed: when the BMC expires the session, the client logs in
// again and the operation goes through.
func TestSessionRenewed(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	e := redfishtest.NewEmulator(t, emulator.ProfileOpenBMC, redfishtest.Options{BMC: emulator.Options{Now: clock}})
	rec := &recorder{}
	c := dialEmu(t, e, testOpts(rec))
	mu.Lock()
	now = now.Add(24 * time.Hour) // every session has expired
	mu.Unlock()
	rec.reset()
	if _, err := c.PowerState(context.Background()); err != nil {
		t.Fatalf("PowerState after the session expired: %v", err)
	}
	if n := rec.count(has("POST /redfish/v1/SessionService/Sessions")); n != 1 {
		t.Errorf("%d logins, want 1: %v", n, rec.all())
	}
}

// TestConcurrencyLimit: MaxConcurrent bounds the requests in flight to one
// BMC, however many callers share the Client.
func TestConcurrencyLimit(t *testing.T) {
	b, err := emulator.New(emulator.Options{Profile: emulator.ProfileGeneric})
	if err != nil {
		t.Fatal(err)
	}
	var inFlight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		b.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { b.Close(); srv.Close() })
	const limit = 3
	opts := testOpts(nil)
	opts.MaxConcurrent = limit
	c := dialEmu(t, &redfishtest.Emulator{BMC: b, URL: srv.URL, Username: "admin", Password: "password"}, opts)
	b.Faults().SetLatency(20 * time.Millisecond) // make the calls overlap
	peak.Store(0)
	var g sync.WaitGroup
	for range 30 {
		g.Go(func() {
			if _, err := c.PowerState(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	g.Wait()
	if got := peak.Load(); got != limit {
		t.Errorf("peak requests in flight = %d, want %d", got, limit)
	}
}

// TestWaitTask follows a task the BMC created for an insert to its end.
func TestWaitTask(t *testing.T) {
	img := redfishtest.ServeImage(t, "task.iso", 16<<10)
	e := redfishtest.NewEmulator(t, emulator.ProfileSupermicro, redfishtest.Options{}) // inserts run as tasks
	c := dialEmu(t, e, testOpts(nil))
	body := strings.NewReader(fmt.Sprintf(`{"Image":%q}`, img.URL))
	req, _ := http.NewRequest(http.MethodPost, e.URL+e.BMC.Layout().CD+"/Actions/VirtualMedia.InsertMedia", body)
	req.SetBasicAuth(e.Username, e.Password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	monitor := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || monitor == "" {
		t.Fatalf("InsertMedia answered %d, Location %q; want 202 and a task monitor", resp.StatusCode, monitor)
	}
	st, err := c.WaitTask(context.Background(), monitor)
	if err != nil || st.State != redfish.TaskCompleted {
		t.Fatalf("WaitTask = %+v, %v", st, err)
	}
	if m := cdSlot(t, e.BMC); !m.Inserted || m.Image != img.URL {
		t.Errorf("slot after the task = %+v", m)
	}
}
