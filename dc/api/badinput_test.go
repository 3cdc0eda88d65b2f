package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/api"
	"github.com/atoll-edge/atoll/dc/dctest"
)

// snapshot is everything the store holds that a request could change.
type snapshot struct {
	Subclouds []*dc.Subcloud
	Groups    []*dc.Group
	Logs      map[int64][]dc.LogEntry
}

func takeSnapshot(t *testing.T, s dc.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	subs, err := s.ListSubclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := s.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs := map[int64][]dc.LogEntry{}
	for _, sc := range subs {
		if logs[sc.ID], err = s.DeployLog(ctx, sc.ID); err != nil {
			t.Fatal(err)
		}
	}
	return snapshot{Subclouds: subs, Groups: groups, Logs: logs}
}

// withBootstrap returns the JSON add body of a bootstrap file edited by
// replacing old with new.
func addJSON(name string, i int, edits ...string) string {
	y := bootstrapYAML(name, i)
	for k := 0; k+1 < len(edits); k += 2 {
		y = strings.Replace(y, edits[k], edits[k+1], 1)
	}
	b, _ := json.Marshal(map[string]any{"bootstrap-address": bootstrapAddr(i), "bootstrap_values": y})
	return string(b)
}

// TestBadInput sends invalid requests through the real handler and store.
// Each gets its status, its stable code and a message naming the field or
// the conflicting subcloud; the store is byte-for-byte unchanged afterwards.
func TestBadInput(t *testing.T) {
	e := newEnv(t, envOptions{store: newSQLStore(t), install: blockingPhase(), config: dctest.NewPhase()})
	ctx := context.Background()

	// The fleet: edge-1 complete and managed, edge-2 installing (its phase
	// blocks), edge-3 complete in group "g1".
	if _, err := e.c.CreateGroup(ctx, clientGroup("g1")); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, e, "edge-1", 1, "", false)
	mustAdd(t, e, "edge-2", 2, "", true)
	mustAdd(t, e, "edge-3", 3, "g1", false)
	waitDeploy(t, e.m, "edge-1", dc.Complete)
	waitDeploy(t, e.m, "edge-2", dc.Installing)
	waitDeploy(t, e.m, "edge-3", dc.Complete)
	// edge-2's phase has written its one log line before the snapshot.
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, err := e.m.DeployLog(ctx, "edge-2")
		if err != nil {
			t.Fatal(err)
		}
		if len(log) > 0 && strings.Contains(log[len(log)-1].Message, "waiting") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge-2 deploy log: %+v", log)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := e.m.SetAvailability(ctx, 1, dc.Online); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Manage(ctx, "edge-1", false); err != nil {
		t.Fatal(err)
	}

	before := takeSnapshot(t, e.store)

	mp := func(fields, files map[string]string) (string, io.Reader) { return multipartBody(t, fields, files) }
	ctMP, bodyBadB64 := mp(map[string]string{"bootstrap-address": bootstrapAddr(9), "bmc_password": "not*base64!"},
		map[string]string{"bootstrap_values": bootstrapYAML("edge-9", 9), "install_values": installYAML})
	ctMP2, bodyUnknownPart := mp(map[string]string{"bootstrap-address": bootstrapAddr(9), "rehome_data": "{}"},
		map[string]string{"bootstrap_values": bootstrapYAML("edge-9", 9)})
	ctMP3, bodyNoAddr := mp(nil, map[string]string{"bootstrap_values": bootstrapYAML("edge-9", 9)})
	ctMP4, bodyBadYAML := mp(map[string]string{"bootstrap-address": bootstrapAddr(9)},
		map[string]string{"bootstrap_values": "name: edge-9\n  management_subnet: [unclosed\n"})
	ctMP5, bodyPWNoInstall := mp(map[string]string{"bootstrap-address": bootstrapAddr(9), "bmc_password": b64("pw")},
		map[string]string{"bootstrap_values": bootstrapYAML("edge-9", 9)})
	ctMP6, bodyBadSysadmin := mp(map[string]string{"bootstrap-address": bootstrapAddr(9), "sysadmin_password": "%%%"},
		map[string]string{"bootstrap_values": bootstrapYAML("edge-9", 9)})

	ctMP8, bodyDeployConfigList := mp(map[string]string{"bootstrap-address": bootstrapAddr(9)},
		map[string]string{"bootstrap_values": bootstrapYAML("edge-9", 9), "deploy_config": "- a\n- b\n"})
	ctMP9, bodyDeployConfigBad := mp(map[string]string{"bootstrap-address": bootstrapAddr(9)},
		map[string]string{"bootstrap_values": bootstrapYAML("edge-9", 9), "deploy_config": "kind: System\n---\nkind: [unclosed\n"})

	ctMP7, bodyMigrate := mp(map[string]string{"bootstrap-address": bootstrapAddr(9), "migrate": "true", "name": "edge-9"},
		map[string]string{"bootstrap_values": bootstrapYAML("edge-9", 9)})

	ipv6 := strings.NewReplacer("management_subnet: 10.0.9.0/24", "management_subnet: fd00:9::/64")

	cases := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        io.Reader
		headers     map[string]string
		status      int
		code        string
		contains    []string
	}{
		{"overlapping management subnet", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(addJSON("edge-9", 9, "10.0.9.0/24", "10.0.1.0/25", "10.0.9.10", "10.0.1.10", "10.0.9.50", "10.0.1.50", "10.0.9.1\n", "10.0.1.1\n")),
			nil, 400, api.CodeInvalidValue, []string{"management_subnet", "edge-1"}},
		{"OAM subnet overlaps a management subnet", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(addJSON("edge-9", 9, "172.16.0.144/28", "10.0.3.0/28", "172.16.0.145", "10.0.3.1", "172.16.0.146", "10.0.3.2")),
			nil, 400, api.CodeInvalidValue, []string{"external_oam_subnet", "edge-3"}},
		{"gateway outside the subnet", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(addJSON("edge-9", 9, "management_gateway_address: 10.0.9.1", "management_gateway_address: 10.0.99.1")),
			nil, 400, api.CodeInvalidValue, []string{"management_gateway_address"}},
		{"gateway inside the range", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(addJSON("edge-9", 9, "management_gateway_address: 10.0.9.1", "management_gateway_address: 10.0.9.20")),
			nil, 400, api.CodeInvalidValue, []string{"management_gateway_address", "range"}},
		{"bad CIDR", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(addJSON("edge-9", 9, "10.0.9.0/24", "10.0.9.0/33")),
			nil, 400, api.CodeInvalidValue, []string{"management_subnet"}},
		{"IPv4 and IPv6 mixed", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(ipv6.Replace(addJSON("edge-9", 9))),
			nil, 400, api.CodeInvalidValue, []string{"management_"}},
		{"start after end", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(addJSON("edge-9", 9, "10.0.9.10", "10.0.9.60")),
			nil, 400, api.CodeInvalidValue, []string{"management_end_address"}},
		{"duplicate name", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(addJSON("edge-1", 9)),
			nil, 409, api.CodeAlreadyExists, []string{"name", "edge-1"}},
		{"reserved name", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(addJSON("SystemController", 9)),
			nil, 400, api.CodeInvalidValue, []string{"name", "SystemController"}},
		{"name not RFC 1123", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(addJSON("edge_9", 9)),
			nil, 400, api.CodeInvalidValue, []string{"name", "edge_9"}},
		{"malformed YAML", "POST", "/v1.0/subclouds", ctMP4, bodyBadYAML,
			nil, 400, api.CodeInvalidValue, []string{"bootstrap_values"}},
		{"oversized body", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(`{"description":"` + strings.Repeat("x", api.DefaultMaxBodyBytes+1) + `"}`),
			nil, 413, api.CodeBodyTooLarge, []string{"exceeds"}},
		{"unknown JSON field", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(`{"bootstrap-address":"198.18.0.9","bogus":1}`),
			nil, 400, api.CodeUnknownField, []string{"bogus"}},
		{"wrong JSON type", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(`{"bootstrap-address":"198.18.0.9","description":5}`),
			nil, 400, api.CodeInvalidJSON, []string{"description"}},
		{"body is not an object", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(`["edge-9"]`), nil, 400, api.CodeInvalidJSON, []string{"object"}},
		{"two JSON values", "POST", "/v1.0/subcloud-groups", "application/json",
			jsonBody(`{"name":"g9"} {"name":"g10"}`), nil, 400, api.CodeInvalidJSON, []string{"more than one"}},
		{"truncated JSON", "POST", "/v1.0/subcloud-groups", "application/json",
			jsonBody(`{"name":"g9"`), nil, 400, api.CodeInvalidJSON, []string{"JSON"}},
		{"missing bootstrap-address", "POST", "/v1.0/subclouds", ctMP3, bodyNoAddr,
			nil, 400, api.CodeInvalidValue, []string{"bootstrap-address"}},
		{"unknown multipart part", "POST", "/v1.0/subclouds", ctMP2, bodyUnknownPart,
			nil, 400, api.CodeUnknownField, []string{"rehome_data"}},
		{"migrate (dcmanager subcloud add --migrate)", "POST", "/v1.0/subclouds", ctMP7, bodyMigrate,
			nil, 400, api.CodeInvalidValue, []string{"migrate", "not supported"}},
		{"invalid base64 bmc_password", "POST", "/v1.0/subclouds", ctMP, bodyBadB64,
			nil, 400, api.CodeInvalidValue, []string{"bmc_password", "base64"}},
		{"invalid base64 sysadmin_password", "POST", "/v1.0/subclouds", ctMP6, bodyBadSysadmin,
			nil, 400, api.CodeInvalidValue, []string{"sysadmin_password", "base64"}},
		{"deploy_config not a mapping", "POST", "/v1.0/subclouds", ctMP8, bodyDeployConfigList,
			nil, 400, api.CodeInvalidValue, []string{"deploy_config", "mapping"}},
		{"deploy_config malformed YAML", "POST", "/v1.0/subclouds", ctMP9, bodyDeployConfigBad,
			nil, 400, api.CodeInvalidValue, []string{"deploy_config", "YAML"}},
		{"bmc_password without install values", "POST", "/v1.0/subclouds", ctMP5, bodyPWNoInstall,
			nil, 400, api.CodeInvalidValue, []string{"bmc_password", "install_values"}},
		{"unknown group", "POST", "/v1.0/subclouds", "application/json",
			jsonBody(strings.Replace(addJSON("edge-9", 9), `{`, `{"group_id":"nosuchgroup",`, 1)),
			nil, 400, api.CodeInvalidValue, []string{"group_id", "nosuchgroup"}},
		{"unsupported content type", "POST", "/v1.0/subclouds", "text/plain",
			jsonBody(addJSON("edge-9", 9)), nil, 415, api.CodeUnsupportedMedia, []string{"text/plain"}},
		{"no content type", "POST", "/v1.0/subclouds", "",
			jsonBody(addJSON("edge-9", 9)), nil, 415, api.CodeUnsupportedMedia, []string{"Content-Type"}},
		{"missing token", "GET", "/v1.0/subclouds", "", nil,
			map[string]string{"X-Auth-Token": ""}, 401, api.CodeUnauthorized, []string{"token"}},
		{"wrong token", "POST", "/v1.0/subcloud-groups", "application/json", jsonBody(`{"name":"g9"}`),
			map[string]string{"X-Auth-Token": "", "Authorization": "Bearer nope"}, 401, api.CodeUnauthorized, []string{"token"}},
		{"token in the wrong scheme", "GET", "/v1.0/subclouds", "", nil,
			map[string]string{"X-Auth-Token": "", "Authorization": "Basic " + testToken}, 401, api.CodeUnauthorized, []string{"token"}},
		{"manage a subcloud still installing", "PATCH", "/v1.0/subclouds/edge-2", "application/json",
			jsonBody(`{"management-state":"managed"}`), nil, 409, api.CodeInvalidState, []string{"manage", "installing"}},
		{"manage an offline subcloud", "PATCH", "/v1.0/subclouds/edge-3", "application/json",
			jsonBody(`{"management-state":"managed","force":"false"}`), nil, 409, api.CodeInvalidState, []string{"manage", "offline"}},
		{"delete a managed subcloud", "DELETE", "/v1.0/subclouds/edge-1", "", nil,
			nil, 409, api.CodeInvalidState, []string{"delete", "managed"}},
		{"delete a subcloud mid-deploy", "DELETE", "/v1.0/subclouds/2", "", nil,
			nil, 409, api.CodeInvalidState, []string{"delete", "installing"}},
		{"resume a complete subcloud", "PATCH", "/v1.0/phased-subcloud-deploy/edge-3/resume", "", nil,
			nil, 409, api.CodeInvalidState, []string{"resume", "complete"}},
		{"abort a complete subcloud", "PATCH", "/v1.0/phased-subcloud-deploy/edge-3/abort/", "", nil,
			nil, 409, api.CodeInvalidState, []string{"abort", "complete"}},
		{"rename a managed subcloud", "PATCH", "/v1.0/subclouds/edge-1", "application/json",
			jsonBody(`{"name":"edge-100"}`), nil, 409, api.CodeInvalidState, []string{"managed"}},
		{"NUL in a description", "PATCH", "/v1.0/subclouds/edge-3", "application/json",
			jsonBody(`{"description":"rack\u0000 4"}`), nil, 400, api.CodeInvalidValue, []string{"description", "control character"}},
		{"group description too long", "POST", "/v1.0/subcloud-groups", "application/json",
			jsonBody(`{"name":"g9","description":"` + strings.Repeat("d", dc.MaxTextLen+1) + `"}`), nil, 400, api.CodeInvalidValue, []string{"description", "at most 255"}},
		{"bad management-state", "PATCH", "/v1.0/subclouds/edge-3", "application/json",
			jsonBody(`{"management-state":"sideways"}`), nil, 400, api.CodeInvalidValue, []string{"management-state", "sideways"}},
		{"bad force", "PATCH", "/v1.0/subclouds/edge-3", "application/json",
			jsonBody(`{"management-state":"managed","force":"maybe"}`), nil, 400, api.CodeInvalidJSON, []string{"force"}},
		{"nothing to update", "PATCH", "/v1.0/subclouds/edge-3", "application/json",
			jsonBody(`{}`), nil, 400, api.CodeBadRequest, []string{"nothing to update"}},
		{"move to an unknown group", "PATCH", "/v1.0/subclouds/edge-3", "application/json",
			jsonBody(`{"group_id":77}`), nil, 400, api.CodeInvalidValue, []string{"group_id", "77"}},
		{"unknown subcloud", "GET", "/v1.0/subclouds/edge-404", "", nil,
			nil, 404, api.CodeNotFound, []string{"not found"}},
		{"unknown route", "GET", "/v1.0/clouds", "", nil,
			nil, 404, api.CodeNotFound, []string{"/v1.0/clouds"}},
		{"method not allowed", "PUT", "/v1.0/subclouds", "application/json", jsonBody(`{}`),
			nil, 405, api.CodeMethodNotAllowed, []string{"PUT"}},
		{"unknown query parameter", "GET", "/v1.0/subclouds?group=g1", "", nil,
			nil, 400, api.CodeUnknownField, []string{"group"}},
		{"max_parallel_subclouds 0", "POST", "/v1.0/subcloud-groups", "application/json",
			jsonBody(`{"name":"g9","max_parallel_subclouds":0}`), nil, 400, api.CodeInvalidValue, []string{"max_parallel_subclouds", "0"}},
		{"max_parallel_subclouds 5001", "POST", "/v1.0/subcloud-groups", "application/json",
			jsonBody(`{"name":"g9","max_parallel_subclouds":"5001"}`), nil, 400, api.CodeInvalidValue, []string{"max_parallel_subclouds", "5001"}},
		{"max_parallel_subclouds abc", "POST", "/v1.0/subcloud-groups", "application/json",
			jsonBody(`{"name":"g9","max_parallel_subclouds":"abc"}`), nil, 400, api.CodeInvalidJSON, []string{"max_parallel_subclouds", "abc"}},
		{"max_parallel_subclouds negative", "PATCH", "/v1.0/subcloud-groups/g1", "application/json",
			jsonBody(`{"max_parallel_subclouds":-3}`), nil, 400, api.CodeInvalidJSON, []string{"max_parallel_subclouds"}},
		{"bad update_apply_type", "POST", "/v1.0/subcloud-groups", "application/json",
			jsonBody(`{"name":"g9","update_apply_type":"random"}`), nil, 400, api.CodeInvalidValue, []string{"update_apply_type", "random"}},
		{"group without a name", "POST", "/v1.0/subcloud-groups", "application/json",
			jsonBody(`{"description":"x"}`), nil, 400, api.CodeInvalidValue, []string{"name"}},
		{"duplicate group", "POST", "/v1.0/subcloud-groups", "application/json",
			jsonBody(`{"name":"g1"}`), nil, 409, api.CodeAlreadyExists, []string{"g1"}},
		{"group as multipart", "POST", "/v1.0/subcloud-groups", ctMP3, bodyNoAddr,
			nil, 415, api.CodeUnsupportedMedia, []string{"multipart"}},
		{"delete the Default group", "DELETE", "/v1.0/subcloud-groups/Default", "", nil,
			nil, 400, api.CodeInvalidValue, []string{"Default"}},
		{"delete a group with subclouds", "DELETE", "/v1.0/subcloud-groups/g1", "", nil,
			nil, 400, api.CodeInvalidValue, []string{"g1", "edge-3"}},
		{"rename the Default group", "PATCH", "/v1.0/subcloud-groups/1", "application/json",
			jsonBody(`{"name":"Other"}`), nil, 400, api.CodeInvalidValue, []string{"Default"}},
		{"unknown group", "GET", "/v1.0/subcloud-groups/nope/subclouds", "", nil,
			nil, 404, api.CodeNotFound, []string{"not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := e.raw(t, tc.method, tc.path, tc.contentType, tc.body, tc.headers)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			var eb api.ErrorBody
			if err := json.Unmarshal(b, &eb); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, b)
			}
			t.Logf("%d %s: %s", resp.StatusCode, eb.Code, eb.Message)
			if eb.Code != tc.code {
				t.Errorf("code %q, want %q (message %q)", eb.Code, tc.code, eb.Message)
			}
			for _, want := range tc.contains {
				if !strings.Contains(eb.Message, want) {
					t.Errorf("message %q does not name %q", eb.Message, want)
				}
			}
			if resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			if tc.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	after := takeSnapshot(t, e.store)
	if diff := cmp.Diff(before, after, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
		t.Errorf("store changed by invalid requests (-before +after):\n%s", diff)
	}
}
