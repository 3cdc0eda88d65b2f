package dc_test

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
)

// TestSubcloudJSONKeys pins the wire names dcmanager's clients read.
func TestSubcloudJSONKeys(t *testing.T) {
	s := dc.Subcloud{
		ID: 7, Name: "edge-7", ManagementSubnet: netip.MustParsePrefix("10.7.0.0/24"),
		ManagementStartIP: netip.MustParseAddr("10.7.0.2"), CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Endpoints: []dc.EndpointStatus{{EndpointType: "platform", SyncStatus: dc.InSync}},
		Install:   dctest.Install("secret"), Phase: dc.PhaseInstall, Revision: 3,
	}
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{
		"availability-status", "backup-status", "bootstrap-address", "created-at", "deploy-status", "description",
		"endpoint_sync_status", "error-description", "external_oam_gateway_address", "external_oam_subnet", "group_id",
		"id", "location", "management-end-ip", "management-gateway-ip", "management-start-ip", "management-state",
		"management-subnet", "name", "oam_floating_ip", "prestage-status", "software-version", "system_mode",
		"systemcontroller-gateway-ip", "updated-at",
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("JSON keys\n got %v\nwant %v", keys, want)
	}
	if m["management-subnet"] != "10.7.0.0/24" || m["management-end-ip"] != "" {
		t.Fatalf("addresses encode as %v and %q", m["management-subnet"], m["management-end-ip"])
	}
	var back dc.Subcloud
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ManagementSubnet != s.ManagementSubnet || back.ManagementEndIP.IsValid() || back.Install != nil {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestSyncStatusAggregate(t *testing.T) {
	ep := func(ss ...dc.SyncStatus) *dc.Subcloud {
		s := &dc.Subcloud{}
		for i, st := range ss {
			s.Endpoints = append(s.Endpoints, dc.EndpointStatus{EndpointType: dc.DefaultEndpointTypes()[i], SyncStatus: st})
		}
		return s
	}
	for _, tc := range []struct {
		s    *dc.Subcloud
		want dc.SyncStatus
	}{
		{ep(), dc.SyncUnknown},
		{ep(dc.InSync, dc.InSync), dc.InSync},
		{ep(dc.InSync, dc.SyncUnknown), dc.SyncUnknown},
		{ep(dc.SyncUnknown, dc.OutOfSync, dc.InSync), dc.OutOfSync},
	} {
		if got := tc.s.SyncStatus(); got != tc.want {
			t.Errorf("SyncStatus(%v) = %s, want %s", tc.s.Endpoints, got, tc.want)
		}
	}
}
