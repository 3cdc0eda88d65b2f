package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/api"
	"github.com/atoll-edge/atoll/dc/memstore"
)

const token = "dcctl-test-token"

func newController(t *testing.T) string {
	t.Helper()
	m, err := dc.NewManager(memstore.New(), dc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(m, token, api.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); _ = m.Close() })
	return srv.URL
}

func noEnv(string) string { return "" }

// dcctl runs one command line; it returns exit code, stdout, stderr.
func dcctl(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, getenv)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const bootstrap = `name: edge-1
system_mode: simplex
management_subnet: 10.30.1.0/24
management_start_address: 10.30.1.10
management_end_address: 10.30.1.50
management_gateway_address: 10.30.1.1
systemcontroller_gateway_address: 192.168.204.101
`

// checkAligned fails unless every line of a table has the same width and
// the borders line up.
func checkAligned(t *testing.T, table string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) < 4 {
		t.Fatalf("table too short:\n%s", table)
	}
	for _, l := range lines[1:] {
		if len([]rune(l)) != len([]rune(lines[0])) {
			t.Fatalf("misaligned table:\n%s", table)
		}
		for i, r := range []rune(lines[0]) {
			if r == '+' && []rune(l)[i] != '+' && []rune(l)[i] != '|' {
				t.Fatalf("column borders do not line up:\n%s", table)
			}
		}
	}
}

func TestCommands(t *testing.T) {
	url := newController(t)
	dir := t.TempDir()
	bv := writeFile(t, dir, "bootstrap.yaml", bootstrap)
	base := []string{"--url", url, "--token", token}
	cmd := func(args ...string) []string { return append(append([]string{}, base...), args...) }

	code, out, errOut := dcctl(t, noEnv, cmd("subcloud-group", "add", "--name", "east", "--max-parallel-subclouds", "3")...)
	if code != 0 || !strings.Contains(out, "east") {
		t.Fatalf("group add: %d %s %s", code, out, errOut)
	}
	code, out, errOut = dcctl(t, noEnv, cmd("subcloud", "add", "--bootstrap-address", "198.18.0.1", "--bootstrap-values", bv, "--group", "east", "--wait")...)
	if code != 0 || !strings.Contains(out, "edge-1") || !strings.Contains(out, "complete") {
		t.Fatalf("subcloud add --wait: %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "edge-1: complete") {
		t.Errorf("no progress bar on stderr: %q", errOut)
	}
	checkAligned(t, out)

	code, out, _ = dcctl(t, noEnv, cmd("subcloud", "list")...)
	if code != 0 {
		t.Fatal(out)
	}
	checkAligned(t, out)
	for _, col := range []string{"id", "name", "management", "availability", "deploy status", "sync", "backup status", "prestage status"} {
		if !strings.Contains(strings.Split(out, "\n")[1], "| "+col+" ") {
			t.Errorf("list header lacks %q:\n%s", col, out)
		}
	}
	if !strings.Contains(out, "| 1  | edge-1 | unmanaged  | offline      | complete      | unknown | None          | None            |") {
		t.Errorf("list row:\n%s", out)
	}

	code, out, _ = dcctl(t, noEnv, cmd("subcloud", "show", "edge-1", "-o", "json")...)
	var obj map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &obj) != nil || obj["name"] != "edge-1" || obj["management-subnet"] != "10.30.1.0/24" {
		t.Fatalf("show -o json: %d %s", code, out)
	}
	code, out, _ = dcctl(t, noEnv, cmd("subcloud", "list", "-o", "yaml")...)
	var list []map[string]any
	if code != 0 || yaml.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0]["deploy-status"] != "complete" {
		t.Fatalf("list -o yaml: %d %s", code, out)
	}
	code, out, _ = dcctl(t, noEnv, cmd("subcloud", "show", "1", "--detail")...)
	if code != 0 || !strings.Contains(out, "region_name") {
		t.Fatalf("show --detail: %d %s", code, out)
	}
	code, out, _ = dcctl(t, noEnv, cmd("subcloud", "errors", "edge-1")...)
	if code != 0 || strings.TrimSpace(out) != "No errors present" {
		t.Fatalf("errors: %d %q", code, out)
	}
	code, out, _ = dcctl(t, noEnv, cmd("subcloud-group", "list-subclouds", "east")...)
	if code != 0 || !strings.Contains(out, "edge-1") {
		t.Fatalf("list-subclouds: %d %s", code, out)
	}
	code, out, _ = dcctl(t, noEnv, cmd("subcloud", "update", "edge-1", "--description", "moved")...)
	if code != 0 || !strings.Contains(out, "moved") {
		t.Fatalf("update: %d %s", code, out)
	}

	// Errors: exit 1 and the API's message on stderr.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{cmd("subcloud", "manage", "edge-1"), `cannot manage subcloud in availability state "offline"`},
		{cmd("subcloud", "show", "edge-9"), "not found"},
		{cmd("subcloud", "deploy", "resume", "edge-1"), `cannot resume subcloud in deploy state "complete"`},
		{cmd("subcloud-group", "delete", "east"), `still has 1 subclouds`},
		{cmd("subcloud-group", "add", "--name", "x", "--max-parallel-subclouds", "5001"), "max_parallel_subclouds"},
		{cmd("subcloud", "add", "--bootstrap-address", "198.18.0.2", "--bootstrap-values", bv), "already used"},
		{cmd("subcloud", "add", "--bootstrap-address", "198.18.0.2", "--bootstrap-values", filepath.Join(dir, "missing.yaml")), "missing.yaml"},
		{cmd("subcloud", "list", "-o", "xml"), `-o "xml"`},
		{[]string{"--url", url, "--token", "wrong", "subcloud", "list"}, "missing or wrong token"},
		{[]string{"--data-dir", dir, "subcloud", "list"}, "no controller URL"},
	} {
		code, out, errOut := dcctl(t, noEnv, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q (stdout %q), want exit 1 and %q", tc.args, code, errOut, out, tc.want)
		}
	}

	code, out, _ = dcctl(t, noEnv, cmd("subcloud", "manage", "edge-1", "--force")...)
	if code != 0 || !strings.Contains(out, "managed") {
		t.Fatalf("manage --force: %d %s", code, out)
	}
	if code, _, _ = dcctl(t, noEnv, cmd("subcloud", "unmanage", "edge-1")...); code != 0 {
		t.Fatal("unmanage failed")
	}
	if code, _, errOut = dcctl(t, noEnv, cmd("subcloud", "delete", "edge-1")...); code != 0 {
		t.Fatalf("delete: %s", errOut)
	}
	code, out, _ = dcctl(t, noEnv, cmd("subcloud-group", "update", "east", "--description", "empty now", "--update-apply-type", "serial")...)
	if code != 0 || !strings.Contains(out, "serial") || !strings.Contains(out, "empty now") {
		t.Fatalf("group update: %d %s", code, out)
	}
	if code, _, errOut = dcctl(t, noEnv, cmd("subcloud-group", "delete", "east")...); code != 0 {
		t.Fatalf("group delete: %s", errOut)
	}
}

// TestEndpointResolution: flags, then environment, then data directory,
// each value on its own.
func TestEndpointResolution(t *testing.T) {
	url := newController(t)
	dataDir := t.TempDir()
	writeFile(t, dataDir, "url", url+"\n")
	writeFile(t, dataDir, "token", token+"\n")
	// Data directory only.
	if code, out, errOut := dcctl(t, noEnv, "--data-dir", dataDir, "subcloud-group", "list"); code != 0 || !strings.Contains(out, "Default") {
		t.Fatalf("data dir: %d %s %s", code, out, errOut)
	}
	env := map[string]string{"ATOLL_DATA_DIR": dataDir}
	getenv := func(k string) string { return env[k] }
	if code, _, errOut := dcctl(t, getenv, "subcloud-group", "list"); code != 0 {
		t.Fatalf("ATOLL_DATA_DIR: %s", errOut)
	}
	// The environment beats the data directory...
	env["ATOLL_TOKEN"] = "env-token"
	if code, _, errOut := dcctl(t, getenv, "subcloud-group", "list"); code != 1 || !strings.Contains(errOut, "wrong token") {
		t.Fatalf("ATOLL_TOKEN should win over the data dir: %d %s", code, errOut)
	}
	// ...and the flag beats the environment.
	if code, _, errOut := dcctl(t, getenv, "--token", token, "subcloud-group", "list"); code != 0 {
		t.Fatalf("--token should win over ATOLL_TOKEN: %s", errOut)
	}
	ep, err := resolve("", "", dataDir, func(k string) string { return map[string]string{"ATOLL_URL": "http://env:1"}[k] })
	if err != nil || ep.URL != "http://env:1" || ep.URLFrom != "$ATOLL_URL" || ep.Token != token || ep.TokenFrom != filepath.Join(dataDir, "token") {
		t.Fatalf("resolve = %+v, %v", ep, err)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, table{header: []string{"id", "name"}, rows: [][]string{{"1", "ünïcode"}, {"10", "x"}}}); err != nil {
		t.Fatal(err)
	}
	want := `+----+---------+
| id | name    |
+----+---------+
| 1  | ünïcode |
| 10 | x       |
+----+---------+
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
