package redfish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
	"golang.org/x/sync/semaphore"
)

// Endpoint is where a BMC answers and how to log in.
type Endpoint struct {
	// Address is the BMC's base URL ("https://10.0.0.5") or host[:port]
	// (https is assumed).
	Address  string
	Username string
	Password string
}

// AuthMode chooses how the client authenticates.
type AuthMode int

const (
	// AuthSession creates a Redfish session and falls back to basic auth
	// when the BMC offers no session service (the default).
	AuthSession AuthMode = iota
	// AuthBasic sends HTTP basic credentials with every request.
	AuthBasic
)

// Options tunes a Client. The zero value is valid: TLS verified against the
// system roots, a silent logger, no metrics, four requests in flight.
type Options struct {
	// Logger receives the client's logs, each with a "bmc" attribute.
	// Nil means silence.
	Logger *slog.Logger
	// Registerer receives the client's metrics. Nil means none. Several
	// clients may share one registerer.
	Registerer prometheus.Registerer
	// RootCAs verifies the BMC's certificate; nil means the system roots.
	RootCAs *x509.CertPool
	// InsecureSkipVerify turns certificate verification off. BMCs often
	// carry self-signed certificates; prefer RootCAs.
	InsecureSkipVerify bool
	// Auth chooses sessions (default) or basic auth.
	Auth AuthMode
	// MaxConcurrent bounds the requests in flight to this BMC (default 4).
	MaxConcurrent int
	// RequestTimeout bounds one HTTP attempt (default 30s).
	RequestTimeout time.Duration
	// RetryInitial, RetryMax and RetryElapsed shape the exponential backoff
	// (with jitter) between attempts on transient failures (defaults 500ms,
	// 10s, 2m). RetryAttempts caps the attempts per request (default 6).
	RetryInitial  time.Duration
	RetryMax      time.Duration
	RetryElapsed  time.Duration
	RetryAttempts int
	// PollInterval is the period of power-state and task polling (default 2s).
	PollInterval time.Duration
	// MediaTimeout bounds the wait for the media slot to report an insert
	// or eject (default 2m).
	MediaTimeout time.Duration
	// SettleDelay overrides the vendor's settle delays when non-zero; a
	// negative value removes them.
	SettleDelay time.Duration
	// Vendor forces a quirks-table entry instead of detecting it.
	Vendor Vendor
	// SystemID picks the system when the BMC manages several (the last
	// path element of its URI); empty means the first.
	SystemID string
	// Clock paces polling, backoff and settle waits and measures their
	// deadlines (PowerTimeout, MediaTimeout); nil means the real clock.
	// Each HTTP attempt stays bounded by RequestTimeout in real time.
	Clock Clock
	// WrapTransport, when set, wraps the HTTP transport (for tracing or
	// request accounting).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// withDefaults returns a copy of o with defaults filled in.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 4
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.RetryInitial <= 0 {
		o.RetryInitial = 500 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 10 * time.Second
	}
	if o.RetryElapsed <= 0 {
		o.RetryElapsed = 2 * time.Minute
	}
	if o.RetryAttempts <= 0 {
		o.RetryAttempts = 6
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.MediaTimeout <= 0 {
		o.MediaTimeout = 2 * time.Minute
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	return o
}

// Client is a Redfish connection to one BMC. It is safe for concurrent use;
// every method takes the context that bounds it and returns per-call
// results only.
type Client struct {
	ep      Endpoint
	opts    Options
	log     *slog.Logger
	api     *gofish.APIClient
	metrics *metrics
	http    *http.Client

	// mu guards api (replaced when an expired session is renewed) and the
	// lazy filling of topo, discovered once (system, manager, vendor,
	// media slot) and then only read. loginMu serializes renewals.
	mu      sync.Mutex
	loginMu sync.Mutex
	topo    topology
}

// topology is where the BMC keeps what the client drives. It describes the
// BMC, not any call, and does not change while the BMC runs.
type topology struct {
	systemURI  string
	managerURI string
	// systemMedia is the system's VirtualMedia collection, if it has one.
	systemMedia string
	vendor      Vendor
	q           quirks
	mediaURI    string
	// resetTarget and resetTypes come from the system's Reset action.
	resetTarget string
	resetTypes  []string
}

var _ BMC = (*Client)(nil)

// opKey carries the operation name to the transport for metrics.
type opKey struct{}

func opFrom(ctx context.Context) string {
	if op, ok := ctx.Value(opKey{}).(string); ok {
		return op
	}
	return "other"
}

// Dial connects to the BMC at ep, logs in and discovers the system it
// manages. Close logs out.
func Dial(ctx context.Context, ep Endpoint, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	if !strings.HasPrefix(ep.Address, "http://") && !strings.HasPrefix(ep.Address, "https://") {
		ep.Address = "https://" + ep.Address
	}
	ep.Address = strings.TrimRight(ep.Address, "/")
	c := &Client{
		ep:   ep,
		opts: opts,
		log:  opts.Logger.With("bmc", ep.Address),
	}
	var err error
	if c.metrics, err = newMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	c.http = &http.Client{Transport: c.transport()}

	ctx = context.WithValue(ctx, opKey{}, "dial")
	if err := c.login(ctx); err != nil {
		c.http.CloseIdleConnections()
		return nil, err
	}
	if err := c.discover(ctx); err != nil {
		c.Close(ctx)
		return nil, err
	}
	c.log.Debug("connected", "vendor", c.topo.vendor, "system", c.topo.systemURI)
	return c, nil
}

// transport builds the HTTP transport: verified TLS unless told otherwise,
// the per-BMC request limit, and metrics.
func (c *Client) transport() http.RoundTripper {
	tlsConf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            c.opts.RootCAs,
		InsecureSkipVerify: c.opts.InsecureSkipVerify, //nolint:gosec // explicit opt-out
	}
	var rt http.RoundTripper = &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: c.opts.MaxConcurrent,
		MaxConnsPerHost:     c.opts.MaxConcurrent,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	if c.opts.WrapTransport != nil {
		rt = c.opts.WrapTransport(rt)
	}
	return &limitedTransport{
		next:    rt,
		sem:     semaphore.NewWeighted(int64(c.opts.MaxConcurrent)),
		metrics: c.metrics,
	}
}

// limitedTransport bounds the requests in flight to one BMC and counts them.
type limitedTransport struct {
	next    http.RoundTripper
	sem     *semaphore.Weighted
	metrics *metrics
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.sem.Acquire(req.Context(), 1); err != nil {
		return nil, err
	}
	defer t.sem.Release(1)
	resp, err := t.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
		if h, ok := req.Context().Value(hintKey{}).(*attemptHint); ok {
			if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
				h.retryAfter.Store(int64(time.Duration(secs) * time.Second))
			}
		}
	}
	t.metrics.request(opFrom(req.Context()), req.Method, code)
	return resp, err
}

// login connects gofish (see connect), with retries on transient failures.
func (c *Client) login(ctx context.Context) error {
	return c.retry(ctx, "login", func(ctx context.Context) error {
		api, err := c.connect(ctx)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.api = api
		c.mu.Unlock()
		return nil
	})
}

// connect logs in: a session when the BMC offers one, else basic auth.
func (c *Client) connect(ctx context.Context) (*gofish.APIClient, error) {
	conf := gofish.ClientConfig{
		Endpoint:              c.ep.Address,
		Username:              c.ep.Username,
		Password:              c.ep.Password,
		HTTPClient:            c.http,
		NoModifyTransport:     true,
		ReuseConnections:      true,
		MaxConcurrentRequests: int64(c.opts.MaxConcurrent),
		BasicAuth:             c.opts.Auth == AuthBasic,
	}
	api, err := gofish.ConnectContext(ctx, conf)
	if err != nil && !conf.BasicAuth && sessionUnsupported(err) {
		c.log.Debug("session service unavailable, using basic auth", "err", err)
		conf.BasicAuth = true
		api, err = gofish.ConnectContext(ctx, conf)
	}
	return api, err
}

// relogin replaces an expired session, once for all the callers that saw
// it rejected: stale is the client they used.
func (c *Client) relogin(ctx context.Context, stale *gofish.APIClient) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if c.current() != stale {
		return nil // another caller already logged in again
	}
	c.log.Info("session rejected, logging in again")
	api, err := c.connect(context.WithValue(ctx, opKey{}, "login"))
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.api = api
	c.mu.Unlock()
	return nil
}

// current returns the gofish client in use.
func (c *Client) current() *gofish.APIClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.api
}

// hasSession reports whether api authenticates with a session token.
func hasSession(api *gofish.APIClient) bool {
	if api == nil {
		return false
	}
	_, err := api.GetSession()
	return err == nil
}

// isStatus reports whether err is an HTTP answer with status code.
func isStatus(err error, code int) bool {
	var se *schemas.Error
	return errors.As(err, &se) && se.HTTPReturnedStatusCode == code
}

// sessionUnsupported reports whether a failed session login means "no
// session service here" (as opposed to bad credentials).
func sessionUnsupported(err error) bool {
	var se *schemas.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.HTTPReturnedStatusCode {
	case 0, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented, http.StatusBadRequest:
		return true
	}
	return false
}

// Close logs out of the BMC's session, if any, and closes idle connections.
// The logout is bounded by ctx and RequestTimeout; its failure is logged,
// not returned (the session expires on the BMC anyway).
func (c *Client) Close(ctx context.Context) {
	api := c.current()
	if api == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, opKey{}, "logout"), c.opts.RequestTimeout)
	defer cancel()
	if s, err := api.GetSession(); err == nil {
		if err := api.WithContext(ctx).Service.DeleteSession(s.ID); err != nil {
			c.log.Debug("logout failed", "err", err)
		}
	}
	c.http.CloseIdleConnections()
}

// Vendor reports the quirks-table entry in use.
func (c *Client) Vendor() Vendor {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.topo.vendor
}

// retry runs one step of an operation with backoff on transient failures.
// fn receives a context carrying op and bounded by RequestTimeout. The
// returned error is an *Error naming the BMC and op. A Retry-After header
// on a 503 lengthens the wait (up to RetryMax).
func (c *Client) retry(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	ctx = context.WithValue(ctx, opKey{}, op)
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.opts.RetryInitial),
		backoff.WithMaxInterval(c.opts.RetryMax),
		backoff.WithMaxElapsedTime(c.opts.RetryElapsed),
		backoff.WithClockProvider(c.opts.Clock),
	)
	relogged := false
	for attempt := 1; ; attempt++ {
		hint := &attemptHint{}
		used := c.current()
		actx, cancel := context.WithTimeout(context.WithValue(ctx, hintKey{}, hint), c.opts.RequestTimeout)
		err := fn(actx)
		cancel()
		if err == nil {
			return nil
		}
		if op != "login" && !relogged && isStatus(err, http.StatusUnauthorized) && hasSession(used) {
			// The session may have expired: log in again, once, and
			// repeat at once. A refused login is the 401 to report.
			relogged = true
			if lerr := c.relogin(ctx, used); lerr != nil {
				return c.opError(ctx, op, attempt, lerr)
			}
			continue
		}
		wait := b.NextBackOff()
		if !transient(ctx, err) || attempt >= c.opts.RetryAttempts || wait == backoff.Stop {
			return c.opError(ctx, op, attempt, err)
		}
		if ra := time.Duration(hint.retryAfter.Load()); ra > wait {
			wait = min(ra, c.opts.RetryMax)
		}
		c.metrics.retry(op)
		c.log.Debug("retrying", "op", op, "attempt", attempt, "wait", wait, "err", err)
		if serr := sleep(ctx, c.opts.Clock, wait); serr != nil {
			return c.opError(ctx, op, attempt, serr)
		}
	}
}

// attemptHint carries what the transport learnt during one attempt.
// Requests of one attempt may run concurrently (collection members).
type attemptHint struct {
	retryAfter atomic.Int64 // nanoseconds
}

type hintKey struct{}

// opError turns the last failure of op into an *Error, counts and logs it.
func (c *Client) opError(ctx context.Context, op string, attempts int, err error) error {
	e := c.newError(ctx, op, attempts, err)
	if e.kind == nil && transient(context.Background(), err) {
		e.kind = ErrUnavailable
	}
	c.metrics.failure(op, e)
	c.log.Warn("operation failed", "op", op, "attempts", attempts, "status", e.StatusCode, "err", e.Message)
	return e
}

// gf returns the gofish client bound to ctx.
func (c *Client) gf(ctx context.Context) *gofish.APIClient {
	return c.current().WithContext(ctx)
}

// settle returns the vendor's delay d unless Options.SettleDelay overrides it.
func (c *Client) settle(d time.Duration) time.Duration {
	switch {
	case c.opts.SettleDelay < 0:
		return 0
	case c.opts.SettleDelay > 0:
		return c.opts.SettleDelay
	}
	return d
}

// Clock is a time source. Tests pass a fake one to run long waits at once.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed, like time.After.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// sleep waits d on clk, or until ctx ends.
func sleep(ctx context.Context, clk Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-clk.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
