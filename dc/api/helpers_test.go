package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/api"
	"github.com/atoll-edge/atoll/dc/client"
	"github.com/atoll-edge/atoll/dc/memstore"
	"github.com/atoll-edge/atoll/dc/sqlstore"
)

const testToken = "s3cret-token"

// env is a handler over a real Manager and store, served on loopback.
type env struct {
	m      *dc.Manager
	store  dc.Store
	srv    *httptest.Server
	c      *client.Client
	reg    *prometheus.Registry
	logBuf *syncBuffer
}

type envOptions struct {
	store   dc.Store
	install dc.Phase // nil: no install phase
	boot    dc.Phase // nil: no bootstrap phase
	config  dc.Phase // nil: no config phase (deploy_config refused)
	// serviceList hides the Manager's ViewSubclouds: lists go through
	// Service.Subclouds instead of the default read-model fast path.
	serviceList bool
}

// serviceOnly hides the Manager's ViewSubclouds, so that the handler lists
// through Service.Subclouds (the path of a Service without a read model).
type serviceOnly struct{ api.Service }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.store == nil {
		o.store = memstore.New()
	}
	sealer, err := dc.NewAESGCMSealer(bytes.Repeat([]byte{7}, dc.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	m, err := dc.NewManager(o.store, dc.Options{Sealer: sealer, Install: o.install, Bootstrap: o.boot, Config: o.config})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	logBuf := &syncBuffer{}
	reg := prometheus.NewRegistry()
	opts := api.Options{
		Logger:     slog.New(slog.NewJSONHandler(logBuf, nil)),
		Registerer: reg,
	}
	// A *dc.Manager is its own SubcloudViewer, which New picks by default.
	var svc api.Service = m
	if o.serviceList {
		svc = serviceOnly{m}
	}
	h, err := api.New(svc, testToken, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	c, err := client.New(srv.URL, testToken, client.Options{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		_ = m.Close()
		_ = o.store.Close()
	})
	return &env{m: m, store: o.store, srv: srv, c: c, reg: reg, logBuf: logBuf}
}

// bootstrapYAML is a valid bootstrap values file for subcloud number i
// (management subnet 10.x.y.0/24, OAM 172.16/12 slice of its own).
func bootstrapYAML(name string, i int) string {
	x, y := i/256, i%256
	oam := 16 * i
	return fmt.Sprintf(`name: %s
system_mode: simplex
description: edge site %d
location: rack %d
management_subnet: 10.%d.%d.0/24
management_start_address: 10.%d.%d.10
management_end_address: 10.%d.%d.50
management_gateway_address: 10.%d.%d.1
systemcontroller_gateway_address: 192.168.204.101
external_oam_subnet: 172.%d.%d.%d/28
external_oam_gateway_address: 172.%d.%d.%d
external_oam_floating_address: 172.%d.%d.%d
`, name, i, i, x, y, x, y, x, y, x, y,
		16+oam>>16, oam>>8&255, oam&255,
		16+oam>>16, oam>>8&255, oam&255+1,
		16+oam>>16, oam>>8&255, oam&255+2)
}

func bootstrapAddr(i int) string { return fmt.Sprintf("198.18.%d.%d", i/256, i%256) }

const installYAML = `bmc_address: 127.0.0.1
bmc_username: root
bootstrap_interface: eno1
bootstrap_address: 198.18.0.1
image: http://127.0.0.1/iso/bootimage.iso
boot_device: /dev/sda
rootfs_device: /dev/sda
install_type: 0
`

// raw sends a request with the test token unless headers say otherwise.
func (e *env) raw(t testing.TB, method, path, contentType string, body io.Reader, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", testToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// waitDeploy polls until the subcloud reaches want.
func waitDeploy(t testing.TB, m *dc.Manager, ref string, want dc.DeployStatus) *dc.Subcloud {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := m.Subcloud(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if s.DeployStatus == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("subcloud %s: deploy status %s, want %s", ref, s.DeployStatus, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// blockingPhase holds a phase until its context is done.
func blockingPhase() dc.Phase {
	return dc.PhaseFunc(func(ctx context.Context, job *dc.PhaseJob) error {
		job.Logf("waiting")
		<-ctx.Done()
		return ctx.Err()
	})
}

func jsonBody(s string) io.Reader { return strings.NewReader(s) }

func clientGroup(name string) client.GroupRequest { return client.GroupRequest{Name: name} }

// mustAdd adds subcloud number i through the API (with install values if
// install, so the install phase runs).
func mustAdd(t testing.TB, e *env, name string, i int, group string, install bool) *dc.Subcloud {
	t.Helper()
	req := client.AddRequest{
		BootstrapAddress: bootstrapAddr(i), BootstrapValues: []byte(bootstrapYAML(name, i)), Group: group,
	}
	if install {
		req.InstallValues, req.BMCPassword = []byte(installYAML), "bmc-pw"
	}
	s, err := e.c.AddSubcloud(context.Background(), req)
	if err != nil {
		t.Fatalf("add %s: %v", name, err)
	}
	return s
}

// newSQLStore opens a real SQLite store in a temp dir.
func newSQLStore(t testing.TB) dc.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "atoll.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// deployConfigYAML is a deploy config file: a stream of two resources.
const deployConfigYAML = `apiVersion: starlingx.windriver.com/v1
kind: System
metadata:
  name: edge
---
apiVersion: starlingx.windriver.com/v1
kind: Host
metadata:
  name: controller-0
`
