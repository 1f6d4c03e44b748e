package pebblestate

import (
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sabotsql/sabotsql/storage/state"
)

// rowCache is a bounded cache of committed rows in front of Pebble, like
// RocksDB's row_cache: a key's stored row (a copy of its RowCodec bytes)
// and, once a single-key lookup asked for it, the one-row Arrow batch built
// from it, which every later single-key hit hands out retained (Arrow
// batches are immutable; the cache holds one reference and releases it on
// eviction, update or Close). A cached single-key hit so costs an index
// probe and a Retain instead of a Pebble seek and a batch build.
//
// It holds exactly Pebble's committed state for the keys it has: Commit
// applies the epoch to it under the table lock (drops the keys below the
// epoch's CleanBelow watermark, then replaces the rows of the written keys
// it holds and drops deleted ones), reads insert only what they read from
// the committed state under the table's read lock, and a reopened table
// starts empty. The writer view consults it after the pending epoch; a
// snapshot consults it only when no commit changed Pebble since its epoch
// (Table.changedAt ≤ its epoch), when both read the same state.
//
// Eviction is CLOCK over the entries; the cache's bytes (estimated: keys,
// rows, built batches and per-entry overhead) stay within its limit and,
// when the table has a Budget, within what the budget grants (which also
// covers the arena's garbage).
type rowCache struct {
	mu       sync.Mutex
	idx      rcIndex // key → index in ents
	ents     []rcEntry
	free     []int32 // unused indexes of ents
	hand     int
	bytes    int64 // estimated bytes held
	limit    int64
	recCost  int64 // estimated bytes of a built one-row batch beyond its row
	budget   state.MemoryBudget
	reserved int64             // bytes taken from budget
	door     [doorWords]uint64 // admission filter: hash bits of recent first misses
	doorN    int               // bits set in door

	// The keys and rows live in an arena of chunks (entries hold offsets,
	// no pointers, so the garbage collector neither scans the entries nor
	// marks an object per row); removed or replaced rows are garbage until
	// a compaction copies the live ones into new chunks. Rows handed to a
	// batched read stay valid: chunks are never written below their length.
	chunks  [][]byte
	live    int64               // bytes of live keys and rows in chunks
	garbage int64               // bytes of dead ones
	recs    []arrow.RecordBatch // built batches by entry (nil: none)
}

// The admission filter (a TinyLFU-style doorkeeper): a row read for the
// first time only sets its bit in door; it is cached when read again
// while the bit is set. Random reads over more keys than the cache holds
// so mostly skip the copy, the insertion and an eviction, while a key
// read twice within the filter's window is admitted. The filter is
// cleared once doorReset bits are set (false admissions stay below ~1/8).
const (
	doorWords = 1 << 10 // 64 Ki bits
	doorReset = doorWords * 64 / 8
)

// admit reports whether a row with hash h, just read from Pebble, is
// cached, recording it otherwise.
func (c *rowCache) admit(h uint64) bool {
	b := h >> (64 - 16)
	w, m := &c.door[b/64], uint64(1)<<(b%64)
	if *w&m != 0 {
		return true
	}
	*w |= m
	if c.doorN++; c.doorN >= doorReset {
		c.door, c.doorN = [doorWords]uint64{}, 0
	}
	return false
}

type rcEntry struct {
	hash       uint64 // idx's hash of the key
	chunk      int32  // the key and row: chunks[chunk][off:], klen then vlen bytes
	off        uint32
	klen, vlen uint32
	ref        bool // CLOCK reference bit
	live       bool
	rec        bool // recs holds the entry's batch
}

// rcEntryOverhead estimates an entry's bytes beyond its key and row: the
// entry and its index slots.
const rcEntryOverhead = 64

// rcChunk is the arena's chunk size.
const rcChunk = 64 << 10

// key is entry e's key (a view of the arena).
func (c *rowCache) key(e *rcEntry) string {
	b := c.chunks[e.chunk][e.off:]
	return unsafe.String(unsafe.SliceData(b), e.klen)
}

// val is entry e's row (a view of the arena, never written).
func (c *rowCache) val(e *rcEntry) []byte {
	lo := e.off + e.klen
	return c.chunks[e.chunk][lo : lo+e.vlen : lo+e.vlen]
}

// store copies k‖v into the arena and points e at it.
func (c *rowCache) store(e *rcEntry, k string, v []byte) {
	n := len(k) + len(v)
	last := len(c.chunks) - 1
	if last < 0 || cap(c.chunks[last])-len(c.chunks[last]) < n {
		c.chunks = append(c.chunks, make([]byte, 0, max(rcChunk, n)))
		last++
	}
	b := c.chunks[last]
	e.chunk, e.off, e.klen, e.vlen = int32(last), uint32(len(b)), uint32(len(k)), uint32(len(v))
	b = append(b, k...)
	c.chunks[last] = append(b, v...)
	c.live += int64(n)
}

// drop turns e's key and row into garbage (compact reclaims it).
func (c *rowCache) drop(e *rcEntry) {
	n := int64(e.klen + e.vlen)
	c.live -= n
	c.garbage += n
}

// compact copies the live keys and rows into new chunks when the garbage
// is both over a chunk and over the live bytes.
func (c *rowCache) compact() {
	if c.garbage <= rcChunk || c.garbage <= c.live {
		return
	}
	old := c.chunks
	c.chunks, c.live, c.garbage = nil, 0, 0
	for i := range c.ents {
		if e := &c.ents[i]; e.live {
			b := old[e.chunk][e.off:]
			k := unsafe.String(unsafe.SliceData(b), e.klen)
			v := b[e.klen : e.klen+e.vlen]
			c.store(e, k, v)
		}
	}
}

// rcQuantum is the granularity of the cache's budget reservations.
const rcQuantum = 64 << 10

func newRowCache(limit int64, ncols int, budget state.MemoryBudget) *rowCache {
	return &rowCache{
		idx:     newRCIndex(),
		limit:   limit,
		recCost: 256 + 384*int64(ncols), // ~1 KiB for two columns, as measured
		budget:  budget,
	}
}

func (c *rowCache) entryBytes(e *rcEntry) int64 {
	n := rcEntryOverhead + int64(e.klen) + int64(e.vlen)
	if e.rec {
		n += c.recCost + int64(e.vlen)
	}
	return n
}

// getRec returns the one-row batch of k (retained for the caller), building
// it from the cached row with build on first use. ok is false when k is
// not cached; h is k's hash (for add).
func (c *rowCache) getRec(k []byte, build func(v []byte) (arrow.RecordBatch, error)) (rec arrow.RecordBatch, h uint64, ok bool, err error) {
	ks := unsafe.String(unsafe.SliceData(k), len(k))
	h = c.idx.hash(ks)
	c.mu.Lock()
	defer c.mu.Unlock()
	i, _ := c.idx.find(c, ks, h)
	if i < 0 {
		return nil, h, false, nil
	}
	e := &c.ents[i]
	e.ref = true
	if e.rec {
		rec = c.recs[i]
		rec.Retain()
		return rec, h, true, nil
	}
	rec, err = build(c.val(e))
	if err != nil {
		return nil, h, false, err
	}
	if extra := c.recCost + int64(e.vlen); c.makeRoom(extra, i) {
		e = &c.ents[i]
		e.rec = true
		c.recs[i] = rec
		c.bytes += extra
		rec.Retain()
	}
	return rec, h, true, nil
}

// lookup returns the entry index of k (-1: not cached).
func (c *rowCache) lookup(k []byte) int32 {
	ks := unsafe.String(unsafe.SliceData(k), len(k))
	i, _ := c.idx.find(c, ks, c.idx.hash(ks))
	return i
}

// vals sets vals[i] and found[i] for the cached keys among ks (a cached
// row is found; absent keys are not cached) and reports which it set.
func (c *rowCache) vals(ks [][]byte, vals [][]byte, hit []bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for j, k := range ks {
		if i := c.lookup(k); i >= 0 {
			e := &c.ents[i]
			e.ref = true
			vals[j], hit[j] = c.val(e), true
			n++
		}
	}
	return n
}

// add caches k's committed row v (copied) if admitted; h is k's hash.
// The caller holds the table's read lock over the read that produced v
// and this call.
func (c *rowCache) add(k, v []byte, h uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(k, v, h)
}

// addFound caches the found rows of ks (copied).
func (c *rowCache) addFound(ks, vals [][]byte, found []bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, k := range ks {
		if found[j] {
			c.addLocked(k, vals[j], c.idx.hash(unsafe.String(unsafe.SliceData(k), len(k))))
		}
	}
}

func (c *rowCache) addLocked(k, v []byte, h uint64) {
	// The admission filter first: a key read for the first time (most
	// misses of random reads) costs a bit set, no index probe.
	if !c.admit(h) {
		return
	}
	ks := unsafe.String(unsafe.SliceData(k), len(k))
	if i, _ := c.idx.find(c, ks, h); i >= 0 {
		c.remove(i) // a racing reader cached it: the same committed row
	}
	e := rcEntry{hash: h, klen: uint32(len(k)), vlen: uint32(len(v)), live: true}
	need := c.entryBytes(&e)
	if !c.makeRoom(need, -1) {
		return
	}
	c.compact()
	c.store(&e, ks, v)
	var i int32
	if n := len(c.free); n > 0 {
		i = c.free[n-1]
		c.free = c.free[:n-1]
		c.ents[i] = e
	} else {
		i = int32(len(c.ents))
		c.ents = append(c.ents, e)
		c.recs = append(c.recs, nil)
	}
	c.idx.insert(c.ents, i, e.hash)
	c.bytes += need
}

// makeRoom evicts entries other than keep until n more bytes fit, taking
// budget as needed; false if they cannot fit.
func (c *rowCache) makeRoom(n int64, keep int32) bool {
	if n > c.limit/4 {
		return false // an outsized row is not worth the cache
	}
	for c.bytes+n > c.limit || !c.reserve(c.bytes+c.garbage+n) {
		if c.idx.n == 0 || (c.idx.n == 1 && keep >= 0) {
			return false
		}
		c.evictOne(keep)
	}
	return true
}

// reserve makes sure total bytes are reserved from the budget (if any).
func (c *rowCache) reserve(total int64) bool {
	if c.budget == nil || total <= c.reserved {
		return true
	}
	q := (total - c.reserved + rcQuantum - 1) / rcQuantum * rcQuantum
	if !c.budget.TryReserve(q) {
		return false
	}
	c.reserved += q
	return true
}

// evictOne removes the first entry at or after the hand whose reference
// bit is clear, clearing the bits it passes.
func (c *rowCache) evictOne(keep int32) {
	for {
		if c.hand >= len(c.ents) {
			c.hand = 0
		}
		i := c.hand
		c.hand++
		e := &c.ents[i]
		if !e.live || int32(i) == keep {
			continue
		}
		if e.ref {
			e.ref = false
			continue
		}
		c.remove(int32(i))
		return
	}
}

func (c *rowCache) remove(i int32) {
	e := &c.ents[i]
	c.bytes -= c.entryBytes(e)
	c.dropRec(i)
	if j, s := c.idx.find(c, c.key(e), e.hash); j == i {
		c.idx.deleteSlot(c.ents, s)
	}
	c.drop(e)
	*e = rcEntry{}
	c.free = append(c.free, i)
}

// dropRec releases entry i's built batch, if any.
func (c *rowCache) dropRec(i int32) {
	if e := &c.ents[i]; e.rec {
		c.recs[i].Release()
		c.recs[i] = nil
		e.rec = false
	}
}

// set replaces entry i's row by v (copied), dropping its built batch.
func (c *rowCache) set(i int32, v []byte) {
	e := &c.ents[i]
	c.bytes -= c.entryBytes(e)
	c.dropRec(i)
	k := c.key(e)
	c.drop(e)
	c.store(e, k, v) // the old key stays readable: chunks are not reused
	c.bytes += c.entryBytes(e)
}

// committed applies the committed epoch p to the cache. The caller holds
// the table's write lock, after p was applied to Pebble.
func (c *rowCache) committed(p *pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idx.n == 0 {
		return
	}
	if p.hasClean {
		w := string(p.cleanBel)
		for i := range c.ents {
			if e := &c.ents[i]; e.live && c.key(e) < w {
				c.remove(int32(i))
			}
		}
	}
	apply := func(e *pendEntry) {
		i, _ := c.idx.find(c, e.key, c.idx.hash(e.key))
		switch {
		case i < 0:
		case e.del:
			c.remove(i)
		default:
			c.set(i, e.val)
		}
	}
	if len(p.log) <= 4*c.idx.n {
		// Few writes: probe the cache per write (each key's last write).
		_ = p.each(func(e *pendEntry) error { apply(e); return nil })
	} else {
		// Many writes: probe the epoch per cached key.
		ord := p.sorted()
		for i := range c.ents {
			ce := &c.ents[i]
			if !ce.live {
				continue
			}
			k := c.key(ce)
			if j := seek(ord, k); j < len(ord) && ord[j].key == k {
				apply(ord[j])
			}
		}
	}
	// Keep the footprint within the limit (rows may have grown).
	for c.bytes > c.limit && c.idx.n > 0 {
		c.evictOne(-1)
	}
	c.compact()
}

// size is the cache's estimated footprint.
func (c *rowCache) size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes + c.garbage
}

// clear empties the cache (keeping its budget reservation).
func (c *rowCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

func (c *rowCache) clearLocked() {
	for _, r := range c.recs {
		if r != nil {
			r.Release()
		}
	}
	c.ents, c.free, c.bytes, c.hand = nil, nil, 0, 0
	c.chunks, c.live, c.garbage, c.recs = nil, 0, 0, nil
	c.idx.slots, c.idx.n = nil, 0
}

// close releases every built batch and the budget.
func (c *rowCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
	if c.budget != nil && c.reserved > 0 {
		c.budget.Release(c.reserved)
	}
	c.reserved = 0
}
