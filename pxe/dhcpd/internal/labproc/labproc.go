// Package labproc runs the processes of a DHCP lab (see package netns): an
// Atoll server or the load generator, each as a re-executed copy of the
// current binary inside a network namespace, selected by an environment
// switch. A test's TestMain or a command's main calls [Main] first.
//
// # Roles
//
// "serve" runs a [dhcpd.Server] on an interface with a file lease store,
// prints "ready" when it listens and stops on SIGTERM. "load" runs
// [dhcpload.Run] and prints its [dhcpload.Result] as JSON.
package labproc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/dhcpd/internal/dhcpload"
	"github.com/atoll-edge/atoll/pxe/internal/netns"
)

const (
	envRole   = "ATOLL_DHCPD_LAB_ROLE"
	envConfig = "ATOLL_DHCPD_LAB_CONFIG"
)

// ServeConfig configures the "serve" role.
type ServeConfig struct {
	Mode       dhcpd.Mode
	Iface      string
	ServerIP   netip.Addr
	Subnet     netip.Prefix
	Start, End netip.Addr
	LeaseTime  time.Duration
	LeaseFile  string
	Boot       *dhcpd.BootConfig
}

// LoadConfig configures the "load" role.
type LoadConfig struct {
	Server   netip.Addr
	Relay    netip.Addr
	Clients  int
	InFlight int
	MACSeed  uint32
	// SequentialMACs, Timeout, Retries, MaxFailures: see dhcpload.Config.
	SequentialMACs bool
	Timeout        time.Duration
	Retries        int
	MaxFailures    int
}

// Main runs the role named in the environment and reports whether it did;
// the caller returns at once when it did.
func Main() bool {
	role := os.Getenv(envRole)
	if role == "" {
		return false
	}
	var err error
	switch role {
	case "serve":
		err = serve()
	case "load":
		err = load()
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "labproc:", err)
		os.Exit(1)
	}
	return true
}

func decodeConfig(v any) error {
	return json.Unmarshal([]byte(os.Getenv(envConfig)), v)
}

func serve() error {
	var c ServeConfig
	if err := decodeConfig(&c); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	st, err := dhcpd.OpenFileStore(c.LeaseFile)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := dhcpd.New(dhcpd.Options{
		Mode:     c.Mode,
		ServerIP: c.ServerIP,
		Pools:    []dhcpd.Pool{{Subnet: c.Subnet, Start: c.Start, End: c.End, Router: c.ServerIP, DNS: []netip.Addr{c.ServerIP}, LeaseTime: c.LeaseTime}},
		Boot:     c.Boot,
		Leases:   st,
	})
	if err != nil {
		return err
	}
	conn, err := dhcpd.ListenInterface(c.Iface, 67)
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Println("ready")
	return s.Serve(ctx, conn)
}

func load() error {
	var c LoadConfig
	if err := decodeConfig(&c); err != nil {
		return err
	}
	// The generator allocates per packet; fewer collections keep its cost
	// below the servers' it measures.
	debug.SetGCPercent(400)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IP(c.Relay.AsSlice()), Port: 67})
	if err != nil {
		return err
	}
	defer conn.Close()
	res, err := dhcpload.Run(context.Background(), dhcpload.Config{
		Conn: conn, Server: &net.UDPAddr{IP: net.IP(c.Server.AsSlice()), Port: 67}, Relay: net.IP(c.Relay.AsSlice()),
		Clients: c.Clients, InFlight: c.InFlight, MACSeed: c.MACSeed, SequentialMACs: c.SequentialMACs,
		Timeout: c.Timeout, Retries: c.Retries, MaxFailures: c.MaxFailures,
	})
	if err != nil && res.Leases == 0 {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// Proc is a running lab process.
type Proc struct {
	cmd    *exec.Cmd
	stderr *strings.Builder
	done   chan error
}

func command(ctx context.Context, ns, role string, cfg any, extraArgs ...string) (*exec.Cmd, *strings.Builder, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := netns.Command(ctx, ns, self, extraArgs...)
	cmd.Env = append(os.Environ(), envRole+"="+role, envConfig+"="+string(b))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	return cmd, &stderr, nil
}

// StartServer starts the "serve" role in ns and waits until it listens.
// extraArgs go to the re-executed binary (a test binary wants
// "-test.run=^$").
func StartServer(ctx context.Context, ns string, cfg ServeConfig, extraArgs ...string) (*Proc, error) {
	cmd, stderr, err := command(ctx, ns, "serve", cfg, extraArgs...)
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, stderr: stderr, done: make(chan error, 1)}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := sc.Scan() && sc.Text() == "ready"
		ready <- ok
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		p.done <- cmd.Wait()
	}()
	select {
	case ok := <-ready:
		if ok {
			return p, nil
		}
	case <-time.After(30 * time.Second):
	}
	p.Kill()
	return nil, fmt.Errorf("server did not start: %s", stderr.String())
}

// Stop ends the process with SIGTERM and waits for it.
func (p *Proc) Stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			return fmt.Errorf("%v: %s", err, p.stderr.String())
		}
		return nil
	case <-time.After(20 * time.Second):
		p.Kill()
		return fmt.Errorf("did not stop on SIGTERM")
	}
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
	p.done <- nil
}

// RunLoad runs the "load" role in ns and returns its result.
func RunLoad(ctx context.Context, ns string, cfg LoadConfig, extraArgs ...string) (dhcpload.Result, error) {
	var res dhcpload.Result
	cmd, stderr, err := command(ctx, ns, "load", cfg, extraArgs...)
	if err != nil {
		return res, err
	}
	out, err := cmd.Output()
	if err != nil {
		return res, fmt.Errorf("load generator: %v: %s", err, stderr.String())
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("load generator output: %v: %q", err, out)
	}
	return res, nil
}
