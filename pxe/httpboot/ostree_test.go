package httpboot_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/pxe/imagestore"
	"github.com/atoll-edge/atoll/pxe/pxetest"
)

// pathLog wraps a handler and records the paths and statuses it served.
type pathLog struct {
	h     http.Handler
	mu    sync.Mutex
	paths map[string]int // path -> status
	conns atomic.Int64
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

func (p *pathLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, code: 200}
	p.h.ServeHTTP(sw, r)
	p.mu.Lock()
	p.paths[r.URL.Path] = sw.code
	p.mu.Unlock()
}

func (p *pathLog) count(prefix string, code int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k, c := range p.paths {
		if strings.HasPrefix(k, prefix) && c == code {
			n++
		}
	}
	return n
}

func serveRepo(t *testing.T, spec pxetest.TreeSpec) (url, commit string, log *pathLog) {
	t.Helper()
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "src")
	commit = pxetest.OSTreeRepo(t, src, "atoll/os/x86_64", spec)
	store, err := imagestore.Open(t.TempDir(), imagestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.RegisterRepo(ctx, "os", "1", src); err != nil {
		t.Fatal(err)
	}
	if err := store.Verify(ctx, "os"); err != nil {
		t.Fatal(err)
	}
	h, err := httpboot.New(httpboot.Options{Images: store})
	if err != nil {
		t.Fatal(err)
	}
	log = &pathLog{h: h, paths: map[string]int{}}
	srv := httptest.NewUnstartedServer(log)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			log.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL + "/ostree/os", commit, log
}

func TestOSTreePull(t *testing.T) {
	url, commit, log := serveRepo(t, pxetest.TreeSpec{Files: 300, Bytes: 3 << 20, Seed: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	took, got := pxetest.PullOSTree(t, ctx, filepath.Join(t.TempDir(), "dst"), "archive", url, "atoll/os/x86_64")
	if got != commit {
		t.Fatalf("pulled commit %s, want %s", got, commit)
	}
	objects := log.count("/ostree/os/objects/", 200)
	if objects < 300 {
		t.Fatalf("pull fetched %d objects, want at least the 300 files", objects)
	}
	if log.count("/ostree/os/config", 200) != 1 || log.count("/ostree/os/summary", 200) < 1 {
		t.Fatalf("config or summary not served: %v", log.paths)
	}
	t.Logf("pulled %d objects over %d connections in %v", objects, log.conns.Load(), took)

	// Keep-alive: one curl fetching many objects uses one connection.
	var urls []string
	log.mu.Lock()
	for p, c := range log.paths {
		if strings.HasPrefix(p, "/ostree/os/objects/") && c == 200 && len(urls) < 50 {
			urls = append(urls, strings.TrimSuffix(url, "/ostree/os")+p)
		}
	}
	log.mu.Unlock()
	before := log.conns.Load()
	curl(t, append([]string{"-o", "/dev/null", "-o", "/dev/null"}, urls...)...)
	if c := log.conns.Load() - before; c != 1 {
		t.Errorf("curl fetching %d objects opened %d connections, want 1 (keep-alive)", len(urls), c)
	}

	// Content types and caching as a client sees them.
	_, h := curl(t, "-I", url+"/config")
	if !strings.HasPrefix(header(h, "Content-Type"), "text/plain") {
		t.Errorf("config Content-Type = %q", header(h, "Content-Type"))
	}
	obj := strings.TrimPrefix(firstPath(log, "/ostree/os/objects/", ".commit"), "/ostree/os")
	_, h = curl(t, "-I", url+obj)
	if header(h, "Content-Type") != "application/octet-stream" || !strings.Contains(header(h, "Cache-Control"), "immutable") {
		t.Errorf("%s: Content-Type %q Cache-Control %q", obj, header(h, "Content-Type"), header(h, "Cache-Control"))
	}
}

func firstPath(log *pathLog, prefix, suffix string) string {
	log.mu.Lock()
	defer log.mu.Unlock()
	for p := range log.paths {
		if strings.HasPrefix(p, prefix) && strings.HasSuffix(p, suffix) {
			return p
		}
	}
	return ""
}

func TestOSTreePullStaticDelta(t *testing.T) {
	url, commit, log := serveRepo(t, pxetest.TreeSpec{Files: 200, Bytes: 2 << 20, Seed: 2, StaticDelta: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, got := pxetest.PullOSTree(t, ctx, filepath.Join(t.TempDir(), "dst"), "bare-user", url, "atoll/os/x86_64")
	if got != commit {
		t.Fatalf("pulled commit %s, want %s", got, commit)
	}
	if n := log.count("/ostree/os/deltas/", 200); n < 2 {
		t.Fatalf("pull into bare-user fetched %d delta files (superblock and parts), want at least 2: %v", n, log.paths)
	}
}
