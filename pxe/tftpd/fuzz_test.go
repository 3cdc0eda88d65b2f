package tftpd

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// encodeRequest is the inverse of ParseRequest.
func encodeRequest(r Request) []byte {
	op := uint16(opRRQ)
	if r.Write {
		op = opWRQ
	}
	b := binary.BigEndian.AppendUint16(nil, op)
	b = append(append(b, r.Filename...), 0)
	b = append(append(b, r.Mode...), 0)
	for _, o := range r.Options {
		b = append(append(b, o.Name...), 0)
		b = append(append(b, o.Value...), 0)
	}
	return b
}

// FuzzParseRequest checks that the parser never panics, that what it accepts
// survives a round trip, and that CleanName only lets through relative paths
// that stay inside the root. Seeds are in testdata/fuzz/FuzzParseRequest.
func FuzzParseRequest(f *testing.F) {
	f.Add(rrq(opRRQ, "pxelinux.0", "octet", "tsize", "0", "blksize", "1468", "windowsize", "4"))
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := ParseRequest(p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMode) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrMode", err)
			}
			return
		}
		if r.Filename == "" || strings.ContainsRune(r.Filename, 0) {
			t.Fatalf("accepted file name %q", r.Filename)
		}
		if r.Mode != ModeOctet && r.Mode != ModeNetascii {
			t.Fatalf("accepted mode %q", r.Mode)
		}
		seen := map[string]bool{}
		for _, o := range r.Options {
			if o.Name == "" || o.Name != strings.ToLower(o.Name) || seen[o.Name] {
				t.Fatalf("option name %q (seen %v)", o.Name, seen[o.Name])
			}
			seen[o.Name] = true
		}
		again, err := ParseRequest(encodeRequest(r))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(r, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}

		name, err := CleanName(r.Filename, 0)
		if err != nil {
			if !errors.Is(err, ErrUnsafePath) && !errors.Is(err, ErrNameTooLong) {
				t.Fatalf("CleanName error %v wraps no sentinel", err)
			}
			return
		}
		if !fs.ValidPath(name) || name == "." || strings.HasPrefix(name, "/") ||
			strings.ContainsAny(name, "\\\x00") || len(name) > DefaultMaxNameLen {
			t.Fatalf("CleanName accepted %q", name)
		}
		for _, el := range strings.Split(name, "/") {
			if el == ".." || el == "." || el == "" {
				t.Fatalf("CleanName accepted %q with element %q", name, el)
			}
		}
	})
}
