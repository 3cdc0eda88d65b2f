package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"

	"github.com/atoll-edge/atoll/dc"
)

// Parts of POST /v1.0/subclouds, as the dcmanager CLI sends them.
func addParts() map[string]partKind {
	return map[string]partKind{
		"bootstrap_values":  filePart,
		"install_values":    filePart,
		"deploy_config":     filePart,
		"bootstrap-address": fieldPart,
		"sysadmin_password": fieldPart,
		"bmc_password":      fieldPart,
		"group_id":          fieldPart,
		"release":           fieldPart,
		"description":       fieldPart,
		"location":          fieldPart,
		// Sent by `dcmanager subcloud add --migrate [--name N]`; refused
		// with a clear message (Atoll does not migrate subclouds).
		"migrate": fieldPart,
		"name":    fieldPart,
	}
}

// addJSON is the JSON form of POST /v1.0/subclouds. Value files are a YAML
// document in a string, or a JSON object.
type addJSON struct {
	BootstrapAddress string          `json:"bootstrap-address"`
	BootstrapValues  json.RawMessage `json:"bootstrap_values"`
	InstallValues    json.RawMessage `json:"install_values"`
	DeployConfig     json.RawMessage `json:"deploy_config"`
	SysadminPassword string          `json:"sysadmin_password"`
	BMCPassword      string          `json:"bmc_password"`
	GroupID          flexString      `json:"group_id"`
	Release          string          `json:"release"`
	Description      string          `json:"description"`
	Location         string          `json:"location"`
}

// Parts of PATCH /v1.0/subclouds/{ref}.
func updateParts() map[string]partKind {
	return map[string]partKind{
		"management-state": fieldPart,
		"force":            fieldPart,
		"description":      fieldPart,
		"location":         fieldPart,
		"group_id":         fieldPart,
		"name":             fieldPart,
		"install_values":   filePart,
		"bmc_password":     fieldPart,
		"migrate":          fieldPart, // `dcmanager subcloud unmanage --migrate`: refused
	}
}

type updateJSON struct {
	ManagementState *string         `json:"management-state"`
	Force           *flexBool       `json:"force"`
	Description     *string         `json:"description"`
	Location        *string         `json:"location"`
	GroupID         flexString      `json:"group_id"`
	Name            *string         `json:"name"`
	InstallValues   json.RawMessage `json:"install_values"`
	BMCPassword     *string         `json:"bmc_password"`
}

// Parts of PATCH /v1.0/phased-subcloud-deploy/{ref}/resume that Atoll takes:
// the dcmanager CLI always sends sysadmin_password; new install values may
// come with the resume.
func resumeParts() map[string]partKind {
	return map[string]partKind{
		"sysadmin_password": fieldPart,
		"install_values":    filePart,
		"bmc_password":      fieldPart,
	}
}

type resumeJSON struct {
	SysadminPassword string          `json:"sysadmin_password"`
	InstallValues    json.RawMessage `json:"install_values"`
	BMCPassword      string          `json:"bmc_password"`
}

// readForm decodes a write request into a form: multipart parts by name, or
// the JSON body into jsonBody, then into the form through toForm. An empty
// body gives an empty form when emptyOK.
func readForm(r *http.Request, parts map[string]partKind, jsonBody any, toForm func() (*form, error), emptyOK bool) (*form, error) {
	mt, params, err := mediaType(r)
	if err != nil {
		return nil, err
	}
	switch mt {
	case mediaMultipart:
		return readMultipart(r, params, parts)
	case mediaJSON:
		if emptyOK && r.ContentLength == 0 {
			return &form{fields: map[string]string{}, files: map[string][]byte{}}, nil
		}
		if err := decodeJSON(r.Body, jsonBody); err != nil {
			return nil, err
		}
		return toForm()
	case "":
		if emptyOK {
			var one [1]byte
			if n, _ := r.Body.Read(one[:]); n == 0 {
				return &form{fields: map[string]string{}, files: map[string][]byte{}}, nil
			}
		}
		return nil, &requestError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia,
			msg: "missing Content-Type: send " + mediaJSON + " or " + mediaMultipart}
	default:
		return nil, unsupportedMedia(mt)
	}
}

// rawFile turns a JSON value standing for a file into the file's bytes: a
// string is the document itself, an object is JSON (which YAML reads).
func rawFile(field string, raw json.RawMessage) ([]byte, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, badRequest(CodeInvalidJSON, field, "%s: %v", field, err)
		}
		return []byte(s), true, nil
	case '{':
		return raw, true, nil
	}
	return nil, false, badRequest(CodeInvalidJSON, field, "%s: must be a YAML document in a string or an object", field)
}

func newForm() *form { return &form{fields: map[string]string{}, files: map[string][]byte{}} }

func (f *form) setFile(field string, raw json.RawMessage) error {
	b, ok, err := rawFile(field, raw)
	if ok {
		f.files[field] = b
	}
	return err
}

func (f *form) setField(field, v string) {
	if v != "" {
		f.fields[field] = v
	}
}

// addRequest turns the parts of an add into a dc.AddRequest.
func addRequest(f *form) (dc.AddRequest, error) {
	var req dc.AddRequest
	if err := noMigrate(f); err != nil {
		return req, err
	}
	if _, ok := f.fields["name"]; ok {
		return req, badRequest(CodeInvalidValue, "name", "name: only valid with migrate; the name comes from bootstrap_values")
	}
	bv, ok := f.files["bootstrap_values"]
	if !ok {
		return req, badRequest(CodeInvalidValue, "bootstrap_values", "bootstrap_values: required")
	}
	b, err := dc.ParseBootstrapValues(bv)
	if err != nil {
		return req, err
	}
	req.Bootstrap = b
	addr, ok := f.fields["bootstrap-address"]
	if !ok {
		return req, badRequest(CodeInvalidValue, "bootstrap-address", "bootstrap-address: required")
	}
	if req.BootstrapAddress, err = netip.ParseAddr(strings.TrimSpace(addr)); err != nil {
		return req, badRequest(CodeInvalidValue, "bootstrap-address", "bootstrap-address: %q is not an IP address", addr)
	}
	if v, ok := f.fields["sysadmin_password"]; ok {
		if req.SysadminPassword, err = decodeBase64("sysadmin_password", v); err != nil {
			return req, err
		}
	}
	if req.Install, err = installValues(f); err != nil {
		return req, err
	}
	// The Manager validates the deploy config (YAML mappings, size) and
	// refuses it without a config phase; its errors name deploy_config.
	req.DeployConfig = f.files["deploy_config"]
	req.Group = strings.TrimSpace(f.fields["group_id"])
	req.Release = f.fields["release"]
	req.Description = f.fields["description"]
	req.Location = f.fields["location"]
	return req, nil
}

// installValues parses the install_values file, with the BMC password from
// the base64 bmc_password field when given. Nil when there is no file.
func installValues(f *form) (*dc.InstallValues, error) {
	var pw string
	if v, ok := f.fields["bmc_password"]; ok {
		p, err := decodeBase64("bmc_password", v)
		if err != nil {
			return nil, err
		}
		pw = p
	}
	iv, ok := f.files["install_values"]
	if !ok {
		if pw != "" {
			return nil, badRequest(CodeInvalidValue, "bmc_password", "bmc_password: given without install_values")
		}
		return nil, nil
	}
	in, err := dc.ParseInstallValues(iv)
	if err != nil {
		return nil, err
	}
	if pw != "" {
		in.BMCPassword = pw
	}
	return in, nil
}

func (h *Handler) addSubcloud(w http.ResponseWriter, r *http.Request) error {
	var body addJSON
	f, err := readForm(r, addParts(), &body, func() (*form, error) {
		f := newForm()
		for _, p := range []struct {
			name string
			raw  json.RawMessage
		}{{"bootstrap_values", body.BootstrapValues}, {"install_values", body.InstallValues}, {"deploy_config", body.DeployConfig}} {
			if err := f.setFile(p.name, p.raw); err != nil {
				return nil, err
			}
		}
		f.setField("bootstrap-address", body.BootstrapAddress)
		f.setField("sysadmin_password", body.SysadminPassword)
		f.setField("bmc_password", body.BMCPassword)
		if body.GroupID.Set {
			f.setField("group_id", body.GroupID.Value)
		}
		f.setField("release", body.Release)
		f.setField("description", body.Description)
		f.setField("location", body.Location)
		return f, nil
	}, false)
	if err != nil {
		return err
	}
	req, err := addRequest(f)
	if err != nil {
		return err
	}
	if req.Bootstrap != nil {
		noteRef(r.Context(), req.Bootstrap.Name)
	}
	s, err := h.svc.AddSubcloud(r.Context(), req)
	if err != nil {
		return err
	}
	return h.writeSubcloud(w, s, false)
}

func (h *Handler) writeSubcloud(w http.ResponseWriter, s *dc.Subcloud, detail bool) error {
	b := h.getBuf()
	defer h.putBuf(b)
	*b = appendSubcloud(*b, s, detail)
	*b = append(*b, '\n')
	return h.writeBody(w, *b)
}

func (h *Handler) getSubcloud(w http.ResponseWriter, r *http.Request) error {
	s, err := h.svc.Subcloud(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	noteRef(r.Context(), s.Name)
	return h.writeSubcloud(w, s, false)
}

func (h *Handler) getSubcloudDetail(w http.ResponseWriter, r *http.Request) error {
	s, err := h.svc.Subcloud(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	noteRef(r.Context(), s.Name)
	return h.writeSubcloud(w, s, true)
}

// streamChunk is how much of a list is buffered before it is written out.
const streamChunk = 128 << 10

// writeSubclouds streams {"<key>": [...]} in chunks. A full list (all
// true) also prunes the encode cache of deleted subclouds.
func (h *Handler) writeSubclouds(w http.ResponseWriter, key string, list []*dc.Subcloud, all bool) error {
	b := h.getBuf()
	defer h.putBuf(b)
	var gen uint64
	if all {
		gen = h.enc.begin()
		defer h.enc.end(gen)
	}
	w.Header().Set("Content-Type", mediaJSON)
	buf := append(*b, '{', '"')
	buf = append(buf, key...)
	buf = append(buf, '"', ':', '[')
	streaming := false
	for i, s := range list {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = h.enc.appendSubcloud(buf, s, gen)
		if len(buf) >= streamChunk {
			if !streaming {
				w.WriteHeader(http.StatusOK)
				streaming = true
			}
			if _, err := w.Write(buf); err != nil {
				*b = buf
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, ']', '}', '\n')
	*b = buf
	if !streaming {
		// Small lists go out in one piece, with a Content-Length.
		return h.writeBody(w, buf)
	}
	_, err := w.Write(buf)
	return err
}

func (h *Handler) listSubclouds(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var (
		list []*dc.Subcloud
		err  error
	)
	if h.viewer != nil {
		list, err = h.viewer.ViewSubclouds(r.Context())
	} else {
		list, err = h.svc.Subclouds(r.Context())
	}
	if err != nil {
		return err
	}
	return h.writeSubclouds(w, "subclouds", list, true)
}

// noQuery refuses query parameters on routes that take none (an unknown
// filter silently ignored would return more than the caller asked for).
func noQuery(r *http.Request) error {
	for k := range r.URL.Query() {
		return badRequest(CodeUnknownField, k, "unknown query parameter %q", k)
	}
	return nil
}

func (h *Handler) updateSubcloud(w http.ResponseWriter, r *http.Request) error {
	var body updateJSON
	f, err := readForm(r, updateParts(), &body, func() (*form, error) {
		f := newForm()
		if body.ManagementState != nil {
			f.fields["management-state"] = *body.ManagementState
		}
		if body.Force != nil {
			f.fields["force"] = "false"
			if *body.Force {
				f.fields["force"] = "true"
			}
		}
		for _, p := range []struct {
			name string
			v    *string
		}{{"description", body.Description}, {"location", body.Location}, {"name", body.Name}, {"bmc_password", body.BMCPassword}} {
			if p.v != nil {
				f.fields[p.name] = *p.v
			}
		}
		if body.GroupID.Set {
			f.fields["group_id"] = body.GroupID.Value
		}
		return f, f.setFile("install_values", body.InstallValues)
	}, false)
	if err != nil {
		return err
	}
	req, err := updateRequest(f)
	if err != nil {
		return err
	}
	ref := r.PathValue("ref")
	// UpdateSubcloud validates everything (management transition included)
	// before it writes: a refused request leaves the subcloud untouched.
	s, err := h.svc.UpdateSubcloud(r.Context(), ref, req)
	if err != nil {
		return err
	}
	noteRef(r.Context(), s.Name)
	return h.writeSubcloud(w, s, false)
}

func updateRequest(f *form) (dc.UpdateRequest, error) {
	var req dc.UpdateRequest
	if err := noMigrate(f); err != nil {
		return req, err
	}
	if len(f.fields) == 0 && len(f.files) == 0 {
		return req, badRequest(CodeBadRequest, "", "nothing to update")
	}
	if v, ok := f.fields["management-state"]; ok {
		ms := dc.ManagementState(v)
		if ms != dc.Managed && ms != dc.Unmanaged {
			return req, badRequest(CodeInvalidValue, "management-state", "management-state: must be %q or %q, not %q", dc.Managed, dc.Unmanaged, v)
		}
		req.ManagementState = &ms
	}
	if v, ok := f.fields["force"]; ok {
		force, err := parseBool(v)
		if err != nil {
			return req, badRequest(CodeInvalidValue, "force", "force: %v", err)
		}
		req.Force = force
	}
	for _, p := range []struct {
		name string
		dst  **string
	}{{"description", &req.Description}, {"location", &req.Location}, {"name", &req.Name}, {"group_id", &req.Group}} {
		if v, ok := f.fields[p.name]; ok {
			*p.dst = &v
		}
	}
	in, err := installValues(f)
	if err != nil {
		return req, err
	}
	req.Install = in
	return req, nil
}

func (h *Handler) deleteSubcloud(w http.ResponseWriter, r *http.Request) error {
	s, err := h.svc.DeleteSubcloud(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	noteRef(r.Context(), s.Name)
	return h.writeSubcloud(w, s, false)
}

func (h *Handler) deployLog(w http.ResponseWriter, r *http.Request) error {
	entries, err := h.svc.DeployLog(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	b := h.getBuf()
	defer h.putBuf(b)
	buf := append(*b, `{"deploy_log":[`...)
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"time":"`...)
		buf = e.Time.UTC().AppendFormat(buf, timeLayout)
		buf = append(buf, '"')
		buf = appendKeyString(buf, "phase", string(e.Phase))
		buf = appendKeyString(buf, "message", e.Message)
		buf = append(buf, '}')
	}
	buf = append(buf, ']', '}', '\n')
	*b = buf
	return h.writeBody(w, buf)
}

func (h *Handler) resumeDeploy(w http.ResponseWriter, r *http.Request) error {
	var body resumeJSON
	f, err := readForm(r, resumeParts(), &body, func() (*form, error) {
		f := newForm()
		f.setField("sysadmin_password", body.SysadminPassword)
		f.setField("bmc_password", body.BMCPassword)
		return f, f.setFile("install_values", body.InstallValues)
	}, true)
	if err != nil {
		return err
	}
	var req dc.ResumeRequest
	if v, ok := f.fields["sysadmin_password"]; ok {
		if req.SysadminPassword, err = decodeBase64("sysadmin_password", v); err != nil {
			return err
		}
	}
	if req.Install, err = installValues(f); err != nil {
		return err
	}
	// One write: the new secrets and install values land with the resume,
	// or not at all when the resume is refused.
	s, err := h.svc.ResumeDeployWith(r.Context(), r.PathValue("ref"), req)
	if err != nil {
		return err
	}
	noteRef(r.Context(), s.Name)
	return h.writeSubcloud(w, s, false)
}

func (h *Handler) abortDeploy(w http.ResponseWriter, r *http.Request) error {
	if _, err := readForm(r, map[string]partKind{}, &struct{}{}, func() (*form, error) { return newForm(), nil }, true); err != nil {
		return err
	}
	s, err := h.svc.AbortDeploy(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	noteRef(r.Context(), s.Name)
	return h.writeSubcloud(w, s, false)
}

// noMigrate refuses dcmanager's migrate flag: Atoll does not migrate
// subclouds between distributed clouds.
func noMigrate(f *form) error {
	v, ok := f.fields["migrate"]
	if !ok {
		return nil
	}
	if on, err := parseBool(v); err == nil && !on {
		delete(f.fields, "migrate")
		return nil
	}
	return badRequest(CodeInvalidValue, "migrate", "migrate: subcloud migration is not supported by Atoll")
}
