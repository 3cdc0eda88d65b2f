package pxe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/dhcpd6"
	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/pxe/tftpd"
)

// Config says which services a [Server] runs and where. A nil service
// config leaves that service off; at least one must be set.
type Config struct {
	// Interface is the network interface the DHCP socket is bound to; empty
	// means every interface. It does not restrict TFTP or HTTP, which bind
	// to their Addr.
	Interface string
	DHCP      *DHCPConfig
	DHCP6     *DHCP6Config
	TFTP      *TFTPConfig
	HTTP      *HTTPConfig
}

// DHCPConfig configures the DHCP service.
type DHCPConfig struct {
	// Conn is an already-open socket to serve on. When nil the server opens
	// UDP Port on Config.Interface with broadcast allowed.
	Conn net.PacketConn
	// Port is the UDP port. Default 67.
	Port int
	// Options configure the DHCP server. Logger and Registerer default to
	// the Server's.
	Options dhcpd.Options
}

// DHCP6Config configures the DHCPv6 service, for IPv6 PXE and HTTP boot.
type DHCP6Config struct {
	// Conn is an already-open socket to serve on. When nil the server
	// opens [::]:547 on Config.Interface joined to ff02::1:2 (see
	// [dhcpd6.ListenInterface]); Interface is then required.
	Conn net.PacketConn
	// Options configure the DHCPv6 server. Logger and Registerer default
	// to the Server's.
	Options dhcpd6.Options
}

// TFTPConfig configures the TFTP service.
type TFTPConfig struct {
	// Conn is an already-open socket to serve on. When nil the server
	// listens on Addr.
	Conn net.PacketConn
	// Addr is the UDP address to listen on. Default ":69".
	Addr string
	// Root is the directory served (iPXE binaries: undionly.kpxe,
	// snponly.efi, ...). Required. Files are opened through [os.Root].
	Root string
	// Options configure the TFTP server. Logger and Registerer default to
	// the Server's.
	Options tftpd.Options
}

// HTTPConfig configures the HTTP boot service.
type HTTPConfig struct {
	// Listener is an already-open listener to serve on. When nil the server
	// listens on Addr.
	Listener net.Listener
	// Addr is the TCP address to listen on. Default ":80", or ":443" with TLS.
	Addr string
	// TLS, when set, serves HTTPS with this configuration. Note that
	// Debian's iPXE cannot fetch over HTTPS; firmware HTTP boot and
	// installers can.
	TLS *tls.Config
	// BootRoot is the directory served under /boot/ for UEFI HTTP boot.
	// Empty means Options.BootFiles (which may be nil: no /boot/).
	BootRoot string
	// Options configure the handler. Logger and Registerer default to the
	// Server's.
	Options httpboot.Options
	// ShutdownTimeout bounds how long in-flight requests may finish after
	// the context ends. Default 5s.
	ShutdownTimeout time.Duration
}

// Options configure a [Server]. The zero value means defaults.
type Options struct {
	// Logger is the default logger of every service. Default: discard.
	Logger *slog.Logger
	// Registerer is the default registry of every service, which also
	// receives atoll_pxe_service_up{service}. Default: none.
	Registerer prometheus.Registerer
}

// Server runs DHCP, DHCPv6, TFTP and HTTP boot services together. Create
// it with [New], run it with [Server.Serve].
type Server struct {
	log   *slog.Logger
	up    *prometheus.GaugeVec
	dhcp  *dhcpd.Server
	dhcp6 *dhcpd6.Server
	tftp  *tftpd.Server
	http  *http.Server

	dhcpConn  net.PacketConn
	dhcp6Conn net.PacketConn
	tftpConn  net.PacketConn
	httpLn    net.Listener
	tftpRoot  *os.Root
	bootRoot  *os.Root
	shutdown  time.Duration
	served    bool
}

// New builds the configured services and opens their sockets, so that
// [Server.DHCPAddr], [Server.TFTPAddr] and [Server.HTTPAddr] are known
// before [Server.Serve]. Sockets passed in Config belong to the Server
// from then on. On error everything New opened is closed again.
func New(cfg Config, opts Options) (_ *Server, err error) {
	if cfg.DHCP == nil && cfg.DHCP6 == nil && cfg.TFTP == nil && cfg.HTTP == nil {
		return nil, &ConfigError{Field: "Config", Reason: "no service configured"}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{log: opts.Logger}
	defer func() {
		if err != nil {
			s.closeAll()
			cfg.closeAdopted()
		}
	}()
	s.up = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "atoll", Subsystem: "pxe", Name: "service_up",
		Help: "1 while a PXE service (dhcp, dhcp6, tftp, http) is serving.",
	}, []string{"service"})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(s.up); err != nil {
			return nil, fmt.Errorf("pxe: register metrics: %w", err)
		}
	}
	if c := cfg.DHCP; c != nil {
		if err := s.newDHCP(cfg.Interface, *c, opts); err != nil {
			return nil, err
		}
	}
	if c := cfg.DHCP6; c != nil {
		if err := s.newDHCP6(cfg.Interface, *c, opts); err != nil {
			return nil, err
		}
	}
	if c := cfg.TFTP; c != nil {
		if err := s.newTFTP(*c, opts); err != nil {
			return nil, err
		}
	}
	if c := cfg.HTTP; c != nil {
		if err := s.newHTTP(*c, opts); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Server) newDHCP(iface string, c DHCPConfig, opts Options) error {
	o := c.Options
	if o.Logger == nil {
		o.Logger = opts.Logger.With("service", "dhcp")
	}
	if o.Registerer == nil {
		o.Registerer = opts.Registerer
	}
	srv, err := dhcpd.New(o)
	if err != nil {
		return fmt.Errorf("pxe: dhcp: %w", err)
	}
	s.dhcp = srv
	s.dhcpConn = c.Conn
	if s.dhcpConn == nil {
		port := c.Port
		if port == 0 {
			port = 67
		}
		conn, err := dhcpd.ListenInterface(iface, port)
		if err != nil {
			return fmt.Errorf("pxe: dhcp: %w", err)
		}
		s.dhcpConn = conn
	}
	return nil
}

func (s *Server) newDHCP6(iface string, c DHCP6Config, opts Options) error {
	o := c.Options
	if o.Logger == nil {
		o.Logger = opts.Logger.With("service", "dhcp6")
	}
	if o.Registerer == nil {
		o.Registerer = opts.Registerer
	}
	srv, err := dhcpd6.New(o)
	if err != nil {
		return fmt.Errorf("pxe: dhcp6: %w", err)
	}
	s.dhcp6, s.dhcp6Conn = srv, c.Conn
	if s.dhcp6Conn == nil {
		if iface == "" {
			return &ConfigError{Field: "Interface", Reason: "required by DHCP6 without a Conn"}
		}
		if s.dhcp6Conn, err = dhcpd6.ListenInterface(iface); err != nil {
			return fmt.Errorf("pxe: dhcp6: %w", err)
		}
	}
	return nil
}

func (s *Server) newTFTP(c TFTPConfig, opts Options) error {
	if c.Root == "" {
		return &ConfigError{Field: "TFTP.Root", Reason: "required"}
	}
	root, err := os.OpenRoot(c.Root)
	if err != nil {
		return fmt.Errorf("pxe: tftp root: %w", err)
	}
	s.tftpRoot = root
	o := c.Options
	if o.Logger == nil {
		o.Logger = opts.Logger.With("service", "tftp")
	}
	if o.Registerer == nil {
		o.Registerer = opts.Registerer
	}
	srv, err := tftpd.New(root.FS(), o)
	if err != nil {
		return fmt.Errorf("pxe: tftp: %w", err)
	}
	s.tftp = srv
	s.tftpConn = c.Conn
	if s.tftpConn == nil {
		addr := c.Addr
		if addr == "" {
			addr = ":69"
		}
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("pxe: tftp: %w", err)
		}
		s.tftpConn = conn
	}
	return nil
}

func (s *Server) newHTTP(c HTTPConfig, opts Options) error {
	o := c.Options
	if o.Logger == nil {
		o.Logger = opts.Logger.With("service", "http")
	}
	if o.Registerer == nil {
		o.Registerer = opts.Registerer
	}
	if c.BootRoot != "" {
		root, err := os.OpenRoot(c.BootRoot)
		if err != nil {
			return fmt.Errorf("pxe: http boot root: %w", err)
		}
		s.bootRoot = root
		o.BootFiles = root
	}
	h, err := httpboot.New(o)
	if err != nil {
		return fmt.Errorf("pxe: http: %w", err)
	}
	s.shutdown = c.ShutdownTimeout
	if s.shutdown <= 0 {
		s.shutdown = 5 * time.Second
	}
	s.http = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	ln := c.Listener
	if ln == nil {
		addr := c.Addr
		if addr == "" {
			addr = ":80"
			if c.TLS != nil {
				addr = ":443"
			}
		}
		ln, err = net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("pxe: http: %w", err)
		}
	}
	if c.TLS != nil {
		ln = tls.NewListener(ln, c.TLS.Clone())
	}
	s.httpLn = ln
	return nil
}

// closeAdopted closes the sockets passed in c, which belong to the Server
// even when New fails.
func (c Config) closeAdopted() {
	if c.DHCP != nil && c.DHCP.Conn != nil {
		c.DHCP.Conn.Close()
	}
	if c.DHCP6 != nil && c.DHCP6.Conn != nil {
		c.DHCP6.Conn.Close()
	}
	if c.TFTP != nil && c.TFTP.Conn != nil {
		c.TFTP.Conn.Close()
	}
	if c.HTTP != nil && c.HTTP.Listener != nil {
		c.HTTP.Listener.Close()
	}
}

// DHCPAddr is the DHCP socket's address, or nil when DHCP is off.
func (s *Server) DHCPAddr() net.Addr { return addrOf(s.dhcpConn) }

// DHCP6Addr is the DHCPv6 socket's address, or nil when DHCPv6 is off.
func (s *Server) DHCP6Addr() net.Addr { return addrOf(s.dhcp6Conn) }

// TFTPAddr is the TFTP socket's address, or nil when TFTP is off.
func (s *Server) TFTPAddr() net.Addr { return addrOf(s.tftpConn) }

// HTTPAddr is the HTTP listener's address, or nil when HTTP is off.
func (s *Server) HTTPAddr() net.Addr {
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}

func addrOf(c net.PacketConn) net.Addr {
	if c == nil {
		return nil
	}
	return c.LocalAddr()
}

// Serve runs every configured service until ctx is done or one of them
// fails, then stops the others (HTTP finishes in-flight requests for up to
// ShutdownTimeout), closes every socket and returns. It returns nil after
// a clean stop on ctx, or the first service error. Serve may be called
// once.
func (s *Server) Serve(ctx context.Context) error {
	if s.served {
		return errors.New("pxe: Serve called twice")
	}
	s.served = true
	defer s.closeAll()
	g, gctx := errgroup.WithContext(ctx)
	if s.dhcp != nil {
		g.Go(func() error { return s.run(gctx, "dhcp", func() error { return s.dhcp.Serve(gctx, s.dhcpConn) }) })
	}
	if s.dhcp6 != nil {
		g.Go(func() error { return s.run(gctx, "dhcp6", func() error { return s.dhcp6.Serve(gctx, s.dhcp6Conn) }) })
	}
	if s.tftp != nil {
		g.Go(func() error { return s.run(gctx, "tftp", func() error { return s.tftp.Serve(gctx, s.tftpConn) }) })
	}
	if s.http != nil {
		g.Go(func() error {
			return s.run(gctx, "http", func() error {
				if err := s.http.Serve(s.httpLn); !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			})
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), s.shutdown)
			defer cancel()
			if err := s.http.Shutdown(sctx); err != nil {
				s.log.Warn("http shutdown incomplete", "err", err)
				s.http.Close()
			}
			return nil
		})
	}
	err := g.Wait()
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// run runs one service, marks it up meanwhile and turns an early clean
// return into an error so that the group stops.
func (s *Server) run(ctx context.Context, name string, serve func() error) error {
	g := s.up.WithLabelValues(name)
	g.Set(1)
	defer g.Set(0)
	s.log.Info("service started", "service", name)
	err := serve()
	if err != nil {
		s.log.Error("service failed", "service", name, "err", err)
		return fmt.Errorf("pxe: %s: %w", name, err)
	}
	if ctx.Err() == nil {
		return fmt.Errorf("pxe: %s: %w", name, ErrStopped)
	}
	s.log.Info("service stopped", "service", name)
	return nil
}

// Close releases the sockets and roots of a Server that will not be
// served. Serve closes them itself when it returns.
func (s *Server) Close() error {
	if s.served {
		return nil
	}
	s.served = true
	s.closeAll()
	return nil
}

func (s *Server) closeAll() {
	if s.dhcpConn != nil {
		s.dhcpConn.Close()
	}
	if s.dhcp6Conn != nil {
		s.dhcp6Conn.Close()
	}
	if s.tftpConn != nil {
		s.tftpConn.Close()
	}
	if s.httpLn != nil {
		s.httpLn.Close()
	}
	if s.tftpRoot != nil {
		s.tftpRoot.Close()
	}
	if s.bootRoot != nil {
		s.bootRoot.Close()
	}
}

// ErrStopped reports a service that stopped on its own while the context
// was still live.
var ErrStopped = errors.New("pxe: service stopped unexpectedly")

// ConfigError reports an unusable [Config].
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return "pxe: config " + e.Field + ": " + e.Reason }
