package api

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/dc"
)

func sampleSubcloud() *dc.Subcloud {
	t0 := time.Date(2026, 11, 22, 10, 11, 12, 123456789, time.UTC)
	return &dc.Subcloud{
		ID: 42, Name: "edge-42", Description: `quotes " and \ and <tags> & ünïcode`, Location: "rack\t7\n",
		GroupID: 3, SoftwareVersion: "24.09", ManagementState: dc.Managed, Availability: dc.Online,
		DeployStatus: dc.Complete, BackupStatus: "complete-central", PrestageStatus: "",
		ManagementSubnet:          netip.MustParsePrefix("10.4.2.0/24"),
		ManagementStartIP:         netip.MustParseAddr("10.4.2.10"),
		ManagementEndIP:           netip.MustParseAddr("10.4.2.50"),
		ManagementGatewayIP:       netip.MustParseAddr("10.4.2.1"),
		SystemControllerGatewayIP: netip.MustParseAddr("192.168.204.101"),
		OAMSubnet:                 netip.MustParsePrefix("fd00:1::/64"),
		OAMGatewayIP:              netip.MustParseAddr("fd00:1::1"),
		OAMFloatingIP:             netip.MustParseAddr("fd00:1::2"),
		SystemMode:                dc.Duplex,
		Endpoints: []dc.EndpointStatus{
			{EndpointType: "platform", SyncStatus: dc.InSync},
			{EndpointType: "identity", SyncStatus: dc.OutOfSync},
		},
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second),
	}
}

// TestAppendSubcloudMatchesEncodingJSON checks the hand-written encoder
// against encoding/json on every key both produce, plus the computed keys.
func TestAppendSubcloudMatchesEncodingJSON(t *testing.T) {
	for _, s := range []*dc.Subcloud{sampleSubcloud(), {Name: "bare"}} {
		ref, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var want, got map[string]any
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		out := appendSubcloud(nil, s, true)
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("appendSubcloud produced invalid JSON: %v\n%s", err, out)
		}
		if s.ErrorDescription == "" {
			want["error-description"] = noErrors
		}
		if s.CreatedAt.IsZero() {
			// Both spell the zero time, in the same layout.
			if got["created-at"] != want["created-at"] {
				t.Errorf("zero created-at: %v vs %v", got["created-at"], want["created-at"])
			}
		}
		if want["endpoint_sync_status"] == nil {
			want["endpoint_sync_status"] = []any{} // never null on the wire
		}
		if !s.OAMFloatingIP.IsValid() {
			want["oam_floating_ip"] = oamUnavailable
		}
		want["sync_status"] = string(s.SyncStatus())
		want["region-name"] = s.Name
		want["region_name"] = s.Name
		if s.DeployStatus == dc.Complete {
			want["deploy_config_sync_status"] = deployConfigUpToDate
		} else {
			want["deploy_config_sync_status"] = deployConfigUnknown
		}
		if !reflect.DeepEqual(got, want) {
			for k := range want {
				if !reflect.DeepEqual(got[k], want[k]) {
					t.Errorf("key %q: got %#v, want %#v", k, got[k], want[k])
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("extra key %q", k)
				}
			}
		}
	}
}

func TestAppendGroupMatchesEncodingJSON(t *testing.T) {
	g := &dc.Group{ID: 2, Name: "g<1>", Description: "d\"", UpdateApplyType: dc.ApplySerial, MaxParallelSubclouds: 9,
		CreatedAt: time.Unix(1700000000, 5).UTC(), UpdatedAt: time.Unix(1700000001, 0).UTC()}
	ref, _ := json.Marshal(g)
	var want, got map[string]any
	_ = json.Unmarshal(ref, &want)
	if err := json.Unmarshal(appendGroup(nil, g), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("group:\n got %v\nwant %v", got, want)
	}
}

// FuzzAppendString checks the string escaper byte for byte against
// encoding/json.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "<a&b>", "\x00\x01\x1f\x7f", "\u2028\u2029", "\xff\xfe", "é漢字🙂", "\b\f\n\r\t", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkAppendSubclouds10k(b *testing.B) {
	list := make([]*dc.Subcloud, 10000)
	for i := range list {
		s := sampleSubcloud()
		s.ID, s.Name = int64(i+1), "edge-"+strings.Repeat("x", i%7)
		s.Endpoints = nil
		for _, ep := range dc.DefaultEndpointTypes() {
			s.Endpoints = append(s.Endpoints, dc.EndpointStatus{EndpointType: ep, SyncStatus: dc.SyncUnknown})
		}
		list[i] = s
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendList(buf[:0], "subclouds", list)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkEncodingJSONSubclouds10k(b *testing.B) {
	list := make([]*dc.Subcloud, 10000)
	for i := range list {
		s := sampleSubcloud()
		s.ID = int64(i + 1)
		for _, ep := range dc.DefaultEndpointTypes() {
			s.Endpoints = append(s.Endpoints, dc.EndpointStatus{EndpointType: ep, SyncStatus: dc.SyncUnknown})
		}
		list[i] = s
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(map[string]any{"subclouds": list}); err != nil {
			b.Fatal(err)
		}
	}
}

func appendList(b []byte, key string, list []*dc.Subcloud) []byte {
	b = append(b, '{', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSubcloud(b, s, false)
	}
	return append(b, ']', '}', '\n')
}
