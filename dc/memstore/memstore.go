// Package memstore is an in-memory dc.Store. It keeps every record in maps
// behind one mutex and copies on the way in and out, so callers can mutate
// what they get. It serves tests and Examples, and is the reference the
// conformance suite's model-based test compares other stores against.
//
// # Sections
//
//   - New returns an empty store holding only the Default group.
//   - Data lives as long as the Store value: Close forgets nothing, but
//     later calls on the handle return dc.ErrClosed; Reopen returns a new
//     handle on the same data (the conformance suite's durability case).
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/atoll-edge/atoll/dc"
)

// Store is an in-memory dc.Store. The zero value is not usable; call New.
type Store struct {
	*data
	closed bool
}

// data is what a Store handle sees; Reopen shares it between handles.
type data struct {
	mu        sync.RWMutex
	nextSub   int64
	nextGroup int64
	subclouds map[int64]*dc.Subcloud
	byName    map[string]int64
	groups    map[int64]*dc.Group
	logs      map[int64][]dc.LogEntry
	// writer is the writer lock (dc.WriterLocker): full while held.
	writer chan struct{}
}

var (
	_ dc.Store        = (*Store)(nil)
	_ dc.WriterLocker = (*Store)(nil)
)

// New returns an empty store holding the Default group.
func New() *Store {
	s := &Store{data: &data{
		nextSub:   1,
		nextGroup: dc.DefaultGroupID + 1,
		subclouds: make(map[int64]*dc.Subcloud),
		byName:    make(map[string]int64),
		groups:    make(map[int64]*dc.Group),
		logs:      make(map[int64][]dc.LogEntry),
		writer:    make(chan struct{}, 1),
	}}
	s.groups[dc.DefaultGroupID] = &dc.Group{
		ID: dc.DefaultGroupID, Name: dc.DefaultGroupName, Description: "Default Subcloud Group",
		UpdateApplyType: dc.ApplyParallel, MaxParallelSubclouds: 2, Revision: 1,
	}
	return s
}

func (s *Store) check(ctx context.Context) error {
	if s.closed {
		return dc.ErrClosed
	}
	return ctx.Err()
}

// CreateSubcloud implements dc.Store.
func (s *Store) CreateSubcloud(ctx context.Context, sc *dc.Subcloud) (*dc.Subcloud, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if _, ok := s.byName[sc.Name]; ok {
		return nil, fmt.Errorf("memstore: subcloud %q: %w", sc.Name, dc.ErrAlreadyExists)
	}
	if _, ok := s.groups[sc.GroupID]; !ok {
		return nil, fmt.Errorf("memstore: group %d: %w", sc.GroupID, dc.ErrNotFound)
	}
	c := sc.Clone()
	c.ID = s.nextSub
	c.Revision = 1
	s.nextSub++
	s.subclouds[c.ID] = c
	s.byName[c.Name] = c.ID
	return c.Clone(), nil
}

// GetSubcloud implements dc.Store.
func (s *Store) GetSubcloud(ctx context.Context, id int64) (*dc.Subcloud, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	c, ok := s.subclouds[id]
	if !ok {
		return nil, fmt.Errorf("memstore: subcloud %d: %w", id, dc.ErrNotFound)
	}
	return c.Clone(), nil
}

// GetSubcloudByName implements dc.Store.
func (s *Store) GetSubcloudByName(ctx context.Context, name string) (*dc.Subcloud, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	id, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("memstore: subcloud %q: %w", name, dc.ErrNotFound)
	}
	return s.subclouds[id].Clone(), nil
}

// ListSubclouds implements dc.Store.
func (s *Store) ListSubclouds(ctx context.Context) ([]*dc.Subcloud, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]*dc.Subcloud, 0, len(s.subclouds))
	for _, c := range s.subclouds {
		out = append(out, c.Clone())
	}
	slices.SortFunc(out, func(a, b *dc.Subcloud) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// UpdateSubcloud implements dc.Store.
func (s *Store) UpdateSubcloud(ctx context.Context, sc *dc.Subcloud) (*dc.Subcloud, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	cur, ok := s.subclouds[sc.ID]
	if !ok {
		return nil, fmt.Errorf("memstore: subcloud %d: %w", sc.ID, dc.ErrNotFound)
	}
	if cur.Revision != sc.Revision {
		return nil, fmt.Errorf("memstore: subcloud %d revision %d (stored %d): %w", sc.ID, sc.Revision, cur.Revision, dc.ErrConflict)
	}
	if sc.Name != cur.Name {
		if _, taken := s.byName[sc.Name]; taken {
			return nil, fmt.Errorf("memstore: subcloud %q: %w", sc.Name, dc.ErrAlreadyExists)
		}
	}
	if _, ok := s.groups[sc.GroupID]; !ok {
		return nil, fmt.Errorf("memstore: group %d: %w", sc.GroupID, dc.ErrNotFound)
	}
	c := sc.Clone()
	c.Revision = cur.Revision + 1
	c.CreatedAt = cur.CreatedAt
	delete(s.byName, cur.Name)
	s.byName[c.Name] = c.ID
	s.subclouds[c.ID] = c
	return c.Clone(), nil
}

// DeleteSubcloud implements dc.Store.
func (s *Store) DeleteSubcloud(ctx context.Context, id, revision int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	cur, ok := s.subclouds[id]
	if !ok {
		return fmt.Errorf("memstore: subcloud %d: %w", id, dc.ErrNotFound)
	}
	if cur.Revision != revision {
		return fmt.Errorf("memstore: subcloud %d revision %d (stored %d): %w", id, revision, cur.Revision, dc.ErrConflict)
	}
	delete(s.subclouds, id)
	delete(s.byName, cur.Name)
	delete(s.logs, id)
	return nil
}

// CreateGroup implements dc.Store.
func (s *Store) CreateGroup(ctx context.Context, g *dc.Group) (*dc.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	for _, o := range s.groups {
		if o.Name == g.Name {
			return nil, fmt.Errorf("memstore: group %q: %w", g.Name, dc.ErrAlreadyExists)
		}
	}
	c := g.Clone()
	c.ID = s.nextGroup
	c.Revision = 1
	s.nextGroup++
	s.groups[c.ID] = c
	return c.Clone(), nil
}

// GetGroup implements dc.Store.
func (s *Store) GetGroup(ctx context.Context, id int64) (*dc.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	g, ok := s.groups[id]
	if !ok {
		return nil, fmt.Errorf("memstore: group %d: %w", id, dc.ErrNotFound)
	}
	return g.Clone(), nil
}

// GetGroupByName implements dc.Store.
func (s *Store) GetGroupByName(ctx context.Context, name string) (*dc.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	for _, g := range s.groups {
		if g.Name == name {
			return g.Clone(), nil
		}
	}
	return nil, fmt.Errorf("memstore: group %q: %w", name, dc.ErrNotFound)
}

// ListGroups implements dc.Store.
func (s *Store) ListGroups(ctx context.Context) ([]*dc.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]*dc.Group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g.Clone())
	}
	slices.SortFunc(out, func(a, b *dc.Group) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// UpdateGroup implements dc.Store.
func (s *Store) UpdateGroup(ctx context.Context, g *dc.Group) (*dc.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	cur, ok := s.groups[g.ID]
	if !ok {
		return nil, fmt.Errorf("memstore: group %d: %w", g.ID, dc.ErrNotFound)
	}
	if cur.Revision != g.Revision {
		return nil, fmt.Errorf("memstore: group %d revision %d (stored %d): %w", g.ID, g.Revision, cur.Revision, dc.ErrConflict)
	}
	for _, o := range s.groups {
		if o.ID != g.ID && o.Name == g.Name {
			return nil, fmt.Errorf("memstore: group %q: %w", g.Name, dc.ErrAlreadyExists)
		}
	}
	c := g.Clone()
	c.Revision = cur.Revision + 1
	c.CreatedAt = cur.CreatedAt
	s.groups[c.ID] = c
	return c.Clone(), nil
}

// DeleteGroup implements dc.Store.
func (s *Store) DeleteGroup(ctx context.Context, id, revision int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	cur, ok := s.groups[id]
	if !ok {
		return fmt.Errorf("memstore: group %d: %w", id, dc.ErrNotFound)
	}
	if cur.Revision != revision {
		return fmt.Errorf("memstore: group %d revision %d (stored %d): %w", id, revision, cur.Revision, dc.ErrConflict)
	}
	for _, sc := range s.subclouds {
		if sc.GroupID == id {
			return fmt.Errorf("memstore: group %d has subclouds: %w", id, dc.ErrInvalidState)
		}
	}
	delete(s.groups, id)
	return nil
}

// AppendDeployLog implements dc.Store.
func (s *Store) AppendDeployLog(ctx context.Context, subcloudID int64, e dc.LogEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, ok := s.subclouds[subcloudID]; !ok {
		return fmt.Errorf("memstore: subcloud %d: %w", subcloudID, dc.ErrNotFound)
	}
	s.logs[subcloudID] = append(s.logs[subcloudID], e)
	return nil
}

// DeployLog implements dc.Store.
func (s *Store) DeployLog(ctx context.Context, subcloudID int64) ([]dc.LogEntry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if _, ok := s.subclouds[subcloudID]; !ok {
		return nil, fmt.Errorf("memstore: subcloud %d: %w", subcloudID, dc.ErrNotFound)
	}
	return slices.Clone(s.logs[subcloudID]), nil
}

// Close implements dc.Store. Later calls on this handle return
// dc.ErrClosed; the data stays reachable through Reopen.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// LockWriter implements dc.WriterLocker: one holder at a time among the
// handles on the same data (Reopen), waiting until ctx ends; never lost.
func (s *Store) LockWriter(ctx context.Context) (<-chan struct{}, func() error, error) {
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, context.Cause(ctx)
	}
	var once sync.Once
	return make(chan struct{}), func() error {
		once.Do(func() { <-s.writer })
		return nil
	}, nil
}

// Reopen returns a new open handle on the same data, as reopening a
// database file would: what was written before Close is there.
func (s *Store) Reopen() *Store {
	return &Store{data: s.data}
}
