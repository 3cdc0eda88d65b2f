package redfish_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish"
	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
	"golang.org/x/sync/errgroup"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// procStatusKiB reads a "VmHWM:"-style line of /proc/self/status.
func procStatusKiB(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// countingTransport counts one BMC's requests by kind.
type countingTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	kinds map[string]int
	total int
	trace func(format string, args ...any)
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.kinds[req.Method+" "+req.URL.Path]++
	c.total++
	c.mu.Unlock()
	if c.trace == nil {
		return c.next.RoundTrip(req)
	}
	start := time.Now()
	resp, err := c.next.RoundTrip(req)
	c.trace("%s %s %v", req.Method, req.URL.Path, time.Since(start).Round(time.Microsecond))
	return resp, err
}

// minimumRequests lists the requests a remote install of a factory-fresh
// host (powered off, CD slot empty) needs at the least, for a new process
// that knows only the BMC's address, on a BMC that keeps its virtual media
// under the Manager and inserts without a task (the generic profile):
//
//	GET  /redfish/v1                      service root: where Systems and Sessions are
//	POST /redfish/v1/SessionService/Sessions  log in
//	GET  /redfish/v1/Systems              which system
//	GET  /redfish/v1/Systems/1            power state, boot, Reset target, manager link
//	GET  /redfish/v1/Managers/1           where the VirtualMedia collection is
//	GET  .../VirtualMedia                 which slots
//	GET  .../VirtualMedia/CD1             the CD slot: media types, empty, InsertMedia target
//	POST .../CD1/Actions/VirtualMedia.InsertMedia
//	PATCH /redfish/v1/Systems/1           boot once from Cd
//	POST .../ComputerSystem.Reset On      power on
//	DELETE session                        log out
//
// Eleven. It skips every confirmation: reading the slot back after the
// insert (the BMC fetches the image after answering) and re-reading state
// at the start of the install, which a resumable flow must do.
var minimumRequests = []string{
	"GET root", "POST session", "GET systems", "GET system", "GET manager", "GET media collection",
	"GET CD slot", "POST InsertMedia", "PATCH boot", "POST Reset On", "DELETE session",
}

// BenchmarkRemoteInstallFleet installs BENCH_REDFISH_BMCS emulated BMCs
// (1,000 under make bench-redfish; 100 when unset, for a quick go test
// -bench run), each on its own 127.0.0.1 listener over HTTPS, with
// BENCH_REDFISH_LIMIT installs in flight (default 100), in one process:
// Dial, RemoteInstall, Close per BMC. The image is small
// (BENCH_REDFISH_IMAGE_KIB, default 64 KiB): each emulated BMC fetches it
// on insert, so the figure measures the control flow, not image transfer.
func BenchmarkRemoteInstallFleet(b *testing.B) {
	n := envInt("BENCH_REDFISH_BMCS", 100)
	limit := envInt("BENCH_REDFISH_LIMIT", 100)
	imgKiB := envInt("BENCH_REDFISH_IMAGE_KIB", 64)
	profile := emulator.Profile(os.Getenv("BENCH_REDFISH_PROFILE"))
	if profile == "" {
		profile = emulator.ProfileGeneric
	}
	img := redfishtest.ServeImage(b, "bench.iso", int64(imgKiB)<<10)
	rssBefore := procStatusKiB("VmRSS")

	for range b.N {
		b.StopTimer()
		var installed sync.Map // BMC name -> true
		ctx, cancel := context.WithCancel(context.Background())
		fleet, err := emulator.StartFleet(ctx, emulator.FleetOptions{
			Count: n,
			TLS:   true,
			Options: emulator.Options{
				Profile: profile,
				OnBoot: func(ev emulator.BootEvent) {
					if ev.Image == img.URL {
						installed.Store(ev.BMC, true)
					}
				},
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		members := fleet.Members()
		rssFleet := procStatusKiB("VmRSS")
		counters := make([]*countingTransport, n)
		var failed atomic.Int64
		b.StartTimer()
		start := time.Now()
		cpuStart := cpuTime()

		g := new(errgroup.Group)
		g.SetLimit(limit)
		for i, m := range members {
			ct := &countingTransport{kinds: map[string]int{}}
			if i == 0 && os.Getenv("BENCH_REDFISH_TRACE") != "" {
				ct.trace = b.Logf
			}
			counters[i] = ct
			name := fmt.Sprintf("bmc-%d", i)
			g.Go(func() error {
				ictx, icancel := context.WithTimeout(ctx, 5*time.Minute)
				defer icancel()
				opts := redfish.Options{
					RootCAs:      fleet.CertPool(),
					PollInterval: 50 * time.Millisecond,
					SettleDelay:  -1,
					WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
						ct.next = rt
						return ct
					},
				}
				c, err := redfish.Dial(ictx, redfish.Endpoint{Address: m.URL, Username: "admin", Password: "password"}, opts)
				if err != nil {
					failed.Add(1)
					return fmt.Errorf("%s: %w", name, err)
				}
				defer c.Close(ictx)
				return redfish.RemoteInstall(ictx, c, redfish.InstallSpec{
					ImageURL: img.URL,
					BootMode: redfish.BootUEFI,
					Complete: func(context.Context) (bool, error) {
						_, ok := installed.Load(name)
						return ok, nil
					},
				}, redfish.InstallOptions{PollInterval: 50 * time.Millisecond, OnEvent: func(ev redfish.Event) {
					if i == 0 && os.Getenv("BENCH_REDFISH_TRACE") != "" {
						b.Logf("%s %s %s", ev.At.Format("15:04:05.000"), ev.Step, ev.State)
					}
				}})
			})
		}
		err = g.Wait()
		wall := time.Since(start)
		cpu := cpuTime() - cpuStart
		b.StopTimer()
		// Close the clients' sessions before the fleet goes (deferred above).
		cancel()
		if cerr := fleet.Close(); cerr != nil {
			b.Logf("fleet close: %v", cerr)
		}
		if err != nil {
			b.Fatalf("%d of %d installs failed; first: %v", failed.Load(), n, err)
		}
		done := 0
		installed.Range(func(any, any) bool { done++; return true })
		if done != n {
			b.Fatalf("%d of %d hosts booted the image", done, n)
		}

		totals := make([]int, n)
		for i, ct := range counters {
			totals[i] = ct.total
		}
		sort.Ints(totals)
		sum := 0
		for _, t := range totals {
			sum += t
		}
		mean := float64(sum) / float64(n)
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(n)/wall.Seconds(), "installs/s")
		b.ReportMetric(float64(procStatusKiB("VmHWM"))/1024, "peak-RSS-MiB")
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/install")
		b.ReportMetric(mean, "req/BMC")
		b.ReportMetric(float64(len(minimumRequests)), "min-req/BMC")
		b.Logf("profile %s, %d BMCs over TLS, %d in flight, image %d KiB: wall %v, process CPU %v (client and emulators), RSS before fleet %d MiB, with the idle fleet %d MiB, peak %d MiB",
			profile, n, limit, imgKiB, wall.Round(time.Millisecond), cpu.Round(time.Millisecond), rssBefore/1024, rssFleet/1024, procStatusKiB("VmHWM")/1024)
		b.Logf("requests per BMC: min %d, median %d, max %d, mean %.2f; the flow's minimum is %d (%s)",
			totals[0], totals[n/2], totals[n-1], mean, len(minimumRequests), strings.Join(minimumRequests, ", "))
		kinds := make([]string, 0, len(counters[0].kinds))
		for k, v := range counters[0].kinds {
			kinds = append(kinds, fmt.Sprintf("%dx %s", v, k))
		}
		sort.Strings(kinds)
		b.Logf("bmc-0 sent: %s", strings.Join(kinds, "; "))
	}
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
