package dc_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/memstore"
)

// A Manager on the in-memory store adds a subcloud from its bootstrap
// values, then refuses a second one whose management subnet overlaps.
func ExampleNewManager() {
	ctx := context.Background()
	store := memstore.New()
	defer store.Close()
	m, err := dc.NewManager(store, dc.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	values, err := dc.ParseBootstrapValues([]byte(`
name: edge-1
system_mode: simplex
management_subnet: 192.168.101.0/24
management_start_address: 192.168.101.2
management_end_address: 192.168.101.50
management_gateway_address: 192.168.101.1
systemcontroller_gateway_address: 192.168.204.101
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := m.AddSubcloud(ctx, dc.AddRequest{Bootstrap: values, BootstrapAddress: netip.MustParseAddr("10.10.10.2")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.ID, s.Name, s.ManagementState, s.Availability, s.DeployStatus)

	overlapping := *values
	overlapping.Name = "edge-2"
	overlapping.ManagementSubnet = "192.168.100.0/23"
	_, err = m.AddSubcloud(ctx, dc.AddRequest{Bootstrap: &overlapping, BootstrapAddress: netip.MustParseAddr("10.10.10.3")})
	fmt.Println(err)
	// Output:
	// 1 edge-1 unmanaged offline creating
	// management_subnet: overlaps the management subnet 192.168.101.0/24 of subcloud "edge-1"
}

// Transition is the deploy lifecycle's one table.
func ExampleTransition() {
	next, err := dc.Transition(dc.BootstrapFailed, dc.OpResume)
	fmt.Println(next, err)
	_, err = dc.Transition(dc.Complete, dc.OpResume)
	fmt.Println(err)
	// Output:
	// pre-bootstrap <nil>
	// cannot resume subcloud in deploy state "complete"
}
