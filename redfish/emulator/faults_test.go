package emulator_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

func TestFaults(t *testing.T) {
	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{})
	c := newRaw(t, em)
	sys := em.BMC.Layout().System
	f := em.BMC.Faults()

	t.Run("burst", func(t *testing.T) {
		f.FailNext(3, 0)
		for range 3 {
			r := c.do(http.MethodGet, sys, nil).wantError(t, http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable")
			if r.header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		}
		c.do(http.MethodGet, sys, nil).want(t, http.StatusOK)
		f.FailNext(1, http.StatusInternalServerError)
		c.do(http.MethodGet, sys, nil).wantError(t, http.StatusInternalServerError, "GeneralError")
		c.do(http.MethodGet, sys, nil).want(t, http.StatusOK)
	})

	t.Run("path", func(t *testing.T) {
		f.Set(emulator.FaultConfig{Path: sys + "/Actions", FailNext: 1})
		c.do(http.MethodGet, sys, nil).want(t, http.StatusOK) // not matched, not consumed
		c.do(http.MethodPost, sys+"/Actions/ComputerSystem.Reset", map[string]any{"ResetType": "On"}).want(t, http.StatusServiceUnavailable)
		c.do(http.MethodPost, sys+"/Actions/ComputerSystem.Reset", map[string]any{"ResetType": "On"}).want(t, http.StatusNoContent)
		f.Clear()
	})

	t.Run("latency", func(t *testing.T) {
		f.SetLatency(150 * time.Millisecond)
		start := time.Now()
		c.do(http.MethodGet, sys, nil).want(t, http.StatusOK)
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("answered in %v with 150ms latency", d)
		}
		f.SetLatency(0)
	})

	t.Run("drop", func(t *testing.T) {
		f.DropNext(1)
		// A fresh connection: Go's transport silently retries a request
		// that failed on a reused keep-alive connection.
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(em.URL + "/redfish/v1/")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("dropped request answered %d", resp.StatusCode)
		}
		c.do(http.MethodGet, "/redfish/v1/", nil).want(t, http.StatusOK)
	})

	t.Run("unauthorized", func(t *testing.T) {
		f.SetUnauthorized(true)
		c.do(http.MethodGet, sys, nil).wantError(t, http.StatusUnauthorized, "NoValidSession")
		c.do(http.MethodPost, "/redfish/v1/SessionService/Sessions", map[string]any{"UserName": "admin", "Password": "password"}).
			wantError(t, http.StatusUnauthorized, "NoValidSession")
		c.do(http.MethodGet, "/redfish/v1/", nil).want(t, http.StatusOK) // the root stays public
		f.SetUnauthorized(false)
		c.do(http.MethodGet, sys, nil).want(t, http.StatusOK)
	})

	t.Run("hang", func(t *testing.T) {
		f.SetHang(true)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, em.URL+sys, nil)
		start := time.Now()
		resp, err := em.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("hung request answered %d", resp.StatusCode)
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 200*time.Millisecond {
			t.Fatalf("hang: %v after %v", err, time.Since(start))
		}
		// A request hanging when the fault clears is released and served.
		done := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodGet, em.URL+"/redfish/v1/", nil)
			resp, err := em.Client().Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		select {
		case <-done:
			t.Fatal("answered while hanging")
		case <-time.After(100 * time.Millisecond):
		}
		f.SetHang(false)
		if got := <-done; got != http.StatusOK {
			t.Fatalf("released request: %d", got)
		}
	})
}

// TestFaultsConcurrent changes faults while requests run (for -race).
func TestFaultsConcurrent(t *testing.T) {
	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, em.URL+"/redfish/v1/Systems/1", nil)
				req.SetBasicAuth("admin", "password")
				if resp, err := em.Client().Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	for i := range 200 {
		em.BMC.Faults().FailNext(i%3, 0)
		em.BMC.Faults().SetLatency(time.Duration(i%2) * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	em.BMC.Faults().Clear()
	if cfg := em.BMC.Faults().Config(); cfg != (emulator.FaultConfig{}) {
		t.Fatalf("after Clear: %+v", cfg)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{BMC: emulator.Options{Registerer: reg}})
	// A second BMC on the same registry shares the collectors.
	em2 := redfishtest.NewEmulator(t, emulator.ProfileDell, redfishtest.Options{BMC: emulator.Options{Registerer: reg}})
	c, c2 := newRaw(t, em), newRaw(t, em2)
	for range 5 {
		c.do(http.MethodGet, "/redfish/v1/Systems/1", nil).want(t, http.StatusOK)
	}
	c2.do(http.MethodGet, em2.BMC.Layout().System, nil).want(t, http.StatusOK)
	c.pass = "bad"
	c.do(http.MethodGet, "/redfish/v1/Systems/1", nil).want(t, http.StatusUnauthorized)
	c.do(http.MethodPatch, "/redfish/v1/Managers/1", map[string]any{}).want(t, http.StatusUnauthorized)
	em.BMC.Faults().FailNext(2, 0)
	c.do(http.MethodGet, "/redfish/v1/", nil).want(t, http.StatusServiceUnavailable)
	c.do(http.MethodGet, "/redfish/v1/", nil).want(t, http.StatusServiceUnavailable)
	em.BMC.Faults().DropNext(1)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: tr}).Get(em.URL + "/redfish/v1/"); err == nil {
		resp.Body.Close()
		t.Fatal("dropped request answered")
	}

	want := `
# HELP atoll_redfish_emulator_requests_total Redfish requests served by emulated BMCs, by method and status code (none: no answer).
# TYPE atoll_redfish_emulator_requests_total counter
atoll_redfish_emulator_requests_total{code="200",method="GET"} 6
atoll_redfish_emulator_requests_total{code="401",method="GET"} 1
atoll_redfish_emulator_requests_total{code="401",method="PATCH"} 1
atoll_redfish_emulator_requests_total{code="503",method="GET"} 2
atoll_redfish_emulator_requests_total{code="none",method="GET"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "atoll_redfish_emulator_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "atoll_redfish_emulator_request_duration_seconds"); n != 2 {
		t.Fatalf("duration series %d, want 2 (GET, PATCH)", n)
	}
}

// TestFleetTLS starts a fleet over TLS; a verifying client reaches every
// BMC, and identities differ.
func TestFleetTLS(t *testing.T) {
	ctx := context.Background()
	f, err := emulator.StartFleet(ctx, emulator.FleetOptions{Count: 12, TLS: true, Options: emulator.Options{Profile: emulator.ProfileHPE}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.CertPool(), MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	serials, macs := map[string]bool{}, map[string]bool{}
	for _, m := range f.Members() {
		if !strings.HasPrefix(m.URL, "https://127.0.0.1:") {
			t.Fatalf("member URL %s", m.URL)
		}
		var sys, nic map[string]any
		get := func(p string, v any) {
			req, _ := http.NewRequest(http.MethodGet, m.URL+p, nil)
			req.SetBasicAuth("admin", "password")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s%s: %d", m.URL, p, resp.StatusCode)
			}
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatal(err)
			}
		}
		get(m.BMC.Layout().System, &sys)
		get(m.BMC.Layout().System+"/EthernetInterfaces/12446A3B0411", &nic)
		if sys["Manufacturer"] != "HPE" {
			t.Fatalf("manufacturer %v", sys["Manufacturer"])
		}
		serials[sys["SerialNumber"].(string)] = true
		macs[nic["MACAddress"].(string)] = true
	}
	if len(serials) != 12 || len(macs) != 12 {
		t.Fatalf("%d serials, %d MACs for 12 BMCs", len(serials), len(macs))
	}
	// A client without the fleet's pool refuses the certificate.
	plain := &http.Transport{}
	defer plain.CloseIdleConnections()
	if _, err := (&http.Client{Transport: plain}).Get(f.Members()[0].URL + "/redfish/v1/"); err == nil {
		t.Fatal("unverified certificate accepted")
	}
}

// TestFleetIsolation: fleet members share one parsed mockup but nothing
// else; a change on one is invisible on the others.
func TestFleetIsolation(t *testing.T) {
	f, err := emulator.StartFleet(context.Background(), emulator.FleetOptions{Count: 3, Options: emulator.Options{Profile: emulator.ProfileLenovo}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img := redfishtest.ServeImage(t, "a.iso", 1<<10)
	ms := f.Members()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	c0 := &raw{t: t, base: ms[0].URL, hc: hc, user: "admin", pass: "password"}
	c1 := &raw{t: t, base: ms[1].URL, hc: hc, user: "admin", pass: "password"}
	l := ms[0].BMC.Layout()
	c0.do(http.MethodPatch, l.System, map[string]any{"AssetTag": "rack-7"}).want(t, http.StatusOK)
	c0.do(http.MethodPatch, l.CD, map[string]any{"Image": img.URL, "Inserted": true}).want(t, http.StatusOK)
	if got := str(c0.do(http.MethodGet, l.System, nil).body, "AssetTag"); got != "rack-7" {
		t.Fatalf("member 0 AssetTag %q", got)
	}
	if got := str(c1.do(http.MethodGet, l.System, nil).body, "AssetTag"); got != "" {
		t.Fatalf("member 1 AssetTag %q", got)
	}
	if c1.do(http.MethodGet, l.CD, nil).body["Inserted"] != false || ms[2].BMC.State().Media[0].Inserted {
		t.Fatal("media inserted on member 0 shows on another member")
	}
}
