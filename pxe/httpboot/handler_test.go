package httpboot_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/pxe/imagestore"
	"github.com/atoll-edge/atoll/pxe/pxetest"
)

type fixture struct {
	srv     *httptest.Server
	store   *imagestore.FileStore
	reg     *prometheus.Registry
	image   []byte
	sum     string
	bootDir string
	mu      sync.Mutex
	reports []httpboot.HostStatus
}

func newFixture(t *testing.T, mutate func(*httpboot.Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{reg: prometheus.NewRegistry()}
	store, err := imagestore.Open(t.TempDir(), imagestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f.store = store
	f.image = make([]byte, 3<<20+17)
	for i := range f.image {
		f.image[i] = byte(i*7 + i>>11)
	}
	s := sha256.Sum256(f.image)
	f.sum = hex.EncodeToString(s[:])
	if _, err := store.Register(ctx, "disk.img", "1", bytes.NewReader(f.image), f.sum); err != nil {
		t.Fatal(err)
	}
	// A boot-file tree with a symbolic link pointing out of it and a
	// secret just outside it.
	top := t.TempDir()
	f.bootDir = filepath.Join(top, "boot")
	os.MkdirAll(filepath.Join(f.bootDir, "efi"), 0o755)
	os.WriteFile(filepath.Join(top, "secret"), []byte("SECRET"), 0o644)
	os.WriteFile(filepath.Join(f.bootDir, "efi", "ipxe.efi"), []byte("MZ-ipxe"), 0o644)
	os.Symlink("../secret", filepath.Join(f.bootDir, "escape"))
	os.Symlink("/etc/passwd", filepath.Join(f.bootDir, "passwd"))
	os.Symlink("efi/ipxe.efi", filepath.Join(f.bootDir, "inside.efi"))
	root, err := os.OpenRoot(f.bootDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	opts := httpboot.Options{
		Registerer: f.reg,
		Images:     store,
		BootFiles:  root,
		Hosts: httpboot.HostLookupFunc(func(ctx context.Context, mac net.HardwareAddr) (httpboot.Host, error) {
			if mac.String() != "52:54:00:12:34:56" {
				return httpboot.Host{}, httpboot.ErrUnknownHost
			}
			return httpboot.Host{Name: "subcloud1", Kernel: "vmlinuz", Initrds: []string{"initrd.img"}, Cmdline: "console=ttyS0,115200 quiet"}, nil
		}),
		Status: httpboot.StatusSinkFunc(func(ctx context.Context, s httpboot.HostStatus) error {
			if s.MAC.String() != "52:54:00:12:34:56" {
				return httpboot.ErrUnknownHost
			}
			f.mu.Lock()
			f.reports = append(f.reports, s)
			f.mu.Unlock()
			return nil
		}),
	}
	if mutate != nil {
		mutate(&opts)
	}
	h, err := httpboot.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// curl runs curl with args and returns stdout (body) and the response
// headers it dumped.
func curl(t *testing.T, args ...string) (body []byte, headers string) {
	t.Helper()
	bin := pxetest.Tool(t, "curl", "curl")
	hdr := filepath.Join(t.TempDir(), "headers")
	cmd := exec.Command(bin, append([]string{"-sS", "-D", hdr}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v %s", args, err, stderr.String())
	}
	h, _ := os.ReadFile(hdr)
	return out, string(h)
}

func statusLine(headers string) string {
	line, _, _ := strings.Cut(headers, "\r\n")
	return line
}

func header(headers, name string) string {
	for _, l := range strings.Split(headers, "\r\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestImageWithCurl(t *testing.T) {
	f := newFixture(t, nil)
	url := f.srv.URL + "/images/disk.img"

	body, h := curl(t, url)
	if !bytes.Equal(body, f.image) {
		t.Fatalf("GET body differs: %d bytes, want %d", len(body), len(f.image))
	}
	etag := header(h, "ETag")
	if etag != `"`+f.sum+`"` {
		t.Fatalf("ETag = %q, want the SHA-256", etag)
	}

	// Range: a middle slice and a suffix.
	body, h = curl(t, "-r", "1000-1999", url)
	if !strings.Contains(statusLine(h), "206") || !bytes.Equal(body, f.image[1000:2000]) {
		t.Fatalf("range: %s, %d bytes", statusLine(h), len(body))
	}
	if cr := header(h, "Content-Range"); cr != fmt.Sprintf("bytes 1000-1999/%d", len(f.image)) {
		t.Fatalf("Content-Range = %q", cr)
	}
	body, _ = curl(t, "-r", "-100", url)
	if !bytes.Equal(body, f.image[len(f.image)-100:]) {
		t.Fatalf("suffix range: %d bytes", len(body))
	}
	_, h = curl(t, "-r", fmt.Sprintf("%d-", len(f.image)+10), url)
	if !strings.Contains(statusLine(h), "416") {
		t.Fatalf("unsatisfiable range: %s", statusLine(h))
	}

	// Resume a partial download with curl -C.
	part := filepath.Join(t.TempDir(), "part")
	os.WriteFile(part, f.image[:12345], 0o644)
	pxetest.Run(t, context.Background(), "curl", "-sS", "-C", "-", "-o", part, url)
	if got, _ := os.ReadFile(part); !bytes.Equal(got, f.image) {
		t.Fatalf("resumed download differs")
	}

	// Conditional GET: matching ETag gives 304 without a body; another gives 200.
	body, h = curl(t, "-H", "If-None-Match: "+etag, url)
	if !strings.Contains(statusLine(h), "304") || len(body) != 0 {
		t.Fatalf("If-None-Match: %s, %d bytes", statusLine(h), len(body))
	}
	_, h = curl(t, "-H", `If-None-Match: "0000"`, url)
	if !strings.Contains(statusLine(h), "200") {
		t.Fatalf("non-matching If-None-Match: %s", statusLine(h))
	}
	// If-Range with the ETag honours the range; with another ETag sends it all.
	body, _ = curl(t, "-H", "If-Range: "+etag, "-r", "0-9", url)
	if !bytes.Equal(body, f.image[:10]) {
		t.Fatalf("If-Range match: %d bytes", len(body))
	}
	body, _ = curl(t, "-H", `If-Range: "other"`, "-r", "0-9", url)
	if len(body) != len(f.image) {
		t.Fatalf("If-Range mismatch: %d bytes", len(body))
	}

	// HEAD: headers, no body.
	body, h = curl(t, "-I", url)
	if len(body) == 0 || !strings.Contains(statusLine(h), "200") || header(h, "Content-Length") != fmt.Sprint(len(f.image)) {
		t.Fatalf("HEAD: %s, Content-Length %q", statusLine(h), header(h, "Content-Length"))
	}
	if header(h, "Accept-Ranges") != "bytes" {
		t.Fatalf("Accept-Ranges = %q", header(h, "Accept-Ranges"))
	}

	_, h = curl(t, f.srv.URL+"/images/missing")
	if !strings.Contains(statusLine(h), "404") {
		t.Fatalf("missing image: %s", statusLine(h))
	}
	_, h = curl(t, "-X", "DELETE", url)
	if !strings.Contains(statusLine(h), "405") || header(h, "Allow") != "GET, HEAD" {
		t.Fatalf("DELETE: %s", statusLine(h))
	}

	if n := testutil.ToFloat64(counter(t, f.reg, "atoll_pxe_http_requests_total", "route", "image", "code", "2xx")); n < 5 {
		t.Fatalf("requests_total{image,2xx} = %v", n)
	}
}

// counter reads one labelled series from a registry.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: name})
			c.Add(m.GetCounter().GetValue())
			return c
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return nil
}

func TestBootFiles(t *testing.T) {
	f := newFixture(t, nil)
	body, h := curl(t, f.srv.URL+"/boot/efi/ipxe.efi")
	if string(body) != "MZ-ipxe" || header(h, "Content-Type") != "application/efi" {
		t.Fatalf("ipxe.efi: %q %q", body, header(h, "Content-Type"))
	}
	// A link that stays inside the root is followed.
	if body, _ := curl(t, f.srv.URL+"/boot/inside.efi"); string(body) != "MZ-ipxe" {
		t.Fatalf("inside link: %q", body)
	}
	for _, p := range []string{"/boot/escape", "/boot/passwd", "/boot/efi", "/boot/efi/"} {
		body, h := curl(t, f.srv.URL+p)
		if !strings.Contains(statusLine(h), "404") || bytes.Contains(body, []byte("SECRET")) || bytes.Contains(body, []byte("root:")) {
			t.Errorf("%s: %s %q", p, statusLine(h), body)
		}
	}
}

// rawGet sends request-target verbatim (no client-side normalisation) and
// returns the status code and body.
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", target)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPathTraversal(t *testing.T) {
	f := newFixture(t, nil)
	// A repository to attack as well.
	repo := filepath.Join(t.TempDir(), "repo")
	os.MkdirAll(filepath.Join(repo, "objects", "ab"), 0o755)
	os.WriteFile(filepath.Join(repo, "config"), []byte("[core]\nmode=archive-z2\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "objects", "ab", "cd.commit"), []byte("commit"), 0o644)
	if _, err := f.store.RegisterRepo(context.Background(), "os", "1", repo); err != nil {
		t.Fatal(err)
	}
	addr := f.srv.Listener.Addr().String()
	if code, body := rawGet(t, addr, "/ostree/os/objects/ab/cd.commit"); code != 200 || body != "commit" {
		t.Fatalf("control request: %d %q", code, body)
	}
	if code, body := rawGet(t, addr, "/boot/efi/ipxe.efi"); code != 200 || body != "MZ-ipxe" {
		t.Fatalf("control request: %d %q", code, body)
	}
	attacks := []string{
		"/boot/../secret", "/boot/../../../../etc/passwd", "/boot/efi/../../secret",
		"/boot/%2e%2e/secret", "/boot/%2E%2E/secret", "/boot/.%2e/secret", "/boot/%2e./secret",
		"/boot/%252e%252e/secret", "/boot/%25252e%25252e/secret", "/boot/..%2fsecret", "/boot/..%2Fsecret",
		"/boot/%2e%2e%2fsecret", "/boot/..%252fsecret", "/boot/..\\secret", "/boot/..%5csecret", "/boot/%5c..%5csecret",
		"/boot/..%255csecret", "/boot/efi%00/ipxe.efi", "/boot/efi/ipxe.efi%00", "/boot/efi/ipxe.efi%00.png",
		"/boot//etc/passwd", "/boot/%2fetc%2fpasswd", "/boot/%2Fetc/passwd", "/boot///etc/passwd",
		"/boot/./efi/ipxe.efi", "/boot/efi/./ipxe.efi", "/boot/efi//ipxe.efi", "/boot/.", "/boot/..", "/boot/",
		"/boot/escape", "/boot/passwd", "/boot/%c0%ae%c0%ae/secret", "/boot/%e0%80%ae%e0%80%ae/secret",
		"/boot/..;/secret", "/boot/efi/ipxe.efi/..", "/boot/C:%5cWindows", "/boot/efi/ipxe.efi%20",
		"/ostree/os/../../../../etc/passwd", "/ostree/os/%2e%2e/%2e%2e/index.json", "/ostree/../index.json",
		"/ostree/%2e%2e/index.json", "/ostree/os/objects/../../os/config", "/ostree/os/objects/ab/..%2f..%2fconfig",
		"/ostree/os/tmp/x", "/ostree/os/state", "/ostree/os/objects", "/ostree/os/objects/", "/ostree/os/refs",
		"/ostree/os/.lock", "/ostree/os/config/", "/ostree/os//config",
		"/ostree/%2e%2e%2fblobs/x", "/ostree/os\\..\\config", "/images/../index.json", "/images/%2e%2e%2findex.json",
		"/images/..", "/images/.", "/images/%2e%2e", "/images/disk.img/..", "/images/..%00/disk.img",
		"/images/%252e%252e%252findex.json", "/ipxe/../../etc/passwd", "/ipxe/%2e%2e",
	}
	for _, a := range attacks {
		code, body := rawGet(t, addr, a)
		if code == 200 || strings.Contains(body, "SECRET") || strings.Contains(body, "root:") || strings.Contains(body, `"images"`) {
			t.Errorf("GET %s: %d %q", a, code, body)
		}
	}
	// Absolute-form request targets with traversal.
	for _, a := range []string{"http://test/boot/../secret", "http://test/boot/%2e%2e/secret", "//test/boot/../secret"} {
		if code, body := rawGet(t, addr, a); code == 200 || strings.Contains(body, "SECRET") {
			t.Errorf("GET %s: %d %q", a, code, body)
		}
	}
	// And curl with --path-as-is, which sends dot segments unchanged.
	for _, a := range []string{"/boot/../secret", "/boot/efi/../../secret", "/ostree/os/../../index.json"} {
		body, h := curl(t, "--path-as-is", f.srv.URL+a)
		if strings.Contains(statusLine(h), "200") || bytes.Contains(body, []byte("SECRET")) {
			t.Errorf("curl --path-as-is %s: %s %q", a, statusLine(h), body)
		}
	}
}

// TestWholeFile checks the plain-GET path (header, then sendfile; small
// bodies inline) against what http.ServeContent answers for the same file
// when the request carries a conditional header that sends it there.
func TestWholeFile(t *testing.T) {
	f := newFixture(t, nil)
	for _, path := range []string{"/images/disk.img", "/boot/efi/ipxe.efi"} {
		body, h := curl(t, f.srv.URL+path)
		// If-Modified-Since in the past: ServeContent answers 200 in full.
		viaServeContent, h2 := curl(t, "-H", "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT", f.srv.URL+path)
		if !bytes.Equal(body, viaServeContent) || len(body) == 0 {
			t.Errorf("%s: plain GET gave %d bytes, ServeContent %d", path, len(body), len(viaServeContent))
		}
		for _, name := range []string{"Content-Length", "Content-Type", "Last-Modified", "Accept-Ranges", "Cache-Control", "ETag"} {
			if a, b := header(h, name), header(h2, name); a != b || a == "" && name != "Cache-Control" && name != "ETag" {
				t.Errorf("%s: %s = %q on the plain path, %q through ServeContent", path, name, a, b)
			}
		}
		if got := header(h, "Content-Length"); got != fmt.Sprint(len(body)) {
			t.Errorf("%s: Content-Length %s for %d bytes", path, got, len(body))
		}
	}
}
