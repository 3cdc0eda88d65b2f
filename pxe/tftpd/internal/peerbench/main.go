// Command peerbench measures Atoll's TFTP server against tftpd-hpa, dnsmasq
// and atftpd in one run and prints a table of MiB/s with Atoll's ratio to the
// best peer. It serves one file of -size MiB to 1 and 20 concurrent clients:
// curl --tftp-blksize 1468 (lock-step) and atftp --option "windowsize 16"
// (RFC 7440). Atoll runs in this process; each peer runs as a child process
// on a high loopback port, or, for dnsmasq, which serves TFTP on port 69
// only, on port 69 inside a network namespace created for the run. Every
// figure is the median of -rounds rounds, servers interleaved within a round.
// Run it as root through `make bench-tftpd`.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/atoll-edge/atoll/pxe/tftpd"
)

const probeFile = "probe.bin"

type server struct {
	name string
	host string   // address clients connect to
	port int      // port clients connect to
	wrap []string // prefix for client commands (ip netns exec NS)
	stop func()
	cpu  func() time.Duration // CPU time the server has used so far
	prep func()               // called before each measurement, or nil
	own  bool                 // an Atoll configuration, not a peer
}

type bcase struct {
	name     string
	clients  int
	windowed bool // atftp with windowsize 16, else curl lock-step
}

func main() {
	size := flag.Int("size", 40, "file size in MiB")
	rounds := flag.Int("rounds", 3, "rounds per case; the median is printed")
	atftpd := flag.String("atftpd", "", "path to an atftpd binary (apt-get download atftpd; dpkg-deb -x); empty skips atftpd")
	clients := flag.String("clients", "1,20", "comma-separated concurrent client counts")
	anticipate := flag.Int("anticipate", 0, "Atoll's Options.Anticipate (0: the default)")
	procs := flag.String("gomaxprocs", "0,16", "comma-separated GOMAXPROCS values to run Atoll with, each as its own column (0: the runtime default)")
	only := flag.String("servers", "", "comma-separated servers to run (atoll,tftpd-hpa,dnsmasq,atftpd); empty runs all")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run (Atoll runs in this process) to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	log.SetFlags(0)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := runBench(ctx, *size, *rounds, *atftpd, *clients, *only, *procs, tftpd.Options{Anticipate: *anticipate}); err != nil {
		log.Print(err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func runBench(ctx context.Context, sizeMiB, rounds int, atftpdPath, clientList, only, procs string, opts tftpd.Options) error {
	for _, tool := range []string{"curl", "atftp"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: apt-get install -y curl atftp tftpd-hpa dnsmasq", tool)
		}
	}
	dir, err := os.MkdirTemp("", "atoll-tftpbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	const fileName = "image.img"
	size := int64(sizeMiB) << 20
	if err := writeRandom(filepath.Join(dir, fileName), size); err != nil {
		return err
	}
	if err := writeRandom(filepath.Join(dir, probeFile), 1000); err != nil {
		return err
	}

	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	want := func(name string) bool { return only == "" || slices.Contains(strings.Split(only, ","), name) }
	add := func(s *server, err error) {
		if err != nil {
			log.Printf("skipping a peer: %v", err)
			return
		}
		servers = append(servers, s)
	}
	if want("atoll") {
		s, err := startAtoll(ctx, dir, opts)
		add(s, err)
		if err == nil {
			// One server, measured once per GOMAXPROCS value: under
			// contention an OS thread holding a P can be preempted by a
			// client process, stalling that P's transfers for a time
			// slice; more Ps than cores, like a thread per transfer in
			// atftpd, soften that.
			def := runtime.GOMAXPROCS(0)
			first := true
			for _, f := range strings.Split(procs, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 0 {
					return fmt.Errorf("bad -gomaxprocs %q", procs)
				}
				n = cmp.Or(n, def)
				e := *s
				e.name = fmt.Sprintf("atoll P=%d", n)
				e.prep = func() { runtime.GOMAXPROCS(n) }
				if !first {
					e.stop = func() {}
				}
				first = false
				servers = append(servers, &e)
			}
			servers = slices.DeleteFunc(servers, func(x *server) bool { return x == s })
		}
	}
	if want("tftpd-hpa") {
		add(startHPA(ctx, dir))
	}
	if want("dnsmasq") {
		add(startDnsmasq(ctx, dir))
	}
	if atftpdPath != "" && want("atftpd") {
		add(startAtftpd(ctx, dir, atftpdPath))
	}

	var cases []bcase
	for _, c := range strings.Split(clientList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -clients %q", clientList)
		}
		cases = append(cases, bcase{fmt.Sprintf("curl blksize 1468, %d client(s)", n), n, false})
	}
	for _, c := range slices.Clone(cases) {
		cases = append(cases, bcase{fmt.Sprintf("atftp windowsize 16 blksize 1468, %d client(s)", c.clients), c.clients, true})
	}

	// results[case][server] = MiB/s per round
	results := make([]map[string][]float64, len(cases))
	cpus := make([]map[string][]float64, len(cases)) // server CPU ms per MiB served
	for i := range results {
		results[i] = map[string][]float64{}
		cpus[i] = map[string][]float64{}
	}
	for r := 0; r < rounds; r++ {
		for ci, c := range cases {
			for _, s := range servers {
				if c.windowed && !s.own && s.name != "atftpd" {
					continue // tftpd-hpa and dnsmasq do not implement RFC 7440
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if s.prep != nil {
					s.prep()
				}
				cpu0 := s.cpu()
				mibs, ccpu, err := measure(ctx, s, c, fileName, size)
				if err != nil {
					return fmt.Errorf("%s, %s: %w", s.name, c.name, err)
				}
				served := float64(int64(c.clients) * size >> 20)
				cpuPerMiB := float64((s.cpu() - cpu0).Microseconds()) / 1000 / served
				results[ci][s.name] = append(results[ci][s.name], mibs)
				cpus[ci][s.name] = append(cpus[ci][s.name], cpuPerMiB)
				log.Printf("round %d  %-50s %-10s %8.1f MiB/s  server %6.2f, clients %6.2f CPU ms/MiB",
					r+1, c.name, s.name, mibs, cpuPerMiB, float64(ccpu.Microseconds())/1000/served)
			}
		}
	}

	var names, own []string
	for _, s := range servers {
		names = append(names, s.name)
		if s.own {
			own = append(own, s.name)
		}
	}
	fmt.Printf("\nTFTP, %d MiB file, loopback, %d CPUs, median of %d rounds\n", sizeMiB, numCPU(), rounds)
	fmt.Println("\nThroughput, MiB/s (higher is better):")
	if err := table(cases, names, own, results, true); err != nil {
		return err
	}
	fmt.Println("\nServer CPU time, ms per MiB served (lower is better; tftpd-hpa's per-transfer children are not visible):")
	return table(cases, names, own, cpus, false)
}

// table prints one row per case with Atoll's ratio to the best peer.
func table(cases []bcase, names, own []string, results []map[string][]float64, higherBetter bool) error {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"case"}
	head = append(head, names...)
	head = append(head, "best peer")
	for _, o := range own {
		head = append(head, o+" vs best")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for ci, c := range cases {
		row := []string{c.name}
		best, bestName := 0.0, ""
		for _, n := range names {
			v, ok := median(results[ci][n])
			if !ok || v == 0 {
				row = append(row, "-")
				continue
			}
			row = append(row, fmt.Sprintf("%.1f", v))
			if !slices.Contains(own, n) && (bestName == "" || higherBetter && v > best || !higherBetter && v < best) {
				best, bestName = v, n
			}
		}
		row = append(row, cmp.Or(bestName, "-"))
		for _, o := range own {
			atoll, _ := median(results[ci][o])
			ratio := "-"
			if best > 0 && atoll > 0 {
				if higherBetter {
					ratio = fmt.Sprintf("%.2fx", atoll/best)
				} else {
					ratio = fmt.Sprintf("%.2fx less", best/atoll)
				}
			}
			row = append(row, ratio)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

// selfCPU is the CPU time of this process (Atoll's server runs in it; the
// client processes it starts are not counted: they are not reaped yet when
// it is read, and RUSAGE_SELF excludes children anyway).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads the CPU time of a process and its reaped children
// (tftpd-hpa forks one per transfer) from /proc.
func procCPU(pid int) func() time.Duration {
	return func() time.Duration {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		var ticks int64
		for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime, from field 3 on
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
		return time.Duration(ticks) * time.Second / 100 // USER_HZ
	}
}

// measure starts c.clients downloads at once and returns the aggregate MiB/s.
func measure(ctx context.Context, s *server, c bcase, file string, size int64) (float64, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, c.clients)
	clientCPU := make([]time.Duration, c.clients)
	start := time.Now()
	for i := range c.clients {
		wg.Go(func() {
			var args []string
			if c.windowed {
				args = []string{"atftp", "--get", "-r", file, "-l", "/dev/null",
					"--option", "windowsize 16", "--option", "blksize 1468", s.host, strconv.Itoa(s.port)}
			} else {
				args = []string{"curl", "-sS", "--tftp-blksize", "1468", "-o", "/dev/null", "-w", "%{size_download}",
					fmt.Sprintf("tftp://%s:%d/%s", s.host, s.port, file)}
			}
			args = append(slices.Clone(s.wrap), args...)
			cmd := exec.CommandContext(ctx, args[0], args[1:]...)
			out, err := cmd.CombinedOutput()
			if cmd.ProcessState != nil {
				clientCPU[i] = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("%s: %w: %s", args[len(s.wrap)], err, out)
			case !c.windowed && strings.TrimSpace(string(out)) != strconv.FormatInt(size, 10):
				errs[i] = fmt.Errorf("curl got %q bytes, want %d", out, size)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, 0, err
	}
	var cpu time.Duration
	for _, d := range clientCPU {
		cpu += d
	}
	return float64(int64(c.clients)*size) / (1 << 20) / elapsed.Seconds(), cpu, nil
}

func startAtoll(ctx context.Context, dir string, opts tftpd.Options) (*server, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	srv, err := tftpd.New(root.FS(), opts)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, conn) }()
	return &server{name: "atoll", own: true, host: "127.0.0.1", port: conn.LocalAddr().(*net.UDPAddr).Port, cpu: selfCPU, stop: func() {
		cancel()
		if err := <-done; err != nil {
			log.Printf("atoll Serve: %v", err)
		}
		conn.Close()
		root.Close()
	}}, nil
}

func startHPA(ctx context.Context, dir string) (*server, error) {
	bin, err := exec.LookPath("in.tftpd")
	if err != nil {
		return nil, errors.New("tftpd-hpa: in.tftpd not found (apt-get install -y tftpd-hpa; service tftpd-hpa stop)")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// in.tftpd forks a child per transfer whose CPU time does not reach
	// the parent's counters: its CPU column stays empty.
	stop, _, err := startProc(ctx, nil, bin, "--foreground", "--address", fmt.Sprintf("127.0.0.1:%d", port),
		"--user", "root", "--secure", dir)
	if err != nil {
		return nil, err
	}
	return ready(ctx, &server{name: "tftpd-hpa", host: "127.0.0.1", port: port, stop: stop, cpu: func() time.Duration { return 0 }})
}

func startAtftpd(ctx context.Context, dir, bin string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	stop, cpu, err := startProc(ctx, nil, bin, "--daemon", "--no-fork", "--port", strconv.Itoa(port),
		"--bind-address", "127.0.0.1", "--user", "root", "--group", "root", "--logfile", "/dev/null",
		"--maxthread", "100", dir)
	if err != nil {
		return nil, err
	}
	return ready(ctx, &server{name: "atftpd", host: "127.0.0.1", port: port, stop: stop, cpu: cpu})
}

// startDnsmasq runs dnsmasq's TFTP server on port 69 in a new network
// namespace: dnsmasq has no option for the TFTP port.
func startDnsmasq(ctx context.Context, dir string) (*server, error) {
	bin, err := exec.LookPath("dnsmasq")
	if err != nil {
		return nil, errors.New("dnsmasq not found (apt-get install -y dnsmasq; service dnsmasq stop)")
	}
	cleanupNetns()
	ns := fmt.Sprintf("atoll-tftpbench-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("dnsmasq: ip netns add: %v: %s", err, out)
	}
	delNS := func() { _ = exec.Command("ip", "netns", "del", ns).Run() }
	wrap := []string{"ip", "netns", "exec", ns}
	if out, err := exec.Command("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		delNS()
		return nil, fmt.Errorf("dnsmasq: lo up: %v: %s", err, out)
	}
	stop, cpu, err := startProc(ctx, wrap, bin, "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
		"--enable-tftp", "--tftp-root="+dir, "--listen-address=127.0.0.1", "--bind-interfaces",
		"--user=root", "--pid-file=", "--quiet-tftp", "--tftp-max=100", "--log-facility=/dev/null")
	if err != nil {
		delNS()
		return nil, err
	}
	return ready(ctx, &server{name: "dnsmasq", host: "127.0.0.1", port: 69, wrap: wrap, stop: func() { stop(); delNS() }, cpu: cpu})
}

// cleanupNetns removes namespaces left by runs that were killed.
func cleanupNetns() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		pid, ok := strings.CutPrefix(name, "atoll-tftpbench-")
		if !ok {
			continue
		}
		if p, err := strconv.Atoi(pid); err == nil && syscall.Kill(p, 0) == nil {
			continue // its run is alive
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
	}
}

// startProc starts a server process; stop kills it and waits.
func startProc(ctx context.Context, wrap []string, bin string, args ...string) (func(), func() time.Duration, error) {
	argv := append(slices.Clone(wrap), bin)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", bin, err)
	}
	return func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}, procCPU(cmd.Process.Pid), nil
}

// ready waits until s serves the probe file, or stops it.
func ready(ctx context.Context, s *server) (*server, error) {
	deadline := time.Now().Add(10 * time.Second)
	var out []byte
	for time.Now().Before(deadline) {
		argv := append(slices.Clone(s.wrap), "curl", "-sS", "--max-time", "2", "-o", "/dev/null",
			fmt.Sprintf("tftp://%s:%d/%s", s.host, s.port, probeFile))
		var err error
		if out, err = exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err == nil {
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("%s: not serving on port %d after 10 s: %s", s.name, s.port, out)
}

func freePort() (int, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

func numCPU() int {
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = strings.Count(string(b), "processor\t:")
	}
	return n
}
