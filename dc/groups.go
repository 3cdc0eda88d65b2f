package dc

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Bounds of Group.MaxParallelSubclouds.
const (
	MinMaxParallel = 1
	MaxMaxParallel = 5000
)

// GroupRequest is a request to create a subcloud group.
type GroupRequest struct {
	Name                 string
	Description          string
	UpdateApplyType      ApplyType // default parallel
	MaxParallelSubclouds int       // default 2
}

// GroupUpdate changes fields of a group; nil fields stay unchanged.
type GroupUpdate struct {
	Name                 *string
	Description          *string
	UpdateApplyType      *ApplyType
	MaxParallelSubclouds *int
}

func validateGroupFields(name, description string, at ApplyType, maxPar int) error {
	if strings.TrimSpace(name) == "" {
		return &ValidationError{Field: "name", Reason: "required"}
	}
	if len(name) > 255 {
		return &ValidationError{Field: "name", Reason: "longer than 255 characters"}
	}
	if _, isID := parseID(name); isID {
		return &ValidationError{Field: "name", Reason: "must not be all digits (it would read as an id)"}
	}
	if err := validateText("name", name); err != nil {
		return err
	}
	if err := validateText("description", description); err != nil {
		return err
	}
	switch at {
	case ApplySerial, ApplyParallel:
	default:
		return &ValidationError{Field: "update_apply_type", Reason: fmt.Sprintf("%q is not serial or parallel", at)}
	}
	if maxPar < MinMaxParallel || maxPar > MaxMaxParallel {
		return &ValidationError{Field: "max_parallel_subclouds", Reason: fmt.Sprintf("%d is outside %d-%d", maxPar, MinMaxParallel, MaxMaxParallel)}
	}
	return nil
}

// resolveGroup finds a group by name or ID; empty is the Default group.
func (m *Manager) resolveGroup(ctx context.Context, ref string) (*Group, error) {
	if ref == "" {
		ref = DefaultGroupName
	}
	var (
		g   *Group
		err error
	)
	if id, ok := parseID(ref); ok {
		g, err = m.store.GetGroup(ctx, id)
	} else {
		g, err = m.store.GetGroupByName(ctx, ref)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, &ValidationError{Field: "group_id", Reason: fmt.Sprintf("no subcloud group %q", ref)}
	}
	return g, err
}

// CreateGroup creates a subcloud group.
func (m *Manager) CreateGroup(ctx context.Context, req GroupRequest) (*Group, error) {
	if req.UpdateApplyType == "" {
		req.UpdateApplyType = ApplyParallel
	}
	if req.MaxParallelSubclouds == 0 {
		req.MaxParallelSubclouds = 2
	}
	if err := validateGroupFields(req.Name, req.Description, req.UpdateApplyType, req.MaxParallelSubclouds); err != nil {
		return nil, err
	}
	now := m.now()
	g, err := m.store.CreateGroup(ctx, &Group{
		Name: req.Name, Description: req.Description, UpdateApplyType: req.UpdateApplyType,
		MaxParallelSubclouds: req.MaxParallelSubclouds, CreatedAt: now, UpdatedAt: now,
	})
	if errors.Is(err, ErrAlreadyExists) {
		return nil, &ValidationError{Field: "name", Reason: "already used by group " + fmt.Sprintf("%q", req.Name), also: ErrAlreadyExists}
	}
	if err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "subcloud group created", "group", g.Name, "id", g.ID)
	return g, nil
}

// Group returns the group named by ref (all digits: an ID, else a name).
func (m *Manager) Group(ctx context.Context, ref string) (*Group, error) {
	if id, ok := parseID(ref); ok {
		return m.store.GetGroup(ctx, id)
	}
	return m.store.GetGroupByName(ctx, ref)
}

// Groups lists every group ordered by ID.
func (m *Manager) Groups(ctx context.Context) ([]*Group, error) {
	return m.store.ListGroups(ctx)
}

// UpdateGroup changes a group. The Default group cannot be renamed. A
// refused update, or one that changes nothing, writes nothing.
func (m *Manager) UpdateGroup(ctx context.Context, ref string, u GroupUpdate) (*Group, error) {
	for attempt := 1; ; attempt++ {
		g, err := m.Group(ctx, ref)
		if err != nil {
			return nil, err
		}
		before := *g
		if u.Name != nil && *u.Name != g.Name {
			if g.ID == DefaultGroupID {
				return nil, &ValidationError{Field: "name", Reason: "the Default group cannot be renamed"}
			}
			g.Name = *u.Name
		}
		if u.Description != nil {
			g.Description = *u.Description
		}
		if u.UpdateApplyType != nil {
			g.UpdateApplyType = *u.UpdateApplyType
		}
		if u.MaxParallelSubclouds != nil {
			g.MaxParallelSubclouds = *u.MaxParallelSubclouds
		}
		if err := validateGroupFields(g.Name, g.Description, g.UpdateApplyType, g.MaxParallelSubclouds); err != nil {
			return nil, err
		}
		if *g == before {
			return g, nil // nothing to change: no write
		}
		g.UpdatedAt = m.now()
		next, err := m.store.UpdateGroup(ctx, g)
		if errors.Is(err, ErrConflict) && attempt < maxCASAttempts {
			continue
		}
		if errors.Is(err, ErrAlreadyExists) {
			return nil, &ValidationError{Field: "name", Reason: fmt.Sprintf("already used by group %q", g.Name), also: ErrAlreadyExists}
		}
		return next, err
	}
}

// DeleteGroup deletes a group that has no subclouds. The Default group
// cannot be deleted.
func (m *Manager) DeleteGroup(ctx context.Context, ref string) (*Group, error) {
	for attempt := 1; ; attempt++ {
		g, err := m.Group(ctx, ref)
		if err != nil {
			return nil, err
		}
		if g.ID == DefaultGroupID {
			return nil, &ValidationError{Field: "group_id", Reason: "the Default group cannot be deleted"}
		}
		members, err := m.Subclouds(ctx, InGroup(g.ID))
		if err != nil {
			return nil, err
		}
		if len(members) > 0 {
			return nil, &ValidationError{Field: "group_id", Reason: fmt.Sprintf("group %q still has %d subclouds, for example", g.Name, len(members)), Conflict: members[0].Name}
		}
		err = m.store.DeleteGroup(ctx, g.ID, g.Revision)
		if errors.Is(err, ErrConflict) && attempt < maxCASAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		return g, nil
	}
}

// GroupSubclouds lists the subclouds of the group named by ref.
func (m *Manager) GroupSubclouds(ctx context.Context, ref string) ([]*Subcloud, error) {
	g, err := m.Group(ctx, ref)
	if err != nil {
		return nil, err
	}
	return m.Subclouds(ctx, InGroup(g.ID))
}
