// Command bmc-emulator serves one or more emulated Redfish BMCs.
//
//	bmc-emulator --profile dell --count 10 --listen 127.0.0.1:0 --tls --ca-file ca.pem
//
// Each BMC gets its own port: with port 0 the kernel picks one per BMC,
// otherwise the ports are consecutive from the one given. The program
// prints one base URL per BMC on standard output (and into --url-file), logs
// to standard error with slog, serves Prometheus metrics with --metrics, and
// shuts down gracefully on SIGINT/SIGTERM.
//
// validate.sh, beside this file, runs DMTF's Redfish-Protocol-Validator and
// Redfish-Service-Validator against it when they are installed (RPV_DIR,
// RSV_DIR, RSV_SCHEMAS; its header lists the Debian packages and the GitHub
// sources of the Python deps Debian lacks). It is not part of make test.
package main

import (
	"context"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/atoll-edge/atoll/redfish/emulator"
)

type config struct {
	listen, profile    string
	count              int
	username, password string
	tls                bool
	caFile, urlFile    string
	logLevel           string
	mediaDigest        bool
	metrics            string
	metricsLn          net.Listener // tests: an open listener instead of --metrics
}

func main() {
	var cfg config
	flag.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "address of the first BMC; port 0 gives each BMC a free port")
	flag.StringVar(&cfg.profile, "profile", "generic", "vendor profile: "+profileNames())
	flag.IntVar(&cfg.count, "count", 1, "number of BMCs")
	flag.StringVar(&cfg.username, "username", "admin", "Redfish user name")
	flag.StringVar(&cfg.password, "password", "password", "Redfish password")
	flag.BoolVar(&cfg.tls, "tls", false, "serve HTTPS with a self-signed certificate")
	flag.StringVar(&cfg.caFile, "ca-file", "", "with --tls, write the certificate (PEM) here for clients to trust")
	flag.StringVar(&cfg.urlFile, "url-file", "", "write the BMC base URLs here, one a line, once all listen")
	flag.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warn or error")
	flag.BoolVar(&cfg.mediaDigest, "media-digest", false, "compute the SHA-256 of inserted images")
	flag.StringVar(&cfg.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:0); off when empty")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "bmc-emulator:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("bmc-emulator failed", "err", err)
		os.Exit(1)
	}
}

func profileNames() string {
	var names []string
	for _, p := range emulator.Profiles() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	if cfg.count < 1 {
		return fmt.Errorf("--count %d: need at least 1", cfg.count)
	}
	host, portStr, err := net.SplitHostPort(cfg.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("--listen port: %w", err)
	}
	reg := prometheus.NewRegistry()
	opts := emulator.Options{
		Registerer:  reg,
		Profile:     emulator.Profile(cfg.profile),
		Username:    cfg.username,
		Password:    cfg.password,
		Logger:      log,
		MediaDigest: cfg.mediaDigest,
		HTTPClient:  emulator.NewMediaClient(nil),
	}
	scheme := "http"
	if cfg.tls {
		hosts := []string{host}
		if host == "" || host == "0.0.0.0" || host == "::" {
			hosts = nil
		}
		tlsCfg, _, err := emulator.SelfSignedTLS(hosts...)
		if err != nil {
			return err
		}
		opts.TLS, scheme = tlsCfg, "https"
		if cfg.caFile != "" {
			cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsCfg.Certificates[0].Certificate[0]})
			if err := os.WriteFile(cfg.caFile, cert, 0o644); err != nil {
				return err
			}
		}
	}

	type served struct {
		bmc *emulator.BMC
		ln  net.Listener
	}
	var all []served
	defer func() {
		for _, s := range all {
			_ = s.bmc.Close()
		}
	}()
	var urls []string
	for i := range cfg.count {
		o := opts
		o.Name, o.Seed = fmt.Sprintf("bmc-%d", i), uint64(i)
		b, err := emulator.New(o)
		if err != nil {
			return err
		}
		p := 0
		if port != 0 {
			p = port + i
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			_ = b.Close()
			for _, s := range all {
				_ = s.ln.Close()
			}
			return fmt.Errorf("listen: %w", err)
		}
		all = append(all, served{b, ln})
		urls = append(urls, scheme+"://"+ln.Addr().String())
	}
	for _, u := range urls {
		fmt.Println(u)
	}
	if cfg.urlFile != "" {
		// Write then rename, so a reader never sees a partial list.
		tmp := cfg.urlFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(strings.Join(urls, "\n")+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, cfg.urlFile); err != nil {
			return err
		}
	}
	log.Info("serving", "bmcs", cfg.count, "profile", cfg.profile, "first", urls[0], "tls", cfg.tls)

	g, gctx := errgroup.WithContext(ctx)
	if cfg.metrics != "" || cfg.metricsLn != nil {
		mln := cfg.metricsLn
		if mln == nil {
			if mln, err = net.Listen("tcp", cfg.metrics); err != nil {
				for _, s := range all {
					_ = s.ln.Close()
				}
				return fmt.Errorf("--metrics: %w", err)
			}
		}
		log.Info("metrics", "url", "http://"+mln.Addr().String()+"/metrics")
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			return msrv.Close()
		})
	}
	for _, s := range all {
		g.Go(func() error { return s.bmc.Serve(gctx, s.ln) })
	}
	err = g.Wait()
	opts.HTTPClient.CloseIdleConnections()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}
