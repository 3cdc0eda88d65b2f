package sqlstore_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/sqlstore"
)

// The System Controller's embedded store: a Manager on SQLite adds a
// subcloud; after a restart the subcloud is still there.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "atoll-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "dc.db")

	store, err := sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := dc.NewManager(store, dc.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = m.AddSubcloud(ctx, dc.AddRequest{
		Bootstrap: &dc.BootstrapValues{
			Name:                           "edge-1",
			ManagementSubnet:               "fd01:1::/64",
			ManagementStartAddress:         "fd01:1::2",
			ManagementEndAddress:           "fd01:1::ff",
			ManagementGatewayAddress:       "fd01:1::1",
			SystemControllerGatewayAddress: "fd00::1",
		},
		BootstrapAddress: netip.MustParseAddr("fd02::2"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Close()
	store.Close()

	// Restart.
	store, err = sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	m, err = dc.NewManager(store, dc.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	if err := m.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	s, err := m.Subcloud(ctx, "edge-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	groups, _ := m.Groups(ctx)
	fmt.Println(s.ID, s.Name, s.ManagementSubnet, groups[0].Name)
	// Output:
	// 1 edge-1 fd01:1::/64 Default
}
