package httpboot

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// validPath reports whether p is a relative slash-separated path whose
// every element is 1..255 bytes of [A-Za-z0-9._+-] not starting with a dot.
// p comes from the already-decoded URL path, so "%2e%2e" arrives as "..",
// "%252e" as "%2e", "%00" as a NUL byte and "%5c" as a backslash: all fail.
// Empty elements (leading, trailing or doubled slashes) fail too. Together
// with the root-confined open (os.Root, or openat2 with RESOLVE_BENEATH on
// Linux: see beneathOpener), which refuses symbolic links leading out,
// nothing outside the served tree is reachable.
func validPath(p string) bool {
	if p == "" || len(p) > 1024 {
		return false
	}
	elem := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			if elem == 0 {
				return false
			}
			elem = 0
			continue
		case c == '.':
			if elem == 0 {
				return false
			}
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '+':
		default:
			return false
		}
		elem++
		if elem > 255 {
			return false
		}
	}
	return elem > 0
}

// serveImage answers GET/HEAD /images/{name} from the image source, with the
// image's SHA-256 as strong ETag.
func (h *Handler) serveImage(w http.ResponseWriter, r *http.Request, name string) {
	if h.opts.Images == nil {
		http.NotFound(w, r)
		return
	}
	if !methodGetHead(w, r) {
		return
	}
	f, img, err := h.opts.Images.OpenImage(r.Context(), name)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	defer f.Close()
	hd := w.Header()
	hd["Content-Type"] = h.hv.octetStream
	hd["Etag"] = []string{`"` + img.SHA256 + `"`}
	hd["Cache-Control"] = h.hv.noCache
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && h.sendWhole(w, r, f, fi.Size(), img.Created) {
		return
	}
	http.ServeContent(w, r, "", img.Created, f)
}

// serveBootFile answers GET/HEAD /boot/{path} from Options.BootFiles.
func (h *Handler) serveBootFile(w http.ResponseWriter, r *http.Request, p string) {
	if h.opts.BootFiles == nil || !validPath(p) {
		http.NotFound(w, r)
		return
	}
	if !methodGetHead(w, r) {
		return
	}
	h.serveFile(w, r, h.opts.BootFiles, p, h.hv.contentType(p), nil)
}

// ostreeTop lists the top-level entries of an archive repository a client
// may fetch; everything else (tmp/, state/, extensions/...) stays private.
func ostreeTop(p string) (ok, immutable bool) {
	top, rest, sub := strings.Cut(p, "/")
	switch top {
	case "config", "summary", "summary.sig":
		return !sub, false
	case "objects", "deltas":
		return sub && rest != "", true
	case "refs", "delta-indexes", "summaries":
		return sub && rest != "", false
	}
	return false, false
}

// serveOSTree answers GET/HEAD /ostree/{repo}/{path} from an OSTree archive
// repository, as `ostree pull` fetches it.
func (h *Handler) serveOSTree(w http.ResponseWriter, r *http.Request, p string) {
	if h.opts.Images == nil {
		http.NotFound(w, r)
		return
	}
	name, rel, ok := strings.Cut(p, "/")
	if !ok || !validPath(rel) {
		http.NotFound(w, r)
		return
	}
	allowed, immutable := ostreeTop(rel)
	if !allowed {
		http.NotFound(w, r)
		return
	}
	if !methodGetHead(w, r) {
		return
	}
	root, _, err := h.opts.Images.OpenRepo(r.Context(), name)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	ct, cc := h.hv.octetStream, h.hv.noCache
	if immutable {
		cc = h.hv.immutable
	} else if rel == "config" || strings.HasPrefix(rel, "refs/") {
		ct = h.hv.textPlain
	}
	h.serveFile(w, r, root, rel, ct, cc)
}

// serveFile serves p from root through http.ServeContent on the *os.File,
// so that the body goes out with sendfile(2) and Range, If-Modified-Since
// and HEAD work.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, root *os.Root, p string, ct, cc []string) {
	f, err := h.opener.open(root, p)
	if err != nil {
		if !os.IsNotExist(err) {
			h.log.Debug("open failed", "path", r.URL.Path, "err", err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd["Content-Type"] = ct
	if cc != nil {
		hd["Cache-Control"] = cc
	}
	if h.sendWhole(w, r, f, fi.Size(), fi.ModTime()) {
		return
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// inlineMax is the largest body sendWhole reads and writes with the header
// instead of sending it with sendfile(2).
const inlineMax = 2048

// sendWhole answers a plain GET or HEAD of the whole of f, the request
// every boot client and `ostree pull` sends, with as few system calls as
// nginx makes: the header alone, then the body with one sendfile(2)
// (bodies up to inlineMax go out with the header in one write). It skips
// http.ServeContent's two seeks and its 512-byte sniff copy, which cost
// more than the transfer on small repository objects. It reports false,
// having written nothing, when the request carries a Range or a
// conditional header: http.ServeContent answers those.
func (h *Handler) sendWhole(w http.ResponseWriter, r *http.Request, f *os.File, size int64, mod time.Time) bool {
	for k := range r.Header {
		if k == "Range" || strings.HasPrefix(k, "If-") {
			return false
		}
	}
	hd := w.Header()
	hd["Accept-Ranges"] = h.hv.acceptRanges
	hd["Content-Length"] = []string{strconv.FormatInt(size, 10)}
	if !mod.IsZero() && !mod.Equal(time.Unix(0, 0)) {
		hd["Last-Modified"] = []string{mod.UTC().Format(http.TimeFormat)}
	}
	if r.Method == http.MethodHead || size == 0 {
		w.WriteHeader(http.StatusOK)
		return true
	}
	if size <= inlineMax {
		var buf [inlineMax]byte
		n, err := io.ReadFull(f, buf[:size])
		if err != nil {
			// The file shrank under us: let ServeContent report it.
			delete(hd, "Content-Length")
			delete(hd, "Last-Modified")
			delete(hd, "Accept-Ranges")
			_, _ = f.Seek(0, io.SeekStart)
			return false
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf[:n])
		return true
	}
	w.WriteHeader(http.StatusOK)
	// Flushing the header first lets net/http hand the whole body to
	// sendfile(2) without copying its first 512 bytes through a buffer.
	// A wrapping writer that cannot flush just takes the copy.
	if err := http.NewResponseController(w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return true // the client is gone
	}
	_, _ = io.Copy(w, &io.LimitedReader{R: f, N: size})
	return true
}

// headerValues are the constant header values the handler sets, built
// once per handler so that a response costs no allocation for them;
// net/http only reads them.
type headerValues struct {
	octetStream, textPlain, efiApp, noCache, noStore, immutable, acceptRanges []string
}

func newHeaderValues() headerValues {
	return headerValues{
		octetStream:  []string{"application/octet-stream"},
		textPlain:    []string{"text/plain; charset=utf-8"},
		efiApp:       []string{"application/efi"},
		noCache:      []string{"no-cache"},
		noStore:      []string{"no-store"},
		immutable:    []string{"public, max-age=31536000, immutable"},
		acceptRanges: []string{"bytes"},
	}
}

func (hv *headerValues) contentType(p string) []string {
	switch {
	case strings.HasSuffix(p, ".efi"):
		return hv.efiApp
	case strings.HasSuffix(p, ".ipxe"), strings.HasSuffix(p, ".cfg"), strings.HasSuffix(p, ".txt"):
		return hv.textPlain
	}
	return hv.octetStream
}
