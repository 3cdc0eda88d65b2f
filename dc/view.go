package dc

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// subcloudView is the Manager's read model: every subcloud as last written
// through this Manager. Records are immutable once in the view (a write
// swaps in a new record; nobody edits one in place), so readers may share
// them. The id-ordered list is built on the first read after a change and
// then shared until the next change.
//
// It is exact only while the Manager is the Store's single writer.
type subcloudView struct {
	mu     sync.RWMutex
	byID   map[int64]*Subcloud
	sorted []*Subcloud // nil: stale, rebuilt on read
}

func newSubcloudView() *subcloudView {
	return &subcloudView{byID: make(map[int64]*Subcloud)}
}

// reset replaces the view with all (which it takes ownership of).
func (v *subcloudView) reset(all []*Subcloud) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.byID = make(map[int64]*Subcloud, len(all))
	for _, s := range all {
		v.byID[s.ID] = s
	}
	v.sorted = nil
}

// create adds a newly stored subcloud (a copy of s).
func (v *subcloudView) create(s *Subcloud) {
	c := s.Clone()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.byID[c.ID] = c
	v.sorted = nil
}

// update swaps in a copy of s if it is newer than the record in the view,
// and reports whether it did. Two writers of the same subcloud may finish
// their compare-and-swap in one order and reach here in the other, and a
// write may land after a delete: the revision check (store IDs are never
// reused) keeps the newest record and never resurrects a deleted one.
func (v *subcloudView) update(s *Subcloud) bool {
	c := s.Clone()
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := v.byID[c.ID]
	if !ok || old.Revision >= c.Revision {
		return false
	}
	v.byID[c.ID] = c
	v.sorted = nil
	return true
}

func (v *subcloudView) remove(id int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.byID, id)
	v.sorted = nil
}

// list returns the shared, id-ordered records. Callers must not modify
// them or the slice.
func (v *subcloudView) list() []*Subcloud {
	v.mu.RLock()
	out := v.sorted
	v.mu.RUnlock()
	if out != nil {
		return out
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sorted == nil {
		s := make([]*Subcloud, 0, len(v.byID))
		for _, sc := range v.byID {
			s = append(s, sc)
		}
		slices.SortFunc(s, func(a, b *Subcloud) int { return cmp.Compare(a.ID, b.ID) })
		v.sorted = s[:len(s):len(s)]
	}
	return v.sorted
}

// ViewSubclouds returns every subcloud in id order from the Manager's read
// model, without copying: the records and the slice are shared and
// immutable, and the caller must not modify them (Clone one to edit it).
// It costs no Store read after the first call, which makes it the fast
// path for listing a large fleet (dc/api uses it when handed a Manager).
// The read model is exact while this Manager is the only writer of its
// Store (see the package documentation).
func (m *Manager) ViewSubclouds(ctx context.Context) ([]*Subcloud, error) {
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	return m.view.list(), nil
}
