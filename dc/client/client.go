package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/atoll-edge/atoll/dc"
)

// Options configure a Client. The zero value uses http.DefaultClient.
type Options struct {
	// HTTPClient sends the requests. Nil means http.DefaultClient.
	HTTPClient *http.Client
	// UserAgent is sent with every request ("atoll-dc-client" if empty).
	UserAgent string
}

// Client talks to one System Controller. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	ua    string
}

// New returns a client of the API at baseURL (such as
// "http://127.0.0.1:8119"; the /v1.0 prefix is added) authenticating with
// token.
func New(baseURL, token string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("client: base URL %q: scheme must be http or https", baseURL)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "atoll-dc-client"
	}
	return &Client{base: u, token: token, http: opts.HTTPClient, ua: opts.UserAgent}, nil
}

// APIError is an error response of the API.
type APIError struct {
	Status  int    // HTTP status
	Code    string // stable code, such as "not_found"
	Message string // human message naming the field or object
	// Field, Conflict, State, Operation and Kind detail validation and
	// state errors, as the server reported them.
	Field, Conflict, State, Operation, Kind string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d %s)", e.Message, e.Status, e.Code)
}

// Is matches the dc sentinel that the error's code stands for, so that
// errors.Is(err, dc.ErrNotFound) works on client errors.
func (e *APIError) Is(target error) bool {
	switch e.Code {
	case "not_found":
		return target == dc.ErrNotFound
	case "already_exists":
		return target == dc.ErrAlreadyExists || (e.Field != "" && target == dc.ErrInvalid)
	case "conflict":
		return target == dc.ErrConflict
	case "invalid_value", "invalid_json", "unknown_field", "bad_request":
		return target == dc.ErrInvalid
	case "invalid_state":
		return target == dc.ErrInvalidState
	case "unavailable":
		return target == dc.ErrClosed
	}
	return false
}

// Unwrap returns the dc error the response describes (a *dc.ValidationError
// or a *dc.StateError), nil for others.
func (e *APIError) Unwrap() error {
	switch {
	case e.Code == "invalid_state":
		return &dc.StateError{State: dc.DeployStatus(e.State), Op: dc.Operation(e.Operation), Kind: e.Kind}
	case e.Field != "" && (e.Code == "invalid_value" || e.Code == "already_exists" || e.Code == "invalid_json" || e.Code == "unknown_field"):
		reason := e.Message
		if r, ok := strings.CutPrefix(reason, e.Field+": "); ok {
			reason = r
		}
		if e.Conflict != "" {
			reason = strings.TrimSuffix(reason, " subcloud "+strconv.Quote(e.Conflict))
		}
		return &dc.ValidationError{Field: e.Field, Reason: reason, Conflict: e.Conflict}
	}
	return nil
}

type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field"`
	Conflict  string `json:"conflict"`
	State     string `json:"state"`
	Operation string `json:"operation"`
	Kind      string `json:"kind"`
}

// do sends one request and decodes a 200 body into out (if non-nil).
func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	u := *c.base
	u.Path = u.Path + "/v1.0" + path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("client: %s %s: decoding response: %w", method, path, err)
	}
	return nil
}

func decodeError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb errorBody
	if err := json.Unmarshal(data, &eb); err != nil || eb.Code == "" {
		msg := strings.TrimSpace(string(data))
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return &APIError{Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: msg}
	}
	return &APIError{Status: resp.StatusCode, Code: eb.Code, Message: eb.Message, Field: eb.Field,
		Conflict: eb.Conflict, State: eb.State, Operation: eb.Operation, Kind: eb.Kind}
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.do(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, method, path, "application/json", bytes.NewReader(b), out)
}

func esc(r string) string { return url.PathEscape(r) }

// Subcloud is a subcloud as the API returns it: dc's type plus the keys
// computed by the server.
type Subcloud struct {
	dc.Subcloud
	// SyncStatus is the aggregate sync status ("sync_status").
	SyncStatus dc.SyncStatus `json:"sync_status"`
	// RegionName is the subcloud's region ("region-name").
	RegionName string `json:"region-name"`
	// DeployConfigSyncStatus is set by SubcloudDetail only.
	DeployConfigSyncStatus string `json:"deploy_config_sync_status"`
}

// noErrors is the server's spelling of an empty error-description.
const noErrors = "No errors present"

func (s *Subcloud) fix() {
	if s.ErrorDescription == noErrors {
		s.ErrorDescription = ""
	}
}

func dcSubclouds(in []*Subcloud) []*dc.Subcloud {
	out := make([]*dc.Subcloud, len(in))
	for i, s := range in {
		s.fix()
		out[i] = &s.Subcloud
	}
	return out
}

func (c *Client) subcloud(ctx context.Context, method, path, contentType string, body io.Reader) (*dc.Subcloud, error) {
	var s Subcloud
	if err := c.do(ctx, method, path, contentType, body, &s); err != nil {
		return nil, err
	}
	s.fix()
	return &s.Subcloud, nil
}

// Subclouds lists every subcloud, ordered by id.
func (c *Client) Subclouds(ctx context.Context) ([]*dc.Subcloud, error) {
	var out struct {
		Subclouds []*Subcloud `json:"subclouds"`
	}
	if err := c.do(ctx, http.MethodGet, "/subclouds", "", nil, &out); err != nil {
		return nil, err
	}
	return dcSubclouds(out.Subclouds), nil
}

// Subcloud returns the subcloud named ref (an id if all digits).
func (c *Client) Subcloud(ctx context.Context, sc string) (*dc.Subcloud, error) {
	return c.subcloud(ctx, http.MethodGet, "/subclouds/"+esc(sc), "", nil)
}

// SubcloudDetail returns the subcloud with the detail keys (oam_floating_ip,
// deploy_config_sync_status, region_name).
func (c *Client) SubcloudDetail(ctx context.Context, sc string) (*Subcloud, error) {
	// oam_floating_ip is "unavailable" when there is none (as dcmanager
	// says it): decode it as text, shadowing the embedded netip.Addr.
	var d struct {
		Subcloud
		OAMFloatingIP string `json:"oam_floating_ip"`
	}
	if err := c.do(ctx, http.MethodGet, "/subclouds/"+esc(sc)+"/detail", "", nil, &d); err != nil {
		return nil, err
	}
	if a, err := netip.ParseAddr(d.OAMFloatingIP); err == nil {
		d.Subcloud.OAMFloatingIP = a
	}
	d.fix()
	return &d.Subcloud, nil
}

// AddRequest is what POST /v1.0/subclouds takes. Files are sent as they
// are (YAML); passwords are sent base64-encoded, as dcmanager sends them.
type AddRequest struct {
	BootstrapAddress string
	BootstrapValues  []byte // required: the bootstrap values YAML
	InstallValues    []byte // optional: install values YAML
	DeployConfig     []byte // optional: deploy config YAML
	SysadminPassword string
	BMCPassword      string
	Group            string // name or id
	Release          string
	Description      string
	Location         string
}

// AddSubcloud adds a subcloud (multipart/form-data, as the dcmanager CLI
// sends it). The deploy runs in the background: follow it with Subcloud.
func (c *Client) AddSubcloud(ctx context.Context, req AddRequest) (*dc.Subcloud, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields := [][2]string{
		{"bootstrap-address", req.BootstrapAddress},
		{"group_id", req.Group},
		{"release", req.Release},
		{"description", req.Description},
		{"location", req.Location},
	}
	if req.SysadminPassword != "" {
		fields = append(fields, [2]string{"sysadmin_password", base64.StdEncoding.EncodeToString([]byte(req.SysadminPassword))})
	}
	if req.BMCPassword != "" {
		fields = append(fields, [2]string{"bmc_password", base64.StdEncoding.EncodeToString([]byte(req.BMCPassword))})
	}
	for _, f := range fields {
		if f[1] == "" {
			continue
		}
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"bootstrap_values", req.BootstrapValues}, {"install_values", req.InstallValues}, {"deploy_config", req.DeployConfig}} {
		if f.data == nil {
			continue
		}
		w, err := mw.CreateFormFile(f.name, f.name+".yaml")
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return c.subcloud(ctx, http.MethodPost, "/subclouds", mw.FormDataContentType(), &buf)
}

// UpdateRequest is what PATCH /v1.0/subclouds/{ref} takes; nil fields are
// left alone.
type UpdateRequest struct {
	ManagementState *dc.ManagementState
	Force           bool
	Description     *string
	Location        *string
	Name            *string
	Group           *string // name or id
	InstallValues   []byte  // install values YAML; sent as multipart
	BMCPassword     string
}

// UpdateSubcloud changes a subcloud.
func (c *Client) UpdateSubcloud(ctx context.Context, sc string, req UpdateRequest) (*dc.Subcloud, error) {
	path := "/subclouds/" + esc(sc)
	if req.InstallValues != nil {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		set := func(k string, v *string) {
			if v != nil {
				_ = mw.WriteField(k, *v)
			}
		}
		if req.ManagementState != nil {
			ms := string(*req.ManagementState)
			set("management-state", &ms)
		}
		if req.Force {
			t := "true"
			set("force", &t)
		}
		set("description", req.Description)
		set("location", req.Location)
		set("name", req.Name)
		set("group_id", req.Group)
		if req.BMCPassword != "" {
			pw := base64.StdEncoding.EncodeToString([]byte(req.BMCPassword))
			set("bmc_password", &pw)
		}
		w, err := mw.CreateFormFile("install_values", "install_values.yaml")
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(req.InstallValues); err != nil {
			return nil, err
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
		return c.subcloud(ctx, http.MethodPatch, path, mw.FormDataContentType(), &buf)
	}
	body := map[string]any{}
	if req.ManagementState != nil {
		body["management-state"] = *req.ManagementState
	}
	if req.Force {
		body["force"] = true
	}
	for k, v := range map[string]*string{"description": req.Description, "location": req.Location, "name": req.Name, "group_id": req.Group} {
		if v != nil {
			body[k] = *v
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return c.subcloud(ctx, http.MethodPatch, path, "application/json", bytes.NewReader(b))
}

// Manage sets the subcloud managed; force skips the deploy and
// availability checks.
func (c *Client) Manage(ctx context.Context, sc string, force bool) (*dc.Subcloud, error) {
	ms := dc.Managed
	return c.UpdateSubcloud(ctx, sc, UpdateRequest{ManagementState: &ms, Force: force})
}

// Unmanage sets the subcloud unmanaged.
func (c *Client) Unmanage(ctx context.Context, sc string) (*dc.Subcloud, error) {
	ms := dc.Unmanaged
	return c.UpdateSubcloud(ctx, sc, UpdateRequest{ManagementState: &ms})
}

// DeleteSubcloud deletes a subcloud and returns it as it was.
func (c *Client) DeleteSubcloud(ctx context.Context, sc string) (*dc.Subcloud, error) {
	return c.subcloud(ctx, http.MethodDelete, "/subclouds/"+esc(sc), "", nil)
}

// ResumeDeploy resumes a failed or aborted deploy from its phase.
func (c *Client) ResumeDeploy(ctx context.Context, sc string) (*dc.Subcloud, error) {
	return c.subcloud(ctx, http.MethodPatch, "/phased-subcloud-deploy/"+esc(sc)+"/resume", "application/json", strings.NewReader("{}"))
}

// ResumeRequest is what a resume may replace, as the dcmanager CLI sends
// it: passwords in plaintext here (sent base64-encoded), install values
// as YAML.
type ResumeRequest struct {
	SysadminPassword string
	InstallValues    []byte // optional: install values YAML
	BMCPassword      string // with InstallValues
}

// ResumeDeployWith resumes a failed or aborted deploy, replacing the
// sysadmin password and install values in the same request (multipart,
// as the dcmanager CLI sends it).
func (c *Client) ResumeDeployWith(ctx context.Context, sc string, req ResumeRequest) (*dc.Subcloud, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"sysadmin_password": req.SysadminPassword, "bmc_password": req.BMCPassword} {
		if v == "" {
			continue
		}
		if err := mw.WriteField(k, base64.StdEncoding.EncodeToString([]byte(v))); err != nil {
			return nil, err
		}
	}
	if req.InstallValues != nil {
		w, err := mw.CreateFormFile("install_values", "install_values.yaml")
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(req.InstallValues); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return c.subcloud(ctx, http.MethodPatch, "/phased-subcloud-deploy/"+esc(sc)+"/resume", mw.FormDataContentType(), &buf)
}

// AbortDeploy aborts the deploy phase in flight.
func (c *Client) AbortDeploy(ctx context.Context, sc string) (*dc.Subcloud, error) {
	return c.subcloud(ctx, http.MethodPatch, "/phased-subcloud-deploy/"+esc(sc)+"/abort", "", nil)
}

// DeployLog returns the subcloud's deploy log, oldest first.
func (c *Client) DeployLog(ctx context.Context, sc string) ([]dc.LogEntry, error) {
	var out struct {
		Log []dc.LogEntry `json:"deploy_log"`
	}
	if err := c.do(ctx, http.MethodGet, "/subclouds/"+esc(sc)+"/deploy-log", "", nil, &out); err != nil {
		return nil, err
	}
	return out.Log, nil
}

// GroupRequest creates a subcloud group. Zero fields take the server's
// defaults.
type GroupRequest struct {
	Name                 string       `json:"name"`
	Description          string       `json:"description,omitempty"`
	UpdateApplyType      dc.ApplyType `json:"update_apply_type,omitempty"`
	MaxParallelSubclouds int          `json:"max_parallel_subclouds,omitempty"`
}

// GroupUpdate changes a subcloud group; nil fields are left alone.
type GroupUpdate struct {
	Name                 *string       `json:"name,omitempty"`
	Description          *string       `json:"description,omitempty"`
	UpdateApplyType      *dc.ApplyType `json:"update_apply_type,omitempty"`
	MaxParallelSubclouds *int          `json:"max_parallel_subclouds,omitempty"`
}

// CreateGroup creates a subcloud group.
func (c *Client) CreateGroup(ctx context.Context, req GroupRequest) (*dc.Group, error) {
	var g dc.Group
	if err := c.doJSON(ctx, http.MethodPost, "/subcloud-groups", req, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// Groups lists the subcloud groups, Default first.
func (c *Client) Groups(ctx context.Context) ([]*dc.Group, error) {
	var out struct {
		Groups []*dc.Group `json:"subcloud_groups"`
	}
	if err := c.do(ctx, http.MethodGet, "/subcloud-groups", "", nil, &out); err != nil {
		return nil, err
	}
	return out.Groups, nil
}

// Group returns the group named ref (an id if all digits).
func (c *Client) Group(ctx context.Context, sc string) (*dc.Group, error) {
	var g dc.Group
	if err := c.do(ctx, http.MethodGet, "/subcloud-groups/"+esc(sc), "", nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// UpdateGroup changes a subcloud group.
func (c *Client) UpdateGroup(ctx context.Context, sc string, req GroupUpdate) (*dc.Group, error) {
	var g dc.Group
	if err := c.doJSON(ctx, http.MethodPatch, "/subcloud-groups/"+esc(sc), req, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// DeleteGroup deletes a subcloud group and returns it as it was.
func (c *Client) DeleteGroup(ctx context.Context, sc string) (*dc.Group, error) {
	var g dc.Group
	if err := c.do(ctx, http.MethodDelete, "/subcloud-groups/"+esc(sc), "", nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// GroupSubclouds lists the subclouds of a group.
func (c *Client) GroupSubclouds(ctx context.Context, sc string) ([]*dc.Subcloud, error) {
	var out struct {
		Subclouds []*Subcloud `json:"subclouds"`
	}
	if err := c.do(ctx, http.MethodGet, "/subcloud-groups/"+esc(sc)+"/subclouds", "", nil, &out); err != nil {
		return nil, err
	}
	return dcSubclouds(out.Subclouds), nil
}
