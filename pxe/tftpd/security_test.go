package tftpd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// traversalNames are requests that must never reach a file outside the root,
// with the TFTP error code expected. Names that are merely odd but harmless
// on POSIX (fullwidth dots, "%u002e") are looked up literally and not found.
var traversalNames = []struct {
	name string
	code ErrorCode
}{
	{"../secret", CodeAccessViolation},
	{"../../../../../../etc/passwd", CodeAccessViolation},
	{"..", CodeAccessViolation},
	{".", CodeAccessViolation},
	{"./", CodeAccessViolation},
	{"./../secret", CodeAccessViolation},
	{"boot/../../secret", CodeAccessViolation},
	{"boot/../secret", CodeAccessViolation},
	{"boot/./f", CodeAccessViolation},
	{"boot/..", CodeAccessViolation},
	{"boot/", CodeAccessViolation},
	{"boot//f", CodeAccessViolation},
	{"/etc/passwd", CodeAccessViolation},
	{"//etc/passwd", CodeAccessViolation},
	{"/secret", CodeAccessViolation},
	{"/", CodeAccessViolation},
	{"..\\secret", CodeAccessViolation},
	{"boot\\..\\..\\secret", CodeAccessViolation},
	{"\\etc\\passwd", CodeAccessViolation},
	{"C:\\Windows\\win.ini", CodeAccessViolation},
	{"\\\\server\\share", CodeAccessViolation},
	{"%2e%2e/secret", CodeAccessViolation},
	{"%2E%2E%2Fsecret", CodeAccessViolation},
	{"..%2fsecret", CodeAccessViolation},
	{"..%2Fsecret", CodeAccessViolation},
	{"%2e%2e%5csecret", CodeAccessViolation},
	{"%252e%252e/secret", CodeAccessViolation},
	{"..%c0%afsecret", CodeAccessViolation},
	{"..%00/secret", CodeAccessViolation},
	{"%2fetc%2fpasswd", CodeAccessViolation},
	{"\xc0\xae\xc0\xae/secret", CodeAccessViolation},         // overlong UTF-8 ".."
	{"..\xc0\xafsecret", CodeAccessViolation},                // overlong UTF-8 "/"
	{"\xe0\x80\xae\xe0\x80\xae/secret", CodeAccessViolation}, // 3-byte overlong "."
	{"\xf0\x80\x80\xae./secret", CodeAccessViolation},        // 4-byte overlong "."
	{"\xff\xfe../secret", CodeAccessViolation},
	{"a\x01b", CodeAccessViolation},
	{"..\x7f/secret", CodeAccessViolation},
	{"boot\n../secret", CodeAccessViolation},
	{"boot\r/../secret", CodeAccessViolation},
	{"\t../secret", CodeAccessViolation},
	{strings.Repeat("a", 256), CodeAccessViolation},
	{strings.Repeat("a/", 200) + "f", CodeAccessViolation},
	{strings.Repeat("../", 100) + "etc/passwd", CodeAccessViolation},
	{"..／secret", CodeNotFound}, // fullwidth solidus: a literal name
	{"．．/secret", CodeNotFound}, // fullwidth dots
	{"%u002e%u002e/secret", CodeNotFound},
	{"...", CodeNotFound},
	{"link-out", CodeAccessViolation},            // symlink to ../secret
	{"link-abs", CodeAccessViolation},            // symlink to an absolute path
	{"link-dir/secret", CodeAccessViolation},     // symlinked directory leading up
	{"boot/link-up/secret", CodeAccessViolation}, // relative link climbing out
}

// TestTraversalRefused sends every name in traversalNames and checks that
// only an ERROR comes back, with the right code, and that each is counted.
func TestTraversalRefused(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	mustMkdir(t, filepath.Join(root, "boot"))
	mustWrite(t, filepath.Join(base, "secret"), "TOP SECRET")
	mustWrite(t, filepath.Join(root, "boot", "f"), "inside")
	mustSymlink(t, "../secret", filepath.Join(root, "link-out"))
	mustSymlink(t, filepath.Join(base, "secret"), filepath.Join(root, "link-abs"))
	mustSymlink(t, "..", filepath.Join(root, "link-dir"))
	mustSymlink(t, "../..", filepath.Join(root, "boot", "link-up"))
	srv := startServer(t, rootFS(t, root), Options{})

	refused := func() float64 {
		n := 0.0
		for _, r := range []string{"unsafe_path", "name_too_long", "access", "not_found", "malformed", "mode"} {
			n += testutil.ToFloat64(srv.m.refused.WithLabelValues(r))
		}
		return n
	}
	for i, tt := range traversalNames {
		t.Run(strings.ToValidUTF8(tt.name, "?"), func(t *testing.T) {
			before := refused()
			c := newRawClient(t, srv.addr, "127.0.0.1:0")
			c.send(rrq(opRRQ, tt.name, "octet", "tsize", "0"))
			p := c.mustRecv(2 * time.Second)
			code, msg, ok := tftpErr(p)
			if !ok {
				t.Fatalf("case %d: got % x, want an ERROR", i, p[:min(len(p), 16)])
			}
			if code != tt.code {
				t.Fatalf("case %d: ERROR %d %q, want code %d", i, code, msg, tt.code)
			}
			if strings.Contains(msg, "SECRET") {
				t.Fatalf("error message leaks the file: %q", msg)
			}
			waitFor(t, func() bool { return refused() == before+1 })
		})
	}
	if n := testutil.ToFloat64(srv.m.started); n != 0 {
		t.Fatalf("%v transfers started", n)
	}
	// The symlinks inside the root still work, and so does the plain file.
	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	mustSymlink(t, "boot/f", filepath.Join(root, "link-in"))
	c.send(rrq(opRRQ, "link-in", "octet"))
	if p := c.mustRecv(2 * time.Second); len(p) < 4 || p[1] != opDATA || string(p[4:]) != "inside" {
		t.Fatalf("link-in: % x", p)
	}
	c.ack(1)
}

// TestNULInRequest: a NUL ends the file name, so "f\x00../secret" asks for
// "f" in mode "../secret", an unknown mode.
func TestNULInRequest(t *testing.T) {
	srv := startServer(t, rootFS(t, t.TempDir()), Options{})
	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	c.send(rrq(opRRQ, "f\x00../secret", "octet"))
	if code, msg, ok := tftpErr(c.mustRecv(2 * time.Second)); !ok || code != CodeIllegalOperation {
		t.Fatalf("ERROR %d %q, want %d", code, msg, CodeIllegalOperation)
	}
}

func TestCleanName(t *testing.T) {
	for _, tt := range traversalNames {
		if tt.code != CodeAccessViolation || strings.HasPrefix(tt.name, "link") || strings.Contains(tt.name, "link-up") {
			continue
		}
		if got, err := CleanName(tt.name, 0); err == nil {
			t.Errorf("CleanName(%q) = %q, want an error", tt.name, got)
		} else if !errors.Is(err, ErrUnsafePath) && !errors.Is(err, ErrNameTooLong) {
			t.Errorf("CleanName(%q): %v, want ErrUnsafePath or ErrNameTooLong", tt.name, err)
		}
	}
	for _, ok := range []string{"f", "boot/f", "pxelinux.cfg/01-52-54-00-12-34-56", "a b", "...", "%zz", "100%", "ipxe.efi"} {
		if got, err := CleanName(ok, 0); err != nil || got != ok {
			t.Errorf("CleanName(%q) = %q, %v; want it unchanged", ok, got, err)
		}
	}
	if _, err := CleanName(strings.Repeat("x", 10), 9); !errors.Is(err, ErrNameTooLong) {
		t.Errorf("10 bytes with limit 9: %v, want ErrNameTooLong", err)
	}
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
