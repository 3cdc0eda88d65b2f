// Package fleetsim simulates a fleet of subcloud servers for the reference
// System Controller's demo and for end-to-end tests: each server has an
// emulated Redfish BMC (redfish/emulator), an installer that starts when the
// host boots from the inserted virtual media and reports install-complete
// over HTTP to the controller's boot server (as a real installer would), and
// a subcloud agent health endpoint that answers once the host is installed.
//
// Every interaction with the controller crosses real HTTP: the controller
// drives the BMCs with its Redfish client, the hosts call back its boot
// server, and its availability audit polls the agents.
package fleetsim

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/atoll-edge/atoll/redfish"
	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/cenkalti/backoff/v4"
)

// Options configure a simulated fleet.
type Options struct {
	// Count is the number of servers (at least 1).
	Count int
	// Profiles are the BMC vendor profiles, assigned round-robin. Default:
	// every profile the emulator has.
	Profiles []emulator.Profile
	// StatusURL is the controller's boot server base URL; hosts POST
	// {StatusURL}/v1/hosts/{mac}/status.
	StatusURL string
	// InstallDuration is how long a host "installs" after booting from
	// virtual media (default 3s).
	InstallDuration time.Duration
	// Username and Password are every BMC's credentials (default
	// "admin"/"password").
	Username, Password string
	// Logger receives the fleet's logs; nil means silence.
	Logger *slog.Logger
}

type member struct {
	m       emulator.Member
	profile emulator.Profile
	name    string // the BMC's Options.Name, as BootEvents carry it
}

// Server is one simulated subcloud server.
type Server struct {
	Index    int
	BMCURL   string // https://127.0.0.1:port
	Username string
	Password string
	Profile  emulator.Profile
}

// Fleet is a running simulated fleet.
type Fleet struct {
	opts    Options
	log     *slog.Logger
	bmcs    []*emulator.Fleet
	pool    *x509.CertPool // verifies every BMC
	members []member
	agent   *http.Server
	agentL  net.Listener
	caPool  *x509.CertPool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu         sync.Mutex
	installed  map[int]bool   // server index -> installed
	bound      map[string]int // subcloud name -> server index
	installing map[int]bool
}

// Start starts the BMCs and the agent endpoint. Close stops them.
func Start(ctx context.Context, opts Options) (*Fleet, error) {
	if opts.Count < 1 {
		return nil, fmt.Errorf("fleetsim: count must be at least 1, got %d", opts.Count)
	}
	if opts.StatusURL == "" {
		return nil, errors.New("fleetsim: StatusURL is required")
	}
	if opts.InstallDuration <= 0 {
		opts.InstallDuration = 3 * time.Second
	}
	if opts.Username == "" {
		opts.Username, opts.Password = "admin", "password"
	}
	if len(opts.Profiles) == 0 {
		opts.Profiles = emulator.Profiles()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Fleet{opts: opts, log: log, installed: map[int]bool{}, bound: map[string]int{}, installing: map[int]bool{}}
	f.ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))

	// One emulator fleet per profile keeps each BMC's vendor quirks real;
	// servers are dealt round-robin across profiles, with distinct seeds
	// (so distinct MACs and serials) and names.
	per := make([]int, len(opts.Profiles))
	for i := 0; i < opts.Count; i++ {
		per[i%len(opts.Profiles)]++
	}
	tlsCfg, pool, err := emulator.SelfSignedTLS("127.0.0.1")
	if err != nil {
		f.cancel()
		return nil, fmt.Errorf("fleetsim: %w", err)
	}
	f.pool, f.caPool = pool, pool
	byProfile := make([][]emulator.Member, len(opts.Profiles))
	for pi, prof := range opts.Profiles {
		if per[pi] == 0 {
			continue
		}
		fl, err := emulator.StartFleet(ctx, emulator.FleetOptions{
			Count: per[pi],
			Options: emulator.Options{
				Profile:     prof,
				Name:        string(prof),
				Seed:        uint64(pi) << 32,
				Username:    opts.Username,
				Password:    opts.Password,
				OnBoot:      f.onBoot,
				SettleDelay: -1,
				TLS:         tlsCfg,
			},
		})
		if err != nil {
			f.closeBMCs()
			f.cancel()
			return nil, fmt.Errorf("fleetsim: %s BMCs: %w", prof, err)
		}
		f.bmcs = append(f.bmcs, fl)
		byProfile[pi] = fl.Members()
		for i := range byProfile[pi] {
			// The fleet serves TLS from Options.TLS; its URLs say http.
			byProfile[pi][i].URL = "https://" + byProfile[pi][i].Addr
		}
	}
	for i := 0; i < opts.Count; i++ {
		pi := i % len(opts.Profiles)
		j := i / len(opts.Profiles)
		f.members = append(f.members, member{m: byProfile[pi][j], profile: opts.Profiles[pi], name: fmt.Sprintf("%s-%d", opts.Profiles[pi], j)})
	}
	bmcs := f

	ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsCfg)
	if err != nil {
		bmcs.closeBMCs()
		f.cancel()
		return nil, fmt.Errorf("fleetsim: agent listener: %w", err)
	}
	f.agentL = ln
	mux := http.NewServeMux()
	mux.HandleFunc("GET /agents/{name}/health", f.health)
	f.agent = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		_ = f.agent.Serve(ln)
	}()
	log.Info("simulated fleet started", "servers", opts.Count, "agent", ln.Addr().String())
	return f, nil
}

// Servers lists the simulated servers.
func (f *Fleet) Servers() []Server {
	out := make([]Server, len(f.members))
	for i, m := range f.members {
		out[i] = Server{Index: i, BMCURL: m.m.URL, Username: f.opts.Username, Password: f.opts.Password, Profile: m.profile}
	}
	return out
}

// BMCRootCAs verifies the BMCs' TLS certificates.
func (f *Fleet) BMCRootCAs() *x509.CertPool { return f.pool }

// AgentRootCAs verifies the agents' TLS certificate.
func (f *Fleet) AgentRootCAs() *x509.CertPool { return f.caPool }

// HealthURLTemplate is the dc.HTTPSHealthChecker URL template that reaches
// the simulated agents.
func (f *Fleet) HealthURLTemplate() string {
	return "https://" + f.agentL.Addr().String() + "/agents/{name}/health"
}

// Bind says that the subcloud called name runs on server index, so that its
// agent answers once that server is installed.
func (f *Fleet) Bind(name string, index int) {
	f.mu.Lock()
	f.bound[name] = index
	f.mu.Unlock()
}

// Close stops the fleet and waits for its goroutines.
func (f *Fleet) Close() error {
	f.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := f.agent.Shutdown(ctx)
	f.wg.Wait()
	return errors.Join(err, f.closeBMCs())
}

func (f *Fleet) closeBMCs() error {
	var errs []error
	for _, b := range f.bmcs {
		errs = append(errs, b.Close())
	}
	return errors.Join(errs...)
}

func (f *Fleet) health(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f.mu.Lock()
	idx, ok := f.bound[name]
	up := ok && f.installed[idx]
	f.mu.Unlock()
	if !up {
		http.Error(w, "not installed", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}

func (f *Fleet) index(bmcName string) (int, bool) {
	for i, m := range f.members {
		if m.name == bmcName {
			return i, true
		}
	}
	return 0, false
}

// onBoot starts the simulated installer when a host boots from virtual media.
func (f *Fleet) onBoot(ev emulator.BootEvent) {
	if ev.Image == "" {
		return
	}
	idx, ok := f.index(ev.BMC)
	if !ok {
		return
	}
	f.mu.Lock()
	if f.installing[idx] {
		f.mu.Unlock()
		return
	}
	f.installing[idx] = true
	f.installed[idx] = false
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer func() {
			f.mu.Lock()
			f.installing[idx] = false
			f.mu.Unlock()
		}()
		if err := f.install(f.ctx, idx, ev); err != nil && f.ctx.Err() == nil {
			f.log.Warn("simulated install failed", "bmc", ev.BMC, "err", err)
		}
	}()
}

func (f *Fleet) install(ctx context.Context, idx int, ev emulator.BootEvent) error {
	m := f.members[idx].m
	c, err := redfish.Dial(ctx, redfish.Endpoint{Address: m.URL, Username: f.opts.Username, Password: f.opts.Password},
		redfish.Options{RootCAs: f.pool})
	if err != nil {
		return err
	}
	inv, err := c.Inventory(ctx)
	c.Close(ctx)
	if err != nil {
		return err
	}
	if len(inv.MACAddresses) == 0 {
		return errors.New("no MAC address")
	}
	mac := inv.MACAddresses[0]
	f.log.Info("simulated host booted the installer", "bmc", ev.BMC, "image", ev.Image, "mac", mac)
	if err := f.report(ctx, mac, "booted"); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(f.opts.InstallDuration):
	}
	f.mu.Lock()
	f.installed[idx] = true
	f.mu.Unlock()
	if err := f.report(ctx, mac, "install-complete"); err != nil {
		return err
	}
	f.log.Info("simulated host installed", "bmc", ev.BMC, "mac", mac)
	return nil
}

// report POSTs a state to the controller, retrying while it answers 503
// (no install waiting yet, for example during a controller restart).
func (f *Fleet) report(ctx context.Context, mac, state string) error {
	url := strings.TrimRight(f.opts.StatusURL, "/") + "/v1/hosts/" + mac + "/status"
	body := []byte(`{"state":"` + state + `"}`)
	op := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return backoff.Permanent(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return nil
		case resp.StatusCode >= 500:
			return fmt.Errorf("status report %s: %s", state, resp.Status)
		default:
			return backoff.Permanent(fmt.Errorf("status report %s: %s", state, resp.Status))
		}
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 200 * time.Millisecond
	b.MaxInterval = 5 * time.Second
	b.MaxElapsedTime = 0
	return backoff.Retry(op, backoff.WithContext(b, ctx))
}
