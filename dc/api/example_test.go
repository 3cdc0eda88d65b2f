package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/api"
	"github.com/atoll-edge/atoll/dc/memstore"
)

// ExampleNew serves a Manager over dcmanager's v1.0 wire format and creates
// a subcloud group the way the dcmanager CLI does (max_parallel_subclouds
// as a string of digits), then shows what a request without the token gets.
func ExampleNew() {
	ctx := context.Background()
	m, err := dc.NewManager(memstore.New(), dc.Options{})
	if err != nil {
		panic(err)
	}
	if err := m.Start(ctx); err != nil {
		panic(err)
	}
	defer m.Close()
	h, err := api.New(m, "s3cret", api.Options{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1.0/subcloud-groups/",
		strings.NewReader(`{"name":"east","description":"east coast","update_apply_type":"serial","max_parallel_subclouds":"4"}`))
	req.Header.Set("X-Auth-Token", "s3cret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("create group:", resp.StatusCode)

	g, err := m.Group(ctx, "east")
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Name, g.UpdateApplyType, g.MaxParallelSubclouds)

	resp, err = http.Get(srv.URL + "/v1.0/subclouds")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("no token:", resp.StatusCode, strings.Contains(string(body), `"code"`))
	// Output:
	// create group: 200
	// east serial 4
	// no token: 401 true
}
