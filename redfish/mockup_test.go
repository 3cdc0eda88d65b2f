package redfish_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
	"github.com/google/go-cmp/cmp"
)

const mockupDir = "testdata/mockups"

// readJSON decodes a mockup resource.
func readJSON(t *testing.T, dir, rel string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(rel, "/redfish/v1")), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func members(m map[string]any) []string {
	var out []string
	ms, _ := m["Members"].([]any)
	for _, x := range ms {
		out = append(out, x.(map[string]any)["@odata.id"].(string))
	}
	return out
}

func link(m map[string]any, k string) string {
	l, _ := m[k].(map[string]any)
	s, _ := l["@odata.id"].(string)
	return s
}

// wantInventory derives the expected inventory from the mockup's files,
// independently of the client.
func wantInventory(t *testing.T, dir string) redfish.HostInventory {
	sysURI := members(readJSON(t, dir, "/redfish/v1/Systems"))[0]
	sys := readJSON(t, dir, sysURI)
	inv := redfish.HostInventory{
		Vendor:       redfish.VendorGeneric,
		Manufacturer: str(sys, "Manufacturer"),
		Model:        str(sys, "Model"),
		SerialNumber: str(sys, "SerialNumber"),
		SKU:          str(sys, "SKU"),
		UUID:         str(sys, "UUID"),
		BIOSVersion:  str(sys, "BiosVersion"),
		PowerState:   redfish.PowerState(str(sys, "PowerState")),
	}
	if nics := link(sys, "EthernetInterfaces"); nics != "" {
		for _, n := range members(readJSON(t, dir, nics)) {
			nic := readJSON(t, dir, n)
			mac := str(nic, "MACAddress")
			if mac == "" {
				mac = str(nic, "PermanentMACAddress")
			}
			if mac != "" {
				inv.MACAddresses = append(inv.MACAddresses, strings.ToUpper(mac))
			}
		}
	}
	links, _ := sys["Links"].(map[string]any)
	if mb, _ := links["ManagedBy"].([]any); len(mb) > 0 {
		inv.BMCFirmware = str(readJSON(t, dir, mb[0].(map[string]any)["@odata.id"].(string)), "FirmwareVersion")
	}
	return inv
}

func mockups(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(mockupDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) < 6 {
		t.Fatalf("found %d mockups in %s, want the 6 DMTF ones", len(out), mockupDir)
	}
	return out
}

// TestMockupInventory reads every DMTF mockup's inventory through gofish
// and compares it with the mockup's own files.
func TestMockupInventory(t *testing.T) {
	for _, name := range mockups(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(mockupDir, name)
			srv := redfishtest.ServeMockup(t, dir)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := redfish.Dial(ctx, redfish.Endpoint{Address: srv.URL, Username: "u", Password: "p"}, redfish.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			got, err := c.Inventory(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := wantInventory(t, dir)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("inventory (-want +got):\n%s", diff)
			}
			if got.Manufacturer == "" || got.SerialNumber == "" {
				t.Errorf("inventory lacks identity: %+v", got)
			}
			ps, err := c.PowerState(ctx)
			if err != nil || ps != want.PowerState {
				t.Errorf("PowerState = %q, %v; want %q", ps, err, want.PowerState)
			}

			// Media: the mockup either has a CD/DVD slot or says so.
			st, err := c.MediaStatus(ctx)
			switch {
			case errors.Is(err, redfish.ErrNoVirtualMedia):
				var e *redfish.Error
				if !errors.As(err, &e) || e.BMC != srv.URL {
					t.Errorf("ErrNoVirtualMedia without the BMC named: %v", err)
				}
			case err != nil:
				t.Fatal(err)
			default:
				slot := readJSON(t, dir, st.Slot)
				types, _ := slot["MediaTypes"].([]any)
				var cd bool
				for _, ty := range types {
					cd = cd || ty == "CD" || ty == "DVD"
				}
				inserted, _ := slot["Inserted"].(bool)
				if !cd || st.Inserted != inserted || st.Image != str(slot, "Image") {
					t.Errorf("MediaStatus = %+v, slot file says types %v inserted %v image %q", st, types, inserted, str(slot, "Image"))
				}
			}
		})
	}
}

// TestBasicAuthFallback: a BMC without a session service (here the mockup
// refusing session logins) is driven with basic auth.
func TestBasicAuthFallback(t *testing.T) {
	mock := redfishtest.MockupHandler(filepath.Join(mockupDir, "public-rackmount1"))
	var mu sync.Mutex
	var basic, posts int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if _, _, ok := r.BasicAuth(); ok && r.URL.Path == rackSystem {
			basic++
		}
		mu.Unlock()
		if r.Method == http.MethodPost {
			mu.Lock()
			posts++
			mu.Unlock()
			http.Error(w, `{"error":{"code":"Base.1.0.OperationNotAllowed","message":"no sessions"}}`, http.StatusMethodNotAllowed)
			return
		}
		mock.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()
	c, err := redfish.Dial(ctx, redfish.Endpoint{Address: srv.URL, Username: "u", Password: "p"}, redfish.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.PowerState(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if posts != 1 || basic < 1 {
		t.Errorf("session POSTs = %d (want 1), system reads with basic auth = %d (want >= 1)", posts, basic)
	}
}

// TestSystemID picks one system of a blade enclosure, and refuses an
// unknown one at Dial.
func TestSystemID(t *testing.T) {
	dir := filepath.Join(mockupDir, "public-bladed")
	srv := redfishtest.ServeMockup(t, dir)
	ctx := context.Background()
	ep := redfish.Endpoint{Address: srv.URL, Username: "u", Password: "p"}
	systems := members(readJSON(t, dir, "/redfish/v1/Systems"))
	if len(systems) < 2 {
		t.Fatalf("bladed mockup has %d systems", len(systems))
	}
	pick := systems[len(systems)-1]
	c, err := redfish.Dial(ctx, ep, redfish.Options{SystemID: filepath.Base(pick)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	inv, err := c.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := str(readJSON(t, dir, pick), "SerialNumber"); inv.SerialNumber != want {
		t.Errorf("serial = %q, want %q (system %s)", inv.SerialNumber, want, pick)
	}
	_, err = redfish.Dial(ctx, ep, redfish.Options{SystemID: "no-such-system"})
	var e *redfish.Error
	if !errors.Is(err, redfish.ErrNotFound) || !errors.As(err, &e) || e.Op != "discover" {
		t.Errorf("Dial with an unknown SystemID = %v, want ErrNotFound from discover", err)
	}
}
