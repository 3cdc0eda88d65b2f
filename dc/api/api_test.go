package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/client"
	"github.com/atoll-edge/atoll/dc/dctest"
)

// multipartBody builds a dcmanager-style form: fields and file parts.
func multipartBody(t testing.TB, fields map[string]string, files map[string]string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range files {
		w, err := mw.CreateFormFile(k, k+".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &buf
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestSubcloudLifecycle drives every subcloud route through the typed
// client: add (multipart), list, show, detail, update, manage, unmanage,
// deploy log, delete.
func TestSubcloudLifecycle(t *testing.T) {
	boot, config := dctest.NewPhase(), dctest.NewPhase()
	e := newEnv(t, envOptions{store: newSQLStore(t), boot: boot, config: config})
	ctx := context.Background()

	g, err := e.c.CreateGroup(ctx, client.GroupRequest{Name: "east", MaxParallelSubclouds: 5})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.c.AddSubcloud(ctx, client.AddRequest{
		BootstrapAddress: bootstrapAddr(1),
		BootstrapValues:  []byte(bootstrapYAML("edge-1", 1)),
		InstallValues:    []byte(installYAML),
		BMCPassword:      "bmc-pw",
		SysadminPassword: "sysadmin-pw",
		DeployConfig:     []byte(deployConfigYAML),
		Group:            "east",
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "edge-1" || s.GroupID != g.ID || s.ManagementState != dc.Unmanaged || s.Availability != dc.Offline {
		t.Fatalf("added subcloud = %+v", s)
	}
	if s.ManagementSubnet.String() != "10.0.1.0/24" {
		t.Errorf("management-subnet = %s", s.ManagementSubnet)
	}
	waitDeploy(t, e.m, "edge-1", dc.Complete)

	// The sysadmin password reached the bootstrap phase, opened.
	if jobs := boot.Jobs(); len(jobs) != 1 || jobs[0].SysadminPassword != "sysadmin-pw" {
		t.Fatalf("bootstrap phase jobs = %+v, want one with the sysadmin password", jobs)
	}
	// The deploy config reached the config phase as sent.
	if jobs := config.Jobs(); len(jobs) != 1 || string(jobs[0].DeployConfig) != deployConfigYAML {
		t.Fatalf("config phase jobs = %+v, want one with the deploy config", jobs)
	}

	// The BMC password was sealed on the way in.
	stored, err := e.store.GetSubcloud(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Install == nil || stored.Install.BMCPassword != "" || len(stored.Install.SealedBMCPassword) == 0 {
		t.Fatalf("stored install values = %+v, want a sealed password only", stored.Install)
	}

	list, err := e.c.Subclouds(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "edge-1" {
		t.Fatalf("Subclouds = %v, %v", list, err)
	}
	byID, err := e.c.Subcloud(ctx, "1")
	if err != nil || byID.Name != "edge-1" || byID.DeployStatus != dc.Complete {
		t.Fatalf("Subcloud(1) = %+v, %v", byID, err)
	}
	d, err := e.c.SubcloudDetail(ctx, "edge-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.OAMFloatingIP.String() != "172.16.0.18" || d.RegionName != "edge-1" || !strings.Contains(d.DeployConfigSyncStatus, "up-to-date") {
		t.Errorf("detail = floating %s region %q config %q", d.OAMFloatingIP, d.RegionName, d.DeployConfigSyncStatus)
	}

	desc, loc := "moved", "rack 9"
	up, err := e.c.UpdateSubcloud(ctx, "edge-1", client.UpdateRequest{Description: &desc, Location: &loc})
	if err != nil || up.Description != desc || up.Location != loc {
		t.Fatalf("update = %+v, %v", up, err)
	}
	stored, err = e.m.Subcloud(ctx, "edge-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Manage(ctx, "edge-1", false); !errors.Is(err, dc.ErrInvalidState) {
		t.Fatalf("manage offline subcloud without force: err = %v, want ErrInvalidState", err)
	}
	if after, err := e.m.Subcloud(ctx, "edge-1"); err != nil || after.Revision != stored.Revision || !after.UpdatedAt.Equal(stored.UpdatedAt) {
		t.Fatalf("refused manage changed the subcloud: revision %d → %d, updated-at %v → %v (%v)", stored.Revision, after.Revision, stored.UpdatedAt, after.UpdatedAt, err)
	}
	mg, err := e.c.Manage(ctx, "edge-1", true)
	if err != nil || mg.ManagementState != dc.Managed {
		t.Fatalf("manage --force = %+v, %v", mg, err)
	}
	if _, err := e.c.DeleteSubcloud(ctx, "edge-1"); !errors.Is(err, dc.ErrInvalidState) {
		t.Fatalf("delete managed: err = %v, want ErrInvalidState", err)
	}
	um, err := e.c.Unmanage(ctx, "edge-1")
	if err != nil || um.ManagementState != dc.Unmanaged {
		t.Fatalf("unmanage = %+v, %v", um, err)
	}
	if _, err := e.c.DeployLog(ctx, "edge-1"); err != nil {
		t.Fatal(err)
	}
	members, err := e.c.GroupSubclouds(ctx, "east")
	if err != nil || len(members) != 1 {
		t.Fatalf("GroupSubclouds = %v, %v", members, err)
	}
	del, err := e.c.DeleteSubcloud(ctx, "edge-1")
	if err != nil || del.Name != "edge-1" {
		t.Fatalf("delete = %+v, %v", del, err)
	}
	if _, err := e.c.Subcloud(ctx, "edge-1"); !errors.Is(err, dc.ErrNotFound) {
		t.Fatalf("after delete: err = %v, want ErrNotFound", err)
	}
	var apiErr *client.APIError
	if _, err := e.c.Subcloud(ctx, "edge-1"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Code != "not_found" {
		t.Fatalf("APIError = %+v", apiErr)
	}
}

func TestGroupLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{store: newSQLStore(t)})
	ctx := context.Background()
	// The dcmanager CLI sends max_parallel_subclouds as a string.
	resp, body := e.raw(t, "POST", "/v1.0/subcloud-groups", "application/json",
		jsonBody(`{"name":"west","description":"west coast","update_apply_type":"serial","max_parallel_subclouds":"7"}`), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("create group: %d %s", resp.StatusCode, body)
	}
	var g map[string]any
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "name", "description", "update_apply_type", "max_parallel_subclouds", "created-at", "updated-at"} {
		if _, ok := g[k]; !ok {
			t.Errorf("group object lacks %q: %s", k, body)
		}
	}
	if g["max_parallel_subclouds"] != float64(7) || g["update_apply_type"] != "serial" {
		t.Errorf("group = %s", body)
	}
	n := 12
	up, err := e.c.UpdateGroup(ctx, "west", client.GroupUpdate{MaxParallelSubclouds: &n})
	if err != nil || up.MaxParallelSubclouds != 12 || up.UpdateApplyType != dc.ApplySerial {
		t.Fatalf("UpdateGroup = %+v, %v", up, err)
	}
	list, err := e.c.Groups(ctx)
	if err != nil || len(list) != 2 || list[0].Name != dc.DefaultGroupName || list[1].Name != "west" {
		t.Fatalf("Groups = %v, %v", list, err)
	}
	if got, err := e.c.Group(ctx, "2"); err != nil || got.Name != "west" {
		t.Fatalf("Group(2) = %+v, %v", got, err)
	}
	if _, err := e.c.DeleteGroup(ctx, "west"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Group(ctx, "west"); !errors.Is(err, dc.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

// TestWireFormat checks the keys dcmanager's client reads, the list
// wrappers, trailing slashes, JSON adds (YAML in a string and as an object)
// and both token headers.
func TestWireFormat(t *testing.T) {
	e := newEnv(t, envOptions{})
	// JSON add, bootstrap values as a YAML document in a string.
	body, _ := json.Marshal(map[string]any{
		"bootstrap-address": bootstrapAddr(1),
		"bootstrap_values":  bootstrapYAML("edge-1", 1),
		"group_id":          1,
	})
	resp, b := e.raw(t, "POST", "/v1.0/subclouds/", "application/json", bytes.NewReader(body), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("JSON add: %d %s", resp.StatusCode, b)
	}
	// JSON add, bootstrap values as an object.
	resp, b = e.raw(t, "POST", "/v1.0/subclouds", "application/json", jsonBody(`{
		"bootstrap-address": "198.18.0.2",
		"bootstrap_values": {"name": "edge-2", "system_mode": "duplex",
			"management_subnet": "10.0.2.0/24", "management_start_address": "10.0.2.10",
			"management_end_address": "10.0.2.50", "management_gateway_address": "10.0.2.1",
			"systemcontroller_gateway_address": "192.168.204.101"},
		"group_id": "Default", "description": "second"}`), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("JSON object add: %d %s", resp.StatusCode, b)
	}
	waitDeploy(t, e.m, "edge-2", dc.Complete)

	keys := []string{"id", "name", "description", "location", "software-version", "management-state",
		"availability-status", "deploy-status", "management-subnet", "management-start-ip", "management-end-ip",
		"management-gateway-ip", "systemcontroller-gateway-ip", "created-at", "updated-at", "group_id",
		"sync_status", "endpoint_sync_status", "error-description", "region-name", "backup-status", "prestage-status"}
	for _, path := range []string{"/v1.0/subclouds/edge-2", "/v1.0/subclouds/2/", "/v1.0/subclouds/edge-2/detail", "/v1.0/subclouds/edge-2/detail/"} {
		for _, hdr := range []map[string]string{nil, {"X-Auth-Token": "", "Authorization": "Bearer " + testToken}} {
			resp, b := e.raw(t, "GET", path, "", nil, hdr)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
			}
			var obj map[string]any
			if err := json.Unmarshal(b, &obj); err != nil {
				t.Fatal(err)
			}
			want := keys
			if strings.Contains(path, "detail") {
				want = append(want[:len(want):len(want)], "oam_floating_ip", "deploy_config_sync_status", "region_name")
			}
			for _, k := range want {
				if _, ok := obj[k]; !ok {
					t.Errorf("GET %s lacks %q", path, k)
				}
			}
			if obj["error-description"] != "No errors present" || obj["sync_status"] != "unknown" || obj["description"] != "second" {
				t.Errorf("GET %s: error-description %v sync_status %v description %v", path, obj["error-description"], obj["sync_status"], obj["description"])
			}
			eps, _ := obj["endpoint_sync_status"].([]any)
			if len(eps) != len(dc.DefaultEndpointTypes()) {
				t.Errorf("endpoint_sync_status = %v", obj["endpoint_sync_status"])
			}
		}
	}
	for path, key := range map[string]string{
		"/v1.0/subclouds": "subclouds", "/v1.0/subclouds/": "subclouds",
		"/v1.0/subcloud-groups": "subcloud_groups", "/v1.0/subcloud-groups/": "subcloud_groups",
		"/v1.0/subcloud-groups/Default/subclouds": "subclouds", "/v1.0/subcloud-groups/1/subclouds/": "subclouds",
	} {
		resp, b := e.raw(t, "GET", path, "", nil, nil)
		var obj map[string][]map[string]any
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
		if len(obj) != 1 || len(obj[key]) == 0 {
			t.Errorf("GET %s = %s, want {%q: [...]}", path, b, key)
		}
	}
	// Deploy log route (Atoll addition), and resume/abort answer with the subcloud.
	resp, b = e.raw(t, "GET", "/v1.0/subclouds/edge-2/deploy-log/", "", nil, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), `{"deploy_log":[`) {
		t.Errorf("deploy-log: %d %s", resp.StatusCode, b)
	}
	// Metrics were counted per route.
	if n := testutil.CollectAndCount(e.reg, "atoll_dc_api_requests_total"); n == 0 {
		t.Error("no atoll_dc_api_requests_total series")
	}
	if !strings.Contains(e.logBuf.String(), `"subcloud":"edge-2"`) || !strings.Contains(e.logBuf.String(), `"status":200`) {
		t.Errorf("request log lacks subcloud/status: %s", e.logBuf.String())
	}
}

// TestDeployResumeAbort aborts a phase in flight through the API, resumes
// it with a new sysadmin password, and lets it finish.
func TestDeployResumeAbort(t *testing.T) {
	release := make(chan struct{})
	boot := dctest.NewPhase()
	e := newEnv(t, envOptions{boot: boot, install: dc.PhaseFunc(func(ctx context.Context, job *dc.PhaseJob) error {
		job.Logf("installing through %s", job.Install.BMCAddress)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-release:
			return nil
		}
	})})
	ctx := context.Background()
	if _, err := e.c.AddSubcloud(ctx, client.AddRequest{
		BootstrapAddress: bootstrapAddr(3), BootstrapValues: []byte(bootstrapYAML("edge-3", 3)),
		InstallValues: []byte(installYAML), BMCPassword: "pw", SysadminPassword: "sysadmin-at-add",
	}); err != nil {
		t.Fatal(err)
	}
	waitDeploy(t, e.m, "edge-3", dc.Installing)
	if _, err := e.c.ResumeDeploy(ctx, "edge-3"); !errors.Is(err, dc.ErrInvalidState) {
		t.Fatalf("resume while installing: %v", err)
	}
	if _, err := e.c.AbortDeploy(ctx, "edge-3"); err != nil {
		t.Fatal(err)
	}
	waitDeploy(t, e.m, "edge-3", dc.InstallAborted)
	close(release)
	// dcmanager's CLI resumes with a multipart form carrying sysadmin_password.
	ct, body := multipartBody(t, map[string]string{"sysadmin_password": b64("sysadmin-at-resume")}, nil)
	resp, b := e.raw(t, "PATCH", "/v1.0/phased-subcloud-deploy/edge-3/resume", ct, body, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("resume: %d %s", resp.StatusCode, b)
	}
	waitDeploy(t, e.m, "edge-3", dc.Complete)
	// The bootstrap phase got the password sent with the resume, opened.
	if jobs := boot.Jobs(); len(jobs) != 1 || jobs[0].SysadminPassword != "sysadmin-at-resume" {
		t.Fatalf("bootstrap jobs = %+v, want one with the resumed sysadmin password", jobs)
	}
	log, err := e.c.DeployLog(ctx, "edge-3")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range log {
		found = found || strings.Contains(l.Message, "installing through 127.0.0.1")
	}
	if !found {
		t.Errorf("deploy log lacks the phase's line: %+v", log)
	}
}

// TestListFollowsChanges lists, changes and deletes subclouds, and lists
// again: the encode cache must never serve a stale subcloud, with or without
// a Viewer.
func TestListFollowsChanges(t *testing.T) {
	for _, viewer := range []bool{false, true} {
		e := newEnv(t, envOptions{serviceList: !viewer})
		ctx := context.Background()
		for i := 1; i <= 20; i++ {
			mustAdd(t, e, fmt.Sprintf("edge-%d", i), i, "", false)
		}
		waitDeploy(t, e.m, "edge-20", dc.Complete)
		for i := 1; i <= 20; i++ {
			waitDeploy(t, e.m, fmt.Sprintf("edge-%d", i), dc.Complete)
		}
		if _, err := e.c.Subclouds(ctx); err != nil {
			t.Fatal(err)
		}
		desc := "changed"
		if _, err := e.c.UpdateSubcloud(ctx, "edge-3", client.UpdateRequest{Description: &desc}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.DeleteSubcloud(ctx, "edge-5"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.Manage(ctx, "edge-7", true); err != nil {
			t.Fatal(err)
		}
		got, err := e.c.Subclouds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, err := e.m.Subclouds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 19 || len(want) != 19 {
			t.Fatalf("viewer=%v: listed %d, manager has %d, want 19", viewer, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Name != w.Name || g.Description != w.Description || g.ManagementState != w.ManagementState || !g.UpdatedAt.Equal(w.UpdatedAt) {
				t.Errorf("viewer=%v: listed %s %q %s, manager says %s %q %s", viewer, g.Name, g.Description, g.ManagementState, w.Name, w.Description, w.ManagementState)
			}
		}
	}
}

// TestResumeWithSecrets resumes a failed bootstrap through the typed client
// with a new sysadmin password and new install values: both land with the
// resume, and a refused resume changes nothing.
func TestResumeWithSecrets(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	boot := dctest.NewPhase()
	boot.SetHook(func(context.Context, *dc.PhaseJob) error {
		if fail.Load() {
			return errors.New("bootstrap failed")
		}
		return nil
	})
	e := newEnv(t, envOptions{boot: boot})
	ctx := context.Background()
	if _, err := e.c.AddSubcloud(ctx, client.AddRequest{
		BootstrapAddress: bootstrapAddr(4), BootstrapValues: []byte(bootstrapYAML("edge-4", 4)),
		SysadminPassword: "first",
	}); err != nil {
		t.Fatal(err)
	}
	waitDeploy(t, e.m, "edge-4", dc.BootstrapFailed)
	fail.Store(false)
	newInstall := strings.Replace(installYAML, "bmc_address: 127.0.0.1", "bmc_address: 127.0.0.44", 1)
	if _, err := e.c.ResumeDeployWith(ctx, "edge-4", client.ResumeRequest{
		SysadminPassword: "second", InstallValues: []byte(newInstall), BMCPassword: "bmc",
	}); err != nil {
		t.Fatal(err)
	}
	done := waitDeploy(t, e.m, "edge-4", dc.Complete)
	jobs := boot.Jobs()
	if len(jobs) != 2 || jobs[0].SysadminPassword != "first" || jobs[1].SysadminPassword != "second" {
		t.Fatalf("bootstrap runs got sysadmin passwords %+v, want first then second", jobs)
	}
	if done.Install == nil || done.Install.BMCAddress != "127.0.0.44" || len(done.Install.SealedBMCPassword) == 0 {
		t.Fatalf("install values after resume: %+v", done.Install)
	}
	// Resuming a complete subcloud is refused and writes nothing.
	if _, err := e.c.ResumeDeployWith(ctx, "edge-4", client.ResumeRequest{SysadminPassword: "third"}); !errors.Is(err, dc.ErrInvalidState) {
		t.Fatalf("resume a complete subcloud: err = %v, want ErrInvalidState", err)
	}
	after, err := e.m.Subcloud(ctx, "edge-4")
	if err != nil {
		t.Fatal(err)
	}
	if after.Revision != done.Revision || !bytes.Equal(after.SealedSysadminPassword, done.SealedSysadminPassword) {
		t.Fatalf("refused resume changed the subcloud: revision %d → %d", done.Revision, after.Revision)
	}
}
