package columnar

import (
	"container/list"
	"sync"
)

type cacheKey struct {
	run   uint64
	block int
}

// blockCache is an LRU of decoded blocks whose bytes are charged to the
// budget. Inserting evicts older blocks; a block that cannot fit is simply
// not cached. Safe for concurrent use.
type blockCache struct {
	mu      sync.Mutex
	budget  *Budget
	max     int64 // per-table cap (≤ 0: only the budget limits)
	used    int64
	lru     *list.List // front = most recent; values *cacheEntry
	entries map[cacheKey]*list.Element
}

type cacheEntry struct {
	k cacheKey
	b *block
}

func newBlockCache(budget *Budget, max int64) *blockCache {
	return &blockCache{budget: budget, max: max, lru: list.New(), entries: make(map[cacheKey]*list.Element)}
}

func (c *blockCache) get(k cacheKey) *block {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cacheEntry).b
	}
	return nil
}

// mayFit reports whether a block of size bytes could be cached (false: it
// is beyond the table's cap).
func (c *blockCache) mayFit(size int64) bool { return c.max <= 0 || size <= c.max }

// put caches b under k and reports whether it did (false: the block is
// already cached or does not fit, and the cache keeps no reference to b).
func (c *blockCache) put(k cacheKey, b *block) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; ok {
		return false
	}
	for (c.max > 0 && c.used+b.size > c.max) || !c.budget.TryReserve(b.size) {
		if !c.evictOneLocked() {
			return false
		}
	}
	c.used += b.size
	c.entries[k] = c.lru.PushFront(&cacheEntry{k: k, b: b})
	return true
}

func (c *blockCache) evictOneLocked() bool {
	e := c.lru.Back()
	if e == nil {
		return false
	}
	ce := c.lru.Remove(e).(*cacheEntry)
	delete(c.entries, ce.k)
	c.used -= ce.b.size
	c.budget.Release(ce.b.size)
	return true
}

// shrink evicts until at least n bytes were freed or the cache is empty,
// and returns the bytes freed.
func (c *blockCache) shrink(n int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.used
	for before-c.used < n && c.evictOneLocked() {
	}
	return before - c.used
}

// dropRun evicts every block of run id.
func (c *blockCache) dropRun(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if k.run == id {
			ce := c.lru.Remove(e).(*cacheEntry)
			delete(c.entries, k)
			c.used -= ce.b.size
			c.budget.Release(ce.b.size)
		}
	}
}

func (c *blockCache) clear() { c.shrink(1 << 62) }

// bytes is the size of the cached blocks.
func (c *blockCache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
