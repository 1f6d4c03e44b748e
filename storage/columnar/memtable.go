package columnar

import (
	"bytes"
	"sort"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/skiplist"
)

// entryOverhead approximates the per-version bookkeeping bytes of the
// memtable (map slot, skip-list node, version header).
const entryOverhead = 96

// uncommitted stamps pending versions until Commit gives them their epoch;
// it exceeds every snapshot epoch and is below the writer view's MaxEpoch.
const uncommitted = state.MaxEpoch - 1

type memEntry struct {
	key     string
	vs      []state.Version // ascending by epoch; the last may be uncommitted
	touched bool
}

// charge is the budget charge of one version of k.
func charge(k string, v state.Version) int64 { return int64(len(k)+len(v.Val)) + entryOverhead }

// memtable holds committed versions not yet frozen: a hash index for point
// lookups and a skip list for ordered scans and freezing.
type memtable struct {
	idx   map[string]*memEntry
	order *skiplist.List[*memEntry]
	bytes int64 // charged to the budget
	dirty bool  // holds committed versions
}

func newMemtable() *memtable {
	return &memtable{idx: make(map[string]*memEntry), order: skiplist.New[*memEntry]()}
}

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
	for it := m.order.First(); it.Valid(); it.Next() {
		en := it.Value()
		vs := en.vs
		if n := len(vs); n > 0 && vs[n-1].Epoch == uncommitted {
			ne := &memEntry{key: en.key, vs: []state.Version{vs[n-1]}, touched: true}
			next.idx[ne.key] = ne
			next.order.Set(ne.key, ne)
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
	for i := b.seek(k); i < b.len() && bytes.Equal(b.keys.Value(i), k); i++ {
		if state.Epoch(b.epochs[i]) <= at {
			return state.Version{Epoch: state.Epoch(b.epochs[i]), Tomb: b.tombs.Value(i), Val: b.vals.Value(i)}, true
		}
	}
	return state.Version{}, false
}
