package tftpd

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// run runs a client program and fails the test with its output on error.
func run(t *testing.T, timeout time.Duration, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// TestRealClients downloads a 40 MiB image with curl, atftp (windowsize 16)
// and tftp-hpa and compares SHA-256.
func TestRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("40 MiB transfers with real clients; run without -short")
	}
	dir := t.TempDir()
	const size = 40 << 20
	want := randomFile(t, dir, "image.img", size)
	srv := startServer(t, rootFS(t, dir), Options{})
	port := strconv.Itoa(srv.addr.Port)
	out := t.TempDir()

	t.Run("curl", func(t *testing.T) {
		curl := needTool(t, "curl", "curl")
		dst := filepath.Join(out, "curl.img")
		run(t, 2*time.Minute, curl, "-sS", "--tftp-blksize", "1468", "-o", dst,
			fmt.Sprintf("tftp://127.0.0.1:%s/image.img", port))
		if got := fileSHA(t, dst); got != want {
			t.Fatalf("curl: sha256 %s, want %s", got, want)
		}
	})
	t.Run("atftp-windowsize", func(t *testing.T) {
		atftp := needTool(t, "atftp", "atftp")
		dst := filepath.Join(out, "atftp.img")
		run(t, 2*time.Minute, atftp, "--get", "-r", "image.img", "-l", dst,
			"--option", "windowsize 16", "--option", "blksize 1468", "127.0.0.1", port)
		if got := fileSHA(t, dst); got != want {
			t.Fatalf("atftp: sha256 %s, want %s", got, want)
		}
	})
	t.Run("tftp-hpa", func(t *testing.T) {
		tftp := needTool(t, "tftp", "tftp-hpa")
		dst := filepath.Join(out, "hpa.img")
		run(t, 3*time.Minute, tftp, "-m", "binary", "127.0.0.1", port, "-c", "get", "image.img", dst)
		if got := fileSHA(t, dst); got != want {
			t.Fatalf("tftp-hpa: sha256 %s, want %s", got, want)
		}
	})
}
