package emulator_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

// TestMediaFetchFailures: an image that cannot be fetched whole fails the
// insert with a Redfish error, and with a *MediaError through the Go API.
func TestMediaFetchFailures(t *testing.T) {
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/missing.iso", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	})
	mux.HandleFunc("/secret.iso", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if u, p, ok := r.BasicAuth(); ok && u == "img" && p == "pw" {
			w.Header().Set("Content-Length", "4")
			_, _ = w.Write([]byte("boot"))
			return
		}
		http.Error(w, "no", http.StatusUnauthorized)
	})
	mux.HandleFunc("/empty.iso", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Length", "0")
	})
	mux.HandleFunc("/short.iso", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write([]byte("only a little"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	// A port with nothing listening: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String() + "/x.iso"
	ln.Close()

	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{BMC: emulator.Options{AsyncMediaThreshold: -1}})
	c := newRaw(t, em)
	insert := em.BMC.Layout().CD + "/Actions/VirtualMedia.InsertMedia"
	cases := []struct {
		name, url string
		msgID     string
		sentinel  error
		status    int
	}{
		{"404", srv.URL + "/missing.iso", "CouldNotEstablishConnection", emulator.ErrMediaUnreachable, 404},
		{"401", srv.URL + "/secret.iso", "ResourceAtUriUnauthorized", emulator.ErrMediaUnreachable, 401},
		{"empty", srv.URL + "/empty.iso", "ResourceAtUriInUnknownFormat", emulator.ErrMediaLength, 200},
		{"short", srv.URL + "/short.iso", "CouldNotEstablishConnection", emulator.ErrMediaUnreachable, 200},
		{"refused", closedURL, "CouldNotEstablishConnection", emulator.ErrMediaUnreachable, 0},
		// TEST-NET-3 (RFC 5737) is neither loopback nor private: refused
		// before any packet is sent.
		{"public", "http://203.0.113.7/x.iso", "CouldNotEstablishConnection", emulator.ErrMediaHostNotAllowed, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.do(http.MethodPost, insert, map[string]any{"Image": tc.url}).wantError(t, http.StatusBadRequest, tc.msgID)
			err := em.BMC.InsertMedia(context.Background(), "cd", tc.url)
			var me *emulator.MediaError
			if !errors.As(err, &me) || !errors.Is(err, tc.sentinel) || me.Status != tc.status || me.URL != tc.url {
				t.Fatalf("Go error %v (%#v), want %v with status %d", err, me, tc.sentinel, tc.status)
			}
			if em.BMC.State().Media[0].Inserted {
				t.Fatal("failed insert left the slot inserted")
			}
		})
	}
	// Credentials in the action reach the image server.
	c.do(http.MethodPost, insert, map[string]any{"Image": srv.URL + "/secret.iso", "UserName": "img", "Password": "pw"}).want(t, http.StatusNoContent)
	if hits.Load() < 9 {
		t.Fatalf("image server saw %d requests", hits.Load())
	}
}

// TestMediaDialerRefusesOutsideNets: the default client checks the address
// it dials, not only the name it was given.
func TestMediaDialerRefusesOutsideNets(t *testing.T) {
	img := redfishtest.ServeImage(t, "a.iso", 1<<10)
	// Allow only 10.0.0.0/8: the image on 127.0.0.1 must be refused.
	nets := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	hc := emulator.NewMediaClient(nets)
	defer hc.CloseIdleConnections()
	_, err := hc.Get(img.URL)
	if !errors.Is(err, emulator.ErrMediaHostNotAllowed) {
		t.Fatalf("dial to loopback with only 10/8 allowed: %v", err)
	}
	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{BMC: emulator.Options{AllowedMediaNets: nets}})
	if err := em.BMC.InsertMedia(context.Background(), "cd", img.URL); !errors.Is(err, emulator.ErrMediaHostNotAllowed) {
		t.Fatalf("insert: %v", err)
	}
	if img.Fetches() != 0 {
		t.Fatal("image fetched despite the policy")
	}
}

// TestAsyncInsertTask: a big image is inserted as a task; the stuck-tasks
// fault holds it Running until cleared.
func TestAsyncInsertTask(t *testing.T) {
	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{BMC: emulator.Options{AsyncMediaThreshold: 8 << 20}})
	small := redfishtest.ServeImage(t, "small.iso", 1<<20)
	big := redfishtest.ServeImage(t, "big.iso", 32<<20)
	c := newRaw(t, em)
	c.login()
	l := em.BMC.Layout()
	c.do(http.MethodPost, l.USB+"/Actions/VirtualMedia.InsertMedia", map[string]any{"Image": small.URL}).want(t, http.StatusNoContent)

	em.BMC.Faults().SetStuckTasks(true)
	r := c.do(http.MethodPost, l.CD+"/Actions/VirtualMedia.InsertMedia", map[string]any{"Image": big.URL}).want(t, http.StatusAccepted)
	mon := r.header.Get("Location")
	if mon == "" || r.header.Get("Retry-After") == "" || str(r.body, "TaskState") != "Running" {
		t.Fatalf("202: %v %s", r.header, r.raw)
	}
	taskPath := str(r.body, "@odata.id")
	// The task reports 99% once every byte is read (100 only when done).
	waitFor(t, "the image read", func() bool {
		pc, _ := c.do(http.MethodGet, mon, nil).body["PercentComplete"].(float64)
		return pc == 99
	})
	time.Sleep(50 * time.Millisecond) // ample time to finish, were it not stuck
	// Fetched, but the task is stuck: still Running, media not inserted.
	for range 3 {
		m := c.do(http.MethodGet, mon, nil).want(t, http.StatusAccepted)
		if str(m.body, "TaskState") != "Running" {
			t.Fatalf("stuck task: %s", m.raw)
		}
	}
	if em.BMC.State().Media[0].Inserted {
		t.Fatal("stuck task inserted the media")
	}
	tasks := c.do(http.MethodGet, "/redfish/v1/TaskService/Tasks", nil).want(t, http.StatusOK)
	if n := len(tasks.body["Members"].([]any)); n != 1 {
		t.Fatalf("%d tasks", n)
	}
	em.BMC.Faults().SetStuckTasks(false)
	waitFor(t, "task end", func() bool { return c.do(http.MethodGet, mon, nil).status != http.StatusAccepted })
	done := c.do(http.MethodGet, mon, nil).want(t, http.StatusOK)
	if str(done.body, "TaskState") != "Completed" || done.body["PercentComplete"].(float64) != 100 {
		t.Fatalf("task after the fault cleared: %s", done.raw)
	}
	task := c.do(http.MethodGet, taskPath, nil).want(t, http.StatusOK)
	if str(task.body, "EndTime") == "" || str(task.body, "TaskStatus") != "OK" {
		t.Fatalf("task resource: %s", task.raw)
	}
	if st := em.BMC.State().Media[0]; !st.Inserted || st.Size != big.Size {
		t.Fatalf("media after task: %+v", st)
	}

	// A failing async fetch ends the task in Exception with the error.
	c.do(http.MethodPost, l.CD+"/Actions/VirtualMedia.EjectMedia", map[string]any{}).want(t, http.StatusNoContent)
	lying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "16777216")
		_, _ = w.Write(make([]byte, 1<<20))
	}))
	t.Cleanup(lying.Close)
	r = c.do(http.MethodPost, l.CD+"/Actions/VirtualMedia.InsertMedia", map[string]any{"Image": lying.URL + "/x.iso"}).want(t, http.StatusAccepted)
	mon = r.header.Get("Location")
	waitFor(t, "task end", func() bool { return c.do(http.MethodGet, mon, nil).status != http.StatusAccepted })
	c.do(http.MethodGet, mon, nil).wantError(t, http.StatusBadRequest, "CouldNotEstablishConnection")
	task = c.do(http.MethodGet, str(r.body, "@odata.id"), nil)
	if str(task.body, "TaskState") != "Exception" {
		t.Fatalf("failed task: %s", task.raw)
	}
}
