package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/client"
	"github.com/atoll-edge/atoll/internal/pgtest"
)

// TestScaleBench is the dc API scale run behind `make bench-dc`: it starts
// the daemon as a process (SQLite on disk), adds subclouds through the
// typed client over loopback with some concurrency, and reports adds/s,
// full-list latency at 1,000 and at N subclouds, and the daemon's memory.
// ATOLL_BENCH_DC sets N (make bench-dcapi uses 10000); without it the run
// is a 1,000-subcloud correctness check (every add listed, nothing
// duplicated) whose figures are printed but judge nothing: timings are
// benchmarks' business, not tests'. ATOLL_BENCH_DC_STORE=postgres runs it
// on a PostgreSQL server started for the run (internal/pgtest) instead.
func TestScaleBench(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon as a process; skipped with -short")
	}
	nStr := os.Getenv("ATOLL_BENCH_DC")
	if nStr == "" {
		nStr = "1000"
	}
	total, err := strconv.Atoi(nStr)
	if err != nil || total < 1000 {
		t.Fatalf("ATOLL_BENCH_DC=%q: want a number >= 1000", nStr)
	}
	const (
		adders   = 8
		listRuns = 7
		target   = 100 * time.Millisecond
	)
	bin := buildDaemon(t)
	dataDir := t.TempDir()
	// No deploy phases: adds/s measures the API and the store, not the
	// simulated pipeline (which costs a dozen store writes per subcloud).
	args := []string{"--phases", "none", "--log-level", "warn"}
	storeName := "SQLite on disk"
	switch kind := os.Getenv("ATOLL_BENCH_DC_STORE"); kind {
	case "", "sqlite":
	case "postgres":
		dsn, err := pgtest.Start(t).NewDatabase(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, "--database", dsn)
		storeName = "PostgreSQL 15 (private server, unix socket, fsync off)"
	default:
		t.Fatalf("ATOLL_BENCH_DC_STORE=%q: want sqlite or postgres", kind)
	}
	d := startDaemon(t, bin, dataDir, args...)
	c := d.client(t)
	ctx := context.Background()

	var next atomic.Int64
	addUpTo := func(n int) (time.Duration, error) {
		start := time.Now()
		g, gctx := errgroup.WithContext(ctx)
		for range adders {
			g.Go(func() error {
				for {
					i := int(next.Add(1))
					if i > n {
						return nil
					}
					name := fmt.Sprintf("edge-%05d", i)
					_, err := c.AddSubcloud(gctx, client.AddRequest{
						BootstrapAddress: fmt.Sprintf("127.%d.%d.%d", i>>16&255, i>>8&255, i&255),
						BootstrapValues:  scaleBootstrap(name, i),
					})
					if err != nil {
						return fmt.Errorf("%s: %w", name, err)
					}
				}
			})
		}
		err := g.Wait()
		next.Store(int64(n))
		return time.Since(start), err
	}
	waitComplete := func(n int) {
		waitFor(t, fmt.Sprintf("%d deploys complete", n), 5*time.Minute, func() (bool, error) {
			subs, err := c.Subclouds(ctx)
			if err != nil {
				return false, err
			}
			if len(subs) != n {
				return false, fmt.Errorf("%d subclouds listed, want %d", len(subs), n)
			}
			for _, s := range subs {
				if s.DeployStatus != dc.Complete {
					return false, nil
				}
			}
			return true, nil
		})
	}
	// listLatency times full GETs of /v1.0/subclouds, read to the last byte
	// into a buffer of the right size: the first (cold encode cache) and
	// the median of the rest, and the body size.
	hc := &http.Client{}
	listLatency := func(n int) (cold, median time.Duration, size int) {
		var times []time.Duration
		for run := range listRuns + 1 {
			req, _ := http.NewRequest("GET", d.url+"/v1.0/subclouds", nil)
			req.Header.Set("X-Auth-Token", d.token)
			buf := bytes.NewBuffer(make([]byte, 0, size+64<<10))
			start := time.Now()
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, err = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("list: %d %v", resp.StatusCode, err)
			}
			if got := bytes.Count(buf.Bytes(), []byte(`"management-state"`)); got != n {
				t.Fatalf("list returned %d subclouds, want %d", got, n)
			}
			size = buf.Len()
			if run == 0 {
				cold = took
				continue
			}
			times = append(times, took)
		}
		slices.Sort(times)
		return cold, times[len(times)/2], size
	}
	clientList := func() time.Duration {
		var times []time.Duration
		for range listRuns {
			start := time.Now()
			if _, err := c.Subclouds(ctx); err != nil {
				t.Fatal(err)
			}
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		return times[len(times)/2]
	}

	first := total / 10 // 1,000 of the 10,000 of make bench-dcapi
	d1, err := addUpTo(first)
	if err != nil {
		t.Fatal(err)
	}
	waitComplete(first)
	c1, l1, size1 := listLatency(first)
	d2, err := addUpTo(total)
	if err != nil {
		t.Fatal(err)
	}
	waitComplete(total)
	c2, l2, size2 := listLatency(total)
	cl2 := clientList()
	rss, hwm := procMemory(t, d.cmd.Process.Pid)

	rows := [][2]string{
		{fmt.Sprintf("adds/s, 0 -> %d (%d concurrent adders)", first, adders), fmt.Sprintf("%.0f", float64(first)/d1.Seconds())},
		{fmt.Sprintf("adds/s, %d -> %d", first, total), fmt.Sprintf("%.0f", float64(total-first)/d2.Seconds())},
		{fmt.Sprintf("GET /v1.0/subclouds, %d subclouds: median of %d (first)", first, listRuns), fmt.Sprintf("%.1f ms (%.1f ms), %.1f MB", ms(l1), ms(c1), float64(size1)/1e6)},
		{fmt.Sprintf("GET /v1.0/subclouds, %d subclouds: median of %d (first)", total, listRuns), fmt.Sprintf("%.1f ms (%.1f ms), %.1f MB; target < %d ms", ms(l2), ms(c2), float64(size2)/1e6, target.Milliseconds())},
		{fmt.Sprintf("typed client Subclouds() incl. JSON decode, %d", total), fmt.Sprintf("%.1f ms", ms(cl2))},
		{"controller RSS now / peak (VmRSS / VmHWM)", fmt.Sprintf("%.0f / %.0f MiB", rss, hwm)},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\ndc API scale: systemcontroller process (--phases none), %s, loopback HTTP, typed client\n", storeName)
	w := 0
	for _, r := range rows {
		w = max(w, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s  %s\n", w, r[0], r[1])
	}
	verdict := "met"
	if l2 > target {
		verdict = "MISSED"
	}
	fmt.Fprintf(&b, "  list target (< %d ms at %d): %s\n", target.Milliseconds(), total, verdict)
	fmt.Print(b.String())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// procMemory reads VmRSS and VmHWM (MiB) of a process.
func procMemory(t *testing.T, pid int) (rss, hwm float64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) < 1 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[0], 64)
		switch k {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

// scaleBootstrap gives subcloud i its own /26 management subnet in 10/8.
func scaleBootstrap(name string, i int) []byte {
	base := i * 64
	a, b, c := base>>16&255, base>>8&255, base&255
	return fmt.Appendf(nil, `name: %s
system_mode: simplex
management_subnet: 10.%d.%d.%d/26
management_start_address: 10.%d.%d.%d
management_end_address: 10.%d.%d.%d
management_gateway_address: 10.%d.%d.%d
systemcontroller_gateway_address: 192.168.204.101
`, name, a, b, c, a, b, c+10, a, b, c+50, a, b, c+1)
}
