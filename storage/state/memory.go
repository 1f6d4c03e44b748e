package state

import (
	"bytes"
	"context"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// scanPiece is the number of rows a Scan hands to its callback at a time.
const scanPiece = 1024

// uncommitted stamps the writer's pending versions until Commit replaces it
// with the real epoch. It exceeds every committed epoch, so snapshots never
// see pending versions, and is below MaxEpoch, so the writer view does.
const uncommitted = MaxEpoch - 1

// maxMemKey is the longest key a memory table stores (key references pack
// the length into 24 bits).
const maxMemKey = 1<<24 - 1

// Entry flags.
const (
	entTouched uint8 = 1 << iota // in MemoryTable.touched
	entInGC                      // in the GC set (several versions or a tombstone)
	entListed                    // present in MemoryTable.gcList
	entDead                      // removed; id not yet reusable or free
	entPending                   // the head version is uncommitted
	entTomb                      // the head version is a tombstone
)

// slotMeta is one version of a key; its values live in the columns at the
// same slot index. It packs into 12 bytes (4-byte aligned): the epoch as
// two halves, and the next older version's slot plus one (0: none) with the
// tombstone mark in the top bit. Slots stay below 1<<31 - 1 (Write checks).
type slotMeta struct {
	epLo, epHi uint32
	link       uint32
}

const metaTomb = 1 << 31

func newMeta(e Epoch, prev int32, tomb bool) slotMeta {
	m := slotMeta{epLo: uint32(e), epHi: uint32(e >> 32), link: uint32(prev + 1)}
	if tomb {
		m.link |= metaTomb
	}
	return m
}

func (s *slotMeta) epoch() Epoch     { return Epoch(s.epHi)<<32 | Epoch(s.epLo) }
func (s *slotMeta) setEpoch(e Epoch) { s.epLo, s.epHi = uint32(e), uint32(e>>32) }
func (s *slotMeta) prev() int32      { return int32(s.link&^metaTomb) - 1 }
func (s *slotMeta) setPrev(p int32)  { s.link = s.link&metaTomb | uint32(p+1) }
func (s *slotMeta) tomb() bool       { return s.link&metaTomb != 0 }
func (s *slotMeta) setTomb(t bool) {
	s.link &^= metaTomb
	if t {
		s.link |= metaTomb
	}
}

// Fixed costs charged per entry, per hash slot and per version slot (the
// columns add their own per-slot widths).
const (
	entBytes  = 24
	tabBytes  = 8
	metaBytes = 12
)

// MemoryTable is the `memory` backend: everything in RAM, lost on restart
// (the engine rebuilds it from the last checkpoint). An open-addressing
// hash index (linear probing, a 32-bit tag per slot) maps a key to an
// entry; an entry holds a key of up to 16 bytes inline (longer keys live in
// a byte arena), its newest version slot, and flags saying whether that
// version is pending or a tombstone, so the common lookup touches the index
// and the entry only (memory_index.go). Each key's versions are slots whose
// values are stored column-wise — fixed-width columns in plain slices,
// strings in byte arenas — so a vectorized Get is a staged hash probe per
// key and a bulk gather per column into the Arrow result. Versions are
// copy-on-write per epoch: the first write of a key in an epoch takes a
// fresh slot that points to the committed one, later writes in the epoch
// overwrite it in place, and Commit frees the older slot unless a pinned
// snapshot still reads it; a freed slot is reused by a later write, which
// overwrites its string values in place when they fit. Commit and
// Release settle only the keys written in the epoch or holding several
// versions (the GC list), never the whole table. The key order for scans
// and range deletions is built only when first needed (see memOrder).
type MemoryTable struct {
	codec  *RowCodec
	alloc  memory.Allocator
	seed   maphash.Seed
	s0, s1 uint64 // short-key hash seeds
	charge memCharge

	compactMin   int64 // MemoryOptions.CompactMin
	orderDropMin int   // MemoryOptions.OrderDropMin

	mu        sync.RWMutex // guards everything below
	closed    bool
	committed Epoch
	pins      map[Epoch]int // live snapshots per epoch

	tab       []uint64 // hash index: hash<<32 | entry+1; 0 empty; len a power of two
	tabN      int      // entries in tab
	ents      segArr[memEnt]
	freeEnts  []int32
	keys      []byte // key arena
	keyGarb   int64  // bytes of removed keys still in the arena
	meta      segArr[slotMeta]
	nslots    int // slots in use or free (high-water mark); columns hold len(meta)
	freeSlots []int32
	cleared   int // freeSlots[:cleared] have their column values cleared
	cols      []memCol

	touched  []int32 // entries with a pending version
	gcList   []int32 // entries flagged entListed: a superset of the GC set
	gcN      int     // entries flagged entInGC
	cleanBel []byte  // CleanBelow watermark of the pending epoch
	hasClean bool
	order    memOrder
	app      appendLog // rows written by Append (memory_append.go)

	dst   []int32 // Write scratch: slot per row (-1: no value)
	ids   []int32 // Write scratch: entry per row
	uids  []int32 // Update scratch: entry per row
	usrc  []int32 // Update scratch: slot per row
	chain []int32 // settle scratch

	warmSink Epoch // keeps Commit's warming loads from being optimized away
	noFlat   bool  // tests: Commit and gcLocked take their general loops

	srcPool  sync.Pool     // *[]int32 slot scratch of concurrent Gets
	findSink atomic.Uint64 // keeps findLocked's warming loads
}

var _ Table = (*MemoryTable)(nil)

// NewMemoryTable returns an empty, uncharged memory table for the value
// schema.
func NewMemoryTable(valueSchema *arrow.Schema, alloc memory.Allocator) (*MemoryTable, error) {
	return OpenMemoryTable(valueSchema, MemoryOptions{Allocator: alloc})
}

// OpenMemoryTable returns an empty memory table for the value schema,
// charging what it holds to opts.Budget.
func OpenMemoryTable(valueSchema *arrow.Schema, opts MemoryOptions) (*MemoryTable, error) {
	codec, err := NewRowCodec(valueSchema)
	if err != nil {
		return nil, err
	}
	alloc := opts.Allocator
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	cols := make([]memCol, len(valueSchema.Fields()))
	for i, f := range valueSchema.Fields() {
		if cols[i], err = newMemCol(f); err != nil {
			return nil, err
		}
	}
	m := &MemoryTable{
		charge: memCharge{budget: opts.Budget, name: opts.Name},
		codec:  codec,
		alloc:  alloc,
		seed:   maphash.MakeSeed(),
		s0:     rand.Uint64() | 1,
		s1:     rand.Uint64() | 1,
		pins:   make(map[Epoch]int),
		tab:    make([]uint64, 16),
		cols:   cols,
	}
	m.compactMin, m.orderDropMin = opts.CompactMin, opts.OrderDropMin
	if m.compactMin <= 0 {
		m.compactMin = 1 << 20
	}
	if m.orderDropMin <= 0 {
		m.orderDropMin = 1 << 16
	}
	m.order.m = m
	return m, nil
}

// ValueSchema implements Table.
func (m *MemoryTable) ValueSchema() *arrow.Schema { return m.codec.schema }

func (m *MemoryTable) allocSlot(meta slotMeta) int32 {
	var s int32
	if n := len(m.freeSlots); n > 0 {
		s = m.freeSlots[n-1]
		m.freeSlots = m.freeSlots[:n-1]
		m.cleared = min(m.cleared, n-1)
	} else {
		if m.nslots == m.meta.n {
			m.resizeSlots(m.nslots + 1)
		}
		s = int32(m.nslots)
		m.nslots++
	}
	m.meta.set(s, meta)
	return s
}

func (m *MemoryTable) resizeSlots(n int) {
	if n <= m.meta.n {
		return
	}
	if n <= segLen {
		n = min(max(n, 2*m.meta.n, 1024), segLen)
	} else {
		// Whole segments: a new one costs no copy, so there is no reason
		// to allocate ahead by doubling.
		n = (n + segMask) &^ segMask
	}
	m.meta.resize(n)
	for _, c := range m.cols {
		c.resize(n)
	}
}

// freeSlot returns slot s to the free list. Its column values are cleared
// later, a column at a time, by clearFreedLocked.
func (m *MemoryTable) freeSlot(s int32) {
	m.meta.set(s, slotMeta{})
	m.freeSlots = append(m.freeSlots, s)
}

// clearFreedLocked clears the column values of the slots freed since the
// last clearing (the tail of freeSlots from cleared on), a column at a
// time so the scattered loads overlap — but only once they are many (an
// eighth of the slots, at least clearMin): a table updating its keys
// reuses the freed slots in the next epoch, overwriting their values in
// place, and clearing them first would cost a cache miss per update and
// turn each value into arena garbage. Until cleared, a freed slot's value
// bytes count as live arena bytes.
func (m *MemoryTable) clearFreedLocked() {
	pending := len(m.freeSlots) - m.cleared
	if pending <= 0 {
		m.cleared = len(m.freeSlots)
		return
	}
	if pending < max(clearMin, m.nslots/8) {
		return
	}
	for _, c := range m.cols {
		c.clear(m.freeSlots[m.cleared:])
	}
	m.cleared = len(m.freeSlots)
}

// clearMin is the fewest freed slots clearFreedLocked clears at a time.
const clearMin = 4096

func (m *MemoryTable) touch(id int32) {
	if e := m.ents.at(id); e.flags&entTouched == 0 {
		e.flags |= entTouched
		m.touched = append(m.touched, id)
	}
}

// footprintLocked is the bytes the table holds (what it charges): index,
// entries, keys, version slots and column data. Slice capacity beyond
// length is not counted.
func (m *MemoryTable) footprintLocked() int64 {
	n := int64(len(m.tab))*tabBytes + int64(m.ents.n)*entBytes + int64(len(m.keys)) + int64(m.nslots)*metaBytes + m.app.bytes()
	for _, c := range m.cols {
		n += int64(m.nslots)*c.slotBytes() + c.arenaBytes()
	}
	return n
}

// perSlotBytes is the fixed cost of one version slot.
func (m *MemoryTable) perSlotBytes() int64 {
	n := int64(metaBytes)
	for _, c := range m.cols {
		n += c.slotBytes()
	}
	return n
}

// checkWrite checks a Write's or an Append's arguments (and ctx) and
// returns the keys' bytes.
func (m *MemoryTable) checkWrite(ctx context.Context, keys [][]byte, ops []Op, values arrow.RecordBatch) (int64, error) {
	if err := CheckWrite(m.codec, keys, ops, values); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return checkMemKeys(keys)
}

// Write implements Table.
func (m *MemoryTable) Write(ctx context.Context, keys [][]byte, ops []Op, values arrow.RecordBatch) error {
	keyBytes, err := m.checkWrite(ctx, keys, ops, values)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return m.writeLocked(ctx, keys, ops, values, keyBytes, nil)
}

// checkMemKeys checks the keys' lengths and returns their total.
func checkMemKeys(keys [][]byte) (int64, error) {
	var keyBytes int64
	for _, k := range keys {
		if len(k) > maxMemKey {
			return 0, pgerror.New(pgerror.ProgramLimitExceeded, "state key of %d bytes exceeds the memory backend's limit of %d bytes", len(k), maxMemKey)
		}
		keyBytes += int64(len(k))
	}
	return keyBytes, nil
}

// writeLocked is Write under the write lock. ids, when not nil, are the
// keys' entries as findLocked resolved them since the lock was taken.
func (m *MemoryTable) writeLocked(ctx context.Context, keys [][]byte, ops []Op, values arrow.RecordBatch, keyBytes int64, ids []int32) error {
	n := len(keys)
	if m.nslots+n > math.MaxInt32-1 || m.ents.n+n > math.MaxInt32-1 {
		return pgerror.New(pgerror.ProgramLimitExceeded, "memory state table holds too many versions")
	}
	// Charge the worst case (every key new, every row a new version)
	// before changing anything.
	need := m.worstCaseLocked(n, keyBytes)
	if values != nil {
		for j, c := range m.cols {
			need += c.prepare(values.Column(j), ops)
		}
	}
	if err := m.charge.ensure(ctx, need); err != nil {
		return err
	}
	// Resolve existing keys a group at a time, so their cache misses
	// overlap; a key not found may have been added by an earlier row.
	if ids == nil {
		ids = slices.Grow(m.ids[:0], n)[:n]
		m.ids = ids
		m.findLocked(keys, ids)
	}
	dst := m.applyOpsLocked(ops, ids, func(i int, add bool) int32 {
		if add {
			return m.findOrAdd(keys[i])
		}
		id := m.find(keys[i])
		if id < 0 {
			m.app.removeKey(keys[i]) // a delete of an appended row
		}
		return id
	})
	if values != nil {
		for j, c := range m.cols {
			c.put(dst, values.Column(j))
		}
	}
	return nil
}

// putEntry makes entry id's pending version live (taking a slot for it
// if the epoch has none yet) and returns its slot, for the caller to
// store the values in.
func (m *MemoryTable) putEntry(id int32) int32 {
	e := m.ents.at(id)
	if e.flags&entPending != 0 {
		if e.flags&entTomb != 0 {
			m.meta.at(e.head).setTomb(false)
			e.flags &^= entTomb
		}
		return e.head
	}
	// allocSlot changes slots only: e stays valid.
	s := m.allocSlot(newMeta(uncommitted, e.head, false))
	e.head = s
	f := e.flags&^entTomb | entPending
	if f&entTouched == 0 {
		f |= entTouched
		m.touched = append(m.touched, id)
	}
	e.flags = f
	return s
}

// worstCaseLocked is the footprint after a write of n rows whose keys
// total keyBytes, if every key were new and every row a new version.
func (m *MemoryTable) worstCaseLocked(n int, keyBytes int64) int64 {
	return m.footprintLocked() + keyBytes + int64(n)*(entBytes+m.perSlotBytes()) +
		int64(m.tabSizeFor(m.ents.n+n)-len(m.tab))*tabBytes
}

// applyOpsLocked applies ops (nil: all puts) to the rows' entries ids
// (-1: not found when the write began) in the current epoch and returns
// the slot each row's value goes to (-1: none), in m.dst. resolve looks row
// i's key up again (an earlier row may have added it), adding it when add
// is set and it is missing. The budget must already cover the write.
func (m *MemoryTable) applyOpsLocked(ops []Op, ids []int32, resolve func(i int, add bool) int32) []int32 {
	n := len(ids)
	m.resizeSlots(m.nslots + n)
	dst := slices.Grow(m.dst[:0], n)[:n]
	m.dst = dst
	for i := range dst {
		dst[i] = -1
		id := ids[i]
		put := ops == nil || ops[i] == OpPut
		if id < 0 {
			id = resolve(i, put)
		}
		if put {
			// The common case inline: a key written earlier in the epoch.
			if e := m.ents.at(id); e.flags&(entPending|entTomb) == entPending {
				dst[i] = e.head
			} else {
				dst[i] = m.putEntry(id)
			}
			continue
		}
		if id < 0 {
			continue
		}
		switch e := m.ents.at(id); {
		case e.head < 0 || e.flags&(entPending|entTomb) == entTomb:
			// Nothing visible to delete.
		case e.flags&entPending != 0:
			m.meta.at(e.head).setTomb(true)
			e.flags |= entTomb
		default:
			s := m.allocSlot(newMeta(uncommitted, e.head, true))
			e = m.ents.at(id)
			e.head = s
			e.flags |= entPending | entTomb
			m.touch(id)
		}
	}
	return dst
}

// CleanBelow implements Table.
func (m *MemoryTable) CleanBelow(ctx context.Context, watermark []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.appCleanBelowLocked(watermark)
	// Earlier writes of this epoch below the watermark are undone.
	for _, id := range m.order.sorted() {
		if m.ents.at(id).flags&entDead != 0 {
			continue
		}
		if bytes.Compare(m.keyOf(id), watermark) >= 0 {
			break
		}
		if e := m.ents.at(id); e.flags&entPending != 0 {
			h := e.head
			m.setHead(e, m.meta.at(h).prev())
			m.freeSlot(h)
		}
	}
	m.clearFreedLocked()
	if !m.hasClean || bytes.Compare(watermark, m.cleanBel) > 0 {
		m.cleanBel = append(m.cleanBel[:0], watermark...)
		m.hasClean = true
	}
	return nil
}

// CommittedEpoch implements Table.
func (m *MemoryTable) CommittedEpoch() Epoch {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.committed
}

func (m *MemoryTable) pinnedLocked() []Epoch {
	if len(m.pins) == 0 {
		return nil
	}
	p := make([]Epoch, 0, len(m.pins))
	for e := range m.pins {
		p = append(p, e)
	}
	slices.Sort(p)
	return p
}

// pinnedIn reports whether a pinned epoch (ascending) lies in [lo, hi).
func pinnedIn(pinned []Epoch, lo, hi Epoch) bool {
	if len(pinned) <= 4 {
		for _, p := range pinned {
			if p >= lo {
				return p < hi
			}
		}
		return false
	}
	j, _ := slices.BinarySearch(pinned, lo)
	return j < len(pinned) && pinned[j] < hi
}

// pinSet is the pinned epochs (ascending) with pinnedIn inline for the
// common single pin (a view pins its last committed epoch) or none.
type pinSet struct {
	all []Epoch
	one Epoch
	n   int
}

func newPinSet(pinned []Epoch) pinSet {
	s := pinSet{all: pinned, n: len(pinned)}
	if s.n == 1 {
		s.one = pinned[0]
	}
	return s
}

// in is pinnedIn(s.all, lo, hi).
func (s *pinSet) in(lo, hi Epoch) bool {
	if s.n == 1 {
		return s.one >= lo && s.one < hi
	}
	return pinnedIn(s.all, lo, hi)
}

// settleLocked drops the versions of entry id no view can read any more
// (older versions no pinned snapshot reads, then tombstones at the bottom
// of the chain, which hide nothing) and files the entry in the GC set, or
// removes it when nothing is left. The head must be committed.
func (m *MemoryTable) settleLocked(id int32, pinned []Epoch) {
	e := m.ents.at(id)
	h := e.head
	if h >= 0 && e.flags&entTomb == 0 {
		// Fast paths: one live version, or a live head over one older
		// version (the common case after an update).
		hm := m.meta.at(h)
		p := hm.prev()
		if p < 0 {
			m.gcOut(e)
			return
		}
		if pm := m.meta.at(p); pm.prev() < 0 {
			if !pm.tomb() && pinnedIn(pinned, pm.epoch(), hm.epoch()) {
				m.gcIn(id)
				return
			}
			hm.setPrev(-1)
			m.freeSlot(p)
			m.gcOut(e)
			return
		}
	}
	kept := m.chain[:0]
	for s := h; s >= 0; {
		prev := m.meta.at(s).prev()
		// Version s is read by pins in [its epoch, the newer kept one's).
		if len(kept) == 0 || pinnedIn(pinned, m.meta.at(s).epoch(), m.meta.at(kept[len(kept)-1]).epoch()) {
			kept = append(kept, s)
		} else {
			m.freeSlot(s)
		}
		s = prev
	}
	for len(kept) > 0 && m.meta.at(kept[len(kept)-1]).tomb() {
		m.freeSlot(kept[len(kept)-1])
		kept = kept[:len(kept)-1]
	}
	m.chain = kept
	if len(kept) == 0 {
		m.gcOut(e)
		m.removeEntry(id)
		return
	}
	m.setHead(e, kept[0])
	for i, s := range kept {
		m.meta.at(s).setPrev(-1)
		if i+1 < len(kept) {
			m.meta.at(s).setPrev(kept[i+1])
		}
	}
	if len(kept) > 1 || m.meta.at(kept[0]).tomb() {
		m.gcIn(id)
	} else {
		m.gcOut(e)
	}
}

// gcIn files entry id in the GC set. The list keeps ids that left the set
// (flag cleared) until the next gcLocked or pruneGCList drops them, so
// leaving costs no search.
func (m *MemoryTable) gcIn(id int32) {
	e := m.ents.at(id)
	if e.flags&entInGC != 0 {
		return
	}
	e.flags |= entInGC
	m.gcN++
	if e.flags&entListed == 0 {
		e.flags |= entListed
		m.gcList = append(m.gcList, id)
	}
}

// gcOut takes entry e out of the GC set.
func (m *MemoryTable) gcOut(e *memEnt) {
	if e.flags&entInGC != 0 {
		e.flags &^= entInGC
		m.gcN--
	}
}

// pruneGCList drops the ids no longer in the GC set from gcList once they
// outnumber those in it, so the list stays proportional to the set.
func (m *MemoryTable) pruneGCList() {
	if len(m.gcList) <= 2*m.gcN+1024 {
		return
	}
	m.filterGCList(nil)
}

// filterGCList keeps in gcList each listed id once, calling settle first
// (when non-nil) on each in the GC set, and only those still in it. An id
// that died and was reused may appear twice: the first visit clears
// entListed, so the second is skipped; survivors are flagged again at the
// end. settle sees entListed set, so gcIn appends nothing meanwhile.
func (m *MemoryTable) filterGCList(settle func(id int32)) {
	list := m.gcList
	out := list[:0]
	for _, id := range list {
		if m.ents.at(id).flags&entListed == 0 {
			continue
		}
		if settle != nil && m.ents.at(id).flags&entInGC != 0 {
			settle(id)
		}
		e := m.ents.at(id)
		if e.flags&entListed == 0 {
			continue // removed by settle
		}
		e.flags &^= entListed
		if e.flags&entInGC != 0 {
			out = append(out, id)
		}
	}
	m.relistLocked(list, out)
}

// relistLocked makes out, the kept prefix of the gc list list, the gc list
// again: its entries are flagged listed, the rest of list is cleared.
func (m *MemoryTable) relistLocked(list, out []int32) {
	for _, id := range out {
		m.ents.at(id).flags |= entListed
	}
	clear(list[len(out):])
	m.gcList = out
}

// Commit implements Table.
func (m *MemoryTable) Commit(ctx context.Context, e Epoch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if e <= m.committed || e >= uncommitted {
		return pgerror.Internal("state: commit of epoch %d after epoch %d", e, m.committed)
	}
	pinned := m.pinnedLocked()
	pins := newPinSet(pinned)
	if m.hasClean {
		var doomed []int32
		for _, id := range m.order.sorted() {
			if m.ents.at(id).flags&entDead != 0 {
				continue
			}
			if bytes.Compare(m.keyOf(id), m.cleanBel) >= 0 {
				break
			}
			if e := m.ents.at(id); e.head >= 0 && e.flags&(entPending|entTomb) == 0 {
				doomed = append(doomed, id)
			}
		}
		for _, id := range doomed {
			s := m.allocSlot(newMeta(e, m.ents.at(id).head, true))
			m.ents.at(id).head = s
			m.ents.at(id).flags |= entTomb
			m.settleLocked(id, pinned)
		}
	}
	var warm [32]int32
	var sink Epoch
	// A small table's entries and slots stay in cache: no warming.
	cold := m.ents.n > smallEnts
	touched := m.touched
	if m.commitTouchedFlat(e, &pins, pinned) {
		touched = nil
	}
	for i, id := range touched {
		// Load the next group's entries and version slots ahead: they are
		// scattered, and independent loads overlap.
		if cold && i%len(warm) == 0 {
			for j, id := range m.touched[i:min(i+len(warm), len(m.touched))] {
				warm[j] = -1
				if h := m.ents.at(id).head; h >= 0 {
					warm[j] = m.meta.at(h).prev()
				}
			}
			for _, p := range warm[:min(len(warm), len(m.touched)-i)] {
				if p >= 0 {
					sink ^= Epoch(m.meta.at(p).link)
				}
			}
		}
		en := m.ents.at(id)
		if en.flags&entDead != 0 {
			continue
		}
		f := en.flags
		en.flags = f &^ (entTouched | entPending)
		if f&(entPending|entTomb) == entPending && en.head >= 0 {
			// settleLocked's common case inline: a live head over at most
			// one older live version.
			hm := m.meta.at(en.head)
			hm.setEpoch(e)
			p := hm.prev()
			if p < 0 {
				m.gcOut(en)
				continue
			}
			if pm := m.meta.at(p); pm.prev() < 0 && !pm.tomb() {
				if pins.in(pm.epoch(), e) {
					m.gcIn(id)
					continue
				}
				hm.setPrev(-1)
				m.freeSlot(p)
				m.gcOut(en)
				continue
			}
		} else if f&entPending != 0 {
			m.meta.at(en.head).setEpoch(e)
		}
		m.settleLocked(id, pinned)
	}
	m.warmSink = sink
	m.touched = m.touched[:0]
	m.appCommitLocked(e, pinned)
	m.hasClean = false
	m.committed = e
	m.clearFreedLocked()
	m.pruneGCList()
	m.compactLocked()
	m.charge.trim(m.footprintLocked())
	return nil
}

// compactLocked rewrites the key and value arenas once most of their bytes
// are garbage, and forgets the key order once keeping it costs more than
// rebuilding it at the next scan.
func (m *MemoryTable) compactLocked() {
	for _, c := range m.cols {
		c.compact(m.nslots, m.compactMin)
	}
	if m.keyGarb > m.compactMin && m.keyGarb*2 > int64(len(m.keys)) {
		// Dead entries leave the order first: their keys do not move.
		if m.order.on {
			m.order.sorted()
		}
		keys := make([]byte, 0, int64(len(m.keys))-m.keyGarb)
		for id := range int32(m.ents.n) {
			e := m.ents.at(id)
			if e.flags&entDead != 0 {
				continue
			}
			if e.keyLen() <= inlineKey {
				continue
			}
			k := m.keyOf(int32(id))
			e.k[0] = uint64(len(keys))
			keys = append(keys, k...)
		}
		m.keys, m.keyGarb = keys, 0
	}
	m.order.maybeDrop()
}

// gcLocked prunes every multi-version key against the current pins. It is
// filterGCList with settleLocked's common case inline — a live head over
// one older live version no pin reads any more, which a view leaves for
// each key it updated once the snapshot of the previous epoch is released
// — so that case costs no call: 1K keys, 285 -> ~120 instructions a key
// (valgrind).
func (m *MemoryTable) gcLocked() {
	pinned := m.pinnedLocked()
	pins := newPinSet(pinned)
	list := m.gcList
	if out, ok := m.gcFlat(list, &pins, pinned); ok {
		m.relistLocked(list, out)
		m.clearFreedLocked()
		return
	}
	out := list[:0]
	for _, id := range list {
		e := m.ents.at(id)
		f := e.flags
		if f&entListed == 0 {
			continue
		}
		if f&(entInGC|entTouched|entDead|entTomb) == entInGC && e.head >= 0 {
			hm := m.meta.at(e.head)
			if p := hm.prev(); p >= 0 {
				if pm := m.meta.at(p); pm.prev() < 0 && !pm.tomb() && !pins.in(pm.epoch(), hm.epoch()) {
					hm.setPrev(-1)
					m.freeSlot(p)
					e.flags = f &^ (entInGC | entListed)
					m.gcN--
					continue
				}
			}
		}
		if f&entInGC != 0 && f&(entTouched|entDead) == 0 {
			m.settleLocked(id, pinned)
			if e = m.ents.at(id); e.flags&entListed == 0 {
				continue // removed by settle
			}
		}
		e.flags &^= entListed
		if e.flags&entInGC != 0 {
			out = append(out, id)
		}
	}
	m.relistLocked(list, out)
	m.clearFreedLocked()
}

// slotAt returns the slot of entry id visible at epoch at, or -1; the
// writer view (at == MaxEpoch) includes pending versions and the pending
// CleanBelow.
func (m *MemoryTable) slotAt(id int32, at Epoch) int32 {
	e := m.ents.at(id)
	s := e.head
	switch {
	case at == MaxEpoch:
		if s < 0 || e.flags&entTomb != 0 {
			return -1
		}
		if m.hasClean && e.flags&entPending == 0 && bytes.Compare(m.keyOf(id), m.cleanBel) < 0 {
			return -1
		}
		return s
	case at >= m.committed && e.flags&entPending == 0:
		// A committed head is at most the committed epoch: visible.
		if s < 0 || e.flags&entTomb != 0 {
			return -1
		}
		return s
	}
	for s >= 0 && m.meta.at(s).epoch() > at {
		s = m.meta.at(s).prev()
	}
	if s < 0 || m.meta.at(s).tomb() {
		return -1
	}
	return s
}

// setHead makes slot s entry e's newest version, its flags following.
func (m *MemoryTable) setHead(e *memEnt, s int32) {
	e.head = s
	e.flags &^= entPending | entTomb
	if s >= 0 {
		if m.meta.at(s).epoch() == uncommitted {
			e.flags |= entPending
		}
		if m.meta.at(s).tomb() {
			e.flags |= entTomb
		}
	}
}

// Get implements Table: the writer view.
func (m *MemoryTable) Get(ctx context.Context, keys [][]byte) (Lookup, error) {
	return m.get(keys, MaxEpoch)
}

func (m *MemoryTable) get(keys [][]byte, at Epoch) (Lookup, error) {
	sp, _ := m.srcPool.Get().(*[]int32)
	if sp == nil {
		sp = new([]int32)
	}
	defer m.srcPool.Put(sp)
	src := slices.Grow((*sp)[:0], len(keys))[:len(keys)]
	*sp = src
	found := make([]bool, len(keys))
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return Lookup{}, ErrClosed
	}
	m.lookupLocked(keys, at, src)
	for i, s := range src {
		found[i] = s >= 0
	}
	rec, err := m.gatherLocked(src)
	if err != nil {
		return Lookup{}, err
	}
	return Lookup{Values: rec, Found: found}, nil
}

// lookupLocked sets src[i] to the slot of keys[i] visible at epoch at, or
// -1.
func (m *MemoryTable) lookupLocked(keys [][]byte, at Epoch, src []int32) {
	m.findLocked(keys, src)
	m.slotsLocked(src, at)
	m.appLookupLocked(keys, src, at)
}

// slotsLocked replaces each entry in src (-1: none) by its slot visible at
// epoch at, or -1.
func (m *MemoryTable) slotsLocked(src []int32, at Epoch) {
	fast := at >= m.committed
	if at == MaxEpoch {
		fast = !m.hasClean
	}
	if fast {
		// The head is what the view reads unless it is pending (and the
		// view a snapshot) or a tombstone.
		skip := entTomb
		if at != MaxEpoch {
			skip |= entPending
		}
		ents := &m.ents
		for i, id := range src {
			if id >= 0 {
				e := ents.at(id)
				switch {
				case e.flags&skip == 0:
					src[i] = e.head
				case e.flags&entTomb != 0 && (at == MaxEpoch || e.flags&entPending == 0):
					src[i] = -1
				default:
					src[i] = m.slotAt(id, at)
				}
			}
		}
		return
	}
	for i, id := range src {
		if id >= 0 {
			src[i] = m.slotAt(id, at)
		}
	}
}

// gatherLocked builds the value batch of the slots (-1: a NULL row).
func (m *MemoryTable) gatherLocked(src []int32) (arrow.RecordBatch, error) {
	arrs := make([]arrow.Array, 0, len(m.cols))
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	for _, c := range m.cols {
		a, err := c.gather(m.alloc, src)
		if err != nil {
			return nil, err
		}
		arrs = append(arrs, a)
	}
	return array.NewRecordBatch(m.codec.schema, arrs, int64(len(src))), nil
}

// Scan implements Table: the writer view.
func (m *MemoryTable) Scan(ctx context.Context, r KeyRange, fn ScanFunc) error {
	return m.scan(ctx, r, MaxEpoch, fn)
}

// scan gathers pieces under the read lock and calls fn without it, so fn
// may call the table's other methods.
func (m *MemoryTable) scan(ctx context.Context, r KeyRange, at Epoch, fn ScanFunc) error {
	return m.scanMerged(ctx, r, at, fn) // the index merged with the append log
}

// Snapshot implements Table.
func (m *MemoryTable) Snapshot(e Epoch) (Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if e > m.committed {
		return nil, pgerror.Internal("state: snapshot at epoch %d beyond committed epoch %d", e, m.committed)
	}
	if e != m.committed && m.pins[e] == 0 {
		return nil, pgerror.New(SnapshotTooOld, "snapshot too old: epoch %d is no longer retained (committed %d)", e, m.committed)
	}
	m.pins[e]++
	return &memSnapshot{m: m, e: e}, nil
}

// Stats implements Table: Keys counts entries (live keys plus tombstones a
// snapshot still needs); MemBytes is what the table charges its budget.
// DiskBytes is 0.
func (m *MemoryTable) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return Stats{Keys: int64(m.tabN + m.app.n()), MemBytes: m.footprintLocked()}
}

// Close implements Table.
func (m *MemoryTable) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.charge.releaseAll()
	m.ents.reset()
	m.meta.reset()
	m.tab, m.keys, m.cols, m.gcList, m.touched = nil, nil, nil, nil, nil
	m.freeEnts, m.freeSlots, m.cleared, m.nslots, m.tabN, m.gcN = nil, nil, 0, 0, 0, 0
	m.order.drop()
	m.app = appendLog{}
	return nil
}

type memSnapshot struct {
	m        *MemoryTable
	e        Epoch
	released sync.Once
}

func (s *memSnapshot) Epoch() Epoch { return s.e }

func (s *memSnapshot) Get(ctx context.Context, keys [][]byte) (Lookup, error) {
	return s.m.get(keys, s.e)
}

func (s *memSnapshot) Scan(ctx context.Context, r KeyRange, fn ScanFunc) error {
	return s.m.scan(ctx, r, s.e, fn)
}

func (s *memSnapshot) Release() {
	s.released.Do(func() {
		m := s.m
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.pins[s.e]--; m.pins[s.e] <= 0 {
			delete(m.pins, s.e)
			if !m.closed {
				m.gcLocked()
			}
		}
	})
}
