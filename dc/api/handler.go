package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atoll-edge/atoll/dc"
)

// Service is what the handler needs of a *dc.Manager: the operations behind
// the routes, nothing else.
type Service interface {
	AddSubcloud(ctx context.Context, req dc.AddRequest) (*dc.Subcloud, error)
	Subcloud(ctx context.Context, ref string) (*dc.Subcloud, error)
	Subclouds(ctx context.Context, opts ...dc.ListOption) ([]*dc.Subcloud, error)
	UpdateSubcloud(ctx context.Context, ref string, req dc.UpdateRequest) (*dc.Subcloud, error)
	DeleteSubcloud(ctx context.Context, ref string) (*dc.Subcloud, error)
	ResumeDeployWith(ctx context.Context, ref string, req dc.ResumeRequest) (*dc.Subcloud, error)
	AbortDeploy(ctx context.Context, ref string) (*dc.Subcloud, error)
	DeployLog(ctx context.Context, ref string) ([]dc.LogEntry, error)

	CreateGroup(ctx context.Context, req dc.GroupRequest) (*dc.Group, error)
	Group(ctx context.Context, ref string) (*dc.Group, error)
	Groups(ctx context.Context) ([]*dc.Group, error)
	UpdateGroup(ctx context.Context, ref string, req dc.GroupUpdate) (*dc.Group, error)
	DeleteGroup(ctx context.Context, ref string) (*dc.Group, error)
	GroupSubclouds(ctx context.Context, ref string) ([]*dc.Subcloud, error)
}

var _ Service = (*dc.Manager)(nil)

// DefaultMaxBodyBytes bounds request bodies when Options.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 4 << 20

// Options configure a Handler. The zero value means: no logging, no
// metrics, DefaultMaxBodyBytes.
type Options struct {
	// Logger receives one line per request. Nil discards.
	Logger *slog.Logger
	// Registerer receives the handler's metrics. Nil registers nothing.
	Registerer prometheus.Registerer
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// Viewer, when set, serves the full subcloud list without copies
	// (see SubcloudViewer). Nil uses the Service itself when it is a
	// SubcloudViewer (a *dc.Manager is: its read model), else lists through
	// Service.Subclouds.
	Viewer SubcloudViewer
}

// Handler serves the v1.0 resources. Create it with New.
type Handler struct {
	svc      Service
	tokenSum [sha256.Size]byte
	log      *slog.Logger
	maxBody  int64
	mux      *http.ServeMux
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bufs     sync.Pool
	viewer   SubcloudViewer
	enc      *encodeCache
}

// New returns a Handler serving svc to clients presenting token (in
// X-Auth-Token or Authorization: Bearer). token must not be empty.
func New(svc Service, token string, opts Options) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("api: nil Service")
	}
	if token == "" {
		return nil, errors.New("api: empty token")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Viewer == nil {
		opts.Viewer, _ = svc.(SubcloudViewer)
	}
	h := &Handler{
		svc:      svc,
		tokenSum: sha256.Sum256([]byte(token)),
		log:      opts.Logger,
		maxBody:  opts.MaxBodyBytes,
		mux:      http.NewServeMux(),
		viewer:   opts.Viewer,
		enc:      newEncodeCache(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "dc_api", Name: "requests_total",
			Help: "Requests served by the dc REST API, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "atoll", Subsystem: "dc_api", Name: "request_duration_seconds",
			Help:    "Time to serve a dc REST API request, by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{h.requests, h.duration} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	h.routes()
	return h, nil
}

type methods map[string]func(http.ResponseWriter, *http.Request) error

// routes registers every resource path with and without a trailing slash.
func (h *Handler) routes() {
	table := []struct {
		path string
		m    methods
	}{
		{"/v1.0/subclouds", methods{http.MethodGet: h.listSubclouds, http.MethodPost: h.addSubcloud}},
		{"/v1.0/subclouds/{ref}", methods{http.MethodGet: h.getSubcloud, http.MethodPatch: h.updateSubcloud, http.MethodDelete: h.deleteSubcloud}},
		{"/v1.0/subclouds/{ref}/detail", methods{http.MethodGet: h.getSubcloudDetail}},
		{"/v1.0/subclouds/{ref}/deploy-log", methods{http.MethodGet: h.deployLog}},
		{"/v1.0/phased-subcloud-deploy/{ref}/resume", methods{http.MethodPatch: h.resumeDeploy}},
		{"/v1.0/phased-subcloud-deploy/{ref}/abort", methods{http.MethodPatch: h.abortDeploy}},
		{"/v1.0/subcloud-groups", methods{http.MethodGet: h.listGroups, http.MethodPost: h.createGroup}},
		{"/v1.0/subcloud-groups/{ref}", methods{http.MethodGet: h.getGroup, http.MethodPatch: h.updateGroup, http.MethodDelete: h.deleteGroup}},
		{"/v1.0/subcloud-groups/{ref}/subclouds", methods{http.MethodGet: h.groupSubclouds}},
	}
	for _, rt := range table {
		hf := h.route(rt.path, rt.m)
		h.mux.Handle(rt.path, hf)
		h.mux.Handle(rt.path+"/{$}", hf)
	}
	h.mux.Handle("/", h.route("other", methods{}))
}

// route wraps the methods of one path: method dispatch, body limit, error
// mapping, logging and metrics.
func (h *Handler) route(name string, m methods) http.Handler {
	allow := make([]string, 0, len(m))
	for meth := range m {
		allow = append(allow, meth)
	}
	slices.Sort(allow)
	allowHeader := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK, ref: r.PathValue("ref")}
		r = r.WithContext(context.WithValue(r.Context(), recorderKey{}, rec))
		var err error
		fn, ok := m[r.Method]
		switch {
		case name == "other":
			err = &requestError{status: http.StatusNotFound, code: CodeNotFound, msg: "no such resource: " + r.URL.Path}
		case !h.authorized(r):
			err = &requestError{status: http.StatusUnauthorized, code: CodeUnauthorized, msg: "missing or wrong token"}
		case !ok:
			w.Header().Set("Allow", allowHeader)
			err = &requestError{status: http.StatusMethodNotAllowed, code: CodeMethodNotAllowed,
				msg: r.Method + " not allowed on " + name + " (allowed: " + allowHeader + ")"}
		default:
			r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
			err = fn(rec, r)
		}
		if err != nil {
			h.writeError(rec, err)
		}
		d := time.Since(start)
		h.requests.WithLabelValues(name, r.Method, strconv.Itoa(rec.status)).Inc()
		h.duration.WithLabelValues(name, r.Method).Observe(d.Seconds())
		attrs := []slog.Attr{
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", d),
		}
		if rec.ref != "" {
			attrs = append(attrs, slog.String(rec.refKind(name), rec.ref))
		}
		level := slog.LevelInfo
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
			if rec.status >= 500 {
				level = slog.LevelError
			}
		}
		h.log.LogAttrs(r.Context(), level, "api request", attrs...)
	})
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// authorized reports whether r carries the token, comparing digests in
// constant time (so neither content nor length leaks).
func (h *Handler) authorized(r *http.Request) bool {
	tok := r.Header.Get("X-Auth-Token")
	if tok == "" {
		auth := r.Header.Get("Authorization")
		scheme, rest, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		tok = strings.TrimSpace(rest)
	}
	if tok == "" {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], h.tokenSum[:]) == 1
}

// recorder remembers the status for logs and metrics, and the subcloud or
// group a request concerns.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	ref         string
}

type recorderKey struct{}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) refKind(route string) string {
	if strings.HasPrefix(route, "/v1.0/subcloud-groups") {
		return "group"
	}
	return "subcloud"
}

// noteRef records the name of the subcloud or group a request concerns (for
// creations, known only after decoding).
func noteRef(ctx context.Context, name string) {
	if rec, ok := ctx.Value(recorderKey{}).(*recorder); ok && name != "" {
		rec.ref = name
	}
}

func (h *Handler) writeError(w *recorder, err error) {
	status, body := errorResponse(err)
	if w.wroteHeader {
		// The response has started (a streamed list failed mid-way): the
		// client sees a truncated body; nothing more can be said.
		return
	}
	b := h.getBuf()
	defer h.putBuf(b)
	*b = append(*b, `{"code":`...)
	*b = appendString(*b, body.Code)
	*b = appendKeyString(*b, "message", body.Message)
	for _, kv := range [][2]string{{"field", body.Field}, {"conflict", body.Conflict}, {"state", body.State}, {"operation", body.Operation}, {"kind", body.Kind}} {
		if kv[1] != "" {
			*b = appendKeyString(*b, kv[0], kv[1])
		}
	}
	*b = append(*b, '}', '\n')
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(*b)))
	w.WriteHeader(status)
	_, _ = w.Write(*b)
}

func (h *Handler) getBuf() *[]byte {
	if b, ok := h.bufs.Get().(*[]byte); ok {
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

func (h *Handler) putBuf(b *[]byte) {
	if cap(*b) <= 1<<20 {
		h.bufs.Put(b)
	}
}

// writeJSON sends a complete small body: 200, JSON.
func (h *Handler) writeBody(w http.ResponseWriter, b []byte) error {
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}
