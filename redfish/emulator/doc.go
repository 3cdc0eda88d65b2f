// Package emulator is a Redfish BMC emulator: an http.Handler that behaves
// like the Redfish service of a server's baseboard management controller,
// for tests, demos and fleet-scale simulations of zero-touch installs.
//
// # Resources
//
// Each BMC serves a tree built from the DMTF public-rackmount1 mockup
// (embedded), renamed for its profile: the ServiceRoot, SessionService and
// Sessions, one ComputerSystem (PowerState, Boot override with allowable
// values, ComputerSystem.Reset, EthernetInterfaces with MAC addresses), one
// Manager (firmware version, Manager.Reset), one Chassis, a VirtualMedia
// collection with a CD/DVD slot and a USB/floppy slot (InsertMedia,
// EjectMedia, PATCH), UpdateService.FirmwareInventory, AccountService with
// the configured account and the predefined roles, and TaskService with
// Tasks and task monitors. Links to anything else are pruned, so a client
// walking the tree never meets a dangling reference.
//
// # Protocol
//
// Every response carries OData-Version; GETs carry ETag, Allow and a Link
// to the JSON schema (rel=describedby), and honour If-None-Match; PATCH
// honours If-Match (412 on mismatch); wrong methods get 405 with Allow; a
// login is 201 with Location and X-Auth-Token; $ query parameters get 501;
// errors are Redfish error bodies with @Message.ExtendedInfo from the Base
// registry and the usual status codes (400, 401, 404, 405, 409, 412, 501,
// 503). Authentication is Basic (with a WWW-Authenticate challenge on 401)
// or X-Auth-Token; ProfileOpenBMC accepts sessions only, a deliberate
// departure from the specification that some BMCs make. DMTF's
// Redfish-Protocol-Validator 1.2.9 reports no failure on the other
// profiles.
//
// # Virtual media and boot
//
// Inserting media really GETs the image URL: the body is streamed, its
// length checked against Content-Length (and its SHA-256 computed with
// Options.MediaDigest); an unreachable or refused image fails the insert
// with a Redfish error. Only loopback and private addresses may be fetched
// unless Options.AllowedMediaNets says otherwise, checked both before the
// request and when dialling. When the emulated host boots (On, restarts,
// power cycles), Options.OnBoot receives a BootEvent naming the image it
// booted from, if any; a Once override is consumed.
//
// # Profiles
//
// A Profile selects ids, strings and quirks from one table:
//
//	profile     system / manager, media
//	              quirks
//	generic     1 / 1, Managers/1/VirtualMedia (CD1, Floppy1)
//	              409 on insert into a full slot; 202 + task for images of 1 GiB or more
//	dell        System.Embedded.1 / iDRAC.Embedded.1, under the manager (CD, RemovableDisk)
//	              eject before insert (400 VRM0012); a slot settles 500 ms (503 meanwhile); 409 for On while on
//	hpe         1 / 1, under the manager (2 = CD, 1 = USB)
//	              Boot PATCH needs Target and Enabled together; weak ETags; 400 on a full slot
//	supermicro  1 / 1, under the manager (CD1, USB1)
//	              InsertMedia always 202 + task; in UEFI mode the virtual CD boots only as UsbCd
//	lenovo      1 / 1, under the manager (EXT1, EXT2)
//	              no media actions: insert and eject by PATCH; an insert replaces the image
//	openbmc     system / bmc, under the system (Slot_0, Slot_1)
//	              sessions only (no Basic auth)
//
// Clients can pick quirks by the ComputerSystem's Manufacturer, which the
// profile sets (Dell Inc., HPE, Supermicro, Lenovo, OpenBMC, Contoso).
//
// # Faults
//
// Faults, per BMC and adjustable at run time, inject latency, bursts of
// 5xx answers, dropped connections, tasks that never complete, 401 for
// everything, and requests that hang until the client gives up.
//
// # Serving
//
// A BMC is an http.Handler; Serve runs it on a caller-owned listener
// (with TLS when Options.TLS is set, see SelfSignedTLS). StartFleet starts
// many BMCs, each on its own 127.0.0.1 port. Options.Registerer receives
// request counts by method and status code. The redfishtest package wraps
// all this for tests.
package emulator
