package redfishtest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// Image is a served virtual media image.
type Image struct {
	// URL fetches the image.
	URL string
	// Size is its length in bytes.
	Size int64
	// SHA256 is the hex digest of its content.
	SHA256 string

	fetches  atomic.Int64
	complete atomic.Int64
	block    []byte
}

// Fetches returns how many GET requests the image server has received.
func (i *Image) Fetches() int64 { return i.fetches.Load() }

// CompleteFetches returns how many GETs read the whole image.
func (i *Image) CompleteFetches() int64 { return i.complete.Load() }

// ServeImage serves an image of size bytes at /name on 127.0.0.1:0 until the
// test ends. The content is a deterministic pattern derived from name,
// generated while streaming.
func ServeImage(t testing.TB, name string, size int64) *Image {
	t.Helper()
	img := &Image{Size: size, block: patternBlock(name)}
	h := sha256.New()
	_, _ = io.Copy(h, img.reader())
	img.SHA256 = hex.EncodeToString(h.Sum(nil))
	mux := http.NewServeMux()
	mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			img.fetches.Add(1)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		if r.Method == http.MethodHead {
			return
		}
		if n, err := io.Copy(w, img.reader()); err == nil && n == size {
			img.complete.Add(1)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	img.URL = srv.URL + "/" + name
	return img
}

func (i *Image) reader() io.Reader {
	return io.LimitReader(&repeatReader{block: i.block}, i.Size)
}

func patternBlock(name string) []byte {
	block := make([]byte, 64<<10)
	seed := sha256.Sum256([]byte(name))
	for off := 0; off < len(block); off += 32 {
		binary.BigEndian.PutUint64(seed[:8], uint64(off))
		sum := sha256.Sum256(seed[:])
		copy(block[off:], sum[:])
	}
	return block
}

// repeatReader repeats block forever.
type repeatReader struct {
	block []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.block[r.off:])
		n += c
		r.off = (r.off + c) % len(r.block)
	}
	return n, nil
}
