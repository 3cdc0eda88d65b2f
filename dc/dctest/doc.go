// Package dctest is the conformance suite every dc.Store backend passes,
// with the fixtures and fakes that dc's own tests and the backends' tests
// share.
//
// # Sections
//
// Suite. RunStoreTests runs the conformance cases against a backend, each
// on a fresh store from the backend's HarnessMaker: CRUD, the error
// vocabulary (errors.Is with dc.ErrNotFound, dc.ErrAlreadyExists,
// dc.ErrConflict), copies on read and write, concurrent compare-and-swap,
// groups, the deploy log, durability across close and reopen, the Manager's
// lifecycle and its resume after a restart, sealed secrets, and a
// model-based case comparing random operation sequences with memstore.
//
// Benchmarks. RunStoreBenchmarks measures the same operations on any
// backend.
//
// Fixtures. Bootstrap, Bootstrap6, AddRequest and Install build valid
// requests for subcloud number i with non-overlapping networks.
//
// Fakes. FakeClock (a dc.TimerClock moved by Advance), Phase and Gate (a
// programmable deploy phase), Events (a recording dc.Publisher) and
// WaitDeploy.
package dctest
