package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/atoll-edge/atoll/dc"
)

// demoCount is how many sample subclouds --demo adds.
const demoCount = 5

// seedDemo adds a "demo" group and sample subclouds demo-1..demo-N, those not
// present yet, so that `make demo` has something to show. Their deploys run
// through the simulated phases; they stay offline until the fleet simulator
// is wired (the sim health checker reaches no one).
func seedDemo(ctx context.Context, m *dc.Manager, log *slog.Logger) error {
	group := "demo"
	if _, err := m.Group(ctx, group); errors.Is(err, dc.ErrNotFound) {
		if _, err := m.CreateGroup(ctx, dc.GroupRequest{Name: group, Description: "sample subclouds of make demo", MaxParallelSubclouds: 2}); err != nil {
			return fmt.Errorf("demo group: %w", err)
		}
	} else if err != nil {
		return err
	}
	added := 0
	for i := 1; i <= demoCount; i++ {
		name := fmt.Sprintf("demo-%d", i)
		if _, err := m.Subcloud(ctx, name); err == nil {
			continue
		} else if !errors.Is(err, dc.ErrNotFound) {
			return err
		}
		b, err := dc.ParseBootstrapValues(demoBootstrap(name, i))
		if err != nil {
			return err
		}
		req := dc.AddRequest{
			Bootstrap:        b,
			BootstrapAddress: netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}),
			Group:            group,
			Release:          "24.09",
		}
		if i%2 == 1 {
			// Odd ones go through the (simulated) remote install phase.
			req.Install = &dc.InstallValues{
				BMCAddress: fmt.Sprintf("192.0.2.%d", 100+i), BMCUsername: "root", BMCPassword: "demo-bmc-password",
				BootstrapInterface: "eno1", BootstrapAddress: req.BootstrapAddress.String(),
				Image: "http://192.0.2.1/iso/bootimage.iso", BootDevice: "/dev/sda", RootfsDevice: "/dev/sda",
			}
		}
		if _, err := m.AddSubcloud(ctx, req); err != nil {
			return fmt.Errorf("demo subcloud %s: %w", name, err)
		}
		added++
	}
	log.Info("demo subclouds ready; they stay offline until the fleet simulator exists", "added", added, "total", demoCount, "group", group)
	return nil
}

func demoBootstrap(name string, i int) []byte {
	return fmt.Appendf(nil, `name: %s
description: Atoll demo subcloud %d
location: demo lab, rack %d
system_mode: simplex
management_subnet: 192.168.%d.0/24
management_start_address: 192.168.%d.10
management_end_address: 192.168.%d.50
management_gateway_address: 192.168.%d.1
systemcontroller_gateway_address: 192.168.204.101
external_oam_subnet: 10.10.%d.0/24
external_oam_gateway_address: 10.10.%d.1
external_oam_floating_address: 10.10.%d.2
`, name, i, i, 100+i, 100+i, 100+i, 100+i, i, i, i)
}
