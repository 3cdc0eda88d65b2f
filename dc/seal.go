package dc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Sealer encrypts secrets before they reach a Store and decrypts them for
// the phases that need them.
type Sealer interface {
	Seal(plaintext []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// KeySize is the length in bytes of an AES-256 key.
const KeySize = 32

type aesGCMSealer struct {
	aead cipher.AEAD
}

// NewAESGCMSealer returns a Sealer using AES-256-GCM with a random nonce
// per message; key must be KeySize bytes.
func NewAESGCMSealer(key []byte) (Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("dc: sealer key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("dc: sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("dc: sealer: %w", err)
	}
	return &aesGCMSealer{aead: aead}, nil
}

// sealVersion prefixes sealed values so that the format can change.
const sealVersion byte = 1

// Seal encrypts plaintext: version byte, random nonce, ciphertext and tag.
func (s *aesGCMSealer) Seal(plaintext []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("dc: seal: %w", err)
	}
	return s.aead.Seal(out, out[1:1+ns], plaintext, out[:1]), nil
}

// Open decrypts and authenticates a value made by Seal.
func (s *aesGCMSealer) Open(sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("dc: open sealed value: malformed")
	}
	pt, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealed[:1])
	if err != nil {
		return nil, fmt.Errorf("dc: open sealed value: %w", err)
	}
	return pt, nil
}

// LoadOrCreateKey reads the sealer key at path, creating it with KeySize
// random bytes and mode 0600 if it does not exist. It refuses a key file
// readable or writable by group or others, and one of the wrong length.
func LoadOrCreateKey(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			f.Close()
			return nil, fmt.Errorf("dc: create key %s: %w", path, err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, fmt.Errorf("dc: create key %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("dc: create key %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("dc: create key %s: %w", path, err)
		}
		return key, nil
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("dc: create key %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dc: key %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("dc: key %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("dc: key %s has mode %#o; it must not be accessible to group or others (chmod 600)", path, perm)
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dc: read key %s: %w", path, err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("dc: key %s is %d bytes, want %d", path, len(key), KeySize)
	}
	return key, nil
}
