package main

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/atoll-edge/atoll/dc"
)

// cachedStore is a dc.Store that keeps every subcloud in memory in front of
// the backend, so that listing and reading subclouds costs copies instead of
// a SQLite scan and a JSON decode per row (sqlstore lists ~25-70 µs/row on
// these machines; the API's target is 10,000 subclouds in < 100 ms).
//
// It is exact as long as every write to the backend goes through it: the
// daemon owns its SQLite file, and the Manager is its only writer. Writes
// are serialised (writeMu) together with their cache update, so the cache
// applies them in the backend's order; a write whose outcome is unknown
// (an error other than the dc sentinels) drops the cache, and the next read
// reloads it. Groups and deploy logs pass through.
type cachedStore struct {
	dc.Store

	writeMu sync.Mutex // held across a backend write and its cache update

	mu     sync.RWMutex // guards the fields below
	loaded bool
	byID   map[int64]*dc.Subcloud
	byName map[string]int64
	ids    []int64 // sorted
}

var _ dc.Store = (*cachedStore)(nil)

func newCachedStore(inner dc.Store) *cachedStore {
	return &cachedStore{Store: inner}
}

// load fills the cache from the backend if needed. Callers hold writeMu, so
// no write interleaves with the scan.
func (c *cachedStore) loadLocked(ctx context.Context) error {
	c.mu.RLock()
	loaded := c.loaded
	c.mu.RUnlock()
	if loaded {
		return nil
	}
	all, err := c.Store.ListSubclouds(ctx)
	if err != nil {
		return err
	}
	byID := make(map[int64]*dc.Subcloud, len(all))
	byName := make(map[string]int64, len(all))
	ids := make([]int64, 0, len(all))
	for _, s := range all {
		byID[s.ID], byName[s.Name] = s, s.ID
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	c.mu.Lock()
	c.byID, c.byName, c.ids, c.loaded = byID, byName, ids, true
	c.mu.Unlock()
	return nil
}

// ready makes sure the cache is loaded, for readers.
func (c *cachedStore) ready(ctx context.Context) error {
	c.mu.RLock()
	loaded := c.loaded
	c.mu.RUnlock()
	if loaded {
		return nil
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.loadLocked(ctx)
}

// write runs a backend write under writeMu with the cache loaded, then
// applies it to the cache with apply (only on success). An error that is
// not one of dc's definite answers leaves the outcome unknown: drop the
// cache.
func (c *cachedStore) write(ctx context.Context, do func() error, apply func()) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.loadLocked(ctx); err != nil {
		return err
	}
	if err := do(); err != nil {
		if !definite(err) {
			c.mu.Lock()
			c.loaded, c.byID, c.byName, c.ids = false, nil, nil, nil
			c.mu.Unlock()
		}
		return err
	}
	c.mu.Lock()
	apply()
	c.mu.Unlock()
	return nil
}

// definite reports whether err says the write did not happen.
func definite(err error) bool {
	for _, s := range []error{dc.ErrNotFound, dc.ErrAlreadyExists, dc.ErrConflict, dc.ErrInvalid, dc.ErrInvalidState} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// putLocked stores a copy of s (c.mu held).
func (c *cachedStore) putLocked(s *dc.Subcloud) {
	if old, ok := c.byID[s.ID]; ok {
		delete(c.byName, old.Name)
	} else {
		i, _ := slices.BinarySearch(c.ids, s.ID)
		c.ids = slices.Insert(c.ids, i, s.ID)
	}
	c.byID[s.ID] = s.Clone()
	c.byName[s.Name] = s.ID
}

func (c *cachedStore) CreateSubcloud(ctx context.Context, s *dc.Subcloud) (*dc.Subcloud, error) {
	var out *dc.Subcloud
	err := c.write(ctx, func() (err error) {
		out, err = c.Store.CreateSubcloud(ctx, s)
		return err
	}, func() { c.putLocked(out) })
	return out, err
}

func (c *cachedStore) UpdateSubcloud(ctx context.Context, s *dc.Subcloud) (*dc.Subcloud, error) {
	var out *dc.Subcloud
	err := c.write(ctx, func() (err error) {
		out, err = c.Store.UpdateSubcloud(ctx, s)
		return err
	}, func() { c.putLocked(out) })
	return out, err
}

func (c *cachedStore) DeleteSubcloud(ctx context.Context, id, revision int64) error {
	return c.write(ctx, func() error {
		return c.Store.DeleteSubcloud(ctx, id, revision)
	}, func() {
		if old, ok := c.byID[id]; ok {
			delete(c.byName, old.Name)
			delete(c.byID, id)
			if i, found := slices.BinarySearch(c.ids, id); found {
				c.ids = slices.Delete(c.ids, i, i+1)
			}
		}
	})
}

func (c *cachedStore) GetSubcloud(ctx context.Context, id int64) (*dc.Subcloud, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	c.mu.RLock()
	s, ok := c.byID[id]
	loaded := c.loaded
	c.mu.RUnlock()
	if !loaded {
		return c.Store.GetSubcloud(ctx, id)
	}
	if !ok {
		// Let the backend phrase the error (and catch a cache bug).
		return c.Store.GetSubcloud(ctx, id)
	}
	return s.Clone(), nil
}

func (c *cachedStore) GetSubcloudByName(ctx context.Context, name string) (*dc.Subcloud, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	c.mu.RLock()
	id, ok := c.byName[name]
	var s *dc.Subcloud
	if ok {
		s = c.byID[id]
	}
	loaded := c.loaded
	c.mu.RUnlock()
	if !loaded || s == nil {
		return c.Store.GetSubcloudByName(ctx, name)
	}
	return s.Clone(), nil
}

func (c *cachedStore) ListSubclouds(ctx context.Context) ([]*dc.Subcloud, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.loaded {
		return c.Store.ListSubclouds(ctx)
	}
	out := make([]*dc.Subcloud, len(c.ids))
	for i, id := range c.ids {
		out[i] = c.byID[id].Clone()
	}
	return out, nil
}

// Close closes the backend and forgets the cache: later reads go to the
// closed backend, which answers dc.ErrClosed.
func (c *cachedStore) Close() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	err := c.Store.Close()
	c.mu.Lock()
	c.loaded, c.byID, c.byName, c.ids = false, nil, nil, nil
	c.mu.Unlock()
	return err
}

// ViewSubclouds returns the cached subclouds in id order without copying
// them (api.SubcloudViewer). The cache never modifies a record it holds (an
// update stores a new copy), so the slice stays valid after the lock is
// released; callers must only read the records.
func (c *cachedStore) ViewSubclouds(ctx context.Context) ([]*dc.Subcloud, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.loaded {
		return c.Store.ListSubclouds(ctx)
	}
	out := make([]*dc.Subcloud, len(c.ids))
	for i, id := range c.ids {
		out[i] = c.byID[id]
	}
	return out, nil
}
