package api

import (
	"context"
	"sync"
	"time"

	"github.com/atoll-edge/atoll/dc"
)

// SubcloudViewer is an optional fast path for GET /v1.0/subclouds: it
// returns every subcloud in id order without copying them. The records are
// shared and immutable: the handler only reads them. *dc.Manager is one
// (its read model), and New uses it by default; Options.Viewer overrides.
type SubcloudViewer interface {
	ViewSubclouds(ctx context.Context) ([]*dc.Subcloud, error)
}

// encodeCache keeps the JSON of each subcloud as last encoded, keyed by id
// and valid while the record's revision and timestamps are unchanged (every
// stored change bumps the revision), so a list re-encodes only what changed.
type encodeCache struct {
	mu      sync.Mutex
	entries map[int64]*encoded
	gen     uint64 // full-list generation, for pruning deleted ids
}

type encoded struct {
	rev              int64
	created, updated time.Time
	json             []byte
	seen             uint64
}

func newEncodeCache() *encodeCache { return &encodeCache{entries: make(map[int64]*encoded)} }

// appendSubcloud appends the list form of s, from the cache when current.
func (c *encodeCache) appendSubcloud(b []byte, s *dc.Subcloud, gen uint64) []byte {
	c.mu.Lock()
	e := c.entries[s.ID]
	if e != nil && e.rev == s.Revision && e.updated.Equal(s.UpdatedAt) && e.created.Equal(s.CreatedAt) {
		e.seen = gen
		b = append(b, e.json...)
		c.mu.Unlock()
		return b
	}
	c.mu.Unlock()
	start := len(b)
	b = appendSubcloud(b, s, false)
	js := make([]byte, len(b)-start)
	copy(js, b[start:])
	c.mu.Lock()
	c.entries[s.ID] = &encoded{rev: s.Revision, created: s.CreatedAt, updated: s.UpdatedAt, json: js, seen: gen}
	c.mu.Unlock()
	return b
}

// begin starts a full list; end prunes the ids it did not see.
func (c *encodeCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	return c.gen
}

func (c *encodeCache) end(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // a later full list prunes
	}
	for id, e := range c.entries {
		if e.seen != gen {
			delete(c.entries, id)
		}
	}
}
