package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/atoll-edge/atoll/dc"
)

// seedDemo adds a "demo" group and one sample subcloud per simulated server,
// demo-1..demo-N, those not present yet. Each carries install values that
// point at its server's emulated BMC and at the demo boot image, so its
// deploy goes through the real Redfish install (virtual media fetched from
// the boot server), the host's install-complete report, then the simulated
// bootstrap; the audit then finds its agent and marks it online.
func seedDemo(ctx context.Context, m *dc.Manager, fleet *demoFleet, log *slog.Logger) error {
	group := "demo"
	if _, err := m.Group(ctx, group); errors.Is(err, dc.ErrNotFound) {
		if _, err := m.CreateGroup(ctx, dc.GroupRequest{Name: group, Description: "sample subclouds of make demo", MaxParallelSubclouds: 2}); err != nil {
			return fmt.Errorf("demo group: %w", err)
		}
	} else if err != nil {
		return err
	}
	added := 0
	servers := fleet.Servers()
	for _, srv := range servers {
		i := srv.Index + 1
		name := fmt.Sprintf("demo-%d", i)
		fleet.Bind(name, srv.Index)
		if _, err := m.Subcloud(ctx, name); err == nil {
			continue
		} else if !errors.Is(err, dc.ErrNotFound) {
			return err
		}
		b, err := dc.ParseBootstrapValues(demoBootstrap(name, i))
		if err != nil {
			return err
		}
		_, o := demoNets(i)
		addr := netip.AddrFrom4([4]byte{o[0], o[1], o[2], 3})
		req := dc.AddRequest{
			Bootstrap:        b,
			BootstrapAddress: addr,
			Group:            group,
			Release:          "24.09",
			Install: &dc.InstallValues{
				BMCAddress: srv.BMCURL, BMCUsername: srv.Username, BMCPassword: srv.Password,
				BootstrapInterface: "eno1", BootstrapAddress: addr.String(),
				Image: fleet.imageURL, BootDevice: "/dev/sda", RootfsDevice: "/dev/sda",
			},
		}
		if i%2 == 0 {
			// Even ones carry a deploy config, so their deploy also runs
			// the config phase (pre-config → configuring → complete).
			req.DeployConfig = demoDeployConfig(name)
		}
		if _, err := m.AddSubcloud(ctx, req); err != nil {
			return fmt.Errorf("demo subcloud %s: %w", name, err)
		}
		log.Info("demo subcloud added", "subcloud", name, "bmc", srv.BMCURL, "bmc_profile", srv.Profile)
		added++
	}
	log.Info("demo subclouds ready", "added", added, "total", len(servers), "group", group, "image", fleet.imageURL)
	return nil
}

// demoNets gives demo subcloud i its own management and OAM /24s (room
// for 1,000 subclouds): 10.(100+i/256).(i%256).0/24 and 172.(16+i/256).(i%256).0/24.
func demoNets(i int) (mgmt, oam [3]byte) {
	return [3]byte{10, byte(100 + i/256), byte(i % 256)}, [3]byte{172, byte(16 + i/256), byte(i % 256)}
}

func demoBootstrap(name string, i int) []byte {
	m, o := demoNets(i)
	return fmt.Appendf(nil, `name: %s
description: Atoll demo subcloud %d
location: demo lab, rack %d
system_mode: simplex
management_subnet: %d.%d.%d.0/24
management_start_address: %d.%d.%d.10
management_end_address: %d.%d.%d.50
management_gateway_address: %d.%d.%d.1
systemcontroller_gateway_address: 192.168.204.101
external_oam_subnet: %d.%d.%d.0/24
external_oam_gateway_address: %d.%d.%d.1
external_oam_floating_address: %d.%d.%d.2
`, name, i, i, m[0], m[1], m[2], m[0], m[1], m[2], m[0], m[1], m[2], m[0], m[1], m[2],
		o[0], o[1], o[2], o[0], o[1], o[2], o[0], o[1], o[2])
}

func demoDeployConfig(name string) []byte {
	return fmt.Appendf(nil, `---
apiVersion: starlingx.windriver.com/v1
kind: System
metadata:
  name: %s
spec:
  description: Atoll demo subcloud
  contact: ops@example.com
`, name)
}
