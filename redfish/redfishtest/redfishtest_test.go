package redfishtest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stmcginnis/gofish"
	"go.uber.org/goleak"

	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sharedMockups is where the workspace keeps the full DMTF mockups, beside
// the repository.
const sharedMockups = "../../../shared/testdata/redfish"

// mockupDirs returns the bundled mockup and, when present, every shared one.
func mockupDirs(t *testing.T) []string {
	dirs := []string{"testdata/public-bladed"}
	shared, err := filepath.Glob(filepath.Join(sharedMockups, "public-*"))
	if err != nil || len(shared) == 0 {
		t.Logf("shared mockups not found at %s; testing the bundled one only", sharedMockups)
		return dirs
	}
	return append(dirs, shared...)
}

// TestServeMockupGofish: gofish reads the inventory of every mockup through
// ServeMockup, and what it reads matches the files.
func TestServeMockupGofish(t *testing.T) {
	for _, dir := range mockupDirs(t) {
		name := "shared/" + filepath.Base(dir)
		if strings.HasPrefix(dir, "testdata/") {
			name = "bundled/" + filepath.Base(dir)
		}
		t.Run(name, func(t *testing.T) {
			srv := redfishtest.ServeMockup(t, dir)
			c, err := gofish.ConnectDefault(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			systems, err := c.Service.Systems()
			if err != nil || len(systems) == 0 {
				t.Fatalf("systems: %d %v", len(systems), err)
			}
			for _, s := range systems {
				if s.ID == "" || s.ODataID == "" {
					t.Fatalf("system without id: %+v", s)
				}
				file := filepath.Join(dir, strings.TrimPrefix(s.ODataID, "/redfish/v1"), "index.json")
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(data), `"`+s.ID+`"`) {
					t.Fatalf("system %s not in %s", s.ID, file)
				}
			}
			if managers, err := c.Service.Managers(); err != nil || len(managers) == 0 {
				t.Fatalf("managers: %d %v", len(managers), err)
			}
			if chassis, err := c.Service.Chassis(); err != nil || len(chassis) == 0 {
				t.Fatalf("chassis: %d %v", len(chassis), err)
			}
			// Sessions work, so clients that log in can connect.
			sc, err := gofish.Connect(gofish.ClientConfig{Endpoint: srv.URL, Username: "u", Password: "p"})
			if err != nil {
				t.Fatalf("session login: %v", err)
			}
			sc.Logout()
		})
	}
}

func TestServeMockupReadOnly(t *testing.T) {
	srv := redfishtest.ServeMockup(t, "testdata/public-bladed")
	do := func(method, path string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("{}"))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	r := do(http.MethodGet, "/redfish/v1/Systems")
	etag := r.Header.Get("ETag")
	if r.StatusCode != http.StatusOK || etag == "" || r.Header.Get("OData-Version") != "4.0" {
		t.Fatalf("GET: %d %v", r.StatusCode, r.Header)
	}
	if r := do(http.MethodGet, "/redfish/v1/Systems", "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.StatusCode)
	}
	if r := do(http.MethodPatch, "/redfish/v1/Systems"); r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") == "" {
		t.Fatalf("PATCH: %d", r.StatusCode)
	}
	if r := do(http.MethodGet, "/redfish/v1/Nope"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("missing: %d", r.StatusCode)
	}
	if r := do(http.MethodGet, "/redfish/v1/../../etc/passwd"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("traversal: %d", r.StatusCode)
	}
	if r := do(http.MethodGet, "/redfish/v1/$metadata"); r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("$metadata: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

func TestNewEmulator(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		em := redfishtest.NewEmulator(t, emulator.ProfileDell, redfishtest.Options{TLS: tlsOn})
		if strings.HasPrefix(em.URL, "https://") != tlsOn {
			t.Fatalf("URL %s with TLS %v", em.URL, tlsOn)
		}
		c, err := gofish.Connect(gofish.ClientConfig{Endpoint: em.URL, Username: em.Username, Password: em.Password, HTTPClient: em.Client()})
		if err != nil {
			t.Fatal(err)
		}
		systems, err := c.Service.Systems()
		if err != nil || len(systems) != 1 || systems[0].Manufacturer != "Dell Inc." {
			t.Fatalf("systems %v %v", systems, err)
		}
		c.Logout()
	}
}

func TestServeImage(t *testing.T) {
	img := redfishtest.ServeImage(t, "x.img", 1<<20+7)
	resp, err := http.Get(img.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil || n != img.Size || hex.EncodeToString(h.Sum(nil)) != img.SHA256 {
		t.Fatalf("read %d bytes (%v), digest match %v", n, err, hex.EncodeToString(h.Sum(nil)) == img.SHA256)
	}
	if img.Fetches() != 1 {
		t.Fatalf("fetches %d", img.Fetches())
	}
	other := redfishtest.ServeImage(t, "y.img", 1<<20+7)
	if other.SHA256 == img.SHA256 {
		t.Fatal("different names, same content")
	}
}

func TestNewFleet(t *testing.T) {
	f := redfishtest.NewFleet(t, 5, emulator.ProfileOpenBMC, redfishtest.Options{})
	if n := len(f.Members()); n != 5 {
		t.Fatalf("%d members", n)
	}
	for _, m := range f.Members() {
		c, err := gofish.Connect(gofish.ClientConfig{Endpoint: m.URL, Username: "admin", Password: "password"})
		if err != nil {
			t.Fatal(err)
		}
		if systems, err := c.Service.Systems(); err != nil || systems[0].ID != "system" {
			t.Fatalf("systems %v %v", systems, err)
		}
		c.Logout()
	}
}
