package emulator_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

// BenchmarkGetSystem measures Redfish GETs of the ComputerSystem over
// loopback HTTP from 50 concurrent keep-alive connections (the shape of
// the design's sushy-tools comparison), reporting req/s.
func BenchmarkGetSystem(b *testing.B) {
	for _, auth := range []string{"basic", "session"} {
		b.Run(auth, func(b *testing.B) {
			em := redfishtest.NewEmulator(b, emulator.ProfileGeneric, redfishtest.Options{})
			tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 50}
			b.Cleanup(tr.CloseIdleConnections)
			hc := &http.Client{Transport: tr}
			token := ""
			if auth == "session" {
				c := newRaw(b, em)
				c.login()
				token = c.token
			}
			url := em.URL + em.BMC.Layout().System
			// RunParallel starts GOMAXPROCS*p goroutines; aim at 50.
			b.SetParallelism(max(1, (50+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				if token != "" {
					req.Header.Set("X-Auth-Token", token)
				} else {
					req.SetBasicAuth(em.Username, em.Password)
				}
				for pb.Next() {
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// BenchmarkServeHTTP measures the handler alone, without the network.
func BenchmarkServeHTTP(b *testing.B) {
	bmc, err := emulator.New(emulator.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer bmc.Close()
	req := httptest.NewRequest(http.MethodGet, "/redfish/v1/Systems/1", nil)
	req.SetBasicAuth("admin", "password")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			bmc.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
}

// BenchmarkNew measures building one BMC (a fleet of 1,000 builds 1,000).
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		bmc, err := emulator.New(emulator.Options{Seed: uint64(i)})
		if err != nil {
			b.Fatal(err)
		}
		_ = bmc.Close()
	}
}

// BenchmarkFleet1000 starts 1,000 BMCs, each on its own 127.0.0.1 port, and
// GETs every System once per iteration from 50 workers.
func BenchmarkFleet1000(b *testing.B) {
	const n = 1000
	start := time.Now()
	f, err := emulator.StartFleet(b.Context(), emulator.FleetOptions{Count: n})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	startup := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	members := f.Members()
	tr := &http.Transport{MaxIdleConnsPerHost: 1, MaxIdleConns: n}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	b.ResetTimer()
	t0 := time.Now()
	for b.Loop() {
		work := make(chan emulator.Member)
		done := make(chan struct{})
		for range 50 {
			go func() {
				defer func() { done <- struct{}{} }()
				for m := range work {
					req, _ := http.NewRequest(http.MethodGet, m.URL+m.BMC.Layout().System, nil)
					req.SetBasicAuth("admin", "password")
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		for _, m := range members {
			work <- m
		}
		close(work)
		for range 50 {
			<-done
		}
	}
	b.ReportMetric(float64(b.N*n)/time.Since(t0).Seconds(), "req/s")
	b.ReportMetric(startup.Seconds(), "start-s")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}

// BenchmarkStartFleet100 measures starting 100 BMCs (the mockup is parsed
// once per fleet and copied per BMC).
func BenchmarkStartFleet100(b *testing.B) {
	for b.Loop() {
		f, err := emulator.StartFleet(b.Context(), emulator.FleetOptions{Count: 100})
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
