package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/atoll-edge/atoll/pxe/imagestore"
	"github.com/atoll-edge/atoll/pxe/pxetest"
)

const (
	defaultWrkDuration = 3 * time.Second
	imageSize          = 40 << 20
	ref                = "atoll/bench/x86_64"
)

type benchConfig struct {
	rounds      int
	wrkDuration time.Duration
	pulls       int
	files       int
	bytes       int64
	keep        bool
}

// server is one HTTP server under test and the URLs of the shared content.
type server struct {
	name  string
	image string // URL of the 40 MiB image
	repo  string // URL of the OSTree repository
	stop  func()
}

type row struct {
	work, unit          string
	atoll, nginx, ratio float64
	higherBetter        bool
}

func run(ctx context.Context, cfg benchConfig) error {
	for tool, pkg := range map[string]string{"nginx": "nginx", "wrk": "wrk", "ostree": "ostree"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: apt-get install -y --no-install-recommends %s", tool, pkg)
		}
	}
	work, err := os.MkdirTemp("", "pxebench-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Println("work directory:", work)
	} else {
		defer os.RemoveAll(work)
	}

	// Content: a 40 MiB image and an OSTree archive repository with a
	// static delta from empty.
	www := filepath.Join(work, "www")
	os.MkdirAll(filepath.Join(www, "images"), 0o755)
	imgPath := filepath.Join(www, "images", "bench.img")
	if err := writeRandom(imgPath, imageSize); err != nil {
		return err
	}
	repo := filepath.Join(www, "ostree", "os")
	os.MkdirAll(filepath.Dir(repo), 0o755)
	fmt.Printf("building an OSTree repository (%d files, %d MiB of tree)...\n", cfg.files, cfg.bytes>>20)
	if err := buildRepo(ctx, work, repo, cfg); err != nil {
		return err
	}
	repoBytes, objects := dirStats(filepath.Join(repo, "objects"))

	storeDir := filepath.Join(work, "store")
	store, err := imagestore.Open(storeDir, imagestore.Options{})
	if err != nil {
		return err
	}
	f, _ := os.Open(imgPath)
	_, err = store.Register(ctx, "bench.img", "1", f, "")
	f.Close()
	if err == nil {
		_, err = store.RegisterRepo(ctx, "os", "1", repo)
	}
	store.Close()
	if err != nil {
		return err
	}

	atoll, err := startAtoll(ctx, storeDir)
	if err != nil {
		return err
	}
	defer atoll.stop()
	nginx, err := startNginx(ctx, work, www)
	if err != nil {
		return err
	}
	defer nginx.stop()
	for _, s := range []server{atoll, nginx} {
		if err := checkSame(s.image, imgPath); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}

	// Figures on these shared machines swing by tens of percent from one
	// second to the next, so each figure is the median of cfg.rounds
	// short runs that alternate the servers (ABBA order), and the ratio
	// is the median of the per-round ratios: both servers see the same
	// weather.
	var rows []row
	order := func(round int) []server {
		if round%2 == 0 {
			return []server{atoll, nginx}
		}
		return []server{nginx, atoll}
	}
	for _, c := range []int{1, 50, 200} {
		r := row{work: fmt.Sprintf("40 MiB image, wrk c=%d", c), unit: "MiB/s", higherBetter: true}
		var ta, tn []float64
		for round := range cfg.rounds {
			for _, s := range order(round) {
				mibs, err := wrk(ctx, s.image, c, cfg.wrkDuration)
				if err != nil {
					return fmt.Errorf("wrk %s: %w", s.name, err)
				}
				if s.name == "atoll" {
					ta = append(ta, mibs)
				} else {
					tn = append(tn, mibs)
				}
			}
		}
		r.atoll, r.nginx, r.ratio = median(ta), median(tn), medianRatio(ta, tn)
		fmt.Printf("  %-28s atoll %8.0f  nginx %8.0f MiB/s (runs: atoll %v, nginx %v)\n", r.work, r.atoll, r.nginx, ints(ta), ints(tn))
		rows = append(rows, r)
	}
	for _, mode := range []string{"archive", "bare-user"} {
		name := fmt.Sprintf("ostree pull, %.0f MB, %d objects", float64(repoBytes)/1e6, objects)
		if mode == "bare-user" {
			name = "ostree pull via static delta (bare-user)"
		}
		var ta, tn []float64
		for round := range cfg.pulls {
			for _, s := range order(round) {
				d, err := pull(ctx, work, s.repo, mode)
				if err != nil {
					return fmt.Errorf("pull from %s: %w", s.name, err)
				}
				if s.name == "atoll" {
					ta = append(ta, d.Seconds())
				} else {
					tn = append(tn, d.Seconds())
				}
			}
		}
		// For times, above 1 means atoll took less time.
		r := row{work: name, unit: "s", atoll: median(ta), nginx: median(tn), ratio: medianRatio(tn, ta)}
		fmt.Printf("  %-28s atoll %8.2f  nginx %8.2f s (runs: atoll %v, nginx %v)\n", r.work, r.atoll, r.nginx, secs(ta), secs(tn))
		rows = append(rows, r)
	}

	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "work\tatoll\tnginx\tunit\tatoll vs nginx\t")
	for _, r := range rows {
		ratio := r.ratio
		verdict := "faster"
		if ratio < 1 {
			verdict = "slower"
		}
		prec := 0
		if r.unit == "s" {
			prec = 2
		}
		fmt.Fprintf(tw, "%s\t%.*f\t%.*f\t%s\t%.2fx (%s)\t\n", r.work, prec, r.atoll, prec, r.nginx, r.unit, ratio, verdict)
	}
	tw.Flush()
	fmt.Printf("ratio: median over %d alternating rounds of throughput atoll/nginx, for times nginx/atoll (above 1 = atoll better). Servers: 2 threads each, loopback.\n", cfg.rounds)
	return nil
}

func secs(v []float64) []string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.FormatFloat(x, 'f', 2, 64))
	}
	return s
}

func ints(v []float64) []string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.FormatFloat(x, 'f', 0, 64))
	}
	return s
}

// medianRatio is the median of a[i]/b[i].
func medianRatio(a, b []float64) float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = a[i] / b[i]
	}
	return median(r)
}

// median is the middle value of v, or the mean of the two middle values.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func writeRandom(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, n); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func buildRepo(ctx context.Context, work, repo string, cfg benchConfig) error {
	tree := filepath.Join(work, "tree")
	if err := pxetest.WriteTree(tree, pxetest.TreeSpec{Files: cfg.files, Bytes: cfg.bytes, Seed: 42}); err != nil {
		return err
	}
	defer os.RemoveAll(tree)
	steps := [][]string{
		{"--repo=" + repo, "init", "--mode=archive"},
		{"--repo=" + repo, "commit", "--branch=" + ref, "--subject=bench", "--owner-uid=0", "--owner-gid=0", "--tree=dir=" + tree},
		{"--repo=" + repo, "static-delta", "generate", "--empty", "--to=" + ref},
		{"--repo=" + repo, "summary", "-u"},
	}
	for _, a := range steps {
		if out, err := exec.CommandContext(ctx, "ostree", a...).CombinedOutput(); err != nil {
			return fmt.Errorf("ostree %s: %v\n%s", strings.Join(a, " "), err, out)
		}
	}
	return nil
}

func dirStats(dir string) (size int64, files int) {
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
			files++
		}
		return nil
	})
	return size, files
}

func startAtoll(ctx context.Context, storeDir string) (server, error) {
	self, err := os.Executable()
	if err != nil {
		return server{}, err
	}
	cmd := exec.CommandContext(ctx, self, "-serve", storeDir)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return server{}, err
	}
	if err := cmd.Start(); err != nil {
		return server{}, err
	}
	stop := func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTEN ")
	if err != nil || !ok {
		stop()
		return server{}, fmt.Errorf("atoll server did not start: %q %v", line, err)
	}
	base := "http://" + addr
	return server{name: "atoll", image: base + "/images/bench.img", repo: base + "/ostree/os", stop: stop}, nil
}

func startNginx(ctx context.Context, work, www string) (server, error) {
	dir := filepath.Join(work, "nginx")
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free high port
	if err != nil {
		return server{}, err
	}
	addr := ln.Addr().String()
	ln.Close()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the files live in a private temporary directory
	}
	conf := fmt.Sprintf(`%s
worker_processes 2;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	keepalive_requests 100000;
	default_type application/octet-stream;
	client_body_temp_path %[2]s/tmp/body;
	proxy_temp_path %[2]s/tmp/proxy;
	fastcgi_temp_path %[2]s/tmp/fastcgi;
	uwsgi_temp_path %[2]s/tmp/uwsgi;
	scgi_temp_path %[2]s/tmp/scgi;
	server {
		listen %[3]s;
		root %[4]s;
	}
}
`, user, dir, addr, www)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return server{}, err
	}
	cmd := exec.CommandContext(ctx, "nginx", "-c", confPath, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return server{}, err
	}
	stop := func() { cmd.Process.Signal(syscall.SIGQUIT); cmd.Wait() }
	base := "http://" + addr
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			stop()
			return server{}, fmt.Errorf("nginx did not start: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return server{name: "nginx", image: base + "/images/bench.img", repo: base + "/ostree/os", stop: stop}, nil
}

func checkSame(url, path string) error {
	out, err := exec.Command("curl", "-sSf", "-o", "/dev/null", "-w", "%{size_download}", url).Output()
	if err != nil {
		return fmt.Errorf("GET %s: %v", url, err)
	}
	fi, _ := os.Stat(path)
	if strings.TrimSpace(string(out)) != strconv.FormatInt(fi.Size(), 10) {
		return fmt.Errorf("GET %s: %s bytes, want %d", url, out, fi.Size())
	}
	return nil
}

// wrk runs wrk against url with c connections and returns MiB/s.
func wrk(ctx context.Context, url string, c int, d time.Duration) (float64, error) {
	threads := min(c, 2)
	out, err := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(c),
		"-d", fmt.Sprintf("%ds", int(d.Seconds())), url).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	_, rate, ok := strings.Cut(string(out), "Transfer/sec:")
	f := strings.Fields(rate)
	if !ok || len(f) == 0 {
		return 0, fmt.Errorf("no Transfer/sec in wrk output: %s", out)
	}
	num := strings.TrimRight(f[0], "KMGB")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("bad Transfer/sec %q", f[0])
	}
	switch f[0][len(num):] {
	case "B":
		v /= 1 << 20
	case "KB":
		v /= 1 << 10
	case "GB":
		v *= 1 << 10
	}
	if bytes.Contains(out, []byte("Non-2xx")) {
		return 0, fmt.Errorf("wrk saw errors: %s", out)
	}
	return v, nil
}

// pull times `ostree pull` of ref from url into a fresh repository.
func pull(ctx context.Context, work, url, mode string) (time.Duration, error) {
	dst, err := os.MkdirTemp(work, "pull-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dst)
	for _, a := range [][]string{{"init", "--mode=" + mode}, {"remote", "add", "--no-gpg-verify", "origin", url}} {
		if out, err := exec.CommandContext(ctx, "ostree", append([]string{"--repo=" + dst}, a...)...).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("%v: %s", err, out)
		}
	}
	start := time.Now()
	out, err := exec.CommandContext(ctx, "ostree", "--repo="+dst, "pull", "origin", ref).CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	return d, nil
}
