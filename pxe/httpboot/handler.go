package httpboot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atoll-edge/atoll/pxe/imagestore"
)

// ImageSource is what the handler needs from an image store.
// [*imagestore.FileStore] implements it.
type ImageSource interface {
	// OpenImage opens the single-file image called name; the caller closes it.
	OpenImage(ctx context.Context, name string) (*os.File, imagestore.Image, error)
	// OpenRepo returns a root on the OSTree repository called name. The
	// root stays owned by the source.
	OpenRepo(ctx context.Context, name string) (*os.Root, imagestore.Image, error)
}

// Options configure a [Handler]. The zero value serves nothing but 404s.
type Options struct {
	// Logger receives request errors and host status events. Default: discard.
	Logger *slog.Logger
	// Registerer receives the handler's metrics. Default: none.
	Registerer prometheus.Registerer
	// Images serves /images/{name} and /ostree/{repo}/... when set.
	Images ImageSource
	// BootFiles serves /boot/{path} (UEFI HTTP boot: ipxe.efi, snponly.efi,
	// ...) when set. The root stays owned by the caller.
	BootFiles *os.Root
	// Hosts serves per-host iPXE scripts under /ipxe/{mac} when set.
	Hosts HostLookup
	// Script renders the iPXE scripts. Default: [DefaultScript].
	Script *template.Template
	// Status receives the reports booted hosts POST to
	// /v1/hosts/{mac}/status. Without it that route answers 404.
	Status StatusSink
	// BaseURL is the external address of this handler (for example
	// "http://10.0.0.1:8080") used in scripts. Default: the request's
	// scheme and Host header.
	BaseURL string
	// Now is the clock stamping host status reports. Default: time.Now.
	Now func() time.Time
}

// Handler is the HTTP boot [http.Handler]: images, UEFI boot files, iPXE
// scripts, OSTree repositories and the host status callback. Create it
// with [New]; it is safe for concurrent use.
type Handler struct {
	opts    Options
	log     *slog.Logger
	script  *template.Template
	metrics *metrics
	hv      headerValues
	pool    sync.Pool // *recorder
	opener  beneathOpener
}

// New returns a Handler serving what opts configure. It fails only when
// the metrics cannot be registered.
func New(opts Options) (*Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Script == nil {
		opts.Script = newDefaultScript()
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	h := &Handler{opts: opts, log: opts.Logger, script: opts.Script, metrics: m, hv: newHeaderValues()}
	h.pool.New = func() any { return new(recorder) }
	return h, nil
}

// Route prefixes served by the handler.
const (
	PathImages = imagestore.HTTPPath // GET, HEAD /images/{name}
	PathBoot   = "/boot/"            // GET, HEAD /boot/{path}
	PathIPXE   = "/ipxe/"            // GET /ipxe/{mac}[.ipxe]
	PathOSTree = "/ostree/"          // GET, HEAD /ostree/{repo}/{path}
	PathHosts  = "/v1/hosts/"        // POST /v1/hosts/{mac}/status
)

// ServeHTTP routes a request by its path prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := h.pool.Get().(*recorder)
	rec.ResponseWriter, rec.code, rec.n = w, 0, 0
	p := r.URL.Path
	rt := routeNotFound
	switch {
	case strings.HasPrefix(p, PathOSTree):
		rt = routeOSTree
		h.serveOSTree(rec, r, p[len(PathOSTree):])
	case strings.HasPrefix(p, PathImages):
		rt = routeImage
		h.serveImage(rec, r, p[len(PathImages):])
	case strings.HasPrefix(p, PathBoot):
		rt = routeBoot
		h.serveBootFile(rec, r, p[len(PathBoot):])
	case strings.HasPrefix(p, PathIPXE):
		rt = routeScript
		h.serveScript(rec, r, p[len(PathIPXE):])
	case strings.HasPrefix(p, PathHosts):
		rt = routeStatus
		h.serveStatus(rec, r, p[len(PathHosts):])
	default:
		http.NotFound(rec, r)
	}
	h.metrics.observe(rt, rec.code, rec.n, time.Since(start))
	rec.ResponseWriter = nil
	h.pool.Put(rec)
}

// recorder captures the status code and body size while keeping the
// io.ReaderFrom fast path (sendfile) of the underlying writer.
type recorder struct {
	http.ResponseWriter
	code int
	n    int64
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.n += int64(n)
	return n, err
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(r.ResponseWriter, src)
	}
	r.n += n
	return n, err
}

// Unwrap lets [http.ResponseController] reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func methodGetHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// storeError answers for an error from the image source.
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, imagestore.ErrNotFound), errors.Is(err, imagestore.ErrInvalidName), errors.Is(err, os.ErrNotExist):
		http.NotFound(w, r)
	default:
		h.log.Error("image store failed", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// baseURL is the external URL of the handler as seen by this request.
func (h *Handler) baseURL(r *http.Request) string {
	if h.opts.BaseURL != "" {
		return h.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ScriptURL returns the URL of the iPXE script for mac under base, the form
// to give a DHCP server: for example ScriptURL("http://10.0.0.1", "{mac}")
// for a template, or a concrete MAC.
func ScriptURL(base, mac string) string {
	return strings.TrimSuffix(base, "/") + PathIPXE + mac
}

// BootFileURL returns the URL of a file under Options.BootFiles, the form
// a DHCP server hands to UEFI HTTP boot clients (for example
// BootFileURL("http://10.0.0.1", "ipxe.efi")).
func BootFileURL(base, path string) string {
	return strings.TrimSuffix(base, "/") + PathBoot + strings.TrimPrefix(path, "/")
}

// StatusURL returns the URL a booted host POSTs its status to.
func StatusURL(base string, mac net.HardwareAddr) string {
	return fmt.Sprintf("%s%s%s/status", strings.TrimSuffix(base, "/"), PathHosts, mac)
}
