package imagestore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/atoll-edge/atoll/pxe/imagestore"
)

func digest(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func open(t *testing.T, dir string) *imagestore.FileStore {
	t.Helper()
	s, err := imagestore.Open(dir, imagestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRegisterOpenVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	data := bytes.Repeat([]byte("kernel"), 10000)
	img, err := s.Register(ctx, "vmlinuz", "6.1", bytes.NewReader(data), digest(data))
	if err != nil {
		t.Fatal(err)
	}
	if img.SHA256 != digest(data) || img.Size != int64(len(data)) || img.Kind != imagestore.KindImage {
		t.Fatalf("image = %+v", img)
	}
	f, got, err := s.OpenImage(ctx, "vmlinuz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(b, data) || got != img {
		t.Fatalf("read back %d bytes, image %+v", len(b), got)
	}
	if err := s.Verify(ctx, "vmlinuz"); err != nil {
		t.Fatal(err)
	}
	// Same version, same content: idempotent. Different content: refused.
	if _, err := s.Register(ctx, "vmlinuz", "6.1", bytes.NewReader(data), ""); err != nil {
		t.Fatalf("re-register: %v", err)
	}
	if _, err := s.Register(ctx, "vmlinuz", "6.1", strings.NewReader("other"), ""); !errors.Is(err, imagestore.ErrAlreadyExists) {
		t.Fatalf("conflicting re-register: %v, want ErrAlreadyExists", err)
	}
	// A new version becomes the latest; the old one stays addressable.
	v2 := []byte("kernel v2")
	if _, err := s.Register(ctx, "vmlinuz", "6.2", bytes.NewReader(v2), ""); err != nil {
		t.Fatal(err)
	}
	if cur, _ := s.Stat(ctx, "vmlinuz"); cur.Version != "6.2" || cur.SHA256 != digest(v2) {
		t.Fatalf("latest = %+v", cur)
	}
	if old, err := s.StatVersion(ctx, "vmlinuz", "6.1"); err != nil || old.SHA256 != digest(data) {
		t.Fatalf("StatVersion = %+v, %v", old, err)
	}

	// Durability: reopen and find the same images.
	s.Close()
	s2 := open(t, dir)
	if cur, err := s2.Stat(ctx, "vmlinuz"); err != nil || cur.Version != "6.2" {
		t.Fatalf("after reopen: %+v, %v", cur, err)
	}
	if err := s2.Delete(ctx, "vmlinuz", "6.2"); err != nil {
		t.Fatal(err)
	}
	if cur, _ := s2.Stat(ctx, "vmlinuz"); cur.Version != "6.1" {
		t.Fatalf("after delete latest = %+v", cur)
	}
	if err := s2.Delete(ctx, "vmlinuz", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Stat(ctx, "vmlinuz"); !errors.Is(err, imagestore.ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "blobs/sha256")); len(ents) != 0 {
		t.Fatalf("blobs left after delete: %d", len(ents))
	}
}

func TestChecksumMismatchOnRegister(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	_, err := s.Register(ctx, "initrd", "1", strings.NewReader("abc"), digest([]byte("abd")))
	var ce *imagestore.ChecksumError
	if !errors.Is(err, imagestore.ErrChecksumMismatch) || !errors.As(err, &ce) || ce.Got != digest([]byte("abc")) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Stat(ctx, "initrd"); !errors.Is(err, imagestore.ErrNotFound) {
		t.Fatalf("refused image is registered: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Fatalf("temp files left: %v", ents)
	}
}

func TestVerifyDetectsCorruption(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	img, err := s.Register(ctx, "iso", "1", strings.NewReader("pristine"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blobs/sha256", img.SHA256), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(ctx, "iso"); !errors.Is(err, imagestore.ErrChecksumMismatch) {
		t.Fatalf("Verify = %v, want ErrChecksumMismatch", err)
	}
	if err := s.VerifyAll(ctx); !errors.Is(err, imagestore.ErrChecksumMismatch) {
		t.Fatalf("VerifyAll = %v, want ErrChecksumMismatch", err)
	}
}

func TestInvalidNames(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	for _, name := range []string{"", ".", "..", "../etc", "a/b", "/abs", `a\b`, "a\x00b", ".hidden", "-x", "a b", "%2e%2e", strings.Repeat("a", 129)} {
		if _, err := s.Register(ctx, name, "1", strings.NewReader("x"), ""); !errors.Is(err, imagestore.ErrInvalidName) {
			t.Errorf("Register(%q) = %v, want ErrInvalidName", name, err)
		}
		if _, err := s.Register(ctx, "ok", name, strings.NewReader("x"), ""); !errors.Is(err, imagestore.ErrInvalidName) {
			t.Errorf("Register(version %q) = %v, want ErrInvalidName", name, err)
		}
		if _, _, err := s.OpenImage(ctx, name); !errors.Is(err, imagestore.ErrInvalidName) {
			t.Errorf("OpenImage(%q) = %v, want ErrInvalidName", name, err)
		}
	}
	if _, err := s.Register(ctx, "ok", "1", strings.NewReader("x"), "ABC"); !errors.Is(err, imagestore.ErrInvalidName) {
		t.Errorf("bad digest: %v", err)
	}
}

func TestRegisterRepo(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	files := map[string]string{
		"config":                     "[core]\nrepo_version=1\nmode=archive-z2\n",
		"refs/heads/os/x86_64":       "aa\n",
		"objects/ab/cdef.commit":     "commit",
		"objects/ab/0123.filez":      "file",
		"objects/cd/4567.dirtree":    "tree",
		"deltas/xy/zz-yy/superblock": "delta",
	}
	for p, c := range files {
		os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(src, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	s := open(t, dir)
	img, err := s.RegisterRepo(ctx, "os", "2026.1", src)
	if err != nil {
		t.Fatal(err)
	}
	if img.Kind != imagestore.KindOSTree || img.Files != len(files) {
		t.Fatalf("image = %+v", img)
	}
	root, _, err := s.OpenRepo(ctx, "os")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := root.ReadFile("objects/ab/cdef.commit"); err != nil || string(b) != "commit" {
		t.Fatalf("read object: %q %v", b, err)
	}
	if err := s.Verify(ctx, "os"); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "repos/os/2026.1")
	os.WriteFile(filepath.Join(repo, "objects/ab/0123.filez"), []byte("evil"), 0o644)
	os.Remove(filepath.Join(repo, "objects/cd/4567.dirtree"))
	os.WriteFile(filepath.Join(repo, "objects/ab/extra.filez"), []byte("x"), 0o644)
	err = s.Verify(ctx, "os")
	if !errors.Is(err, imagestore.ErrChecksumMismatch) {
		t.Fatalf("Verify = %v, want ErrChecksumMismatch", err)
	}
	for _, f := range []string{"0123.filez", "4567.dirtree", "extra.filez"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("Verify error does not name %s: %v", f, err)
		}
	}
	if _, _, err := s.OpenImage(ctx, "os"); !errors.Is(err, imagestore.ErrNotFound) {
		t.Errorf("OpenImage on a repository: %v", err)
	}
	if _, err := s.RegisterRepo(ctx, "notrepo", "1", t.TempDir()); err == nil {
		t.Error("RegisterRepo of a directory without config succeeded")
	}
}

func TestRegisterRepoRefusesSymlinks(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "config"), []byte("mode=archive\n"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(src, "summary"))
	s := open(t, t.TempDir())
	if _, err := s.RegisterRepo(context.Background(), "os", "1", src); err == nil {
		t.Fatal("symlink copied into the store")
	}
}

func TestURL(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	if _, err := s.URL(ctx, "http://10.0.0.1:8080", "missing"); !errors.Is(err, imagestore.ErrNotFound) {
		t.Fatalf("URL of missing image: %v", err)
	}
	s.Register(ctx, "sub1.iso", "1", strings.NewReader("iso"), "")
	for base, want := range map[string]string{
		"http://10.0.0.1:8080":    "http://10.0.0.1:8080/images/sub1.iso",
		"https://[fd00::1]/boot/": "https://[fd00::1]/boot/images/sub1.iso",
		"http://h/x?q=1#f":        "http://h/x/images/sub1.iso",
	} {
		got, err := s.URL(ctx, base, "sub1.iso")
		if err != nil || got != want {
			t.Errorf("URL(%q) = %q, %v; want %q", base, got, err, want)
		}
	}
	if _, err := imagestore.URL("/relative", "x"); err == nil {
		t.Error("relative base accepted")
	}
}

func TestConcurrentRegisterAndRead(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			data := bytes.Repeat([]byte{byte(i)}, 4096)
			name := "img" + string(rune('a'+i))
			if _, err := s.Register(ctx, name, "1", bytes.NewReader(data), digest(data)); err != nil {
				t.Error(err)
				return
			}
			for range 20 {
				f, _, err := s.OpenImage(ctx, name)
				if err != nil {
					t.Error(err)
					return
				}
				f.Close()
			}
			if err := s.Verify(ctx, name); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if l, _ := s.List(ctx); len(l) != 8 {
		t.Fatalf("List = %d images", len(l))
	}
}

// TestOpenInUse: while one FileStore has a directory open, a second Open
// fails with ErrInUse (in another process as in this one); after Close the
// directory opens again.
func TestOpenInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := imagestore.Open(dir, imagestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imagestore.Open(dir, imagestore.Options{}); !errors.Is(err, imagestore.ErrInUse) || !strings.Contains(err.Error(), "process") {
		t.Fatalf("second Open: %v, want ErrInUse naming the holder", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := imagestore.Open(dir, imagestore.Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}
