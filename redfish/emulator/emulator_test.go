package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

// TestProfilesRaw drives every action of every profile with a plain HTTP
// client: login, inventory, boot override, media insert and eject, reset,
// the boot it causes, logout.
func TestProfilesRaw(t *testing.T) {
	for _, p := range emulator.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			var boots bootRecorder
			em := redfishtest.NewEmulator(t, p, redfishtest.Options{TLS: true, BMC: emulator.Options{
				OnBoot: boots.record, SettleDelay: -1, MediaDigest: true,
			}})
			img := redfishtest.ServeImage(t, "install.iso", 5<<20+123)
			c := newRaw(t, em)
			l := em.BMC.Layout()

			root := c.do(http.MethodGet, "/redfish/v1/", nil).want(t, http.StatusOK)
			if root.header.Get("OData-Version") != "4.0" || root.header.Get("ETag") == "" {
				t.Fatalf("root headers: %v", root.header)
			}
			if got := str(root.body, "Vendor"); got == "" {
				t.Fatal("root has no Vendor")
			}
			c.noAuth = true
			c.do(http.MethodGet, l.System, nil).wantError(t, http.StatusUnauthorized, "NoValidSession")
			c.noAuth = false

			login := c.login()
			loc := login.header.Get("Location")
			if !strings.HasPrefix(loc, "/redfish/v1/SessionService/Sessions/") || str(login.body, "@odata.id") != loc {
				t.Fatalf("login Location %q body %s", loc, login.raw)
			}
			c.do(http.MethodGet, loc, nil).want(t, http.StatusOK)

			systems := c.do(http.MethodGet, "/redfish/v1/Systems", nil).want(t, http.StatusOK)
			members := systems.body["Members"].([]any)
			if len(members) != 1 || members[0].(map[string]any)["@odata.id"] != l.System {
				t.Fatalf("Systems members %v, want %s", members, l.System)
			}
			sys := c.do(http.MethodGet, l.System, nil).want(t, http.StatusOK)
			if str(sys.body, "Manufacturer") != em.BMC.Manufacturer() || str(sys.body, "PowerState") != "Off" {
				t.Fatalf("system: %s", sys.raw)
			}
			if allow := sys.header.Get("Allow"); !strings.Contains(allow, "PATCH") {
				t.Fatalf("system Allow %q", allow)
			}
			resets, _ := sys.body["Actions"].(map[string]any)["#ComputerSystem.Reset"].(map[string]any)["ResetType@Redfish.AllowableValues"].([]any)
			for _, want := range []string{"On", "ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart"} {
				if !slices.Contains(resets, any(want)) {
					t.Errorf("ResetType allowable values %v lack %s", resets, want)
				}
			}
			nics := c.do(http.MethodGet, l.System+"/EthernetInterfaces", nil).want(t, http.StatusOK)
			nic := c.do(http.MethodGet, nics.body["Members"].([]any)[0].(map[string]any)["@odata.id"].(string), nil).want(t, http.StatusOK)
			if mac := str(nic.body, "MACAddress"); len(mac) != 17 {
				t.Fatalf("MAC %q", mac)
			}
			mgr := c.do(http.MethodGet, l.Manager, nil).want(t, http.StatusOK)
			if str(mgr.body, "FirmwareVersion") == "" {
				t.Fatalf("manager without firmware: %s", mgr.raw)
			}
			c.do(http.MethodGet, "/redfish/v1/UpdateService/FirmwareInventory/BMC", nil).want(t, http.StatusOK)
			c.do(http.MethodGet, l.Chassis, nil).want(t, http.StatusOK)

			// Media: the collection lists both slots with their types.
			coll := c.do(http.MethodGet, l.VirtualMedia, nil).want(t, http.StatusOK)
			if n := len(coll.body["Members"].([]any)); n != 2 {
				t.Fatalf("VirtualMedia members %d", n)
			}
			cd := c.do(http.MethodGet, l.CD, nil).want(t, http.StatusOK)
			if cd.body["Inserted"] != false || cd.body["Image"] != nil || !slices.Contains(cd.body["MediaTypes"].([]any), any("CD")) {
				t.Fatalf("empty CD slot: %s", cd.raw)
			}
			usb := c.do(http.MethodGet, l.USB, nil).want(t, http.StatusOK)
			if !slices.Contains(usb.body["MediaTypes"].([]any), any("USBStick")) {
				t.Fatalf("USB slot: %s", usb.raw)
			}

			// Boot override to the virtual CD, as the profile spells it.
			target := "Cd"
			if p == emulator.ProfileSupermicro {
				target = "UsbCd"
			}
			c.do(http.MethodPatch, l.System, map[string]any{"Boot": map[string]any{
				"BootSourceOverrideTarget": target, "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI",
			}}).want(t, http.StatusOK)

			insertMedia(t, c, em, l.CD, img.URL)
			waitFor(t, "CD inserted", func() bool {
				return c.do(http.MethodGet, l.CD, nil).body["Inserted"] == true
			})
			cd = c.do(http.MethodGet, l.CD, nil)
			if str(cd.body, "Image") != img.URL || str(cd.body, "ImageName") != "install.iso" || str(cd.body, "ConnectedVia") != "URI" {
				t.Fatalf("inserted CD: %s", cd.raw)
			}
			// The image server counts a complete fetch once its handler
			// returns, which may be just after the emulator has read it all.
			waitFor(t, "a complete image fetch", func() bool { return img.CompleteFetches() == 1 })
			if img.Fetches() != 1 {
				t.Fatalf("image fetched %d times, want 1", img.Fetches())
			}

			c.do(http.MethodPost, l.System+"/Actions/ComputerSystem.Reset", map[string]any{"ResetType": "On"}).want(t, http.StatusNoContent)
			ev := boots.last(t)
			if ev.Image != img.URL || ev.ImageSHA256 != img.SHA256 || ev.ImageSize != img.Size || string(ev.Target) != target || ev.Reset != "On" {
				t.Fatalf("boot event %+v, want image %s", ev, img.URL)
			}
			sys = c.do(http.MethodGet, l.System, nil)
			if str(sys.body, "PowerState") != "On" || str(sys.body, "Boot", "BootSourceOverrideEnabled") != "Disabled" {
				t.Fatalf("after boot: %s", sys.raw)
			}
			// The Once override is consumed: a restart boots the disk.
			c.do(http.MethodPost, l.System+"/Actions/ComputerSystem.Reset", map[string]any{"ResetType": "ForceRestart"}).want(t, http.StatusNoContent)
			if ev := boots.last(t); ev.Image != "" || ev.Target != emulator.BootHdd {
				t.Fatalf("second boot %+v, want Hdd without image", ev)
			}
			c.do(http.MethodPost, l.System+"/Actions/ComputerSystem.Reset", map[string]any{"ResetType": "ForceOff"}).want(t, http.StatusNoContent)
			if got := em.BMC.State().Power; got != emulator.PowerOff {
				t.Fatalf("power %s after ForceOff", got)
			}

			ejectMedia(t, c, em, l.CD)
			cd = c.do(http.MethodGet, l.CD, nil)
			if cd.body["Inserted"] != false || cd.body["Image"] != nil {
				t.Fatalf("ejected CD: %s", cd.raw)
			}

			c.do(http.MethodDelete, loc, nil).want(t, http.StatusNoContent)
			c.do(http.MethodGet, l.System, nil).wantError(t, http.StatusUnauthorized, "NoValidSession")
		})
	}
}

func insertMedia(t *testing.T, c *raw, em *redfishtest.Emulator, slot, image string) {
	t.Helper()
	if target := insertVia(slot, em.BMC.Profile()); target != "" {
		r := c.do(http.MethodPost, target, map[string]any{"Image": image, "Inserted": true, "WriteProtected": true})
		switch r.status {
		case http.StatusNoContent:
		case http.StatusAccepted:
			mon := r.header.Get("Location")
			if mon == "" {
				t.Fatalf("202 without Location: %s", r.raw)
			}
			waitFor(t, "task", func() bool { return c.do(http.MethodGet, mon, nil).status != http.StatusAccepted })
			done := c.do(http.MethodGet, mon, nil).want(t, http.StatusOK)
			if str(done.body, "TaskState") != "Completed" {
				t.Fatalf("task: %s", done.raw)
			}
		default:
			t.Fatalf("InsertMedia: %d %s", r.status, r.raw)
		}
		return
	}
	c.do(http.MethodPatch, slot, map[string]any{"Image": image, "Inserted": true, "WriteProtected": true}).want(t, http.StatusOK)
}

func ejectMedia(t *testing.T, c *raw, em *redfishtest.Emulator, slot string) {
	t.Helper()
	if em.BMC.Profile() == emulator.ProfileLenovo {
		c.do(http.MethodPatch, slot, map[string]any{"Image": nil, "Inserted": false}).want(t, http.StatusOK)
		return
	}
	c.do(http.MethodPost, slot+"/Actions/VirtualMedia.EjectMedia", map[string]any{}).want(t, http.StatusNoContent)
}

// TestBasicAuth: Basic credentials work except on OpenBMC; wrong ones never.
func TestBasicAuth(t *testing.T) {
	for _, p := range emulator.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			em := redfishtest.NewEmulator(t, p, redfishtest.Options{BMC: emulator.Options{Username: "root", Password: "calvin"}})
			c := newRaw(t, em)
			r := c.do(http.MethodGet, em.BMC.Layout().System, nil)
			if p == emulator.ProfileOpenBMC {
				r.wantError(t, http.StatusUnauthorized, "NoValidSession")
			} else {
				r.want(t, http.StatusOK)
			}
			c.pass = "wrong"
			c.do(http.MethodGet, em.BMC.Layout().System, nil).wantError(t, http.StatusUnauthorized, "NoValidSession")
			c.do(http.MethodPost, "/redfish/v1/SessionService/Sessions", map[string]any{"UserName": "root", "Password": "wrong"}).
				wantError(t, http.StatusUnauthorized, "NoValidSession")
		})
	}
}

// TestSessionExpiry: a session idle longer than SessionTimeout is gone.
func TestSessionExpiry(t *testing.T) {
	clk := newFakeClock()
	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{BMC: emulator.Options{Now: clk.Now}})
	c := newRaw(t, em)
	c.login()
	ss := c.do(http.MethodGet, "/redfish/v1/SessionService", nil).want(t, http.StatusOK)
	timeout, err := ss.body["SessionTimeout"].(float64)
	if !err || timeout <= 0 {
		t.Fatalf("SessionTimeout: %s", ss.raw)
	}
	clk.Add(time.Duration(timeout/2) * time.Second)
	c.do(http.MethodGet, "/redfish/v1/Systems", nil).want(t, http.StatusOK)
	clk.Add(time.Duration(timeout/2+1) * time.Second) // idle time counts from the last use
	c.do(http.MethodGet, "/redfish/v1/Systems", nil).want(t, http.StatusOK)
	clk.Add(time.Duration(timeout+1) * time.Second)
	c.do(http.MethodGet, "/redfish/v1/Systems", nil).wantError(t, http.StatusUnauthorized, "NoValidSession")
	if n := em.BMC.State().Sessions; n != 0 {
		t.Fatalf("%d sessions after expiry", n)
	}
}

// TestErrors checks status codes and error bodies for the ways a request
// can be wrong.
func TestErrors(t *testing.T) {
	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{})
	c := newRaw(t, em)
	l := em.BMC.Layout()
	reset := l.System + "/Actions/ComputerSystem.Reset"

	c.do(http.MethodGet, "/redfish/v1/Nothing/Here", nil).wantError(t, http.StatusNotFound, "ResourceMissingAtURI")
	r := c.do(http.MethodPut, l.System, map[string]any{}).wantError(t, http.StatusMethodNotAllowed, "OperationNotAllowed")
	if r.header.Get("Allow") != "GET, HEAD, PATCH" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
	r = c.do(http.MethodGet, reset, nil).wantError(t, http.StatusMethodNotAllowed, "OperationNotAllowed")
	if r.header.Get("Allow") != "POST" {
		t.Fatalf("action Allow %q", r.header.Get("Allow"))
	}
	c.do(http.MethodDelete, l.Manager, nil).wantError(t, http.StatusMethodNotAllowed, "OperationNotAllowed")
	c.do(http.MethodPatch, l.Manager, map[string]any{}).wantError(t, http.StatusMethodNotAllowed, "OperationNotAllowed")

	r = c.do(http.MethodPatch, l.System, map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Floppy9"}}).
		wantError(t, http.StatusBadRequest, "PropertyValueNotInList")
	if !strings.Contains(string(r.raw), `"RelatedProperties":["/Boot/BootSourceOverrideTarget"]`) {
		t.Fatalf("RelatedProperties: %s", r.raw)
	}
	c.do(http.MethodPatch, l.System, map[string]any{"Boot": map[string]any{"BootSourceOverrideEnabled": true}}).
		wantError(t, http.StatusBadRequest, "PropertyValueTypeError")
	c.do(http.MethodPatch, l.System, map[string]any{"Boot": map[string]any{"BootSourceOverrideMode": "BIOS"}}).
		wantError(t, http.StatusBadRequest, "PropertyValueNotInList")
	c.do(http.MethodPatch, l.System, map[string]any{"PowerState": "On"}).wantError(t, http.StatusBadRequest, "PropertyNotWritable")
	c.do(http.MethodPatch, l.System, map[string]any{"Colour": "blue"}).wantError(t, http.StatusBadRequest, "PropertyUnknown")
	c.do(http.MethodPatch, l.System, `{"Boot":`).wantError(t, http.StatusBadRequest, "MalformedJSON")
	c.do(http.MethodPatch, l.System, `[1,2]`).wantError(t, http.StatusBadRequest, "MalformedJSON")
	// A rejected PATCH changes nothing.
	if st := em.BMC.State(); st.BootTarget != emulator.BootNone || st.BootEnabled != "Disabled" {
		t.Fatalf("state changed by rejected PATCHes: %+v", st)
	}

	c.do(http.MethodPost, reset, map[string]any{}).wantError(t, http.StatusBadRequest, "ActionParameterMissing")
	c.do(http.MethodPost, reset, map[string]any{"ResetType": "Explode"}).wantError(t, http.StatusBadRequest, "ActionParameterValueNotInList")
	c.do(http.MethodPost, reset, map[string]any{"ResetType": 1}).wantError(t, http.StatusBadRequest, "ActionParameterValueFormatError")
	c.do(http.MethodPost, reset, map[string]any{"ResetType": "On", "Force": true}).wantError(t, http.StatusBadRequest, "ActionParameterUnknown")
	insert := l.CD + "/Actions/VirtualMedia.InsertMedia"
	c.do(http.MethodPost, insert, map[string]any{}).wantError(t, http.StatusBadRequest, "ActionParameterMissing")
	c.do(http.MethodPost, insert, map[string]any{"Image": "nfs://10.0.0.1/x.iso"}).wantError(t, http.StatusBadRequest, "ActionParameterValueFormatError")
	c.do(http.MethodPost, insert, map[string]any{"Image": "http://127.0.0.1:1/x.iso", "TransferProtocolType": "CIFS"}).
		wantError(t, http.StatusBadRequest, "ActionParameterValueNotInList")
	c.do(http.MethodPost, "/redfish/v1/Systems", map[string]any{}).wantError(t, http.StatusMethodNotAllowed, "OperationNotAllowed")
	c.do(http.MethodPost, "/redfish/v1/SessionService/Sessions", map[string]any{"UserName": "admin"}).
		wantError(t, http.StatusBadRequest, "PropertyMissing")
}

// TestETag covers ETag, If-None-Match and If-Match.
func TestETag(t *testing.T) {
	for _, p := range []emulator.Profile{emulator.ProfileGeneric, emulator.ProfileHPE} {
		t.Run(string(p), func(t *testing.T) {
			em := redfishtest.NewEmulator(t, p, redfishtest.Options{})
			c := newRaw(t, em)
			c.login()
			sysPath := em.BMC.Layout().System
			first := c.do(http.MethodGet, sysPath, nil).want(t, http.StatusOK)
			etag := first.header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			if weak := strings.HasPrefix(etag, "W/"); weak != (p == emulator.ProfileHPE) {
				t.Fatalf("ETag %s: weak=%v for %s", etag, weak, p)
			}
			if again := c.do(http.MethodGet, sysPath, nil).header.Get("ETag"); again != etag {
				t.Fatalf("ETag changed without a change: %s then %s", etag, again)
			}
			c.do(http.MethodGet, sysPath, nil, "If-None-Match", etag).want(t, http.StatusNotModified)

			boot := map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Continuous"}}
			c.do(http.MethodPatch, sysPath, boot, "If-Match", `"0000000000000000"`).wantError(t, http.StatusPreconditionFailed, "PreconditionFailed")
			patched := c.do(http.MethodPatch, sysPath, boot, "If-Match", etag).want(t, http.StatusOK)
			newTag := patched.header.Get("ETag")
			if newTag == etag || newTag == "" {
				t.Fatalf("ETag after PATCH %q (before %q)", newTag, etag)
			}
			if got := c.do(http.MethodGet, sysPath, nil).header.Get("ETag"); got != newTag {
				t.Fatalf("GET ETag %s, PATCH answered %s", got, newTag)
			}
			// The old tag is now stale.
			c.do(http.MethodPatch, sysPath, boot, "If-Match", etag).wantError(t, http.StatusPreconditionFailed, "PreconditionFailed")
			c.do(http.MethodPatch, sysPath, boot, "If-Match", "*").want(t, http.StatusOK)
			// A power change changes the ETag too.
			c.do(http.MethodPost, sysPath+"/Actions/ComputerSystem.Reset", map[string]any{"ResetType": "On"}).want(t, http.StatusNoContent)
			if got := c.do(http.MethodGet, sysPath, nil).header.Get("ETag"); got == newTag {
				t.Fatal("ETag unchanged after power on")
			}
		})
	}
}

// TestNoNulls walks every link from the service root: nothing dangles, every
// resource has ETag and Allow, and nothing is null except where the schema
// says so (an empty slot's Image and ImageName; secrets such as Password
// and SNMP CommunityString, which the schema requires to read as null).
func TestNoNulls(t *testing.T) {
	for _, p := range emulator.Profiles() {
		em := redfishtest.NewEmulator(t, p, redfishtest.Options{})
		c := newRaw(t, em)
		c.login()
		n := c.walkTree("/redfish/v1", func(path string, r reply) {
			if r.status != http.StatusOK {
				t.Errorf("%s: GET %s: %d (dangling link)", p, path, r.status)
				return
			}
			if r.header.Get("ETag") == "" || r.header.Get("Allow") == "" {
				t.Errorf("%s: %s lacks ETag or Allow", p, path)
			}
			var visit func(k string, v any)
			visit = func(k string, v any) {
				switch x := v.(type) {
				case nil:
					if !slices.Contains([]string{"Image", "ImageName", "Password", "CommunityString"}, k) {
						t.Errorf("%s: %s: %s is null", p, path, k)
					}
				case map[string]any:
					for kk, vv := range x {
						visit(kk, vv)
					}
				case []any:
					for _, e := range x {
						visit(k, e)
					}
				}
			}
			visit("", r.body)
		})
		if n < 20 {
			t.Errorf("%s: walked only %d resources", p, n)
		}
	}
}

// TestGoAPI covers the direct methods and their error vocabulary.
func TestGoAPI(t *testing.T) {
	var boots bootRecorder
	em := redfishtest.NewEmulator(t, emulator.ProfileDell, redfishtest.Options{BMC: emulator.Options{OnBoot: boots.record, SettleDelay: -1}})
	img := redfishtest.ServeImage(t, "a.iso", 1<<20)
	ctx := context.Background()
	b := em.BMC
	if err := b.InsertMedia(ctx, "floppy", img.URL); !errors.Is(err, emulator.ErrNoSuchSlot) {
		t.Fatalf("unknown slot: %v", err)
	}
	if err := b.InsertMedia(ctx, "cd", img.URL); err != nil {
		t.Fatal(err)
	}
	if err := b.InsertMedia(ctx, "cd", img.URL); !errors.Is(err, emulator.ErrBusy) {
		t.Fatalf("Dell insert into a full slot: %v, want ErrBusy", err)
	}
	if err := b.Reset("Explode"); !errors.Is(err, emulator.ErrInvalid) {
		t.Fatalf("bad reset: %v", err)
	}
	if err := b.Reset("On"); err != nil {
		t.Fatal(err)
	}
	if err := b.Reset("On"); !errors.Is(err, emulator.ErrConflict) {
		t.Fatalf("Dell On while on: %v, want ErrConflict", err)
	}
	if boots.count() != 1 {
		t.Fatalf("%d boots", boots.count())
	}
	if err := b.EjectMedia("CD"); err != nil {
		t.Fatal(err)
	}
	if err := b.EjectMedia("CD"); !errors.Is(err, emulator.ErrInvalid) {
		t.Fatalf("Dell eject of an empty slot: %v", err)
	}
	if _, err := emulator.New(emulator.Options{Profile: "cray"}); !errors.Is(err, emulator.ErrUnknownProfile) {
		t.Fatalf("unknown profile: %v", err)
	}
}

// TestQueryNotSupported: $ query parameters are refused with 501, as the
// service root advertises no query support.
func TestQueryNotSupported(t *testing.T) {
	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{})
	c := newRaw(t, em)
	c.do(http.MethodGet, "/redfish/v1/Systems?$expand=.", nil).wantError(t, http.StatusNotImplemented, "QueryNotSupported")
	c.do(http.MethodGet, "/redfish/v1/Systems?foo=bar", nil).want(t, http.StatusOK)
}

// TestConcurrentClients mixes every kind of request from several clients
// (run with -race); nothing fails with a 5xx other than the 503 of a busy
// slot, and the state stays coherent.
func TestConcurrentClients(t *testing.T) {
	var boots bootRecorder
	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{BMC: emulator.Options{OnBoot: boots.record}})
	img := redfishtest.ServeImage(t, "a.iso", 64<<10)
	l := em.BMC.Layout()
	errs := make(chan string, 64)
	done := make(chan struct{})
	const workers = 6
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			c := newRaw(t, em)
			if w%2 == 0 {
				c.login()
			}
			for i := range 40 {
				var r reply
				switch (w + i) % 6 {
				case 0:
					r = c.do(http.MethodGet, l.System, nil)
				case 1:
					r = c.do(http.MethodPatch, l.System, map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Usb", "BootSourceOverrideEnabled": "Continuous"}})
				case 2:
					r = c.do(http.MethodPost, l.System+"/Actions/ComputerSystem.Reset", map[string]any{"ResetType": "PowerCycle"})
				case 3:
					r = c.do(http.MethodPost, l.USB+"/Actions/VirtualMedia.InsertMedia", map[string]any{"Image": img.URL})
				case 4:
					r = c.do(http.MethodPost, l.USB+"/Actions/VirtualMedia.EjectMedia", map[string]any{})
				case 5:
					r = c.do(http.MethodGet, l.USB, nil)
				}
				// 503 is the answer to touching a slot while an insert
				// fetches; anything else 5xx is a bug.
				if (r.status >= 500 && r.status != http.StatusServiceUnavailable) || r.status == http.StatusUnauthorized {
					errs <- fmt.Sprintf("worker %d op %d: %d %s", w, i, r.status, r.raw)
					return
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	st := em.BMC.State()
	if st.Boots != boots.count() || st.Boots == 0 {
		t.Fatalf("%d boots in state, %d events", st.Boots, boots.count())
	}
	usb := st.Media[1]
	if usb.Inserted != (usb.Image == img.URL) {
		t.Fatalf("incoherent slot %+v", usb)
	}
}

// TestSessionLimit: logins past the limit get 503 SessionLimitExceeded;
// a logout makes room.
func TestSessionLimit(t *testing.T) {
	em := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{})
	c := newRaw(t, em)
	var last reply
	for range 64 {
		last = c.login()
	}
	r := c.do(http.MethodPost, "/redfish/v1/SessionService/Sessions", map[string]any{"UserName": "admin", "Password": "password"}).
		wantError(t, http.StatusServiceUnavailable, "SessionLimitExceeded")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	c.do(http.MethodDelete, last.header.Get("Location"), nil).want(t, http.StatusNoContent)
	c.token = ""
	c.login()
}
