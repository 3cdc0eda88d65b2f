package httpboot_test

import (
	"strings"
	"testing"

	"github.com/atoll-edge/atoll/pxe/httpboot"
)

func TestStatusCallback(t *testing.T) {
	f := newFixture(t, nil)
	url := f.srv.URL + "/v1/hosts/52:54:00:12:34:56/status"
	ct := "Content-Type: application/json"
	cases := []struct {
		name, url, method, ct, body, code, errCode string
	}{
		{"accepted", url, "POST", ct, `{"state":"install-complete","message":"done"}`, "200", ""},
		{"hyphen mac, no content type", f.srv.URL + "/v1/hosts/52-54-00-12-34-56/status", "POST", "Content-Type:", `{"state":"booted"}`, "200", ""},
		{"unknown state", url, "POST", ct, `{"state":"done"}`, "400", "invalid-state"},
		{"empty state", url, "POST", ct, `{}`, "400", "invalid-state"},
		{"unknown field", url, "POST", ct, `{"state":"booted","x":1}`, "400", "invalid-body"},
		{"not json", url, "POST", ct, `state=booted`, "400", "invalid-body"},
		{"trailing data", url, "POST", ct, `{"state":"booted"}{"state":"booted"}`, "400", "invalid-body"},
		{"wrong type", url, "POST", ct, `{"state":1}`, "400", "invalid-body"},
		{"too large", url, "POST", ct, `{"state":"booted","message":"` + strings.Repeat("x", 5000) + `"}`, "413", "body-too-large"},
		{"long message", url, "POST", ct, `{"state":"booted","message":"` + strings.Repeat("x", 2000) + `"}`, "400", "invalid-message"},
		{"wrong media type", url, "POST", "Content-Type: text/plain", `{"state":"booted"}`, "415", "unsupported-media-type"},
		{"GET", url, "GET", "", ``, "405", "method-not-allowed"},
		{"unknown host", f.srv.URL + "/v1/hosts/52:54:00:00:00:01/status", "POST", ct, `{"state":"booted"}`, "404", "unknown-host"},
		{"bad mac", f.srv.URL + "/v1/hosts/xyz/status", "POST", ct, `{"state":"booted"}`, "404", "invalid-mac"},
		{"bad path", f.srv.URL + "/v1/hosts/52:54:00:12:34:56/other", "POST", ct, `{"state":"booted"}`, "404", ""},
	}
	for _, c := range cases {
		args := []string{"-X", c.method}
		if c.ct != "" {
			args = append(args, "-H", c.ct)
		}
		if c.body != "" {
			args = append(args, "--data-binary", c.body)
		}
		body, h := curl(t, append(args, c.url)...)
		if !strings.Contains(statusLine(h), c.code) {
			t.Errorf("%s: %s, want %s (%s)", c.name, statusLine(h), c.code, body)
		}
		if c.errCode != "" && !strings.Contains(string(body), `"code":"`+c.errCode+`"`) {
			t.Errorf("%s: body %s, want code %s", c.name, body, c.errCode)
		}
	}
	body, _ := curl(t, "-H", ct, "--data-binary", `{"state":"installing"}`, url)
	if string(body) != `{"mac":"52:54:00:12:34:56","state":"installing"}`+"\n" {
		t.Errorf("accepted report body = %q", body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reports) != 3 {
		t.Fatalf("sink got %d reports, want 3: %+v", len(f.reports), f.reports)
	}
	r := f.reports[0]
	if r.MAC.String() != "52:54:00:12:34:56" || r.State != httpboot.StateInstallComplete || r.Message != "done" || !r.Remote.IsLoopback() || r.Time.IsZero() {
		t.Fatalf("report = %+v", r)
	}
}
