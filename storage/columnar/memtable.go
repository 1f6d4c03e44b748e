package columnar

import (
	"encoding/binary"
	"slices"
	"unsafe"

	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/hashindex"
	"github.com/sabotsql/sabotsql/storage/state/lazyorder"

	"github.com/sabotsql/sabotsql/internal/hugepage"
)

// entryOverhead approximates the bookkeeping bytes of a memtable entry: the
// entry with its two inline versions and short key (64), its hash-index slot
// with growth slack (8 bytes at 37-75% load: ~11-22), its place in the
// sorted order (4-8) and the transient (prefix, id) pairs of the sort that a
// scan or freeze runs over new keys (24; 48 while a radix sort runs).
// Measured (Go heap after a GC, 1M keys of BenchmarkColumnarMemtableGC's
// table, 9-byte keys and 13-byte values included): 110 B/key with
// 64-byte entries, 136 with the earlier 88-byte ones; ~180 B/key at 1K
// keys (fixed costs of a small table). The charge is 120, above that
// measurement as 144 was above the 136 of 88-byte entries.
const entryOverhead = 120

// versionOverhead is the charge of a version beyond the two an entry holds
// inline (its slot in the overflow slice, with growth slack); the second
// version of a key costs only its value bytes.
const versionOverhead = 40

// uncommitted stamps pending versions until Commit gives them their epoch;
// it exceeds every snapshot epoch and is below the writer view's MaxEpoch.
const uncommitted = state.MaxEpoch - 1

// memVersion is one version of a memtable entry: its epoch and its value
// (in the memtable's arena), 16 bytes.
type memVersion struct {
	epoch state.Epoch
	ref   vref
}

// vref locates a version's value in 64 bits: bit 63 marks a tombstone;
// bits 40-62 hold the value's length and bits 0-39 its place in the arena
// (chunk<<23 | offset: regular chunks are at most 8 MiB). A value that
// does not fit that (8 MiB or longer, or beyond the first 8 MiB of a chunk
// of its own, or in chunk 2^17 or later) has length vrefLong and bits 0-39
// index memtable.longs, which holds its full arena reference and length.
type vref uint64

const (
	vrefOffBits = 23
	vrefPosBits = 40
	vrefPosMask = 1<<vrefPosBits - 1
	vrefLong    = 1<<(63-vrefPosBits) - 1
	vrefTomb    = vref(1) << 63
)

// longVal is a value vref cannot locate inline.
type longVal struct {
	r aref
	n uint32
}

func (v vref) tomb() bool { return v&vrefTomb != 0 }

// memEntry is a key of the memtable, 64 bytes (one cache line: the pages
// holding entries are line-aligned). It holds no Go pointers: a key of up
// to 16 bytes is inline (a probe then finds the key with the entry, one
// cache miss fewer), a longer one in the arena; versions beyond two live
// in the memtable's overflow slice.
type memEntry struct {
	inl     [2]memVersion   // versions while nv ≤ 2 and ovf == 0
	kbuf    [inlineKey]byte // the key if klen ≤ inlineKey, else its aref in the first 8 bytes
	klen    uint32
	nv      uint32 // versions, ascending by epoch; the last may be uncommitted
	ovf     uint32 // 0: inline; else 1 + start of the versions in memtable.ovf
	ocapLog uint8  // capacity of the overflow region: 1<<ocapLog
	touched bool
	dead    bool // removed from idx; dropped from the order at the next sort
}

// inlineKey is the longest key kept in the entry itself.
const inlineKey = 16

// entPage is the number of entries per page of memtable.pages.
const (
	entPageShift = 16
	entPage      = 1 << entPageShift
)

// memtable holds committed versions not yet frozen: a hash index (package
// hashindex) for point lookups, the only structure a write touches, and a
// lazily sorted key order (package lazyorder) for scans, range deletions
// and freezing. Entries are identified by uint32 ids and stored in pages
// (an id is stable; a *memEntry is valid until the next insert, which may
// move the first, growing page);
// index, order, entries and versions hold no Go pointers, so the garbage
// collector does not scan them.
type memtable struct {
	idx   *hashindex.Index[uint32]
	order *lazyorder.Order[uint32]
	bytes int64 // charged to the budget
	dirty bool  // holds committed versions

	data  arena        // keys and values
	pages [][]memEntry // entry id → pages[id>>entPageShift][id&(entPage-1)]
	n     uint32       // entries allocated
	ovf   []memVersion // versions of entries with more than two
	longs []longVal    // values vref cannot locate inline

	mkRow  func(int) uint32 // upsertBatch's entry maker: newEntry(mkKeys[i])
	mkKeys [][]byte

	// sparePages are full entry pages of a flushed memtable, reused for
	// new pages: memory in use costs no page faults (fresh memory costs
	// one per 4 KiB page, several microseconds each on a virtual
	// machine). prepaid is the part of the budget charge that covers
	// the adopted memory (spare pages and index slots) until the
	// memtable's own charge has grown as much (see adopt).
	sparePages [][]memEntry
	prepaid    int64

	// hint is the entries of the memtable this one replaced; once it holds
	// an eighth of them (so it is likely to grow as large), its index,
	// order and first entry page get room for the rest at once instead of
	// growing step by step (0: no hint, or applied).
	hint uint32
}

func newMemtable() *memtable {
	m := &memtable{data: newArena()}
	m.mkRow = func(i int) uint32 { return m.newEntry(m.mkKeys[i]) }
	m.idx = hashindex.New(m.keyOf)
	m.order = lazyorder.New(m.keyOf, func(id uint32) bool { return m.ent(id).dead })
	return m
}

func (m *memtable) ent(id uint32) *memEntry {
	return &m.pages[id>>entPageShift][id&(entPage-1)]
}

// keyOf is the key of entry id, sharing the entry's or the arena's bytes
// (never modified: an entry moved by page growth leaves an identical copy).
func (m *memtable) keyOf(id uint32) string {
	e := m.ent(id)
	if e.klen <= inlineKey {
		return unsafe.String(&e.kbuf[0], int(e.klen))
	}
	return m.data.str(aref(binary.LittleEndian.Uint64(e.kbuf[:])), e.klen)
}

// keyBytes is e's key, sharing its bytes (capacity its length).
func (m *memtable) keyBytes(e *memEntry) []byte {
	if e.klen <= inlineKey {
		return e.kbuf[:e.klen:e.klen]
	}
	return m.data.get(aref(binary.LittleEndian.Uint64(e.kbuf[:])), e.klen)
}

// lookup returns the entry of k.
func (m *memtable) lookup(k []byte) (uint32, *memEntry, bool) {
	id, ok := m.idx.Get(k)
	if !ok {
		return 0, nil, false
	}
	return id, m.ent(id), true
}

// insert adds a new entry for k (not in idx), with no versions.
func (m *memtable) insert(k []byte) (uint32, *memEntry) {
	id := m.newEntry(k)
	m.idx.Put(id)
	return id, m.ent(id)
}

// upsertBatch sets ids[i] to the entry of keys[i], adding one (with no
// versions) if absent; added[i] reports that it did. A key repeated in
// keys is added once, at its first occurrence.
func (m *memtable) upsertBatch(keys [][]byte, ids []uint32, added []bool) {
	// A memtable that adopted a flushed one's memory (see adopt) belongs
	// to a table that writes much: it takes the hint at once.
	if m.hint > 0 && (m.n+uint32(len(keys)) >= m.hint/8 || m.prepaid > 0) {
		m.reserve(int(m.hint) - int(m.n))
		m.hint = 0
	}
	m.mkKeys = keys
	m.idx.GetOrPutBatch(keys, ids, added, m.mkRow)
	m.mkKeys = nil
}

// hintMin is the least hint (entries) a new memtable takes: smaller
// memtables grow step by step.
const hintMin = 1 << 16

// reserve makes room for n more entries in the index, the order and the
// first entry page.
func (m *memtable) reserve(n int) {
	if n <= 0 {
		return
	}
	m.idx.Reserve(n)
	m.order.Reserve(n)
	if len(m.pages) == 1 {
		if pg := m.pages[0]; cap(pg) < entPage && cap(pg) < len(pg)+n {
			if sp := m.takeSparePage(); sp != nil {
				m.pages[0] = append(sp, pg...)
			} else {
				m.pages[0] = append(make([]memEntry, 0, min(len(pg)+n, entPage)), pg...)
				adviseHugeEntries(m.pages[0])
			}
		}
	}
}

// takeSparePage returns an empty spare page of entPage capacity, or nil.
func (m *memtable) takeSparePage() []memEntry {
	n := len(m.sparePages)
	if n == 0 {
		return nil
	}
	pg := m.sparePages[n-1][:0]
	m.sparePages[n-1] = nil
	m.sparePages = m.sparePages[:n-1]
	return pg
}

// adopt takes for reuse the full entry pages (its own and its spares) and
// the index slots of old, a flushed memtable no reader can reach any more
// (readers find frozen memtables under the table's lock, and nothing they
// keep aliases entries: keys are copied, values are in the arena, which
// is never reused). It returns the adopted bytes, which the caller keeps
// charged as m.prepaid; m's writes then release that much of their new
// charge, since the memory they use is charged already.
func (m *memtable) adopt(old *memtable) int64 {
	var n int64
	for _, pg := range append(old.pages, old.sparePages...) {
		if cap(pg) == entPage {
			m.sparePages = append(m.sparePages, pg[:0])
			n += entPage * int64(unsafe.Sizeof(memEntry{}))
		}
	}
	old.pages, old.sparePages = nil, nil
	n += m.idx.Adopt(old.idx)
	return n
}

// dropSpare forgets the memory adopt took (the caller releases prepaid).
func (m *memtable) dropSpare() {
	m.sparePages = nil
	m.idx.DropSpare()
}

// newEntry allocates an entry for k and adds it to the order (not the index).
func (m *memtable) newEntry(k []byte) uint32 {
	id := m.n
	p := int(id >> entPageShift)
	if p == len(m.pages) {
		// The first page grows gradually, so a small table stays small
		// (a spare page is taken whole: its table writes much).
		c := entPage
		if p == 0 {
			c = 16
		}
		if sp := m.takeSparePage(); sp != nil {
			m.pages = append(m.pages, sp)
		} else {
			m.pages = append(m.pages, make([]memEntry, 0, c))
			adviseHugeEntries(m.pages[p])
		}
	}
	if pg := m.pages[p]; len(pg) == cap(pg) {
		m.pages[p] = append(make([]memEntry, 0, min(2*cap(pg), entPage)), pg...)
		adviseHugeEntries(m.pages[p])
	}
	m.pages[p] = append(m.pages[p], memEntry{})
	m.n++
	e := m.ent(id)
	e.klen = uint32(len(k))
	if len(k) <= inlineKey {
		copy(e.kbuf[:], k)
	} else {
		binary.LittleEndian.PutUint64(e.kbuf[:], uint64(m.data.add(k)))
	}
	m.order.Add(id)
	return id
}

// remove drops e from the index; the order forgets it at its next sort.
func (m *memtable) remove(id uint32) {
	m.idx.Remove(id)
	m.ent(id).dead = true
	m.order.Removed()
}

// valRef is the vref of the n value bytes at r (not a tombstone).
func (m *memtable) valRef(r aref, n uint32) vref {
	c, off := uint64(r>>32), uint64(uint32(r))
	if c < 1<<(vrefPosBits-vrefOffBits) && off < 1<<vrefOffBits && n < vrefLong {
		return vref(uint64(n)<<vrefPosBits | c<<vrefOffBits | off)
	}
	return m.longRef(r, n)
}

// longRef is valRef of a value the vref cannot locate inline.
func (m *memtable) longRef(r aref, n uint32) vref {
	m.longs = append(m.longs, longVal{r: r, n: n})
	return vref(vrefLong<<vrefPosBits | uint64(len(m.longs)-1))
}

// addVal copies val into the arena and returns its vref.
func (m *memtable) addVal(val []byte) vref {
	return m.valRef(m.data.add(val), uint32(len(val)))
}

// value returns the bytes of v's value (capacity its length; nil when
// empty, as a tombstone's is), sharing the arena's.
func (m *memtable) value(v vref) []byte {
	n := uint32(v>>vrefPosBits) & vrefLong
	switch n {
	case 0:
		return nil
	case vrefLong:
		l := m.longs[v&vrefPosMask]
		return m.data.get(l.r, l.n)
	}
	pos := uint64(v & vrefPosMask)
	c := m.data.chunks[pos>>vrefOffBits]
	off := uint32(pos) & (1<<vrefOffBits - 1)
	return c[off : off+n : off+n]
}

// versions returns e's versions, ascending by epoch. The slice aliases the
// memtable and is valid until its next mutation of e.
func (m *memtable) versions(e *memEntry) []memVersion {
	if e.ovf == 0 {
		return e.inl[:e.nv]
	}
	s := e.ovf - 1
	return m.ovf[s : s+e.nv : s+1<<e.ocapLog]
}

// appendVersion adds v as e's newest version.
func (m *memtable) appendVersion(e *memEntry, v memVersion) {
	if e.ovf == 0 {
		if e.nv < 2 {
			e.inl[e.nv] = v
			e.nv++
			return
		}
		s := len(m.ovf)
		m.ovf = append(m.ovf, e.inl[0], e.inl[1], v, memVersion{})
		e.ovf, e.ocapLog, e.nv = uint32(s)+1, 2, 3
		return
	}
	if c := uint32(1) << e.ocapLog; e.nv == c {
		// Move to a region twice as large at the end; the old one is
		// abandoned until the memtable is dropped.
		s := len(m.ovf)
		m.ovf = append(m.ovf, m.versions(e)...)
		m.ovf = append(m.ovf, make([]memVersion, c)...)
		e.ovf = uint32(s) + 1
		e.ocapLog++
	}
	m.ovf[e.ovf-1+e.nv] = v
	e.nv++
}

// truncate keeps e's first n versions (n ≤ nv), moving them back inline
// when they fit.
func (m *memtable) truncate(e *memEntry, n int) {
	if e.ovf != 0 && n <= 2 {
		copy(e.inl[:], m.versions(e)[:n])
		e.ovf, e.ocapLog = 0, 0
	}
	e.nv = uint32(n)
}

// prune drops the versions of e no reader can see (state.PruneVersions
// without dropping tombstones).
func (m *memtable) prune(e *memEntry, pinned []state.Epoch) {
	vs := m.versions(e)
	if len(vs) < 2 {
		return
	}
	if len(pinned) == 0 {
		vs[0] = vs[len(vs)-1]
		m.truncate(e, 1)
		return
	}
	out := 0
	for i := 0; i < len(vs)-1; i++ {
		// Keep vs[i] if a pinned s has vs[i].epoch ≤ s < vs[i+1].epoch.
		j, _ := slices.BinarySearch(pinned, vs[i].epoch)
		if j < len(pinned) && pinned[j] < vs[i+1].epoch {
			vs[out] = vs[i]
			out++
		}
	}
	vs[out] = vs[len(vs)-1]
	m.truncate(e, out+1)
}

// version converts v to a state.Version whose value aliases the arena.
func (m *memtable) version(v memVersion) state.Version {
	return state.Version{Epoch: v.epoch, Tomb: v.ref.tomb(), Val: m.value(v.ref)}
}

// versionAt returns e's newest version with epoch ≤ at.
func (m *memtable) versionAt(e *memEntry, at state.Epoch) (state.Version, bool) {
	vs := m.versions(e)
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].epoch <= at {
			return m.version(vs[i]), true
		}
	}
	return state.Version{}, false
}

// ordered returns the entry ids in ascending key order, dead ones included
// (callers skip them). The slice must not be modified.
func (m *memtable) ordered() []uint32 { return m.order.Sorted() }

// frozenMem is a memtable that stopped taking writes, waiting to be written
// as a run: the memtable itself (immutable from now on, read without the
// table's lock by the flush) and its entries in key order (among them dead
// ones and ones left without versions, which readers and the flush skip).
// It still holds its budget charge.
type frozenMem struct {
	m        *memtable
	ord      []uint32
	maxEpoch state.Epoch // every version in it has epoch ≤ maxEpoch
	bytes    int64
}

// lookup finds the version of k visible at epoch at.
func (fm *frozenMem) lookup(k []byte, at state.Epoch) (state.Version, bool) {
	if _, e, ok := fm.m.lookup(k); ok {
		return fm.m.versionAt(e, at)
	}
	return state.Version{}, false
}

// freeze turns the memtable into a frozen one: committed versions stay,
// pruned against the pinned epochs; uncommitted versions move to the
// returned fresh memtable, whose entries are returned as touched. No key or
// value bytes are copied except the uncommitted ones.
func (m *memtable) freeze(pinned []state.Epoch, maxEpoch state.Epoch) (*frozenMem, *memtable, []uint32) {
	next := newMemtable()
	if m.n >= hintMin {
		next.hint = m.n
	}
	var touched []uint32
	ord := m.ordered()
	if ord == nil {
		ord = []uint32{}
	}
	// Visit the entries in id order, which is their order in memory: a
	// visit in key order would miss the cache at nearly every entry. The
	// order keeps entries left dead or without versions; readers and the
	// flush skip them.
	for _, pg := range m.pages {
		for i := range pg {
			e := &pg[i]
			if e.dead {
				continue
			}
			e.touched = false
			vs := m.versions(e)
			if n := len(vs); n > 0 && vs[n-1].epoch == uncommitted {
				v := vs[n-1]
				val := m.value(v.ref)
				nid, ne := next.insert(m.keyBytes(e))
				nv := memVersion{epoch: uncommitted, ref: vrefTomb}
				if !v.ref.tomb() {
					nv.ref = next.addVal(val)
				}
				next.appendVersion(ne, nv)
				ne.touched = true
				next.bytes += int64(e.klen) + int64(len(val)) + entryOverhead
				touched = append(touched, nid)
				m.truncate(e, n-1)
			}
			m.prune(e, pinned)
		}
	}
	m.order = nil // the frozen memtable keeps its own order
	// The frozen memtable keeps the prepaid charge with its spare memory.
	fm := &frozenMem{m: m, ord: ord, maxEpoch: maxEpoch, bytes: max(m.bytes-next.bytes, 0) + m.prepaid}
	m.prepaid = 0
	return fm, next, touched
}

// prefetchEntry prefetches e (one cache line).
func prefetchEntry(e *memEntry) { prefetch(unsafe.Pointer(e)) }

// adviseHugeEntries asks for huge pages under a large entry page (lookups
// touch entries at random).
func adviseHugeEntries(pg []memEntry) {
	hugepage.Advise(unsafe.Pointer(unsafe.SliceData(pg)), uintptr(cap(pg))*unsafe.Sizeof(memEntry{}))
}
