package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/pxe"
	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/pxe/imagestore"
)

// serverEnv carries the JSON serverConfig to the re-executed test binary.
const serverEnv = "ATOLL_E2E_SERVER"

// serverConfig is what the server process serves.
type serverConfig struct {
	Iface    string              `json:"iface"`
	ServerIP string              `json:"server_ip"`
	HTTPPort int                 `json:"http_port"`
	StoreDir string              `json:"store_dir"`
	TFTPRoot string              `json:"tftp_root"`
	Hosts    map[string]bootHost `json:"hosts"` // by MAC
}

type bootHost struct {
	Name    string   `json:"name"`
	Kernel  string   `json:"kernel"`
	Initrds []string `json:"initrds"`
	Cmdline string   `json:"cmdline"`
}

// statusLine prefixes the host status reports the server process prints.
const (
	statusLine = "ATOLL-STATUS "
	readyLine  = "ATOLL-READY"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(serverEnv); cfg != "" {
		os.Exit(serverMain(cfg))
	}
	os.Exit(m.Run())
}

// serverMain runs Atoll's DHCP, TFTP and HTTP servers (and an IPv6 router
// advertiser) inside the test's namespace until SIGTERM.
func serverMain(raw string) int {
	var cfg serverConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bad config:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	store, err := imagestore.Open(cfg.StoreDir, imagestore.Options{Logger: log})
	if err != nil {
		log.Error("open store", "err", err)
		return 1
	}
	defer store.Close()
	hosts := map[string]httpboot.Host{}
	for mac, h := range cfg.Hosts {
		m, err := net.ParseMAC(mac)
		if err != nil {
			log.Error("bad MAC", "mac", mac)
			return 2
		}
		hosts[m.String()] = httpboot.Host{Name: h.Name, Kernel: h.Kernel, Initrds: h.Initrds, Cmdline: h.Cmdline}
	}
	var outMu sync.Mutex
	sink := httpboot.StatusSinkFunc(func(ctx context.Context, s httpboot.HostStatus) error {
		if _, ok := hosts[s.MAC.String()]; !ok {
			return httpboot.ErrUnknownHost
		}
		b, _ := json.Marshal(reportJSON{MAC: s.MAC.String(), State: string(s.State), Message: s.Message, Remote: s.Remote.String()})
		outMu.Lock()
		defer outMu.Unlock()
		_, err := fmt.Fprintf(os.Stdout, "%s%s\n", statusLine, b)
		return err
	})
	lookup := httpboot.HostLookupFunc(func(ctx context.Context, mac net.HardwareAddr) (httpboot.Host, error) {
		h, ok := hosts[mac.String()]
		if !ok {
			return h, httpboot.ErrUnknownHost
		}
		return h, nil
	})
	sip := netip.MustParseAddr(cfg.ServerIP)
	base := fmt.Sprintf("http://%s:%d", cfg.ServerIP, cfg.HTTPPort)
	srv, err := pxe.New(pxe.Config{
		Interface: cfg.Iface,
		DHCP: &pxe.DHCPConfig{Options: dhcpd.Options{
			ServerIP: sip,
			Pools: []dhcpd.Pool{{
				Subnet: netip.PrefixFrom(sip, 24).Masked(),
				Start:  netip.MustParseAddr(poolStart),
				End:    netip.MustParseAddr(poolEnd),
				Router: sip,
			}},
			Boot: &dhcpd.BootConfig{
				BIOS:       "undionly.kpxe",
				UEFIX64:    "snponly.efi",
				IPXEScript: httpboot.ScriptURL(base, "{mac}"),
			},
		}},
		TFTP: &pxe.TFTPConfig{Addr: net.JoinHostPort(cfg.ServerIP, "69"), Root: cfg.TFTPRoot},
		HTTP: &pxe.HTTPConfig{
			Addr:    net.JoinHostPort(cfg.ServerIP, fmt.Sprint(cfg.HTTPPort)),
			Options: httpboot.Options{Images: store, Hosts: lookup, Status: sink, BaseURL: base},
		},
	}, pxe.Options{Logger: log})
	if err != nil {
		log.Error("pxe.New", "err", err)
		return 1
	}
	go advertiseRouter(ctx, log, cfg.Iface)
	outMu.Lock()
	fmt.Fprintln(os.Stdout, readyLine)
	outMu.Unlock()
	if err := srv.Serve(ctx); err != nil {
		log.Error("serve", "err", err)
		return 1
	}
	return 0
}

type reportJSON struct {
	MAC     string `json:"mac"`
	State   string `json:"state"`
	Message string `json:"message"`
	Remote  string `json:"remote"`
}

// advertiseRouter multicasts a minimal ICMPv6 router advertisement on
// iface every second, so that iPXE's IPv6 configuration completes at once
// instead of waiting about 16 s for one (netboot.md). The kernel fills in
// the checksum of raw ICMPv6 sockets.
func advertiseRouter(ctx context.Context, log *slog.Logger, iface string) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		log.Warn("router advertisements off", "err", err)
		return
	}
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		log.Warn("router advertisements off", "err", err)
		return
	}
	defer c.Close()
	if rc, err := c.(*net.IPConn).SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_HOPS, 255)
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_IF, ifi.Index)
		})
	}
	// Type 134, code 0, checksum, hop limit 64, no flags, router lifetime
	// 0 (not a default router), reachable time and retrans timer 0, and a
	// source link-layer address option.
	ra := []byte{134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}
	ra = append(ra, ifi.HardwareAddr...)
	dst := &net.IPAddr{IP: net.ParseIP("ff02::1"), Zone: iface}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if _, err := c.WriteTo(ra, dst); err != nil {
			log.Debug("router advertisement", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
