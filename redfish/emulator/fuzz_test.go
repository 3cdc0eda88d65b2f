package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/atoll-edge/atoll/redfish/emulator"
)

// FuzzServeHTTP sends arbitrary methods, paths and bodies: the emulator
// never panics, never answers 500, and every error is a Redfish error body.
// Without -fuzz it runs the seeds below.
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"GET", "/redfish/v1/", ""},
		{"PATCH", "/redfish/v1/Systems/1", `{"Boot":{"BootSourceOverrideTarget":"Cd","BootSourceOverrideEnabled":"Once"}}`},
		{"PATCH", "/redfish/v1/Systems/1", `{"Boot":null}`},
		{"PATCH", "/redfish/v1/Systems/1", `{"Boot":{"BootSourceOverrideTarget":["Cd"]}}`},
		{"POST", "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", `{"ResetType":"ForceRestart"}`},
		{"POST", "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", `{"ResetType":null}`},
		{"POST", "/redfish/v1/Managers/1/VirtualMedia/CD1/Actions/VirtualMedia.InsertMedia", `{"Image":"http://[::1"}`},
		{"POST", "/redfish/v1/Managers/1/VirtualMedia/CD1/Actions/VirtualMedia.EjectMedia", `{}`},
		{"PATCH", "/redfish/v1/Managers/1/VirtualMedia/Floppy1", `{"Image":null,"Inserted":false}`},
		{"POST", "/redfish/v1/SessionService/Sessions", `{"UserName":1,"Password":2}`},
		{"DELETE", "/redfish/v1/SessionService/Sessions/x", ""},
		{"GET", "/redfish/v1/TaskService/TaskMonitors/1", ""},
		{"PUT", "/redfish/v1/Chassis/1", "{"},
		{"GET", "/redfish/v1/Systems/1?$expand=*", ""},
		{"OPTIONS", "/redfish/v1/$metadata", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.body)
	}
	bmc, err := emulator.New(emulator.Options{SettleDelay: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = bmc.Close() })
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n#") {
			t.Skip()
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			t.Skip()
		}
		req := httptest.NewRequest(method, "http://bmc"+path, strings.NewReader(body))
		if req.URL.Path == "" {
			t.Skip()
		}
		req.SetBasicAuth("admin", "password")
		w := httptest.NewRecorder()
		bmc.ServeHTTP(w, req)
		if w.Code >= 500 && w.Code != http.StatusNotImplemented && w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s %q: %d %s", method, path, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e struct {
				Error struct {
					Code string
					Info []map[string]any `json:"@Message.ExtendedInfo"`
				}
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || len(e.Error.Info) == 0 {
				t.Fatalf("%s %s %q: %d with body %q", method, path, body, w.Code, w.Body)
			}
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS":
		return true
	}
	return false
}
