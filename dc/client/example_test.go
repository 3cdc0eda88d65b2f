package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/api"
	"github.com/atoll-edge/atoll/dc/client"
	"github.com/atoll-edge/atoll/dc/memstore"
)

const bootstrapValues = `name: edge-1
system_mode: simplex
management_subnet: 10.20.1.0/24
management_start_address: 10.20.1.10
management_end_address: 10.20.1.50
management_gateway_address: 10.20.1.1
systemcontroller_gateway_address: 192.168.204.101
`

// A client against the REST API served over an in-memory store: add a
// subcloud, read it back, and see dc's errors come back typed.
func Example() {
	ctx := context.Background()
	store := memstore.New()
	m, err := dc.NewManager(store, dc.Options{}) // no phases: deploys complete at once
	if err != nil {
		panic(err)
	}
	defer m.Close()
	h, err := api.New(m, "example-token", api.Options{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	c, err := client.New(srv.URL, "example-token", client.Options{HTTPClient: srv.Client()})
	if err != nil {
		panic(err)
	}
	s, err := c.AddSubcloud(ctx, client.AddRequest{
		BootstrapAddress: "198.18.0.1",
		BootstrapValues:  []byte(bootstrapValues),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.ID, s.Name, s.ManagementSubnet, s.ManagementState, s.Availability)

	// The same subnet again: a validation error naming the subcloud in the way.
	_, err = c.AddSubcloud(ctx, client.AddRequest{
		BootstrapAddress: "198.18.0.2",
		BootstrapValues:  []byte(bootstrapValues[:len("name: edge-")] + "2" + bootstrapValues[len("name: edge-1"):]),
	})
	var ve *dc.ValidationError
	if errors.As(err, &ve) {
		fmt.Println("invalid:", ve.Field, "conflicts with", ve.Conflict)
	}

	_, err = c.Subcloud(ctx, "edge-9")
	fmt.Println("not found:", errors.Is(err, dc.ErrNotFound))
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
	// Output:
	// 1 edge-1 10.20.1.0/24 unmanaged offline
	// invalid: management_subnet conflicts with edge-1
	// not found: true
	// 404 not_found
}
