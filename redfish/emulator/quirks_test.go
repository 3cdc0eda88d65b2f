package emulator_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

// TestInsertIntoFullSlot: each profile's answer to an insert while an
// image is attached.
func TestInsertIntoFullSlot(t *testing.T) {
	cases := []struct {
		profile emulator.Profile
		status  int    // 0: the new image replaces the old one
		msgID   string // suffix of the MessageId
	}{
		{emulator.ProfileGeneric, http.StatusConflict, "ResourceInUse"},
		{emulator.ProfileDell, http.StatusBadRequest, "VRM0012"},
		{emulator.ProfileHPE, http.StatusBadRequest, "MaxVirtualMediaConnectionEstablished"},
		{emulator.ProfileSupermicro, http.StatusConflict, "ResourceInUse"},
		{emulator.ProfileLenovo, 0, ""},
		{emulator.ProfileOpenBMC, http.StatusConflict, "ResourceInUse"},
	}
	for _, tc := range cases {
		t.Run(string(tc.profile), func(t *testing.T) {
			em := redfishtest.NewEmulator(t, tc.profile, redfishtest.Options{BMC: emulator.Options{SettleDelay: -1, AsyncMediaThreshold: -1}})
			a := redfishtest.ServeImage(t, "a.iso", 1<<20)
			b := redfishtest.ServeImage(t, "b.iso", 2<<20)
			c := newRaw(t, em)
			c.login()
			l := em.BMC.Layout()
			insertMedia(t, c, em, l.CD, a.URL)
			var r reply
			if tc.profile == emulator.ProfileLenovo {
				r = c.do(http.MethodPatch, l.CD, map[string]any{"Image": b.URL, "Inserted": true})
			} else {
				r = c.do(http.MethodPost, l.CD+"/Actions/VirtualMedia.InsertMedia", map[string]any{"Image": b.URL})
			}
			got := em.BMC.State().Media[0].Image
			if tc.status == 0 {
				if r.status != http.StatusOK || got != b.URL {
					t.Fatalf("replace: %d %s, image %s", r.status, r.raw, got)
				}
				return
			}
			r.want(t, tc.status)
			ext := r.body["error"].(map[string]any)["@Message.ExtendedInfo"].([]any)[0].(map[string]any)
			if id := ext["MessageId"].(string); !strings.HasSuffix(id, tc.msgID) {
				t.Fatalf("MessageId %s, want *%s", id, tc.msgID)
			}
			if got != a.URL || b.Fetches() != 0 {
				t.Fatalf("refused insert changed the slot (%s) or fetched (%d)", got, b.Fetches())
			}
		})
	}
}

// TestDellSettle: after an insert or eject the iDRAC slot keeps showing its
// old state, and refuses changes with 503 + Retry-After, until it settles.
func TestDellSettle(t *testing.T) {
	clk := newFakeClock()
	em := redfishtest.NewEmulator(t, emulator.ProfileDell, redfishtest.Options{BMC: emulator.Options{Now: clk.Now}})
	img := redfishtest.ServeImage(t, "a.iso", 1<<20)
	c := newRaw(t, em)
	c.login()
	l := em.BMC.Layout()
	if !strings.HasSuffix(l.CD, "/Managers/iDRAC.Embedded.1/VirtualMedia/CD") {
		t.Fatalf("Dell CD slot at %s", l.CD)
	}
	insert := l.CD + "/Actions/VirtualMedia.InsertMedia"
	c.do(http.MethodPost, insert, map[string]any{"Image": img.URL}).want(t, http.StatusNoContent)
	if c.do(http.MethodGet, l.CD, nil).body["Inserted"] != false {
		t.Fatal("slot shows the image before settling")
	}
	r := c.do(http.MethodPost, l.CD+"/Actions/VirtualMedia.EjectMedia", map[string]any{}).wantError(t, http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	clk.Add(time.Second)
	if c.do(http.MethodGet, l.CD, nil).body["Inserted"] != true {
		t.Fatal("slot does not show the image after settling")
	}
	c.do(http.MethodPost, insert, map[string]any{"Image": img.URL}).want(t, http.StatusBadRequest) // eject first
	c.do(http.MethodPost, l.CD+"/Actions/VirtualMedia.EjectMedia", map[string]any{}).want(t, http.StatusNoContent)
	c.do(http.MethodPost, insert, map[string]any{"Image": img.URL}).wantError(t, http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable")
	clk.Add(time.Second)
	c.do(http.MethodPost, insert, map[string]any{"Image": img.URL}).want(t, http.StatusNoContent)

	// Power: On while on is a conflict on iDRAC.
	reset := l.System + "/Actions/ComputerSystem.Reset"
	c.do(http.MethodPost, reset, map[string]any{"ResetType": "On"}).want(t, http.StatusNoContent)
	c.do(http.MethodPost, reset, map[string]any{"ResetType": "On"}).wantError(t, http.StatusConflict, "ResourceInUse")
}

// TestHPEBootPatch: iLO wants Target and Enabled in the same PATCH.
func TestHPEBootPatch(t *testing.T) {
	em := redfishtest.NewEmulator(t, emulator.ProfileHPE, redfishtest.Options{})
	c := newRaw(t, em)
	sys := em.BMC.Layout().System
	c.do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Cd"}}).
		wantError(t, http.StatusBadRequest, "PropertyMissing")
	c.do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{"BootSourceOverrideEnabled": "Once"}}).
		wantError(t, http.StatusBadRequest, "PropertyMissing")
	c.do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once"}}).
		want(t, http.StatusOK)
	if st := em.BMC.State(); st.BootTarget != emulator.BootCd || st.BootEnabled != "Once" {
		t.Fatalf("state %+v", st)
	}
	// The generic profile takes either alone.
	gen := redfishtest.NewEmulator(t, emulator.ProfileGeneric, redfishtest.Options{})
	newRaw(t, gen).do(http.MethodPatch, gen.BMC.Layout().System, map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Cd"}}).
		want(t, http.StatusOK)
}

// TestSupermicroUEFICd: in UEFI mode the virtual CD boots only as UsbCd; in
// Legacy mode Cd works.
func TestSupermicroUEFICd(t *testing.T) {
	var boots bootRecorder
	em := redfishtest.NewEmulator(t, emulator.ProfileSupermicro, redfishtest.Options{BMC: emulator.Options{OnBoot: boots.record}})
	img := redfishtest.ServeImage(t, "a.iso", 1<<20)
	c := newRaw(t, em)
	l := em.BMC.Layout()
	insertMedia(t, c, em, l.CD, img.URL) // 202 + task on Supermicro
	reset := l.System + "/Actions/ComputerSystem.Reset"
	for _, tc := range []struct {
		target, mode string
		wantImage    bool
	}{
		{"Cd", "UEFI", false},
		{"UsbCd", "UEFI", true},
		{"Cd", "Legacy", true},
	} {
		c.do(http.MethodPatch, l.System, map[string]any{"Boot": map[string]any{
			"BootSourceOverrideTarget": tc.target, "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": tc.mode,
		}}).want(t, http.StatusOK)
		c.do(http.MethodPost, reset, map[string]any{"ResetType": "PowerCycle"}).want(t, http.StatusNoContent)
		if got := boots.last(t).Image != ""; got != tc.wantImage {
			t.Errorf("%s in %s: booted from media %v, want %v", tc.target, tc.mode, got, tc.wantImage)
		}
	}
}

// TestLenovoPatchMedia: XCC slots have no actions; PATCH inserts and ejects.
func TestLenovoPatchMedia(t *testing.T) {
	em := redfishtest.NewEmulator(t, emulator.ProfileLenovo, redfishtest.Options{})
	img := redfishtest.ServeImage(t, "a.iso", 1<<20)
	c := newRaw(t, em)
	l := em.BMC.Layout()
	slot := c.do(http.MethodGet, l.CD, nil).want(t, http.StatusOK)
	if _, has := slot.body["Actions"]; has {
		t.Fatalf("Lenovo slot has actions: %s", slot.raw)
	}
	c.do(http.MethodPost, l.CD+"/Actions/VirtualMedia.InsertMedia", map[string]any{"Image": img.URL}).
		wantError(t, http.StatusNotFound, "ResourceMissingAtURI")
	c.do(http.MethodPatch, l.CD, map[string]any{"Image": img.URL, "Inserted": true}).want(t, http.StatusOK)
	if !em.BMC.State().Media[0].Inserted {
		t.Fatal("not inserted")
	}
	c.do(http.MethodPatch, l.CD, map[string]any{"Inserted": false}).want(t, http.StatusOK)
	if em.BMC.State().Media[0].Inserted {
		t.Fatal("not ejected")
	}
	c.do(http.MethodPatch, l.CD, map[string]any{"MediaTypes": []string{"CD"}}).wantError(t, http.StatusBadRequest, "PropertyNotWritable")
}

// TestOpenBMCLayout: ids and media under the System.
func TestOpenBMCLayout(t *testing.T) {
	em := redfishtest.NewEmulator(t, emulator.ProfileOpenBMC, redfishtest.Options{})
	l := em.BMC.Layout()
	if l.System != "/redfish/v1/Systems/system" || l.Manager != "/redfish/v1/Managers/bmc" || !strings.HasPrefix(l.CD, l.System+"/VirtualMedia/") {
		t.Fatalf("layout %+v", l)
	}
	c := newRaw(t, em)
	c.login()
	sys := c.do(http.MethodGet, l.System, nil).want(t, http.StatusOK)
	if str(sys.body, "VirtualMedia", "@odata.id") != l.VirtualMedia {
		t.Fatalf("system VirtualMedia link: %s", sys.raw)
	}
	mgr := c.do(http.MethodGet, l.Manager, nil).want(t, http.StatusOK)
	if _, has := mgr.body["VirtualMedia"]; has {
		t.Fatalf("manager links VirtualMedia: %s", mgr.raw)
	}
}
