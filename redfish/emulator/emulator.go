package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configures a BMC. The zero value is a generic BMC with user
// "admin", password "password", no logging, the real clock and no metrics.
type Options struct {
	// Profile selects the vendor flavour; see Profiles.
	Profile Profile
	// Name identifies the BMC in logs and BootEvents (e.g. "bmc-7").
	Name string
	// Seed makes serial numbers, UUIDs and MAC addresses distinct across
	// the BMCs of a fleet; the same seed gives the same identity.
	Seed uint64
	// Username and Password are the only valid credentials. Defaults:
	// "admin" and "password".
	Username, Password string
	// Logger receives structured logs; nil means silence.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Sessions, settle delays and
	// task timestamps follow it.
	Now func() time.Time
	// OnBoot is called each time the emulated host boots (power on, or a
	// restart while on), on the request's goroutine and after the BMC has
	// released its locks, so it may call the BMC's methods. Requests run
	// concurrently, so OnBoot may too; it must not block for long.
	OnBoot func(BootEvent)
	// HTTPClient fetches virtual media images. Nil means a client whose
	// dialer refuses addresses outside AllowedMediaNets.
	HTTPClient *http.Client
	// AllowedMediaNets are the networks image URLs may resolve to. Nil
	// means loopback and private (RFC 1918, RFC 4193) addresses.
	AllowedMediaNets []netip.Prefix
	// MediaDigest makes inserts compute the image's SHA-256 (reported in
	// BootEvent.ImageSHA256 and State).
	MediaDigest bool
	// SettleDelay overrides the profile's media settle delay; zero keeps
	// the profile's value, a negative value disables it.
	SettleDelay time.Duration
	// AsyncMediaThreshold overrides the profile's choice of answering
	// InsertMedia with a task: zero keeps the profile's value, a negative
	// value never uses a task, a positive value uses one for images of at
	// least that many bytes.
	AsyncMediaThreshold int64
	// Faults are the initial fault settings; change them at run time
	// through BMC.Faults.
	Faults FaultConfig
	// Registerer receives the request metrics; nil means none. BMCs may
	// share a registerer: they then share the collectors.
	Registerer prometheus.Registerer
	// TLS, if set, makes Serve speak HTTPS with this configuration.
	TLS *tls.Config
}

// PowerState is the emulated host's power state.
type PowerState string

// Power states.
const (
	PowerOn  PowerState = "On"
	PowerOff PowerState = "Off"
)

// BootTarget is a BootSourceOverrideTarget value.
type BootTarget string

// Common boot targets; profiles allow others (see the System's
// BootSourceOverrideTarget@Redfish.AllowableValues).
const (
	BootNone  BootTarget = "None"
	BootPxe   BootTarget = "Pxe"
	BootCd    BootTarget = "Cd"
	BootUsb   BootTarget = "Usb"
	BootHdd   BootTarget = "Hdd"
	BootUsbCd BootTarget = "UsbCd"
)

// BootEvent reports that the emulated host booted.
type BootEvent struct {
	// BMC is Options.Name.
	BMC string
	// SystemID is the ComputerSystem's Id.
	SystemID string
	// Target is the device the host booted from: the override target if
	// an override was active, else Hdd.
	Target BootTarget
	// Mode is UEFI or Legacy.
	Mode string
	// Reset is the ResetType that caused the boot.
	Reset string
	// Image is the URL of the virtual media image the host booted from,
	// empty when it did not boot from virtual media.
	Image string
	// ImageSize is the image's length in bytes as fetched at insert time.
	ImageSize int64
	// ImageSHA256 is the hex SHA-256 of the image when Options.MediaDigest
	// is set.
	ImageSHA256 string
	// Time is when the host booted, by Options.Now.
	Time time.Time
}

// MediaState is a snapshot of one virtual media slot.
type MediaState struct {
	// ID is the slot's Id (e.g. "CD1"); Path its resource path.
	ID, Path string
	// Inserted reports an attached image (already, even while a settle
	// delay still hides it from clients).
	Inserted bool
	// Image is the image URL, ImageName its last path element.
	Image, ImageName string
	// WriteProtected is as requested at insert time.
	WriteProtected bool
	// Size is the number of bytes fetched; SHA256 their digest when
	// Options.MediaDigest is set.
	Size   int64
	SHA256 string
}

// State is a snapshot of the emulated host.
type State struct {
	// Power is the host's power state.
	Power PowerState
	// BootTarget, BootEnabled and BootMode are the boot override
	// (BootSourceOverrideTarget, ...Enabled, ...Mode).
	BootTarget  BootTarget
	BootEnabled string
	BootMode    string
	// Boots counts host boots since New.
	Boots int
	// Media lists the slots, CD/DVD first.
	Media []MediaState
	// Sessions counts live sessions.
	Sessions int
}

// BMC is one emulated Redfish service. It is an http.Handler serving
// /redfish and /redfish/v1/...; all methods are safe for concurrent use.
type BMC struct {
	opts   Options
	spec   spec
	layout Layout
	log    *slog.Logger
	now    func() time.Time
	faults *Faults
	met    *metrics
	client *http.Client
	nets   []netip.Prefix
	settle time.Duration
	async  int64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// due is the earliest pending deadline (unix nanos), 0 if none;
	// pendingFinal counts finished tasks held back by the stuck fault.
	due          atomic.Int64
	pendingFinal atomic.Int32

	mu       sync.RWMutex
	res      map[string]*resource
	actions  map[string]*action
	power    PowerState
	boot     bootState
	boots    int
	slots    []*slot
	sessions map[string]*session // by token
	tasks    []*task
	nextID   int
}

type bootState struct {
	target  BootTarget
	enabled string
	mode    string
}

// New builds a BMC from opts. It starts no goroutines; call Close when done
// to stop background media fetches.
func New(opts Options) (*BMC, error) {
	return newBMC(opts, nil)
}

// newBMC is New with an optional private copy of the parsed mockup.
func newBMC(opts Options, sk *skeleton) (*BMC, error) {
	sp, err := specFor(opts.Profile)
	if err != nil {
		return nil, err
	}
	o := opts
	if o.Username == "" {
		o.Username = "admin"
	}
	if o.Password == "" {
		o.Password = "password"
	}
	if o.Profile == "" {
		o.Profile = ProfileGeneric
	}
	if o.Name == "" {
		o.Name = string(o.Profile)
	}
	b := &BMC{
		opts:   o,
		spec:   sp,
		layout: sp.layout(),
		log:    o.Logger,
		now:    o.Now,
		nets:   o.AllowedMediaNets,
		settle: sp.settle,
		async:  sp.asyncInsert,
		power:  PowerOff,
		boot:   bootState{target: BootNone, enabled: "Disabled", mode: "UEFI"},
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.log = b.log.With("bmc", o.Name, "profile", string(o.Profile))
	if b.now == nil {
		b.now = time.Now
	}
	if b.nets == nil {
		b.nets = defaultMediaNets()
	}
	switch {
	case o.SettleDelay < 0:
		b.settle = 0
	case o.SettleDelay > 0:
		b.settle = o.SettleDelay
	}
	switch {
	case o.AsyncMediaThreshold < 0:
		b.async = -1
	case o.AsyncMediaThreshold > 0:
		b.async = o.AsyncMediaThreshold
	}
	b.client = o.HTTPClient
	if b.client == nil {
		b.client = NewMediaClient(b.nets)
	}
	b.faults = newFaults(o.Faults)
	if o.Registerer != nil {
		if b.met, err = newMetrics(o.Registerer); err != nil {
			return nil, err
		}
	}
	if err := b.build(sk); err != nil {
		return nil, err
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// Close stops background work (media fetches of running tasks) and releases
// requests held by the hang fault. It waits for them to finish.
func (b *BMC) Close() error {
	b.cancel()
	b.wg.Wait()
	if b.opts.HTTPClient == nil {
		b.client.CloseIdleConnections()
	}
	return nil
}

// Faults returns the BMC's fault injector, adjustable at run time.
func (b *BMC) Faults() *Faults { return b.faults }

// Profile returns the BMC's profile.
func (b *BMC) Profile() Profile { return b.spec.profile }

// Layout returns the resource paths of this BMC's profile.
func (b *BMC) Layout() Layout { return b.layout }

// Manufacturer returns the ComputerSystem's Manufacturer string, by which
// clients pick vendor quirks.
func (b *BMC) Manufacturer() string { return b.spec.manufacturer }

// State returns a snapshot of the emulated host.
func (b *BMC) State() State {
	b.mu.RLock()
	defer b.mu.RUnlock()
	st := State{
		Power: b.power, BootTarget: b.boot.target, BootEnabled: b.boot.enabled,
		BootMode: b.boot.mode, Boots: b.boots, Sessions: len(b.sessions),
	}
	for _, s := range b.slots {
		st.Media = append(st.Media, MediaState{
			ID: s.id, Path: s.path, Inserted: s.inserted, Image: s.image, ImageName: s.imageName,
			WriteProtected: s.writeProtected, Size: s.size, SHA256: s.sha,
		})
	}
	return st
}

// Serve answers Redfish requests on ln until ctx is done, then shuts down
// gracefully (waiting at most five seconds for requests in flight). It
// returns nil after a shutdown caused by ctx. With Options.TLS set it
// speaks HTTPS. Serve does not close the BMC.
func (b *BMC) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           b,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if b.opts.TLS != nil {
		ln = tls.NewListener(ln, b.opts.TLS)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		_ = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// ServeHTTP implements http.Handler.
func (b *BMC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w}
	defer func() {
		if b.met != nil {
			b.met.observe(r.Method, rw.status, time.Since(start))
		}
	}()
	if !b.applyFaults(rw, r) {
		return
	}
	h := rw.Header()
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-cache")
	if v := r.Header.Get("OData-Version"); v != "" && v != "4.0" {
		newErr(http.StatusPreconditionFailed, "GeneralError").write(rw)
		return
	}
	p := cleanPath(r.URL.Path)
	if r.Method == http.MethodPost && strings.HasSuffix(p, "/Members") {
		// POST to a collection's Members is POST to the collection.
		p = strings.TrimSuffix(p, "/Members")
	}
	if !strings.HasPrefix(p, "/redfish") {
		newErr(http.StatusNotFound, "ResourceMissingAtURI", r.URL.Path).write(rw)
		return
	}
	b.advance()
	for k := range r.URL.Query() {
		// The service root advertises no query support; DSP0266 wants 501
		// for unsupported $ parameters.
		if strings.HasPrefix(k, "$") {
			newErr(http.StatusNotImplemented, "QueryNotSupported").write(rw)
			return
		}
	}
	if !b.public(r.Method, p) {
		if e := b.authenticate(r); e != nil {
			if b.spec.basicAuth {
				h.Set("WWW-Authenticate", `Basic realm="Redfish"`)
			}
			e.write(rw)
			return
		}
	}
	b.dispatch(rw, r, p)
}

// statusWriter records the status for metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func cleanPath(p string) string {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	if p == "/redfish/v1/" {
		p = "/redfish/v1"
	}
	return p
}

// public reports whether a request needs no authentication.
func (b *BMC) public(method, p string) bool {
	switch p {
	case "/redfish", "/redfish/v1", "/redfish/v1/odata", "/redfish/v1/$metadata":
		return method == http.MethodGet || method == http.MethodHead
	case sessionsPath:
		return method == http.MethodPost
	}
	return false
}

// authenticate accepts a live session token, or Basic credentials when the
// profile allows them.
func (b *BMC) authenticate(r *http.Request) *rfError {
	unauth := func() *rfError { return newErr(http.StatusUnauthorized, "NoValidSession") }
	if b.faults.unauthorized() {
		return unauth()
	}
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		if b.sessionValid(tok) {
			return nil
		}
		return unauth()
	}
	if u, p, ok := r.BasicAuth(); ok && b.spec.basicAuth {
		if u == b.opts.Username && p == b.opts.Password {
			return nil
		}
	}
	return unauth()
}

func (b *BMC) dispatch(w http.ResponseWriter, r *http.Request, p string) {
	switch p {
	case "/redfish":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusOK, []byte(`{"v1":"/redfish/v1/"}`))
		return
	case "/redfish/v1/$metadata":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		b.serveMetadata(w)
		return
	}
	if a := b.lookupAction(p); a != nil {
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		params, e := readObject(r)
		if e == nil {
			e = a.fn(w, r, params)
		}
		if e != nil {
			b.log.Debug("action failed", "path", p, "err", e)
			e.write(w)
		}
		return
	}
	res, etag, body := b.render(p)
	if res != nil && res.link != "" {
		w.Header().Set("Link", res.link)
	}
	if res == nil {
		newErr(http.StatusNotFound, "ResourceMissingAtURI", p).write(w)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h := w.Header()
		h.Set("Allow", res.allow)
		h.Set("ETag", etag)
		if m := r.Header.Get("If-None-Match"); m != "" && etagMatches(m, etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			h.Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			return
		}
		if res.get != nil {
			res.get(w, r, body)
			return
		}
		writeJSON(w, http.StatusOK, body)
	case http.MethodPatch:
		if res.patch == nil {
			methodNotAllowed(w, res.allow)
			return
		}
		params, e := readObject(r)
		if e == nil {
			e = res.patch(w, r, params)
		}
		if e != nil {
			e.write(w)
		}
	case http.MethodPost:
		if res.post == nil {
			methodNotAllowed(w, res.allow)
			return
		}
		params, e := readObject(r)
		if e == nil {
			e = res.post(w, r, params)
		}
		if e != nil {
			e.write(w)
		}
	case http.MethodDelete:
		if res.del == nil {
			methodNotAllowed(w, res.allow)
			return
		}
		if e := res.del(w, r); e != nil {
			e.write(w)
		}
	default:
		methodNotAllowed(w, res.allow)
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	e := newErr(http.StatusMethodNotAllowed, "OperationNotAllowed")
	e.allow = allow
	e.write(w)
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

// readObject decodes a JSON object body; an empty body is an empty object.
func readObject(r *http.Request) (map[string]any, *rfError) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, newErr(http.StatusBadRequest, "MalformedJSON")
	}
	if len(data) > maxBody {
		return nil, newErr(http.StatusRequestEntityTooLarge, "GeneralError")
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := jsonUnmarshal(data, &m); err != nil || m == nil {
		return nil, newErr(http.StatusBadRequest, "MalformedJSON")
	}
	return m, nil
}

// etagMatches implements If-Match / If-None-Match comparison: "*" or any
// listed tag equal to etag, ignoring weakness.
func etagMatches(header, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want || strings.Trim(strings.TrimPrefix(t, "W/"), `"`) == strings.Trim(want, `"`) {
			return true
		}
	}
	return false
}

// checkIfMatch returns 412 when the request carries If-Match and it does not
// match the resource's current ETag. Caller holds b.mu.
func (b *BMC) checkIfMatchLocked(r *http.Request, path string) *rfError {
	m := r.Header.Get("If-Match")
	if m == "" {
		return nil
	}
	res := b.res[path]
	if res == nil {
		return nil
	}
	b.renderLocked(res)
	if !etagMatches(m, res.etag) {
		return newErr(http.StatusPreconditionFailed, "PreconditionFailed")
	}
	return nil
}

func defaultMediaNets() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("fc00::/7"),
	}
}

// String names the BMC and its profile, for logs and test failures.
func (b *BMC) String() string { return fmt.Sprintf("emulator.BMC(%s %s)", b.opts.Name, b.spec.profile) }
