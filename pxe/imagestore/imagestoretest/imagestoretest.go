package imagestoretest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/atoll-edge/atoll/pxe/imagestore"
)

// Harness wraps one store under test.
type Harness interface {
	// Store returns the store under test (a new value after Reopen).
	Store() imagestore.Store
	// Register stores data as version of the single-file image name.
	Register(ctx context.Context, name, version string, data []byte) (imagestore.Image, error)
	// RegisterRepo stores the OSTree archive repository in dir.
	RegisterRepo(ctx context.Context, name, version, dir string) (imagestore.Image, error)
	// Corrupt changes the stored bytes of the latest version of name
	// behind the store's back.
	Corrupt(ctx context.Context, name string) error
	// Reopen closes the store and opens the same data again.
	Reopen(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// HarnessMaker makes a harness around a fresh, empty store.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// RunStoreTests runs the conformance suite against stores newHarness makes.
func RunStoreTests(t *testing.T, newHarness HarnessMaker) {
	cases := []struct {
		name string
		fn   func(context.Context, *testing.T, Harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"NotFound", testNotFound},
		{"InvalidNames", testInvalidNames},
		{"LatestVersion", testLatestVersion},
		{"VerifyDetectsCorruption", testVerifyCorrupt},
		{"Repository", testRepository},
		{"Durability", testDurability},
		{"ConcurrentReads", testConcurrentReads},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			h, err := newHarness(ctx, t)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			c.fn(ctx, t, h)
		})
	}
}

func digest(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed
	}
	return b
}

func readImage(ctx context.Context, t *testing.T, s imagestore.Store, name string) ([]byte, imagestore.Image) {
	t.Helper()
	f, img, err := s.OpenImage(ctx, name)
	if err != nil {
		t.Fatalf("OpenImage(%q): %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b, img
}

func testRoundTrip(ctx context.Context, t *testing.T, h Harness) {
	data := content(100_003, 1)
	img, err := h.Register(ctx, "vmlinuz", "1", data)
	if err != nil {
		t.Fatal(err)
	}
	if img.Name != "vmlinuz" || img.Version != "1" || img.Kind != imagestore.KindImage || img.SHA256 != digest(data) || img.Size != int64(len(data)) {
		t.Fatalf("Register = %+v", img)
	}
	st, err := h.Store().Stat(ctx, "vmlinuz")
	if err != nil || st.SHA256 != img.SHA256 {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	b, got := readImage(ctx, t, h.Store(), "vmlinuz")
	if !bytes.Equal(b, data) || got.SHA256 != img.SHA256 {
		t.Fatalf("read back %d bytes (%s)", len(b), got.SHA256)
	}
	if err := h.Store().Verify(ctx, "vmlinuz"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func testNotFound(ctx context.Context, t *testing.T, h Harness) {
	s := h.Store()
	if _, err := s.Stat(ctx, "missing"); !errors.Is(err, imagestore.ErrNotFound) {
		t.Errorf("Stat: %v", err)
	}
	if _, _, err := s.OpenImage(ctx, "missing"); !errors.Is(err, imagestore.ErrNotFound) {
		t.Errorf("OpenImage: %v", err)
	}
	if _, _, err := s.OpenRepo(ctx, "missing"); !errors.Is(err, imagestore.ErrNotFound) {
		t.Errorf("OpenRepo: %v", err)
	}
	if err := s.Verify(ctx, "missing"); !errors.Is(err, imagestore.ErrNotFound) {
		t.Errorf("Verify: %v", err)
	}
	// The wrong kind is not found either.
	if _, err := h.Register(ctx, "file", "1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.OpenRepo(ctx, "file"); !errors.Is(err, imagestore.ErrNotFound) {
		t.Errorf("OpenRepo of an image: %v", err)
	}
}

func testInvalidNames(ctx context.Context, t *testing.T, h Harness) {
	for _, name := range []string{"", ".", "..", "../x", "a/b", "/abs", `a\b`, "a\x00b", ".hidden", "%2e%2e"} {
		if _, err := h.Register(ctx, name, "1", []byte("x")); !errors.Is(err, imagestore.ErrInvalidName) {
			t.Errorf("Register(%q): %v", name, err)
		}
		if _, err := h.Store().Stat(ctx, name); !errors.Is(err, imagestore.ErrInvalidName) {
			t.Errorf("Stat(%q): %v", name, err)
		}
		if _, _, err := h.Store().OpenRepo(ctx, name); !errors.Is(err, imagestore.ErrInvalidName) {
			t.Errorf("OpenRepo(%q): %v", name, err)
		}
	}
}

func testLatestVersion(ctx context.Context, t *testing.T, h Harness) {
	v1, v2 := content(1000, 1), content(2000, 2)
	if _, err := h.Register(ctx, "initrd", "1", v1); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Register(ctx, "initrd", "2", v2); err != nil {
		t.Fatal(err)
	}
	if b, img := readImage(ctx, t, h.Store(), "initrd"); !bytes.Equal(b, v2) || img.Version != "2" {
		t.Fatalf("latest = version %s, %d bytes", img.Version, len(b))
	}
	if _, err := h.Register(ctx, "initrd", "1", v2); !errors.Is(err, imagestore.ErrAlreadyExists) {
		t.Fatalf("re-register version 1 with other content: %v", err)
	}
}

func testVerifyCorrupt(ctx context.Context, t *testing.T, h Harness) {
	if _, err := h.Register(ctx, "iso", "1", content(5000, 3)); err != nil {
		t.Fatal(err)
	}
	if err := h.Corrupt(ctx, "iso"); err != nil {
		t.Fatal(err)
	}
	err := h.Store().Verify(ctx, "iso")
	var ce *imagestore.ChecksumError
	if !errors.Is(err, imagestore.ErrChecksumMismatch) || !errors.As(err, &ce) || ce.Name != "iso" {
		t.Fatalf("Verify after corruption: %v", err)
	}
}

// writeRepo writes a minimal archive repository into a temporary directory.
func writeRepo(t *testing.T) string {
	dir := t.TempDir()
	for p, c := range map[string]string{
		"config":                     "[core]\nrepo_version=1\nmode=archive-z2\n",
		"refs/heads/os":              "ab\n",
		"objects/ab/cdef.commit":     "commit",
		"objects/12/3456.filez":      "filez",
		"deltas/ab/cd-ef/superblock": "delta",
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testRepository(ctx context.Context, t *testing.T, h Harness) {
	img, err := h.RegisterRepo(ctx, "os", "2026.1", writeRepo(t))
	if err != nil {
		t.Fatal(err)
	}
	if img.Kind != imagestore.KindOSTree || img.Files != 5 {
		t.Fatalf("RegisterRepo = %+v", img)
	}
	root, _, err := h.Store().OpenRepo(ctx, "os")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := root.ReadFile("objects/ab/cdef.commit"); err != nil || string(b) != "commit" {
		t.Fatalf("object: %q, %v", b, err)
	}
	if _, err := root.Open("../../../../etc/passwd"); err == nil {
		t.Fatal("repository root lets a path escape")
	}
	if _, _, err := h.Store().OpenImage(ctx, "os"); !errors.Is(err, imagestore.ErrNotFound) {
		t.Errorf("OpenImage of a repository: %v", err)
	}
	if err := h.Store().Verify(ctx, "os"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := h.Corrupt(ctx, "os"); err != nil {
		t.Fatal(err)
	}
	if err := h.Store().Verify(ctx, "os"); !errors.Is(err, imagestore.ErrChecksumMismatch) {
		t.Fatalf("Verify after corruption: %v", err)
	}
}

func testDurability(ctx context.Context, t *testing.T, h Harness) {
	data := content(4096, 4)
	if _, err := h.Register(ctx, "kernel", "1", data); err != nil {
		t.Fatal(err)
	}
	if _, err := h.RegisterRepo(ctx, "os", "1", writeRepo(t)); err != nil {
		t.Fatal(err)
	}
	if err := h.Reopen(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := readImage(ctx, t, h.Store(), "kernel"); !bytes.Equal(b, data) {
		t.Fatal("image changed across reopen")
	}
	if err := h.Store().Verify(ctx, "os"); err != nil {
		t.Fatalf("repository after reopen: %v", err)
	}
}

func testConcurrentReads(ctx context.Context, t *testing.T, h Harness) {
	data := content(64<<10, 5)
	if _, err := h.Register(ctx, "img", "1", data); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				f, _, err := h.Store().OpenImage(ctx, "img")
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(f)
				f.Close()
				if !bytes.Equal(b, data) {
					t.Error("concurrent read differs")
					return
				}
			}
		})
	}
	wg.Wait()
}
