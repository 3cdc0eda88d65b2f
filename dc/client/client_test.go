package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/api"
	"github.com/atoll-edge/atoll/dc/client"
	"github.com/atoll-edge/atoll/dc/memstore"
)

func newServer(t *testing.T) (*client.Client, *dc.Manager, *httptest.Server) {
	t.Helper()
	m, err := dc.NewManager(memstore.New(), dc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(m, "tok", api.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); _ = m.Close() })
	c, err := client.New(srv.URL+"/", "tok", client.Options{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c, m, srv
}

// TestErrorsMapToDC checks that every kind of server error comes back as
// dc's vocabulary: sentinels through errors.Is, typed errors through
// errors.As, and the *APIError itself.
func TestErrorsMapToDC(t *testing.T) {
	c, m, srv := newServer(t)
	ctx := context.Background()
	if _, err := c.AddSubcloud(ctx, client.AddRequest{BootstrapAddress: "198.18.0.1", BootstrapValues: []byte(bootstrapValues)}); err != nil {
		t.Fatal(err)
	}
	// Duplicate name: ErrAlreadyExists and a ValidationError naming it.
	_, err := c.AddSubcloud(ctx, client.AddRequest{BootstrapAddress: "198.18.0.1",
		BootstrapValues: []byte(strings.ReplaceAll(bootstrapValues, "10.20.1.", "10.20.2."))})
	var ve *dc.ValidationError
	if !errors.Is(err, dc.ErrAlreadyExists) || !errors.As(err, &ve) || ve.Field != "name" || ve.Conflict != "edge-1" {
		t.Fatalf("duplicate: err = %v (%+v)", err, ve)
	}
	// State error: StateError with its state and operation.
	_, err = c.ResumeDeploy(ctx, "edge-1")
	var se *dc.StateError
	if !errors.Is(err, dc.ErrInvalidState) || !errors.As(err, &se) || se.State != dc.Complete || se.Op != dc.OpResume {
		t.Fatalf("resume complete: err = %v (%+v)", err, se)
	}
	if se.Error() != err.(*client.APIError).Message {
		t.Errorf("rebuilt StateError says %q, server said %q", se.Error(), err.(*client.APIError).Message)
	}
	// Group validation.
	_, err = c.CreateGroup(ctx, client.GroupRequest{Name: "g", MaxParallelSubclouds: 6000})
	if !errors.Is(err, dc.ErrInvalid) || !errors.As(err, &ve) || ve.Field != "max_parallel_subclouds" {
		t.Fatalf("group: %v", err)
	}
	// A wrong token is a 401 APIError matching no dc sentinel.
	bad, _ := client.New(srv.URL, "nope", client.Options{HTTPClient: srv.Client()})
	_, err = bad.Subclouds(ctx)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || errors.Is(err, dc.ErrNotFound) || errors.Is(err, dc.ErrInvalid) {
		t.Fatalf("wrong token: %v", err)
	}
	// Detail of a subcloud without OAM: the server says "unavailable".
	d, err := c.SubcloudDetail(ctx, "edge-1")
	if err != nil || d.OAMFloatingIP.IsValid() || d.RegionName != "edge-1" || d.DeployConfigSyncStatus == "" {
		t.Fatalf("SubcloudDetail = %+v, %v", d, err)
	}
	// Subclouds listed through the client equal the Manager's view.
	want, _ := m.Subclouds(ctx)
	got, err := c.Subclouds(ctx)
	if err != nil || len(got) != len(want) || got[0].Name != want[0].Name || !got[0].CreatedAt.Equal(want[0].CreatedAt) || got[0].ManagementSubnet != want[0].ManagementSubnet {
		t.Fatalf("Subclouds = %+v, %v; want %+v", got, err, want)
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x", "://", "127.0.0.1:8119"} {
		if _, err := client.New(u, "t", client.Options{}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}
