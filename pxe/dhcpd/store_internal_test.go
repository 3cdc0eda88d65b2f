package dhcpd

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileStoreDropsUncommittedBatch: complete records of a batch whose
// commit record never reached the disk were never acknowledged, so a
// reopen drops them, while a damaged record before a commit is corruption.
func TestFileStoreDropsUncommittedBatch(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leases.log")
	st, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	a := Lease{IP: netip.MustParseAddr("10.0.0.1"), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Expires: time.UnixMilli(1e12)}
	if err := st.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	st.Close()
	committed, _ := os.ReadFile(path)

	b := a
	b.IP = netip.MustParseAddr("10.0.0.2")
	torn := append(append([]byte(nil), committed...), encodeRecord(leaseRecord(b))...)
	torn = append(torn, encodeRecord(fileRecord{Op: "del", IP: "10.0.0.1"})[:7]...)
	os.WriteFile(path, torn, 0o600)
	st, err = OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := st.Load(ctx)
	st.Close()
	if len(ls) != 1 || ls[0].IP != a.IP {
		t.Fatalf("after a torn batch: %v, want only %s", ls, a.IP)
	}
	if fi, _ := os.Stat(path); fi.Size() != int64(len(committed)) {
		t.Fatalf("torn batch not truncated: %d bytes, want %d", fi.Size(), len(committed))
	}

	damaged := append([]byte(nil), committed...)
	damaged[12] ^= 0xff // inside the first record, before its commit
	os.WriteFile(path, damaged, 0o600)
	if _, err := OpenFileStore(path); !errors.Is(err, ErrCorruptStore) {
		t.Fatalf("damaged committed record: %v, want ErrCorruptStore", err)
	}
}
