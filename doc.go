// Package atoll is a Go SDK for running a distributed edge cloud from one
// central System Controller: many autonomous subclouds, reached over routed
// L3 networks, installed with zero touch, configured, audited and updated
// from one place.
//
// Atoll is library-first. Each top-level directory is an importable package
// (or a folder of small packages) with a narrow, context-first API and
// pluggable backends; the reference daemons in examples/ compose them.
//
// # The tour
//
//   - dc: the subcloud model, its deploy-status state machine, validation of
//     bootstrap and install values, the Manager, the deploy pipeline (phases,
//     resume, abort, resume after restart), the availability audit, the
//     dcmanager-compatible REST API and its typed Go client. Backends:
//     dc/sqlstore (SQLite by default, PostgreSQL) and an in-memory store;
//     dc/dctest is the conformance suite every backend passes.
//   - redfish: BMC control over Redfish (power, boot override, virtual
//     media, inventory, tasks), vendor quirks in one table, the zero-touch
//     RemoteInstall flow, and a Redfish BMC emulator for tests and demos.
//   - pxe: network boot serving: DHCP (authoritative and proxy), DHCPv6
//     (stateful, with RFC 5970 boot URLs), TFTP, HTTP boot with iPXE
//     scripts, the image store, and OSTree repositories served to the
//     stock ostree client.
//   - sync, alarm, orchestrate, plugins: configuration sync, alarm
//     aggregation, rollout orchestration and vendor BMC plugins (next waves).
//   - examples: systemcontroller (the reference daemon: dc over SQLite, the
//     REST API, the audit, the pxe HTTP boot server and the Redfish install
//     phase), dcctl (the CLI that mirrors dcmanager), bmc-emulator (emulated
//     BMCs as a standalone program), and examples/internal: installer (the
//     adapter from redfish.RemoteInstall to dc.Phase, fed by the boot
//     server's host status callback) and fleetsim (the simulated fleet of
//     make demo).
//
// Packages never import each other's concrete types: each declares the small
// interface it consumes (dc.Phase, dc.HealthChecker, httpboot.StatusSink, ...) and the daemons
// in examples/ wire adapters between them with google/wire.
package atoll
