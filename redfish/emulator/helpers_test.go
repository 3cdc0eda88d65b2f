package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// raw is a plain HTTP Redfish client: it sends exactly what a test says.
type raw struct {
	t      testing.TB
	base   string
	hc     *http.Client
	user   string
	pass   string
	token  string
	noAuth bool
}

func newRaw(t testing.TB, em *redfishtest.Emulator) *raw {
	return &raw{t: t, base: em.URL, hc: em.Client(), user: em.Username, pass: em.Password}
}

// reply is a decoded response.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (c *raw) do(method, path string, body any, hdr ...string) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			data, err := json.Marshal(b)
			if err != nil {
				c.t.Fatal(err)
			}
			rd = bytes.NewReader(data)
		}
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.noAuth:
	case c.token != "":
		req.Header.Set("X-Auth-Token", c.token)
	default:
		req.SetBasicAuth(c.user, c.pass)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: data}
	if len(data) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &r.body); err != nil {
			c.t.Fatalf("%s %s: body %q: %v", method, path, data, err)
		}
	}
	return r
}

// walkTree GETs every resource reachable from start through @odata.id
// links and string properties named ...Uri that hold a service path, calls
// fn with each reply, and returns how many resources it visited.
func (c *raw) walkTree(start string, fn func(path string, r reply)) int {
	c.t.Helper()
	seen := map[string]bool{}
	queue := []string{start}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		if seen[path] {
			continue
		}
		seen[path] = true
		r := c.do(http.MethodGet, path, nil)
		fn(path, r)
		var links func(k string, v any)
		links = func(k string, v any) {
			switch x := v.(type) {
			case string:
				if (k == "@odata.id" || strings.HasSuffix(k, "Uri")) && strings.HasPrefix(x, "/redfish/v1") && !strings.Contains(x, "#") {
					queue = append(queue, strings.TrimSuffix(x, "/"))
				}
			case map[string]any:
				for kk, vv := range x {
					links(kk, vv)
				}
			case []any:
				for _, e := range x {
					links(k, e)
				}
			}
		}
		links("", r.body)
	}
	return len(seen)
}

// login creates a session and makes c use it.
func (c *raw) login() reply {
	c.t.Helper()
	r := c.do(http.MethodPost, "/redfish/v1/SessionService/Sessions", map[string]any{"UserName": c.user, "Password": c.pass})
	if r.status != http.StatusCreated {
		c.t.Fatalf("login: %d %s", r.status, r.raw)
	}
	c.token = r.header.Get("X-Auth-Token")
	return r
}

// want fails the test unless r has the status.
func (r reply) want(t testing.TB, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// wantError checks a Redfish error body: status, a code, a message, and
// ExtendedInfo whose first MessageId ends with id.
func (r reply) wantError(t testing.TB, status int, id string) reply {
	t.Helper()
	r.want(t, status)
	e, ok := r.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %s", r.raw)
	}
	if c, _ := e["code"].(string); !strings.HasPrefix(c, "Base.1.") {
		t.Fatalf("error code %q: %s", c, r.raw)
	}
	if m, _ := e["message"].(string); m == "" {
		t.Fatalf("empty error message: %s", r.raw)
	}
	ext, _ := e["@Message.ExtendedInfo"].([]any)
	if len(ext) == 0 {
		t.Fatalf("no @Message.ExtendedInfo: %s", r.raw)
	}
	first := ext[0].(map[string]any)
	for _, k := range []string{"MessageId", "Message", "MessageSeverity", "Resolution"} {
		if s, _ := first[k].(string); s == "" {
			t.Fatalf("ExtendedInfo %s empty: %s", k, r.raw)
		}
	}
	if mid := first["MessageId"].(string); !strings.HasSuffix(mid, id) {
		t.Fatalf("MessageId %q, want *%s: %s", mid, id, r.raw)
	}
	if bytes.Contains(r.raw, []byte("null")) {
		t.Fatalf("null in error body: %s", r.raw)
	}
	return r
}

func str(m map[string]any, keys ...string) string {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

// bootRecorder collects BootEvents.
type bootRecorder struct {
	mu     sync.Mutex
	events []emulator.BootEvent
}

func (b *bootRecorder) record(ev emulator.BootEvent) {
	b.mu.Lock()
	b.events = append(b.events, ev)
	b.mu.Unlock()
}

func (b *bootRecorder) last(t testing.TB) emulator.BootEvent {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.events) == 0 {
		t.Fatal("no boot event")
	}
	return b.events[len(b.events)-1]
}

func (b *bootRecorder) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.events)
}

// insertVia returns how a profile inserts media over HTTP: the action
// target, or "" for PATCH.
func insertVia(slotPath string, p emulator.Profile) string {
	if p == emulator.ProfileLenovo {
		return ""
	}
	return slotPath + "/Actions/VirtualMedia.InsertMedia"
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
