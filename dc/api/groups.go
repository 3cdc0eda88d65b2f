package api

import (
	"fmt"
	"net/http"

	"github.com/atoll-edge/atoll/dc"
)

// groupJSON is the body of POST and PATCH /v1.0/subcloud-groups.
type groupJSON struct {
	Name                 *string `json:"name"`
	Description          *string `json:"description"`
	UpdateApplyType      *string `json:"update_apply_type"`
	MaxParallelSubclouds flexInt `json:"max_parallel_subclouds"`
}

// readGroup decodes a group body; groups are JSON only, as the dcmanager CLI
// sends them.
func readGroup(r *http.Request) (*groupJSON, error) {
	mt, _, err := mediaType(r)
	if err != nil {
		return nil, err
	}
	if mt != mediaJSON {
		if mt == "" {
			return nil, &requestError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia,
				msg: "missing Content-Type: send " + mediaJSON}
		}
		return nil, &requestError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia,
			msg: "unsupported Content-Type " + mt + ": send " + mediaJSON}
	}
	var g groupJSON
	if err := decodeJSON(r.Body, &g); err != nil {
		return nil, err
	}
	if g.UpdateApplyType != nil {
		switch at := dc.ApplyType(*g.UpdateApplyType); at {
		case dc.ApplySerial, dc.ApplyParallel:
		default:
			return nil, badRequest(CodeInvalidValue, "update_apply_type", "update_apply_type: must be %q or %q, not %q", dc.ApplySerial, dc.ApplyParallel, at)
		}
	}
	if v := g.MaxParallelSubclouds; v.Set && (v.Value < dc.MinMaxParallel || v.Value > dc.MaxMaxParallel) {
		// Checked here too: dc reads 0 as "the default", a request saying 0 means 0.
		return nil, &dc.ValidationError{Field: "max_parallel_subclouds",
			Reason: fmt.Sprintf("%d is outside %d-%d", v.Value, dc.MinMaxParallel, dc.MaxMaxParallel)}
	}
	return &g, nil
}

func (h *Handler) writeGroup(w http.ResponseWriter, g *dc.Group) error {
	b := h.getBuf()
	defer h.putBuf(b)
	*b = appendGroup(*b, g)
	*b = append(*b, '\n')
	return h.writeBody(w, *b)
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	list, err := h.svc.Groups(r.Context())
	if err != nil {
		return err
	}
	b := h.getBuf()
	defer h.putBuf(b)
	buf := append(*b, `{"subcloud_groups":[`...)
	for i, g := range list {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendGroup(buf, g)
	}
	buf = append(buf, ']', '}', '\n')
	*b = buf
	return h.writeBody(w, buf)
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := readGroup(r)
	if err != nil {
		return err
	}
	var req dc.GroupRequest
	if g.Name != nil {
		req.Name = *g.Name
		noteRef(r.Context(), req.Name)
	}
	if g.Description != nil {
		req.Description = *g.Description
	}
	if g.UpdateApplyType != nil {
		req.UpdateApplyType = dc.ApplyType(*g.UpdateApplyType)
	}
	if g.MaxParallelSubclouds.Set {
		req.MaxParallelSubclouds = g.MaxParallelSubclouds.Value
	}
	out, err := h.svc.CreateGroup(r.Context(), req)
	if err != nil {
		return err
	}
	return h.writeGroup(w, out)
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := h.svc.Group(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	noteRef(r.Context(), g.Name)
	return h.writeGroup(w, g)
}

func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := readGroup(r)
	if err != nil {
		return err
	}
	var req dc.GroupUpdate
	req.Name = g.Name
	req.Description = g.Description
	if g.UpdateApplyType != nil {
		at := dc.ApplyType(*g.UpdateApplyType)
		req.UpdateApplyType = &at
	}
	if g.MaxParallelSubclouds.Set {
		v := g.MaxParallelSubclouds.Value
		req.MaxParallelSubclouds = &v
	}
	if req.Name == nil && req.Description == nil && req.UpdateApplyType == nil && req.MaxParallelSubclouds == nil {
		return badRequest(CodeBadRequest, "", "nothing to update")
	}
	out, err := h.svc.UpdateGroup(r.Context(), r.PathValue("ref"), req)
	if err != nil {
		return err
	}
	noteRef(r.Context(), out.Name)
	return h.writeGroup(w, out)
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := h.svc.DeleteGroup(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	noteRef(r.Context(), g.Name)
	return h.writeGroup(w, g)
}

func (h *Handler) groupSubclouds(w http.ResponseWriter, r *http.Request) error {
	list, err := h.svc.GroupSubclouds(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	return h.writeSubclouds(w, "subclouds", list, false)
}
