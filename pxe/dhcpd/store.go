package dhcpd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Lease is a bound address as a [LeaseStore] keeps it.
type Lease struct {
	IP       netip.Addr
	MAC      net.HardwareAddr
	ClientID []byte // option 61, nil when the client sent none
	Hostname string
	Expires  time.Time
}

// LeaseStore persists bound leases. The server keeps the live table in
// memory and calls the store only when a lease is bound, renewed, released
// or removed, so an implementation only has to be durable and correct, not
// fast at queries.
type LeaseStore interface {
	// Load returns every stored lease. It is called once, by [New].
	Load(ctx context.Context) ([]Lease, error)
	// Put stores l, replacing any lease of the same IP. The lease must be
	// durable when Put returns nil: the server sends its ACK only then.
	Put(ctx context.Context, l Lease) error
	// Delete removes the lease of ip, if any.
	Delete(ctx context.Context, ip netip.Addr) error
}

// FileStore is a crash-safe [LeaseStore] in one file: an append-only log of
// checksummed records, synced to disk before Put returns, rewritten
// atomically (temporary file, fsync, rename, fsync of the directory) when
// stale records outnumber live ones. Concurrent Puts share one write and
// one fsync (group commit); each write ends with a commit record. A write
// cut short by a crash was never acknowledged and is dropped whole on open;
// damage to committed records fails the open with [ErrCorruptStore].
type FileStore struct {
	path       string
	reqs       chan storeReq
	writerDone chan struct{}
	inflight   sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	closed  bool
	live    map[netip.Addr]Lease
	records int

	f *os.File // owned by the writer goroutine after open
}

var _ LeaseStore = (*FileStore)(nil)

type storeReq struct {
	rec  []byte
	ip   netip.Addr
	l    *Lease // nil for a delete
	done chan error
}

// fileRecord is one line of the log, after an 8-hex-digit CRC-32C and a space.
type fileRecord struct {
	Op       string `json:"op"` // "put", "del" or "commit"
	IP       string `json:"ip"`
	MAC      string `json:"mac,omitempty"`
	ClientID []byte `json:"cid,omitempty"`
	Hostname string `json:"host,omitempty"`
	Expires  int64  `json:"exp,omitempty"` // Unix milliseconds
}

// opCommit ends every write: the records before it are complete.
const opCommit = "commit"

// compactMin is the log length below which the file is never rewritten.
const compactMin = 4096

// OpenFileStore opens (creating if needed) the lease log at path and starts
// its writer. Close releases it.
func OpenFileStore(path string) (*FileStore, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dhcpd: open lease store: %w", err)
	}
	s := &FileStore{path: path, f: f, live: make(map[netip.Addr]Lease), reqs: make(chan storeReq, 256), writerDone: make(chan struct{})}
	if err := s.replay(); err != nil {
		f.Close()
		return nil, err
	}
	go s.writer()
	return s, nil
}

// replay reads the log into s.live and truncates a torn tail.
//
// Every write ends with a commit record, and records count only once their
// commit record is read: a batch cut short by a crash was never
// acknowledged, so it is dropped whole. A bad record followed by a later
// commit record is damage to acknowledged data, reported as
// ErrCorruptStore rather than silently dropped.
func (s *FileStore) replay() error {
	r := bufio.NewReader(s.f)
	var (
		good, pos int64
		pending   []fileRecord
	)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // a last line without newline is a torn write
		}
		if err != nil {
			return fmt.Errorf("dhcpd: read lease store: %w", err)
		}
		pos += int64(len(line))
		rec, ok := decodeRecord(line)
		if !ok {
			rest, _ := io.ReadAll(r)
			if laterCommit(rest) {
				return fmt.Errorf("%w: %s: bad record at offset %d", ErrCorruptStore, s.path, pos-int64(len(line)))
			}
			break
		}
		if rec.Op != opCommit {
			pending = append(pending, rec)
			continue
		}
		for _, p := range pending {
			s.apply(p)
		}
		s.records += len(pending)
		pending = pending[:0]
		good = pos
	}
	if err := s.f.Truncate(good); err != nil {
		return fmt.Errorf("dhcpd: truncate lease store: %w", err)
	}
	if _, err := s.f.Seek(good, io.SeekStart); err != nil {
		return fmt.Errorf("dhcpd: seek lease store: %w", err)
	}
	return nil
}

// laterCommit reports whether rest holds a valid commit record.
func laterCommit(rest []byte) bool {
	for _, line := range bytes.SplitAfter(rest, []byte{'\n'}) {
		if rec, ok := decodeRecord(line); ok && rec.Op == opCommit {
			return true
		}
	}
	return false
}

func decodeRecord(line []byte) (fileRecord, bool) {
	var rec fileRecord
	if len(line) < 10 || line[len(line)-1] != '\n' || line[8] != ' ' {
		return rec, false
	}
	sum, err := strconv.ParseUint(string(line[:8]), 16, 32)
	if err != nil {
		return rec, false
	}
	body := line[9 : len(line)-1]
	if crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)) != uint32(sum) {
		return rec, false
	}
	if err := json.Unmarshal(body, &rec); err != nil {
		return rec, false
	}
	return rec, true
}

func encodeRecord(rec fileRecord) []byte {
	body, _ := json.Marshal(rec) // only strings, bytes and ints: cannot fail
	out := make([]byte, 0, len(body)+10)
	out = fmt.Appendf(out, "%08x ", crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	out = append(out, body...)
	return append(out, '\n')
}

func (s *FileStore) apply(rec fileRecord) {
	ip, err := netip.ParseAddr(rec.IP)
	if err != nil {
		return
	}
	switch rec.Op {
	case "put":
		l := Lease{IP: ip, ClientID: rec.ClientID, Hostname: rec.Hostname, Expires: time.UnixMilli(rec.Expires)}
		if rec.MAC != "" {
			l.MAC, _ = net.ParseMAC(rec.MAC)
		}
		s.live[ip] = l
	case "del":
		delete(s.live, ip)
	}
}

func leaseRecord(l Lease) fileRecord {
	rec := fileRecord{Op: "put", IP: l.IP.String(), ClientID: l.ClientID, Hostname: l.Hostname, Expires: l.Expires.UnixMilli()}
	if len(l.MAC) > 0 {
		rec.MAC = l.MAC.String()
	}
	return rec
}

// Load implements [LeaseStore].
func (s *FileStore) Load(context.Context) ([]Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrStoreClosed
	}
	out := make([]Lease, 0, len(s.live))
	for _, l := range s.live {
		out = append(out, l)
	}
	return out, nil
}

// Put implements [LeaseStore].
func (s *FileStore) Put(ctx context.Context, l Lease) error {
	l.MAC = append(net.HardwareAddr(nil), l.MAC...)
	if len(l.ClientID) == 0 {
		l.ClientID = nil
	} else {
		l.ClientID = append([]byte(nil), l.ClientID...)
	}
	return s.send(ctx, storeReq{rec: encodeRecord(leaseRecord(l)), ip: l.IP, l: &l, done: make(chan error, 1)})
}

// Delete implements [LeaseStore].
func (s *FileStore) Delete(ctx context.Context, ip netip.Addr) error {
	return s.send(ctx, storeReq{rec: encodeRecord(fileRecord{Op: "del", IP: ip.String()}), ip: ip, done: make(chan error, 1)})
}

func (s *FileStore) send(ctx context.Context, req storeReq) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrStoreClosed
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close waits for pending writes, stops the writer and closes the file.
func (s *FileStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrStoreClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.inflight.Wait()
	close(s.reqs)
	<-s.writerDone
	return s.f.Close()
}

// writer serialises appends: it takes every request already queued, writes
// them with one write and one fsync, then answers them all.
func (s *FileStore) writer() {
	defer close(s.writerDone)
	var (
		batch  []storeReq
		buf    []byte
		commit = encodeRecord(fileRecord{Op: opCommit})
		// broken is set by a failed write or sync: what reached the file
		// is unknown, so nothing more is appended (a later commit record
		// would vouch for the failed batch) until the store is reopened.
		broken error
	)
	for first := range s.reqs {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < cap(s.reqs) {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		buf = buf[:0]
		for _, r := range batch {
			buf = append(buf, r.rec...)
		}
		buf = append(buf, commit...)
		err := broken
		if err == nil {
			err = s.appendSync(buf)
			if err != nil {
				broken = fmt.Errorf("%w (store needs reopening)", err)
			}
		}
		if err == nil {
			s.mu.Lock()
			for _, r := range batch {
				if r.l != nil {
					s.live[r.ip] = *r.l
				} else {
					delete(s.live, r.ip)
				}
			}
			s.records += len(batch)
			s.mu.Unlock()
		}
		for _, r := range batch {
			r.done <- err
		}
		if err == nil {
			broken = s.maybeCompact()
		}
	}
}

func (s *FileStore) appendSync(buf []byte) error {
	if _, err := s.f.Write(buf); err != nil {
		return fmt.Errorf("dhcpd: write lease store: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("dhcpd: sync lease store: %w", err)
	}
	return nil
}

// maybeCompact rewrites the log with only live leases once stale records
// outnumber them. A failure before the new file replaces the old one is
// harmless (the next batch tries again); one after it is returned.
func (s *FileStore) maybeCompact() error {
	s.mu.Lock()
	if s.records < compactMin || s.records < 2*len(s.live) {
		s.mu.Unlock()
		return nil
	}
	var buf []byte
	for _, l := range s.live {
		buf = append(buf, encodeRecord(leaseRecord(l))...)
	}
	buf = append(buf, encodeRecord(fileRecord{Op: opCommit})...)
	n := len(s.live)
	s.mu.Unlock()
	f, err := writeFileAtomic(s.path, buf)
	if f == nil {
		return nil // the old log is still in place: keep appending to it
	}
	s.f.Close()
	s.f = f
	s.mu.Lock()
	s.records = n
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("dhcpd: compact lease store: %w (store needs reopening)", err)
	}
	return nil
}

// writeFileAtomic replaces path with data and returns it opened for
// appending, positioned at its end. It returns a nil file when path was not
// replaced, and the file with an error when the rename may not be durable.
func writeFileAtomic(path string, data []byte) (*os.File, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return tmp, err
	}
	defer d.Close()
	return tmp, d.Sync()
}

// MemoryStore is a [LeaseStore] in memory, for tests and examples: it
// survives a server restart within one process, not a process restart.
type MemoryStore struct {
	mu     sync.Mutex
	leases map[netip.Addr]Lease
}

var _ LeaseStore = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{leases: make(map[netip.Addr]Lease)}
}

// Load implements [LeaseStore].
func (m *MemoryStore) Load(context.Context) ([]Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Lease, 0, len(m.leases))
	for _, l := range m.leases {
		out = append(out, l)
	}
	return out, nil
}

// Put implements [LeaseStore].
func (m *MemoryStore) Put(_ context.Context, l Lease) error {
	l.MAC = append(net.HardwareAddr(nil), l.MAC...)
	if len(l.ClientID) == 0 {
		l.ClientID = nil
	} else {
		l.ClientID = append([]byte(nil), l.ClientID...)
	}
	m.mu.Lock()
	m.leases[l.IP] = l
	m.mu.Unlock()
	return nil
}

// Delete implements [LeaseStore].
func (m *MemoryStore) Delete(_ context.Context, ip netip.Addr) error {
	m.mu.Lock()
	delete(m.leases, ip)
	m.mu.Unlock()
	return nil
}
