package imagestore_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/atoll-edge/atoll/pxe/imagestore"
	"github.com/atoll-edge/atoll/pxe/imagestore/imagestoretest"
)

// fileHarness runs the conformance suite on a FileStore in a temporary
// directory.
type fileHarness struct {
	dir string
	s   *imagestore.FileStore
}

func (h *fileHarness) Store() imagestore.Store { return h.s }
func (h *fileHarness) Close() error            { return h.s.Close() }

func (h *fileHarness) Register(ctx context.Context, name, version string, data []byte) (imagestore.Image, error) {
	return h.s.Register(ctx, name, version, bytes.NewReader(data), "")
}

func (h *fileHarness) RegisterRepo(ctx context.Context, name, version, dir string) (imagestore.Image, error) {
	return h.s.RegisterRepo(ctx, name, version, dir)
}

func (h *fileHarness) Corrupt(ctx context.Context, name string) error {
	img, err := h.s.Stat(ctx, name)
	if err != nil {
		return err
	}
	p := filepath.Join(h.dir, "blobs", "sha256", img.SHA256)
	if img.Kind == imagestore.KindOSTree {
		p = filepath.Join(h.dir, "repos", img.Name, img.Version, "config")
	}
	return os.WriteFile(p, []byte("corrupted"), 0o644)
}

func (h *fileHarness) Reopen(ctx context.Context) error {
	h.s.Close()
	s, err := imagestore.Open(h.dir, imagestore.Options{})
	h.s = s
	return err
}

func TestFileStoreConformance(t *testing.T) {
	imagestoretest.RunStoreTests(t, func(ctx context.Context, t *testing.T) (imagestoretest.Harness, error) {
		dir := t.TempDir()
		s, err := imagestore.Open(dir, imagestore.Options{})
		return &fileHarness{dir: dir, s: s}, err
	})
}
