package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Files the daemon keeps in its data directory.
const (
	dbFile    = "atoll.db"
	keyFile   = "secret.key"
	tokenFile = "token" // API token, 0600; read by dcctl
	urlFile   = "url"   // the API's base URL; read by dcctl
	lockFile  = "lock"  // held by the running daemon (flock)
)

// apiToken is the bearer token of the REST API.
type apiToken string

// loadOrCreateToken reads dataDir/token, or creates it with a fresh random
// token (0600). created reports whether it was made now.
func loadOrCreateToken(dataDir string) (tok apiToken, created bool, err error) {
	p := filepath.Join(dataDir, tokenFile)
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", false, fmt.Errorf("token file %s is empty: delete it to make a new token", p)
		}
		return apiToken(t), false, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", false, err
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, err
	}
	t := hex.EncodeToString(raw[:])
	// O_EXCL: two daemons started at once on one data dir must not
	// overwrite each other's token.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return loadOrCreateToken(dataDir)
		}
		return "", false, err
	}
	if _, err := f.WriteString(t + "\n"); err != nil {
		_ = f.Close()
		return "", false, err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return "", false, err
	}
	return apiToken(t), true, f.Close()
}

// writeFileAtomic replaces path with data (written to a temp file first).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
