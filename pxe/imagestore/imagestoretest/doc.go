// Package imagestoretest is the conformance suite of [imagestore.Store]
// implementations.
//
// # Sections
//
// # Use
//
// An implementation opts in with a [HarnessMaker] and one call:
//
//	func TestConformance(t *testing.T) {
//		imagestoretest.RunStoreTests(t, func(ctx context.Context, t *testing.T) (imagestoretest.Harness, error) {
//			return newMyHarness(t.TempDir())
//		})
//	}
//
// Every subtest gets a fresh, empty store. The suite drives the store
// through the [imagestore.Store] interface and the harness (which knows how
// to register content, damage it behind the store's back and reopen the
// same data), checking what callers see: lookups, reads, verification,
// sentinel errors and durability across a reopen.
package imagestoretest
