package dc_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
)

// TestAddValidation rejects each bad add request with a ValidationError
// naming the field (and the conflicting subcloud, where there is one).
func TestAddValidation(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t, dc.Options{Sealer: sealer(t)})
	// The fleet: subcloud-0 (IPv4) and subcloud6-0 (IPv6).
	if _, err := m.AddSubcloud(ctx, dctest.AddRequest(0)); err != nil {
		t.Fatal(err)
	}
	v6 := dctest.AddRequest(0)
	v6.Bootstrap = dctest.Bootstrap6(0)
	if _, err := m.AddSubcloud(ctx, v6); err != nil {
		t.Fatal(err)
	}

	type edit func(r *dc.AddRequest)
	boot := func(f func(b *dc.BootstrapValues)) edit {
		return func(r *dc.AddRequest) { f(r.Bootstrap) }
	}
	for _, tc := range []struct {
		name     string
		edit     edit
		field    string
		conflict string
	}{
		{"empty name", boot(func(b *dc.BootstrapValues) { b.Name = "" }), "name", ""},
		{"name with underscore", boot(func(b *dc.BootstrapValues) { b.Name = "edge_1" }), "name", ""},
		{"name with leading hyphen", boot(func(b *dc.BootstrapValues) { b.Name = "-edge" }), "name", ""},
		{"name too long", boot(func(b *dc.BootstrapValues) { b.Name = strings.Repeat("a", 64) }), "name", ""},
		{"name all digits", boot(func(b *dc.BootstrapValues) { b.Name = "1234" }), "name", ""},
		{"reserved SystemController", boot(func(b *dc.BootstrapValues) { b.Name = "systemcontroller" }), "name", ""},
		{"reserved RegionOne", boot(func(b *dc.BootstrapValues) { b.Name = "REGIONONE" }), "name", ""},
		{"duplicate name", boot(func(b *dc.BootstrapValues) { b.Name = "subcloud-0" }), "name", "subcloud-0"},
		{"NUL in description", func(r *dc.AddRequest) { r.Description = "rack\x00 4" }, "description", ""},
		{"control character in bootstrap location", boot(func(b *dc.BootstrapValues) { b.Location = "row 4\x1b[2J" }), "location", ""},
		{"location too long", func(r *dc.AddRequest) { r.Location = strings.Repeat("é", dc.MaxTextLen+1) }, "location", ""},
		{"description not UTF-8", func(r *dc.AddRequest) { r.Description = "\xff\xfe" }, "description", ""},
		{"bad system mode", boot(func(b *dc.BootstrapValues) { b.SystemMode = "triplex" }), "system_mode", ""},
		{"missing bootstrap address", func(r *dc.AddRequest) { r.BootstrapAddress = netip.Addr{} }, "bootstrap-address", ""},
		{"bad CIDR", boot(func(b *dc.BootstrapValues) { b.ManagementSubnet = "10.9.0.0/33" }), "management_subnet", ""},
		{"not a CIDR", boot(func(b *dc.BootstrapValues) { b.ManagementSubnet = "ten.nine" }), "management_subnet", ""},
		{"host bits set", boot(func(b *dc.BootstrapValues) { b.ManagementSubnet = "10.9.0.7/24" }), "management_subnet", ""},
		{"start outside subnet", boot(func(b *dc.BootstrapValues) { b.ManagementStartAddress = "10.99.0.2" }), "management_start_address", ""},
		{"end outside subnet", boot(func(b *dc.BootstrapValues) { b.ManagementEndAddress = "10.0.2.10" }), "management_end_address", ""},
		{"start after end", boot(func(b *dc.BootstrapValues) {
			b.ManagementStartAddress, b.ManagementEndAddress = b.ManagementEndAddress, b.ManagementStartAddress
		}), "management_end_address", ""},
		{"gateway inside range", boot(func(b *dc.BootstrapValues) { b.ManagementGatewayAddress = "10.0.1.50" }), "management_gateway_address", ""},
		{"gateway outside subnet", boot(func(b *dc.BootstrapValues) { b.ManagementGatewayAddress = "10.0.9.1" }), "management_gateway_address", ""},
		{"bad systemcontroller gateway", boot(func(b *dc.BootstrapValues) { b.SystemControllerGatewayAddress = "300.1.1.1" }), "systemcontroller_gateway_address", ""},
		{"systemcontroller gateway of the other family", boot(func(b *dc.BootstrapValues) { b.SystemControllerGatewayAddress = "fd00::1" }), "systemcontroller_gateway_address", ""},
		{"IPv6 start in IPv4 subnet", boot(func(b *dc.BootstrapValues) { b.ManagementStartAddress = "fd01:1::2" }), "management_start_address", ""},
		{"management subnet equal to another's", boot(func(b *dc.BootstrapValues) {
			b.ManagementSubnet, b.ManagementStartAddress, b.ManagementEndAddress, b.ManagementGatewayAddress = "10.0.0.0/24", "10.0.0.2", "10.0.0.9", "10.0.0.1"
		}), "management_subnet", "subcloud-0"},
		{"management subnet containing another's", boot(func(b *dc.BootstrapValues) {
			b.ManagementSubnet, b.ManagementStartAddress, b.ManagementEndAddress, b.ManagementGatewayAddress = "10.0.0.0/16", "10.0.7.2", "10.0.7.9", "10.0.7.1"
		}), "management_subnet", "subcloud-0"},
		{"management subnet inside another's", boot(func(b *dc.BootstrapValues) {
			b.ManagementSubnet, b.ManagementStartAddress, b.ManagementEndAddress, b.ManagementGatewayAddress = "10.0.0.128/25", "10.0.0.130", "10.0.0.139", "10.0.0.129"
		}), "management_subnet", "subcloud-0"},
		{"management subnet over another's OAM", boot(func(b *dc.BootstrapValues) {
			b.ManagementSubnet, b.ManagementStartAddress, b.ManagementEndAddress, b.ManagementGatewayAddress = "100.64.0.0/28", "100.64.0.2", "100.64.0.9", "100.64.0.1"
		}), "management_subnet", "subcloud-0"},
		{"OAM subnet over another's management", boot(func(b *dc.BootstrapValues) {
			b.ExternalOAMSubnet, b.ExternalOAMGatewayAddress, b.ExternalOAMFloatingAddress = "10.0.0.0/28", "10.0.0.1", "10.0.0.2"
		}), "external_oam_subnet", "subcloud-0"},
		{"OAM subnet over own management", boot(func(b *dc.BootstrapValues) {
			b.ExternalOAMSubnet, b.ExternalOAMGatewayAddress, b.ExternalOAMFloatingAddress = "10.0.1.0/28", "10.0.1.1", "10.0.1.2"
		}), "external_oam_subnet", ""},
		{"OAM gateway outside OAM subnet", boot(func(b *dc.BootstrapValues) { b.ExternalOAMGatewayAddress = "100.99.0.1" }), "external_oam_gateway_address", ""},
		{"OAM of the other family", boot(func(b *dc.BootstrapValues) {
			b.ExternalOAMSubnet, b.ExternalOAMGatewayAddress, b.ExternalOAMFloatingAddress = "fd09::/64", "fd09::1", "fd09::2"
		}), "external_oam_subnet", ""},
		{"IPv6 management overlapping the IPv6 subcloud", func(r *dc.AddRequest) {
			r.Bootstrap = dctest.Bootstrap6(1)
			r.Bootstrap.ManagementSubnet = "fd01::/16"
		}, "management_subnet", "subcloud6-0"},
		{"install values without BMC password", func(r *dc.AddRequest) { r.Install = dctest.Install("") }, "bmc_password", ""},
		{"install values with bad BMC address", func(r *dc.AddRequest) {
			r.Install = dctest.Install("pw")
			r.Install.BMCAddress = "bmc_1..example"
		}, "bmc_address", ""},
		{"install values with ftp image", func(r *dc.AddRequest) {
			r.Install = dctest.Install("pw")
			r.Install.Image = "ftp://images.example/boot.iso"
		}, "image", ""},
		{"install values with relative boot device", func(r *dc.AddRequest) {
			r.Install = dctest.Install("pw")
			r.Install.BootDevice = "sda"
		}, "boot_device", ""},
		{"install values without bootstrap interface", func(r *dc.AddRequest) {
			r.Install = dctest.Install("pw")
			r.Install.BootstrapInterface = ""
		}, "bootstrap_interface", ""},
		{"install values with bad VLAN", func(r *dc.AddRequest) {
			r.Install = dctest.Install("pw")
			r.Install.BootstrapVLAN = 4095
		}, "bootstrap_vlan", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := dctest.AddRequest(1)
			tc.edit(&req)
			_, err := m.AddSubcloud(ctx, req)
			var ve *dc.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, dc.ErrInvalid) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if ve.Field != tc.field || ve.Conflict != tc.conflict {
				t.Fatalf("ValidationError{Field %q, Conflict %q} (%v), want field %q conflict %q", ve.Field, ve.Conflict, err, tc.field, tc.conflict)
			}
		})
	}
	// The unedited request is valid: every rejection above came from its edit.
	for _, r := range []dc.AddRequest{dctest.AddRequest(1), func() dc.AddRequest {
		r := dctest.AddRequest(2)
		r.Bootstrap = dctest.Bootstrap6(2)
		r.Install = dctest.Install("pw")
		r.Install.BMCAddress = "bmc-2.example.net"
		return r
	}()} {
		if _, err := m.AddSubcloud(ctx, r); err != nil {
			t.Fatalf("valid request %s refused: %v", r.Bootstrap.Name, err)
		}
	}
}

func TestValidationErrorMessage(t *testing.T) {
	err := &dc.ValidationError{Field: "management_subnet", Reason: "overlaps the management subnet 10.1.0.0/24 of", Conflict: "edge-12"}
	if got, want := err.Error(), `management_subnet: overlaps the management subnet 10.1.0.0/24 of subcloud "edge-12"`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	se := &dc.StateError{State: dc.Complete, Op: dc.OpResume}
	if got, want := se.Error(), `cannot resume subcloud in deploy state "complete"`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

// TestTextFieldUpdates refuses bad free text in updates of subclouds and
// groups with a ValidationError naming the field, and writes nothing.
func TestTextFieldUpdates(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t, dc.Options{Sealer: sealer(t)})
	added, err := m.AddSubcloud(ctx, dctest.AddRequest(0))
	if err != nil {
		t.Fatal(err)
	}
	// Its deploy writes too: compare revisions once it has finished.
	s := dctest.WaitDeploy(t, m, added.Name, dc.Complete)
	g, err := m.CreateGroup(ctx, dc.GroupRequest{Name: "east", UpdateApplyType: dc.ApplyParallel, MaxParallelSubclouds: 2})
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct{ field, v string }{
		{"description", "a\x00b"},
		{"location", "a\rb"},
		{"description", strings.Repeat("d", dc.MaxTextLen+1)},
	}
	check := func(what, field string, err error) {
		t.Helper()
		var ve *dc.ValidationError
		if !errors.As(err, &ve) || ve.Field != field || !errors.Is(err, dc.ErrInvalid) {
			t.Errorf("%s: err = %v, want a ValidationError on %s", what, err, field)
		}
	}
	for _, b := range bad {
		v := b.v
		req := dc.UpdateRequest{Description: &v}
		if b.field == "location" {
			req = dc.UpdateRequest{Location: &v}
		}
		_, err := m.UpdateSubcloud(ctx, s.Name, req)
		check("UpdateSubcloud "+b.field, b.field, err)
		if b.field == "description" {
			_, err = m.UpdateGroup(ctx, g.Name, dc.GroupUpdate{Description: &v})
			check("UpdateGroup", "description", err)
			_, err = m.CreateGroup(ctx, dc.GroupRequest{Name: "west", Description: v, UpdateApplyType: dc.ApplySerial, MaxParallelSubclouds: 1})
			check("CreateGroup", "description", err)
		}
	}
	if after, err := m.Subcloud(ctx, s.Name); err != nil || after.Revision != s.Revision {
		t.Errorf("refused updates wrote: revision %d -> %d (%v)", s.Revision, after.Revision, err)
	}
	if after, err := m.Group(ctx, g.Name); err != nil || after.Revision != g.Revision {
		t.Errorf("refused group updates wrote: %v", err)
	}
	if _, err := m.Group(ctx, "west"); !errors.Is(err, dc.ErrNotFound) {
		t.Errorf("refused group was created: %v", err)
	}
}
