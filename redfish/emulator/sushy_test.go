package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

// sushyScript drives one BMC per case with sushy (OpenStack Ironic's
// Redfish client) and prints one JSON line per case.
const sushyScript = `
import json, sys, time
import sushy
from sushy.resources.manager import virtual_media

for c in json.loads(sys.argv[1]):
    s = sushy.Sushy(c["url"] + "/redfish/v1", username=c["user"], password=c["password"], verify=c["ca"])
    system = s.get_system(c["system"])
    out = {
        "profile": c["profile"],
        "manufacturer": system.manufacturer,
        "power": system.power_state.value,
        "resets": sorted(v.value for v in system.get_allowed_reset_system_values()),
    }
    system.set_system_boot_options(
        target=sushy.BootSource(c["target"]),
        enabled=sushy.BootSourceOverrideEnabled.ONCE,
        mode=sushy.BootSourceOverrideMode.UEFI)
    if c["media_under_system"]:
        vm = virtual_media.VirtualMedia(s._conn, c["cd"], redfish_version=s.redfish_version)
    else:
        vm = s.get_manager(c["manager"]).virtual_media.get_member(c["cd"])
    vm.insert_media(c["image"], inserted=True, write_protected=True)
    for _ in range(400):
        vm.refresh()
        if vm.inserted:
            break
        time.sleep(0.025)
    out["inserted"] = vm.inserted
    out["image"] = vm.image
    system.reset_system(sushy.ResetType.ON)
    system.refresh()
    out["power_after"] = system.power_state.value
    out["boot_enabled_after"] = system.boot.enabled.value
    vm.eject_media()
    for _ in range(400):
        vm.refresh()
        if not vm.inserted:
            break
        time.sleep(0.025)
    out["inserted_after_eject"] = vm.inserted
    print(json.dumps(out), flush=True)
`

// sushyPython finds a Python with sushy importable, or skips.
func sushyPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(py); err == nil {
			if exec.Command(path, "-c", "import sushy").Run() == nil {
				return path
			}
		}
	}
	t.Skip("sushy not installed: apt-get install -y python3-sushy")
	return ""
}

// TestSushy: sushy, a second real client, drives every profile over TLS
// with certificate verification.
func TestSushy(t *testing.T) {
	py := sushyPython(t)
	type sushyCase struct {
		URL              string `json:"url"`
		User             string `json:"user"`
		Password         string `json:"password"`
		CA               string `json:"ca"`
		Profile          string `json:"profile"`
		System           string `json:"system"`
		Manager          string `json:"manager"`
		CD               string `json:"cd"`
		MediaUnderSystem bool   `json:"media_under_system"`
		Image            string `json:"image"`
		Target           string `json:"target"`
	}
	var cases []sushyCase
	boots := map[emulator.Profile]*bootRecorder{}
	var ca string
	for _, p := range emulator.Profiles() {
		rec := &bootRecorder{}
		boots[p] = rec
		em := redfishtest.NewEmulator(t, p, redfishtest.Options{TLS: true, BMC: emulator.Options{OnBoot: rec.record}})
		if ca == "" {
			ca = filepath.Join(t.TempDir(), "ca.pem")
			cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: em.Server.Certificate().Raw})
			if err := os.WriteFile(ca, cert, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		img := redfishtest.ServeImage(t, string(p)+".iso", 2<<20)
		l := em.BMC.Layout()
		target := "Cd"
		if p == emulator.ProfileSupermicro {
			target = "UsbCd"
		}
		cases = append(cases, sushyCase{
			URL: em.URL, User: em.Username, Password: em.Password, CA: ca, Profile: string(p),
			System: l.System, Manager: l.Manager, CD: l.CD, MediaUnderSystem: strings.HasPrefix(l.CD, l.System),
			Image: img.URL, Target: target,
		})
	}
	arg, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", sushyScript, string(arg))
	// requests lets REQUESTS_CA_BUNDLE override a session's verify path.
	cmd.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+ca, "CURL_CA_BUNDLE="+ca)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sushy: %v\n%s\n%s", err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("sushy printed %d results for %d BMCs:\n%s\n%s", len(lines), len(cases), out, stderr.String())
	}
	for i, line := range lines {
		var got struct {
			Profile, Manufacturer, Power, Image string
			PowerAfter                          string `json:"power_after"`
			BootEnabledAfter                    string `json:"boot_enabled_after"`
			Resets                              []string
			Inserted                            bool
			InsertedAfterEject                  bool `json:"inserted_after_eject"`
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		c := cases[i]
		p := emulator.Profile(c.Profile)
		if got.Power != "Off" || got.PowerAfter != "On" || got.BootEnabledAfter != "Disabled" ||
			!got.Inserted || got.Image != c.Image || got.InsertedAfterEject || !slices.Contains(got.Resets, "ForceOff") {
			t.Errorf("%s: sushy saw %+v", p, got)
		}
		if ev := boots[p].last(t); ev.Image != c.Image {
			t.Errorf("%s: host booted %+v, want image %s", p, ev, c.Image)
		}
	}
}
