package emulator

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// FleetOptions configures StartFleet.
type FleetOptions struct {
	// Count is the number of BMCs (at least 1).
	Count int
	// Options is the template for every BMC; Name and Seed are set per BMC
	// ("bmc-0", seed 0, ...) unless Name is set, which then prefixes the
	// index. A nil HTTPClient is replaced by one client shared by all.
	Options Options
	// Host is the address to listen on; default 127.0.0.1. Each BMC gets
	// its own port.
	Host string
	// TLS serves HTTPS with one self-signed certificate for Host; the
	// fleet's CertPool verifies it.
	TLS bool
}

// Member is one BMC of a fleet.
type Member struct {
	BMC  *BMC
	Addr string // host:port
	URL  string // http(s)://host:port
}

// Fleet is a set of BMCs, each serving on its own listener.
type Fleet struct {
	members []Member
	pool    *x509.CertPool
	client  *http.Client // the shared media client the fleet made, if any
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
	once    sync.Once
}

// StartFleet starts opts.Count BMCs, each on its own port, serving until
// ctx is done or Close is called.
func StartFleet(ctx context.Context, opts FleetOptions) (*Fleet, error) {
	if opts.Count < 1 {
		return nil, fmt.Errorf("emulator: fleet count %d < 1", opts.Count)
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	tmpl := opts.Options
	var shared *http.Client
	if tmpl.HTTPClient == nil {
		nets := tmpl.AllowedMediaNets
		if nets == nil {
			nets = defaultMediaNets()
		}
		tmpl.HTTPClient = NewMediaClient(nets)
		shared = tmpl.HTTPClient
	}
	scheme := "http"
	var pool *x509.CertPool
	if opts.TLS {
		cfg, p, err := SelfSignedTLS(host)
		if err != nil {
			return nil, err
		}
		tmpl.TLS, pool, scheme = cfg, p, "https"
	}
	sctx, cancel := context.WithCancel(ctx)
	f := &Fleet{cancel: cancel, pool: pool, client: shared}
	// Parse the mockup once; each BMC gets a deep copy.
	sp, err := specFor(tmpl.Profile)
	if err != nil {
		cancel()
		return nil, err
	}
	sk, err := loadSkeleton(sp.layout())
	if err != nil {
		cancel()
		return nil, err
	}
	for i := range opts.Count {
		o := tmpl
		o.Seed = tmpl.Seed + uint64(i)
		if tmpl.Name != "" {
			o.Name = fmt.Sprintf("%s-%d", tmpl.Name, i)
		} else {
			o.Name = fmt.Sprintf("bmc-%d", i)
		}
		b, err := newBMC(o, sk.clone())
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			_ = b.Close()
			_ = f.Close()
			return nil, fmt.Errorf("emulator: fleet listen: %w", err)
		}
		addr := ln.Addr().String()
		f.members = append(f.members, Member{BMC: b, Addr: addr, URL: scheme + "://" + addr})
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if err := b.Serve(sctx, ln); err != nil {
				f.mu.Lock()
				f.errs = append(f.errs, fmt.Errorf("%s: %w", o.Name, err))
				f.mu.Unlock()
			}
		}()
	}
	return f, nil
}

// Members returns the fleet's BMCs in start order.
func (f *Fleet) Members() []Member { return append([]Member(nil), f.members...) }

// CertPool returns the pool that verifies the fleet's certificate, nil
// without TLS.
func (f *Fleet) CertPool() *x509.CertPool { return f.pool }

// Close stops every BMC and waits for them; it returns the serve errors.
func (f *Fleet) Close() error {
	f.once.Do(func() {
		f.cancel()
		f.wg.Wait()
		for _, m := range f.members {
			_ = m.BMC.Close()
		}
		if f.client != nil {
			f.client.CloseIdleConnections()
		}
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	return errors.Join(f.errs...)
}
