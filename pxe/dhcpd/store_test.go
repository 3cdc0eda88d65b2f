package dhcpd_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/dhcpd/dhcpdtest"
)

type fileHarness struct{ path string }

func (h *fileHarness) Open(context.Context) (dhcpd.LeaseStore, error) {
	return dhcpd.OpenFileStore(h.path)
}

func (h *fileHarness) Close(_ context.Context, s dhcpd.LeaseStore) error {
	return s.(*dhcpd.FileStore).Close()
}

func TestFileStoreConformance(t *testing.T) {
	dhcpdtest.RunLeaseStoreTests(t, func(_ context.Context, t *testing.T) (dhcpdtest.Harness, error) {
		return &fileHarness{path: filepath.Join(memTempDir(t), "leases.log")}, nil
	})
}

// memHarness reopens the same MemoryStore: it is durable within a process.
type memHarness struct{ s *dhcpd.MemoryStore }

func (h *memHarness) Open(context.Context) (dhcpd.LeaseStore, error) { return h.s, nil }
func (h *memHarness) Close(context.Context, dhcpd.LeaseStore) error  { return nil }

func TestMemoryStoreConformance(t *testing.T) {
	dhcpdtest.RunLeaseStoreTests(t, func(context.Context, *testing.T) (dhcpdtest.Harness, error) {
		return &memHarness{s: dhcpd.NewMemoryStore()}, nil
	})
}
