package dc_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-edge/atoll/dc"
)

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sealer.key")
	key, err := dc.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || len(key) != dc.KeySize {
		t.Fatalf("created key file mode %v, key %d bytes; want 0600 and %d", fi.Mode().Perm(), len(key), dc.KeySize)
	}
	again, err := dc.LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(key, again) {
		t.Fatalf("second start read a different key (%v)", err)
	}
	other, err := dc.LoadOrCreateKey(filepath.Join(t.TempDir(), "k2"))
	if err != nil || bytes.Equal(key, other) {
		t.Fatalf("two new keys are equal (%v)", err)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key accepted or unclear error: %v", err)
	}
	short := filepath.Join(t.TempDir(), "short.key")
	if err := os.WriteFile(short, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.LoadOrCreateKey(short); err == nil || !strings.Contains(err.Error(), "want 32") {
		t.Fatalf("short key accepted or unclear error: %v", err)
	}
}

func TestAESGCMSealer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, dc.KeySize)
	s, err := dc.NewAESGCMSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	pt := []byte("bmc-password")
	a, err := s.Seal(pt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Seal(pt)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) || bytes.Contains(a, pt) {
		t.Fatal("sealing is deterministic or leaks the plaintext")
	}
	got, err := s.Open(a)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tampered := bytes.Clone(a)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open(tampered); err == nil {
		t.Fatal("tampered value opened")
	}
	if _, err := s.Open(a[:5]); err == nil {
		t.Fatal("truncated value opened")
	}
	otherKey, _ := dc.NewAESGCMSealer(bytes.Repeat([]byte{8}, dc.KeySize))
	if _, err := otherKey.Open(a); err == nil {
		t.Fatal("value opened with another key")
	}
	if _, err := dc.NewAESGCMSealer(key[:16]); err == nil {
		t.Fatal("16-byte key accepted")
	}
}
