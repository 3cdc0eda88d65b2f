// Package redfishtest has test helpers for Redfish clients: a read-only
// server for the DMTF mockups, a running BMC emulator, and an image server
// for virtual media.
//
// # Mockups
//
// ServeMockup serves a DMTF mockup directory (an index.json per resource
// path, as published in Redfish-Publications) read-only over HTTP, with
// ETags, so inventory code can be tested against every public mockup:
//
//	srv := redfishtest.ServeMockup(t, "../../shared/testdata/redfish/public-rackmount1")
//	c, err := gofish.ConnectDefault(srv.URL)
//
// The only write it accepts is a login (POST to the Sessions collection),
// which always succeeds, so clients that insist on a session can connect.
//
// # Emulator
//
// NewEmulator starts an emulator.BMC of a given profile behind an
// httptest.Server, plain or TLS, and closes both when the test ends. Its
// Client trusts the server's certificate. NewFleet starts many, each on its
// own port.
//
// # Images
//
// ServeImage serves a deterministic image of any size without holding it in
// memory, and counts how often it was fetched, so tests can check that a
// BMC (or the emulator) really read the media.
package redfishtest
