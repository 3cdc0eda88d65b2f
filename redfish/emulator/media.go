package emulator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// slot is one virtual media device.
type slot struct {
	id, path, kind string // kind: "cd" or "usb"

	inserted       bool
	image          string
	imageName      string
	writeProtected bool
	size           int64
	sha            string

	busy        bool      // an insert is fetching the image
	settleUntil time.Time // zero, or when the last change becomes visible
}

func (b *BMC) buildMedia(templates map[string]map[string]any) error {
	l, sp := b.layout, b.spec
	cdT, usbT := templates["CD1"], templates["Floppy1"]
	if cdT == nil || usbT == nil {
		return errors.New("emulator: mockup lacks virtual media templates")
	}
	b.put(l.VirtualMedia, map[string]any{
		"@odata.type": "#VirtualMediaCollection.VirtualMediaCollection",
		"@odata.id":   l.VirtualMedia,
		"Name":        "Virtual Media Services",
		"Description": "Redfish-BMC Virtual Media Service Settings",
	}, "")
	var members []string
	for _, def := range []struct {
		id, kind, name string
		types          []string
		tmpl           map[string]any
	}{
		{sp.cdSlot, "cd", "Virtual CD", sp.cdTypes, cdT},
		{sp.usbSlot, "usb", "Virtual Removable Media", sp.usbTypes, usbT},
	} {
		p := l.VirtualMedia + "/" + def.id
		doc := make(map[string]any, len(def.tmpl))
		for k, v := range def.tmpl {
			doc[k] = v
		}
		delete(doc, "Certificates")
		delete(doc, "VerifyCertificate")
		doc["@odata.id"], doc["Id"], doc["Name"] = p, def.id, def.name
		types := make([]any, len(def.types))
		for i, t := range def.types {
			types[i] = t
		}
		doc["MediaTypes"] = types
		doc["TransferMethod"] = "Stream"
		if sp.mediaActions {
			doc["Actions"] = map[string]any{
				"#VirtualMedia.InsertMedia": map[string]any{"target": p + "/Actions/VirtualMedia.InsertMedia"},
				"#VirtualMedia.EjectMedia":  map[string]any{"target": p + "/Actions/VirtualMedia.EjectMedia"},
			}
		} else {
			delete(doc, "Actions")
		}
		s := &slot{id: def.id, path: p, kind: def.kind}
		res := b.put(p, doc, "GET, HEAD, PATCH")
		res.patch = func(w http.ResponseWriter, r *http.Request, params map[string]any) *rfError {
			return b.patchMedia(w, r, s, params)
		}
		if sp.mediaActions {
			b.actions[p+"/Actions/VirtualMedia.InsertMedia"] = &action{fn: func(w http.ResponseWriter, r *http.Request, params map[string]any) *rfError {
				return b.insertAction(w, r, s, params)
			}}
			b.actions[p+"/Actions/VirtualMedia.EjectMedia"] = &action{fn: func(w http.ResponseWriter, r *http.Request, params map[string]any) *rfError {
				return b.ejectAction(w, r, s, params)
			}}
		}
		b.slots = append(b.slots, s)
		b.syncSlotLocked(s)
		members = append(members, p)
	}
	b.syncCollectionLocked(l.VirtualMedia, members)
	return nil
}

// syncSlotLocked writes a slot's state into its document.
func (b *BMC) syncSlotLocked(s *slot) {
	doc := b.res[s.path].doc
	doc["Inserted"] = s.inserted
	doc["WriteProtected"] = s.writeProtected
	if s.inserted || s.image != "" {
		doc["Image"], doc["ImageName"] = s.image, s.imageName
		doc["ConnectedVia"] = "URI"
		if u, err := url.Parse(s.image); err == nil {
			doc["TransferProtocolType"] = strings.ToUpper(u.Scheme)
		}
	} else {
		doc["Image"], doc["ImageName"] = nil, nil
		doc["ConnectedVia"] = "NotConnected"
		delete(doc, "TransferProtocolType")
	}
	b.touch(s.path)
}

type insertRequest struct {
	image, user, pass string
	inserted, wp      bool
	proto             string
}

// insertAction implements VirtualMedia.InsertMedia.
func (b *BMC) insertAction(w http.ResponseWriter, r *http.Request, s *slot, params map[string]any) *rfError {
	const act = "VirtualMedia.InsertMedia"
	req := insertRequest{inserted: true, wp: true}
	for _, k := range sortedKeys(params) {
		v := params[k]
		var ok bool
		switch k {
		case "Image":
			req.image, ok = v.(string)
		case "UserName":
			req.user, ok = v.(string)
		case "Password":
			req.pass, ok = v.(string)
		case "Inserted":
			req.inserted, ok = v.(bool)
		case "WriteProtected":
			req.wp, ok = v.(bool)
		case "TransferProtocolType":
			req.proto, ok = v.(string)
		case "TransferMethod":
			var m string
			m, ok = v.(string)
			if ok && m != "Stream" && m != "Upload" {
				return newErr(http.StatusBadRequest, "ActionParameterValueNotInList", m, k, act).withProps("/" + k)
			}
		case "MediaType":
			// A vendor extension some clients send; accepted and ignored.
			_, ok = v.(string)
		default:
			return newErr(http.StatusBadRequest, "ActionParameterUnknown", act, k).withProps("/" + k)
		}
		if !ok {
			return newErr(http.StatusBadRequest, "ActionParameterValueFormatError", jsonText(v), k, act).withProps("/" + k)
		}
	}
	if req.image == "" {
		return newErr(http.StatusBadRequest, "ActionParameterMissing", act, "Image").withProps("/Image")
	}
	return b.insert(w, r, s, req, act)
}

// patchMedia implements PATCH of a slot: Image + Inserted inserts, Inserted
// false or Image null ejects (the Lenovo way, and allowed everywhere).
func (b *BMC) patchMedia(w http.ResponseWriter, r *http.Request, s *slot, params map[string]any) *rfError {
	b.mu.Lock()
	e := b.checkIfMatchLocked(r, s.path)
	known := make(map[string]bool, len(b.res[s.path].doc))
	for k := range b.res[s.path].doc {
		known[k] = true
	}
	b.mu.Unlock()
	if e != nil {
		return e
	}
	req := insertRequest{inserted: true, wp: true}
	imageSet, imageNull, eject := false, false, false
	for _, k := range sortedKeys(params) {
		v := params[k]
		ok := true
		switch k {
		case "Image":
			if v == nil {
				imageNull = true
			} else {
				req.image, ok = v.(string)
				imageSet = ok && req.image != ""
				imageNull = ok && req.image == ""
			}
		case "Inserted":
			req.inserted, ok = v.(bool)
			eject = ok && !req.inserted
		case "WriteProtected":
			req.wp, ok = v.(bool)
		case "UserName":
			req.user, ok = v.(string)
		case "Password":
			req.pass, ok = v.(string)
		case "TransferProtocolType":
			req.proto, ok = v.(string)
		case "TransferMethod":
			_, ok = v.(string)
		default:
			if strings.HasPrefix(k, "@odata.") {
				continue
			}
			if known[k] {
				return newErr(http.StatusBadRequest, "PropertyNotWritable", k).withProps("/" + k)
			}
			return newErr(http.StatusBadRequest, "PropertyUnknown", k).withProps("/" + k)
		}
		if !ok {
			return newErr(http.StatusBadRequest, "PropertyValueTypeError", jsonText(v), k).withProps("/" + k)
		}
	}
	switch {
	case imageSet && !eject:
		return b.insert(w, r, s, req, "PATCH")
	case eject || imageNull:
		return b.eject(w, s, true)
	default:
		return newErr(http.StatusBadRequest, "PropertyMissing", "Image").withProps("/Image")
	}
}

func (b *BMC) ejectAction(w http.ResponseWriter, _ *http.Request, s *slot, params map[string]any) *rfError {
	for k := range params {
		return newErr(http.StatusBadRequest, "ActionParameterUnknown", "VirtualMedia.EjectMedia", k).withProps("/" + k)
	}
	return b.eject(w, s, false)
}

// busyLocked reports a slot that cannot change now.
func (b *BMC) busyLocked(s *slot, now time.Time) *rfError {
	if now.Before(s.settleUntil) || s.busy {
		wait := s.settleUntil.Sub(now)
		if s.busy || wait < time.Second {
			wait = time.Second
		}
		e := newErr(http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		e.retryAfter, e.kind = wait, ErrBusy
		return e
	}
	return nil
}

// ejectSlot detaches the image of s.
func (b *BMC) ejectSlot(s *slot) *rfError {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if e := b.busyLocked(s, now); e != nil {
		return e
	}
	if !s.inserted && s.image == "" && b.spec.profile == ProfileDell {
		e := oemErr(http.StatusBadRequest, "IDRAC.2.8.VRM0009", "Virtual Media is detached or Virtual Media devices are already in use.")
		e.kind = ErrInvalid
		return e
	}
	s.inserted, s.image, s.imageName, s.size, s.sha, s.writeProtected = false, "", "", 0, "", false
	b.changedLocked(s, now)
	b.log.Info("media ejected", "slot", s.id)
	return nil
}

func (b *BMC) eject(w http.ResponseWriter, s *slot, viaPatch bool) *rfError {
	if e := b.ejectSlot(s); e != nil {
		return e
	}
	b.mu.RLock()
	res := b.res[s.path]
	b.mu.RUnlock()
	if viaPatch {
		b.mu.Lock()
		b.renderLocked(res)
		body, etag := res.body, res.etag
		b.mu.Unlock()
		w.Header().Set("ETag", etag)
		writeJSON(w, http.StatusOK, body)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changedLocked publishes a slot change now, or after the settle delay.
func (b *BMC) changedLocked(s *slot, now time.Time) {
	if b.settle <= 0 {
		b.syncSlotLocked(s)
		return
	}
	s.settleUntil = now.Add(b.settle)
	b.scheduleLocked(s.settleUntil)
}

// reserveSlot checks that s can take an image now and marks it busy.
func (b *BMC) reserveSlot(s *slot) *rfError {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.busyLocked(s, b.now()); e != nil {
		return e
	}
	if s.inserted && b.spec.insertBusyStatus != 0 {
		var e *rfError
		if strings.HasPrefix(b.spec.insertBusyMsgID, registry) {
			e = newErr(b.spec.insertBusyStatus, strings.TrimPrefix(b.spec.insertBusyMsgID, registry))
		} else {
			e = oemErr(b.spec.insertBusyStatus, b.spec.insertBusyMsgID, "Virtual Media is already connected; eject it before inserting another image.")
		}
		e.kind = ErrBusy
		return e
	}
	s.busy = true
	return nil
}

func (b *BMC) releaseSlot(s *slot) {
	b.mu.Lock()
	s.busy = false
	b.mu.Unlock()
}

func parseImageURL(image string) (*url.URL, bool) {
	u, err := url.Parse(image)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	return u, true
}

func (b *BMC) insert(w http.ResponseWriter, r *http.Request, s *slot, req insertRequest, act string) *rfError {
	u, ok := parseImageURL(req.image)
	if !ok {
		return newErr(http.StatusBadRequest, "ActionParameterValueFormatError", req.image, "Image", act).withProps("/Image")
	}
	if req.proto != "" && !strings.EqualFold(req.proto, u.Scheme) {
		return newErr(http.StatusBadRequest, "ActionParameterValueNotInList", req.proto, "TransferProtocolType", act).withProps("/TransferProtocolType")
	}
	if e := b.reserveSlot(s); e != nil {
		return e
	}
	release := func() { b.releaseSlot(s) }

	// The fetch outlives the request when it turns into a task, so it runs
	// under the BMC's context, cancelled with the request until then.
	fctx, cancel := context.WithCancel(b.ctx)
	stop := context.AfterFunc(r.Context(), cancel)
	resp, merr := b.openImage(fctx, u, req)
	if merr != nil {
		stop()
		cancel()
		release()
		b.log.Info("media insert failed", "slot", s.id, "image", req.image, "err", merr)
		return mediaRFError(merr)
	}
	async := b.async == 0 || (b.async > 0 && resp.ContentLength >= b.async)
	if !async {
		size, sum, merr := b.readImage(fctx, resp, req.image, nil)
		stop()
		cancel()
		if merr != nil {
			release()
			b.log.Info("media insert failed", "slot", s.id, "image", req.image, "err", merr)
			return mediaRFError(merr)
		}
		b.commitInsert(s, req, size, sum)
		if act == "PATCH" {
			res, etag, body := b.render(s.path)
			w.Header().Set("ETag", etag)
			w.Header().Set("Allow", res.allow)
			writeJSON(w, http.StatusOK, body)
			return nil
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	// Detach from the request: from here the task owns the fetch.
	if !stop() {
		cancel()
		_ = resp.Body.Close()
		release()
		return newErr(http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable", "1")
	}
	b.mu.Lock()
	t := b.newTaskLocked("Insert media "+s.id, cancel)
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer cancel()
		total := resp.ContentLength
		size, sum, merr := b.readImage(fctx, resp, req.image, func(n int64) { b.taskProgress(t, n, total) })
		if merr != nil {
			b.log.Info("media insert failed", "slot", s.id, "image", req.image, "err", merr)
			b.finishTask(t, mediaRFError(merr), release)
			return
		}
		b.finishTask(t, nil, func() { b.commitInsert(s, req, size, sum) })
	}()
	b.writeTaskAccepted(w, t)
	return nil
}

func (b *BMC) commitInsert(s *slot, req insertRequest, size int64, sum string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s.busy = false
	s.inserted, s.image, s.writeProtected, s.size, s.sha = req.inserted, req.image, req.wp, size, sum
	s.imageName = path.Base(strings.SplitN(strings.SplitN(req.image, "?", 2)[0], "#", 2)[0])
	b.changedLocked(s, b.now())
	b.log.Info("media inserted", "slot", s.id, "image", req.image, "bytes", size)
}

// openImage checks the image host against the allowed networks and GETs it;
// it returns the response only for a 200.
func (b *BMC) openImage(ctx context.Context, u *url.URL, req insertRequest) (*http.Response, *MediaError) {
	fail := func(status int, err error) *MediaError { return &MediaError{URL: req.image, Status: status, Err: err} }
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err = net.DefaultResolver.LookupNetIP(rctx, "ip", host)
		cancel()
		if err != nil {
			return nil, fail(0, fmt.Errorf("%w: %w", ErrMediaUnreachable, err))
		}
	}
	for _, a := range addrs {
		if !allowedAddr(b.nets, a) {
			return nil, fail(0, fmt.Errorf("%w: %s resolves to %s", ErrMediaHostNotAllowed, host, a))
		}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fail(0, fmt.Errorf("%w: %w", ErrMediaUnreachable, err))
	}
	if req.user != "" || req.pass != "" {
		hreq.SetBasicAuth(req.user, req.pass)
	}
	hreq.Header.Set("User-Agent", "atoll-bmc-emulator")
	resp, err := b.client.Do(hreq)
	if err != nil {
		if errors.Is(err, ErrMediaHostNotAllowed) {
			return nil, fail(0, err)
		}
		return nil, fail(0, fmt.Errorf("%w: %w", ErrMediaUnreachable, err))
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		return nil, fail(resp.StatusCode, fmt.Errorf("%w: %s", ErrMediaUnreachable, resp.Status))
	}
	return resp, nil
}

// readImage streams the body, checking its length and optionally hashing
// it. progress, if set, is called every few MiB.
func (b *BMC) readImage(ctx context.Context, resp *http.Response, image string, progress func(int64)) (int64, string, *MediaError) {
	defer func() { _ = resp.Body.Close() }()
	var h hash.Hash
	if b.opts.MediaDigest {
		h = sha256.New()
	}
	buf := make([]byte, 256<<10)
	var n, lastReport int64
	for {
		m, err := resp.Body.Read(buf)
		if m > 0 {
			n += int64(m)
			if h != nil {
				h.Write(buf[:m])
			}
			if progress != nil && n-lastReport >= 4<<20 {
				lastReport = n
				progress(n)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return n, "", &MediaError{URL: image, Status: resp.StatusCode, Err: fmt.Errorf("%w: %w", ErrMediaUnreachable, err)}
		}
	}
	if progress != nil && n != lastReport {
		progress(n)
	}
	if n == 0 || (resp.ContentLength >= 0 && n != resp.ContentLength) {
		return n, "", &MediaError{URL: image, Status: resp.StatusCode,
			Err: fmt.Errorf("%w: read %d bytes, Content-Length %d", ErrMediaLength, n, resp.ContentLength)}
	}
	sum := ""
	if h != nil {
		sum = hex.EncodeToString(h.Sum(nil))
	}
	return n, sum, nil
}

// mediaRFError maps a fetch failure to the Redfish error a client sees.
func mediaRFError(m *MediaError) *rfError {
	switch {
	case errors.Is(m, ErrMediaLength):
		return newErr(http.StatusBadRequest, "ResourceAtUriInUnknownFormat", m.URL).withProps("/Image")
	case m.Status == http.StatusUnauthorized || m.Status == http.StatusForbidden:
		return newErr(http.StatusBadRequest, "ResourceAtUriUnauthorized", m.URL, strconv.Itoa(m.Status)).withProps("/Image")
	default:
		return newErr(http.StatusBadRequest, "CouldNotEstablishConnection", m.URL).withProps("/Image")
	}
}

func allowedAddr(nets []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// NewMediaClient returns the HTTP client a BMC uses by default to fetch
// images: no proxy, and a dialer that refuses any address outside nets (nil
// means loopback and private networks), so a DNS answer cannot redirect a
// fetch elsewhere. BMCs of a fleet can share one.
func NewMediaClient(nets []netip.Prefix) *http.Client {
	if nets == nil {
		nets = defaultMediaNets()
	}
	d := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrMediaHostNotAllowed, address)
			}
			if !allowedAddr(nets, ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrMediaHostNotAllowed, ap.Addr())
			}
			return nil
		},
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}

func (b *BMC) slotByID(id string) *slot {
	for _, s := range b.slots {
		if s.id == id || s.kind == id {
			return s
		}
	}
	return nil
}

// InsertMedia inserts image into a slot directly, as an InsertMedia action
// would but always synchronously: slot is the slot's Id, or "cd" or "usb".
// Failures wrap ErrNoSuchSlot, ErrBusy, ErrInvalid or a *MediaError.
func (b *BMC) InsertMedia(ctx context.Context, slotID, image string) error {
	s := b.slotByID(slotID)
	if s == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchSlot, slotID)
	}
	u, ok := parseImageURL(image)
	if !ok {
		return fmt.Errorf("%w: image URL %q", ErrInvalid, image)
	}
	if e := b.reserveSlot(s); e != nil {
		return e.goErr()
	}
	req := insertRequest{image: image, inserted: true, wp: true}
	resp, merr := b.openImage(ctx, u, req)
	if merr != nil {
		b.releaseSlot(s)
		return merr
	}
	size, sum, merr := b.readImage(ctx, resp, image, nil)
	if merr != nil {
		b.releaseSlot(s)
		return merr
	}
	b.commitInsert(s, req, size, sum)
	return nil
}

// EjectMedia ejects a slot directly (slot Id, "cd" or "usb").
func (b *BMC) EjectMedia(slotID string) error {
	s := b.slotByID(slotID)
	if s == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchSlot, slotID)
	}
	return b.ejectSlot(s).goErr()
}
