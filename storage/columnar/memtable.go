package columnar

import (
	"bytes"
	"sort"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/hashindex"
	"github.com/sabotsql/sabotsql/storage/state/lazyorder"
)

// entryOverhead approximates the bookkeeping bytes of a memtable entry: the
// entry with its inline version (96), its hash-index slot with growth slack
// (16 bytes at 37-75% load: ~21-43) and its place in the sorted order (8-16
// while merging). Measured with a Go map index: an EWMA state charged ~266
// B/key against ~290 B/key of Go heap.
const entryOverhead = 160

// versionOverhead is the charge of one more version of a key already in the
// memtable (its slot in the version slice).
const versionOverhead = 40

// uncommitted stamps pending versions until Commit gives them their epoch;
// it exceeds every snapshot epoch and is below the writer view's MaxEpoch.
const uncommitted = state.MaxEpoch - 1

type memEntry struct {
	key     string
	vs      []state.Version  // ascending by epoch; the last may be uncommitted
	one     [2]state.Version // inline storage: a committed and a pending version need no allocation
	touched bool
	dead    bool // removed from idx; dropped from the order at the next sort
}

// charge is the budget charge of one version of k.
func charge(k string, v state.Version) int64 { return int64(len(k)+len(v.Val)) + entryOverhead }

// memtable holds committed versions not yet frozen: a hash index (package
// hashindex) for point lookups, the only structure a write touches, and a
// lazily sorted key order (package lazyorder) for scans, range deletions
// and freezing.
type memtable struct {
	idx   *hashindex.Index[*memEntry]
	order *lazyorder.Order[*memEntry]
	bytes int64 // charged to the budget
	dirty bool  // holds committed versions

	keyArena []byte     // backing store of the entries' keys
	slab     []memEntry // entries are carved from slabs, not allocated one by one
}

func newMemtable() *memtable {
	return &memtable{
		idx:   hashindex.New(func(e *memEntry) string { return e.key }),
		order: lazyorder.New(func(e *memEntry) string { return e.key }, func(e *memEntry) bool { return e.dead }),
	}
}

// insert adds a new entry for k (not in idx). Keys are carved from an arena,
// so a new key costs no allocation of its own; the arena lives as long as
// the memtable (until its flush).
func (m *memtable) insert(k []byte) *memEntry {
	if cap(m.keyArena)-len(m.keyArena) < len(k) {
		m.keyArena = make([]byte, 0, max(64<<10, len(k)))
	}
	start := len(m.keyArena)
	m.keyArena = append(m.keyArena, k...)
	kb := m.keyArena[start:len(m.keyArena):len(m.keyArena)]
	if len(m.slab) == 0 {
		m.slab = make([]memEntry, 256)
	}
	en := &m.slab[0]
	m.slab = m.slab[1:]
	en.key = unsafe.String(unsafe.SliceData(kb), len(kb))
	en.vs = en.one[:0]
	m.idx.Put(en)
	m.order.Add(en)
	return en
}

// remove drops en from the index; the order forgets it at its next sort.
func (m *memtable) remove(en *memEntry) {
	m.idx.Remove(en)
	en.dead = true
	m.order.Removed()
}

// ordered returns the entries in ascending key order, dead ones included
// (callers skip them). The slice must not be modified.
func (m *memtable) ordered() []*memEntry { return m.order.Sorted() }

// seekOrdered returns the index of the first entry of ord with key ≥ k.
func (m *memtable) seekOrdered(ord []*memEntry, k []byte) int { return m.order.Seek(ord, string(k)) }

// frozenMem is a memtable turned into sorted Arrow blocks, waiting to be
// written as a run. It still holds its budget charge.
type frozenMem struct {
	blocks    []*block
	firstKeys [][]byte
	maxEpoch  state.Epoch // every version in it has epoch ≤ maxEpoch
	bytes     int64
}

// freeze converts the committed versions of the memtable into blocks of at
// most blockRows rows (a key's versions never straddle blocks), newest first
// per key, pruned against the pinned epochs. Uncommitted versions move to
// the returned fresh memtable, whose entries are returned as touched.
func (m *memtable) freeze(blockRows int, pinned []state.Epoch, maxEpoch state.Epoch) (*frozenMem, *memtable, []*memEntry) {
	fm := &frozenMem{maxEpoch: maxEpoch}
	next := newMemtable()
	var touched []*memEntry
	bb := newBlockBuilder(memory.NewGoAllocator())
	defer bb.release()
	for _, en := range m.ordered() {
		if en.dead {
			continue
		}
		vs := en.vs
		if n := len(vs); n > 0 && vs[n-1].Epoch == uncommitted {
			ne := next.insert([]byte(en.key))
			ne.vs = append(ne.vs, vs[n-1])
			ne.touched = true
			next.bytes += charge(ne.key, vs[n-1])
			touched = append(touched, ne)
			vs = vs[:n-1]
		}
		vs = state.PruneVersions(vs, pinned, false)
		if len(vs) == 0 {
			continue
		}
		if bb.rows >= blockRows {
			b := bb.finish()
			fm.blocks = append(fm.blocks, b)
			fm.firstKeys = append(fm.firstKeys, b.keys.Value(0))
		}
		k := []byte(en.key)
		for i := len(vs) - 1; i >= 0; i-- {
			bb.add(k, uint64(vs[i].Epoch), vs[i].Tomb, vs[i].Val)
		}
	}
	if bb.rows > 0 {
		b := bb.finish()
		fm.blocks = append(fm.blocks, b)
		fm.firstKeys = append(fm.firstKeys, b.keys.Value(0))
	}
	fm.bytes = max(m.bytes-next.bytes, 0)
	return fm, next, touched
}

// findBlock returns the index of the last block whose first key ≤ k, or -1.
func findBlock(firstKeys [][]byte, k []byte) int {
	return sort.Search(len(firstKeys), func(i int) bool { return bytes.Compare(firstKeys[i], k) > 0 }) - 1
}

// versionIn finds the newest version of k with epoch ≤ at in block b.
func versionIn(b *block, k []byte, at state.Epoch) (state.Version, bool) {
	for i := b.seek(k); i < b.len() && bytes.Equal(b.key(i), k); i++ {
		if state.Epoch(b.epochs[i]) <= at {
			return state.Version{Epoch: state.Epoch(b.epochs[i]), Tomb: b.tombs.Value(i), Val: b.vals.Value(i)}, true
		}
	}
	return state.Version{}, false
}
