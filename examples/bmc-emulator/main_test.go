package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRun starts three TLS BMCs as the program would, checks each with a
// verifying client, then stops them through the context.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	cfg := config{
		listen: "127.0.0.1:0", profile: "supermicro", count: 3, username: "u", password: "p",
		tls: true, caFile: filepath.Join(dir, "ca.pem"), urlFile: filepath.Join(dir, "urls"), logLevel: "info",
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.metricsLn = mln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler)) }()

	var urls []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		if data, err := os.ReadFile(cfg.urlFile); err == nil {
			urls = strings.Fields(string(data))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no URL file")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(urls) != 3 {
		t.Fatalf("urls %v", urls)
	}
	pem, err := os.ReadFile(cfg.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("bad CA file")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for _, u := range urls {
		req, _ := http.NewRequest(http.MethodGet, u+"/redfish/v1/Systems/1", nil)
		req.SetBasicAuth("u", "p")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var sys map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &sys) != nil || sys["Manufacturer"] != "Supermicro" {
			t.Fatalf("%s: %d %s", u, resp.StatusCode, body)
		}
	}
	// The requests above are counted on the metrics endpoint.
	resp, err := http.Get("http://" + mln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `atoll_redfish_emulator_requests_total{code="200",method="GET"} 3`) {
		t.Fatalf("metrics:\n%s", metrics)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no graceful shutdown")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, cfg := range []config{
		{listen: "127.0.0.1:0", profile: "generic", count: 0},
		{listen: "127.0.0.1", profile: "generic", count: 1},
		{listen: "127.0.0.1:0", profile: "cray", count: 1},
	} {
		if err := run(context.Background(), cfg, log); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
