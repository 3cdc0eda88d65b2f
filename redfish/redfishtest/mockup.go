package redfishtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// ServeMockup serves the DMTF mockup in dir read-only and closes the server
// when the test ends. dir holds index.json for /redfish/v1 and one folder
// per resource below it; $metadata/index.xml, when present, answers
// /redfish/v1/$metadata.
func ServeMockup(t testing.TB, dir string) *httptest.Server {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		t.Fatalf("redfishtest: %s is not a mockup: %v", dir, err)
	}
	srv := httptest.NewServer(MockupHandler(dir))
	t.Cleanup(srv.Close)
	return srv
}

// MockupHandler is the handler behind ServeMockup, for callers that run
// their own server.
func MockupHandler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("OData-Version", "4.0")
		p := path.Clean("/" + r.URL.Path)
		if p == "/redfish" {
			writeBody(w, r, "application/json", []byte(`{"v1":"/redfish/v1/"}`))
			return
		}
		if p == "/redfish/v1/SessionService/Sessions" && r.Method == http.MethodPost {
			id := randomHex(8)
			h.Set("Location", p+"/"+id)
			h.Set("X-Auth-Token", randomHex(16))
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"@odata.id":%q,"@odata.type":"#Session.v1_7_0.Session","Id":%q,"Name":"User Session","UserName":"mockup"}`, p+"/"+id, id)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "OperationNotAllowed", "The mockup server is read-only.")
			return
		}
		rel, ok := strings.CutPrefix(p, "/redfish/v1")
		if !ok || strings.Contains(rel, "..") {
			writeError(w, http.StatusNotFound, "ResourceMissingAtURI", "The resource at the URI "+p+" was not found.")
			return
		}
		file, ctype := filepath.Join(dir, filepath.FromSlash(rel), "index.json"), "application/json"
		if rel == "/$metadata" {
			file, ctype = filepath.Join(dir, "$metadata", "index.xml"), "application/xml"
		}
		data, err := os.ReadFile(file)
		if err != nil {
			writeError(w, http.StatusNotFound, "ResourceMissingAtURI", "The resource at the URI "+p+" was not found.")
			return
		}
		sum := fnv.New64a()
		_, _ = sum.Write(data)
		etag := fmt.Sprintf(`"%016x"`, sum.Sum64())
		h.Set("ETag", etag)
		h.Set("Allow", "GET, HEAD")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeBody(w, r, ctype, data)
	})
}

func writeBody(w http.ResponseWriter, r *http.Request, ctype string, data []byte) {
	w.Header().Set("Content-Type", ctype+"; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

func writeError(w http.ResponseWriter, status int, id, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":"Base.1.16.%s","message":%q,"@Message.ExtendedInfo":[{"MessageId":"Base.1.16.%s","Message":%q,"MessageArgs":[],"MessageSeverity":"Critical","Resolution":"None."}]}}`, id, msg, id, msg)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
