package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

// TestGofish drives every profile with gofish, a real Redfish client, over
// TLS with certificate verification: session login, inventory, boot
// override, media insert/eject (waiting on the task where the profile
// answers 202), reset and logout.
func TestGofish(t *testing.T) {
	for _, p := range emulator.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			var boots bootRecorder
			em := redfishtest.NewEmulator(t, p, redfishtest.Options{TLS: true, BMC: emulator.Options{OnBoot: boots.record, SettleDelay: -1}})
			img := redfishtest.ServeImage(t, "os.iso", 4<<20)
			c, err := gofish.Connect(gofish.ClientConfig{
				Endpoint: em.URL, Username: em.Username, Password: em.Password, HTTPClient: em.Client(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if em.BMC.State().Sessions != 1 {
				t.Fatalf("gofish login made %d sessions", em.BMC.State().Sessions)
			}
			if c.Service.Vendor == "" {
				t.Fatal("service root without Vendor")
			}
			systems, err := c.Service.Systems()
			if err != nil || len(systems) != 1 {
				t.Fatalf("systems: %v %d", err, len(systems))
			}
			sys := systems[0]
			if sys.Manufacturer != em.BMC.Manufacturer() || sys.PowerState != schemas.OffPowerState || sys.SerialNumber == "" || sys.UUID == "" {
				t.Fatalf("system %+v", sys)
			}
			types, err := sys.GetSupportedResetTypes()
			if err != nil || len(types) < 5 {
				t.Fatalf("reset types %v %v", types, err)
			}
			nics, err := sys.EthernetInterfaces()
			if err != nil || len(nics) == 0 || nics[0].MACAddress == "" {
				t.Fatalf("NICs %v %v", nics, err)
			}
			managers, err := c.Service.Managers()
			if err != nil || len(managers) != 1 || managers[0].FirmwareVersion == "" {
				t.Fatalf("managers %v %v", managers, err)
			}
			chassis, err := c.Service.Chassis()
			if err != nil || len(chassis) != 1 {
				t.Fatalf("chassis %v %v", chassis, err)
			}

			target := schemas.CdBootSource
			if p == emulator.ProfileSupermicro {
				target = "UsbCd"
			}
			if err := sys.SetBoot(&schemas.Boot{BootSourceOverrideTarget: target, BootSourceOverrideEnabled: schemas.OnceBootSourceOverrideEnabled}); err != nil {
				t.Fatal(err)
			}

			var media []*schemas.VirtualMedia
			if p == emulator.ProfileOpenBMC {
				media, err = sys.VirtualMedia()
			} else {
				media, err = managers[0].VirtualMedia()
			}
			if err != nil || len(media) != 2 {
				t.Fatalf("virtual media %v %d", err, len(media))
			}
			var cd *schemas.VirtualMedia
			for _, m := range media {
				for _, mt := range m.MediaTypes {
					if mt == schemas.CDVirtualMediaType {
						cd = m
					}
				}
			}
			if cd == nil {
				t.Fatal("no CD slot")
			}
			if cd.SupportsMediaInsert != (p != emulator.ProfileLenovo) {
				t.Fatalf("SupportsMediaInsert %v on %s", cd.SupportsMediaInsert, p)
			}
			inserted := true
			tm, err := cd.InsertMedia(&schemas.VirtualMediaInsertMediaParameters{Image: img.URL, Inserted: &inserted})
			if err != nil {
				t.Fatal(err)
			}
			if (tm != nil) != (p == emulator.ProfileSupermicro) {
				t.Fatalf("task monitor %v on %s", tm, p)
			}
			if tm != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				task, _, err := schemas.WaitForTaskMonitorObject[schemas.Task](ctx, c, 20*time.Millisecond, tm, nil)
				cancel()
				if err != nil || task.TaskState != schemas.CompletedTaskState {
					t.Fatalf("task %+v %v", task, err)
				}
			}
			cd, err = schemas.GetVirtualMedia(c, cd.ODataID)
			if err != nil || cd.Inserted == nil || !*cd.Inserted || cd.Image != img.URL {
				t.Fatalf("CD after insert: %+v %v", cd, err)
			}

			if _, err := sys.Reset(schemas.OnResetType); err != nil {
				t.Fatal(err)
			}
			if ev := boots.last(t); ev.Image != img.URL {
				t.Fatalf("booted %+v, want %s", ev, img.URL)
			}
			sys, err = schemas.GetComputerSystem(c, sys.ODataID)
			if err != nil || sys.PowerState != schemas.OnPowerState || sys.Boot.BootSourceOverrideEnabled != schemas.DisabledBootSourceOverrideEnabled {
				t.Fatalf("after reset %+v %v", sys, err)
			}
			// gofish checks the reset type against the allowable values.
			if _, err := sys.Reset("Explode"); err == nil {
				t.Fatal("bad reset type accepted")
			}

			if _, err := cd.EjectMedia(); err != nil {
				t.Fatal(err)
			}
			if em.BMC.State().Media[0].Inserted {
				t.Fatal("still inserted after eject")
			}

			// Error bodies decode into gofish's error type.
			em.BMC.Faults().FailNext(1, http.StatusServiceUnavailable)
			_, err = schemas.GetComputerSystem(c, sys.ODataID)
			var ce *schemas.Error
			if !errors.As(err, &ce) || ce.HTTPReturnedStatusCode != http.StatusServiceUnavailable || ce.Code == "" || len(ce.ExtendedInfos) == 0 {
				t.Fatalf("gofish error %#v", err)
			}
			c.Logout()
			if n := em.BMC.State().Sessions; n != 0 {
				t.Fatalf("%d sessions after logout", n)
			}
		})
	}
}

// TestGofishBasicAuth: gofish with BasicAuth works on every profile but
// OpenBMC, which wants a session.
func TestGofishBasicAuth(t *testing.T) {
	for _, p := range emulator.Profiles() {
		em := redfishtest.NewEmulator(t, p, redfishtest.Options{})
		c, err := gofish.Connect(gofish.ClientConfig{Endpoint: em.URL, Username: em.Username, Password: em.Password, BasicAuth: true, HTTPClient: em.Client()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Service.Systems()
		if (err == nil) != (p != emulator.ProfileOpenBMC) {
			t.Errorf("%s: basic auth systems: %v", p, err)
		}
	}
}
