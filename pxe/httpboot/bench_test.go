package httpboot_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/pxe/imagestore"
)

// benchHandler returns a handler over a store with a 1 MiB image and a
// small OSTree-shaped repository.
func benchHandler(b *testing.B) http.Handler {
	b.Helper()
	ctx := context.Background()
	store, err := imagestore.Open(b.TempDir(), imagestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	img := make([]byte, 1<<20)
	if _, err := store.Register(ctx, "disk.img", "1", bytes.NewReader(img), ""); err != nil {
		b.Fatal(err)
	}
	repo := filepath.Join(b.TempDir(), "repo")
	os.MkdirAll(filepath.Join(repo, "objects", "ab"), 0o755)
	os.WriteFile(filepath.Join(repo, "config"), []byte("[core]\nmode=archive-z2\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "objects", "ab", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab.filez"), make([]byte, 8<<10), 0o644)
	if _, err := store.RegisterRepo(ctx, "os", "1", repo); err != nil {
		b.Fatal(err)
	}
	h, err := httpboot.New(httpboot.Options{Images: store})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header                 { return w.h }
func (w *discardWriter) Write(p []byte) (int, error)         { return len(p), nil }
func (w *discardWriter) WriteHeader(int)                     {}
func (w *discardWriter) ReadFrom(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }

// BenchmarkHandlerOSTreeObject is the per-request cost of one `ostree pull`
// object GET (8 KiB) in the handler, without the network.
func BenchmarkHandlerOSTreeObject(b *testing.B) {
	h := benchHandler(b)
	req := httptest.NewRequest("GET", "/ostree/os/objects/ab/0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab.filez", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(8 << 10)
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkHandlerImageHEAD is the cost of a HEAD on an image (metadata only).
func BenchmarkHandlerImageHEAD(b *testing.B) {
	h := benchHandler(b)
	req := httptest.NewRequest("HEAD", "/images/disk.img", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkOSTreeObjectLoopback is one object GET over a keep-alive
// loopback connection, client included.
func BenchmarkOSTreeObjectLoopback(b *testing.B) {
	srv := httptest.NewServer(benchHandler(b))
	defer srv.Close()
	url := srv.URL + "/ostree/os/objects/ab/0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab.filez"
	c := srv.Client()
	b.SetBytes(8 << 10)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}

// BenchmarkImageLoopback streams a 32 MiB image over loopback (sendfile on
// the server side).
func BenchmarkImageLoopback(b *testing.B) {
	ctx := context.Background()
	store, err := imagestore.Open(b.TempDir(), imagestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Register(ctx, "big.img", "1", bytes.NewReader(make([]byte, 32<<20)), ""); err != nil {
		b.Fatal(err)
	}
	h, err := httpboot.New(httpboot.Options{Images: store})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := srv.Client()
	b.SetBytes(32 << 20)
	for b.Loop() {
		resp, err := c.Get(srv.URL + "/images/big.img")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != 32<<20 {
			b.Fatalf("got %d bytes", n)
		}
	}
}
