package state

import (
	"context"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state/hashindex"
	"github.com/sabotsql/sabotsql/storage/state/lazyorder"
)

// scanPiece is the number of rows a Scan hands to its callback at a time.
const scanPiece = 1024

// uncommitted stamps the writer's pending versions until Commit replaces it
// with the real epoch. It exceeds every committed epoch, so snapshots never
// see pending versions, and is below MaxEpoch, so the writer view does.
const uncommitted = MaxEpoch - 1

type memEntry struct {
	key     string
	vs      []Version // ascending by epoch; the last may be uncommitted
	one     [1]Version
	touched bool // in MemoryTable.touched
	inGC    bool // in MemoryTable.gcKeys
	dead    bool // out of idx; the order drops it at its next sort
}

func newOrder() *lazyorder.Order[*memEntry] {
	return lazyorder.New(func(e *memEntry) string { return e.key }, func(e *memEntry) bool { return e.dead })
}

// MemoryTable is the `memory` backend: a hash index for point lookups and a
// lazily sorted key order (package lazyorder) for scans and range deletions
// over multi-versioned entries, all in RAM and
// lost on restart (the engine rebuilds it from the last checkpoint). Pending
// writes live in the same structures, stamped uncommitted, so a write costs
// one hash probe and a commit one pass over the touched entries.
type MemoryTable struct {
	codec *RowCodec
	alloc memory.Allocator

	mu        sync.RWMutex // guards everything below
	idx       *hashindex.Index[*memEntry]
	order     *lazyorder.Order[*memEntry]
	committed Epoch
	pins      map[Epoch]int // live snapshots per epoch
	gcKeys    map[string]*memEntry
	closed    bool
	keyBytes  int64       // Σ len(key) over idx
	valBytes  int64       // Σ len(Val) over every stored version
	touched   []*memEntry // entries with a pending version
	cleanBel  []byte      // CleanBelow watermark of the pending epoch
	hasClean  bool
	arena     []byte
	offs      []int  // Write scratch: row offsets into arena
	skip      []bool // Write scratch: rows not to encode (deletes)
	charge    memCharge
}

var _ Table = (*MemoryTable)(nil)

// NewMemoryTable returns an empty memory table for the value schema.
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
	return &MemoryTable{
		charge: memCharge{budget: opts.Budget, name: opts.Name},
		codec:  codec,
		alloc:  alloc,
		idx:    hashindex.New(func(e *memEntry) string { return e.key }),
		order:  newOrder(),
		pins:   make(map[Epoch]int),
		gcKeys: make(map[string]*memEntry),
	}, nil
}

// ValueSchema implements Table.
func (m *MemoryTable) ValueSchema() *arrow.Schema { return m.codec.schema }

// Write implements Table.
func (m *MemoryTable) Write(ctx context.Context, keys [][]byte, ops []Op, values arrow.RecordBatch) error {
	if err := CheckWrite(m.codec, keys, ops, values); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	// Encode the batch's rows into the arena column at a time; the entries
	// keep slices of it.
	offs := slices.Grow(m.offs[:0], len(keys)+1)[:len(keys)+1]
	m.offs = offs
	if values != nil {
		var skip []bool
		if ops != nil {
			skip = slices.Grow(m.skip[:0], len(keys))[:len(keys)]
			m.skip = skip
			for i, op := range ops {
				skip[i] = op == OpDelete
			}
		}
		if cap(m.arena)-len(m.arena) < 64*len(keys) {
			m.arena = make([]byte, 0, max(256<<10, 64*len(keys)))
		}
		m.arena = m.codec.EncodeRows(m.arena, values, skip, offs)
	}
	// Charge the worst case (every key new) before changing anything.
	need := m.footprintLocked() + int64(len(keys))*memEntryOverhead
	if values != nil {
		need += int64(offs[len(keys)] - offs[0])
	}
	for _, k := range keys {
		need += int64(len(k))
	}
	if err := m.charge.ensure(ctx, need); err != nil {
		return err
	}
	for i, k := range keys {
		v := Version{Epoch: uncommitted, Tomb: true}
		if ops == nil || ops[i] == OpPut {
			v = Version{Epoch: uncommitted, Val: m.arena[offs[i]:offs[i+1]:offs[i+1]]}
		}
		en, _ := m.idx.Get(k)
		if en == nil {
			en = &memEntry{key: string(k)}
			en.vs = en.one[:0]
			m.idx.Put(en)
			m.order.Add(en)
			m.keyBytes += int64(len(k))
		}
		m.valBytes += int64(len(v.Val))
		if n := len(en.vs); n > 0 && en.vs[n-1].Epoch == uncommitted {
			m.valBytes -= int64(len(en.vs[n-1].Val))
			en.vs[n-1] = v
		} else {
			en.vs = append(en.vs, v)
		}
		if !en.touched {
			en.touched = true
			m.touched = append(m.touched, en)
		}
	}
	return nil
}

// CleanBelow implements Table.
func (m *MemoryTable) CleanBelow(ctx context.Context, watermark []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	// Earlier writes of this epoch below the watermark are undone.
	for _, en := range m.order.Sorted() {
		if en.key >= string(watermark) {
			break
		}
		if n := len(en.vs); !en.dead && n > 0 && en.vs[n-1].Epoch == uncommitted {
			m.valBytes -= int64(len(en.vs[n-1].Val))
			en.vs[n-1] = Version{}
			en.vs = en.vs[:n-1]
		}
	}
	if !m.hasClean || string(watermark) > string(m.cleanBel) {
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

// settleLocked prunes en and files it in the index, GC set or nowhere.
func (m *MemoryTable) settleLocked(en *memEntry, pinned []Epoch) {
	if len(en.vs) > 1 || (len(en.vs) == 1 && en.vs[0].Tomb) {
		m.valBytes -= valBytes(en.vs)
		en.vs = PruneVersions(en.vs, pinned, true)
		m.valBytes += valBytes(en.vs)
	}
	switch {
	case len(en.vs) == 0:
		m.keyBytes -= int64(len(en.key))
		m.idx.Remove(en)
		en.dead = true
		m.order.Removed()
		if en.inGC {
			delete(m.gcKeys, en.key)
			en.inGC = false
		}
	case len(en.vs) > 1 || en.vs[0].Tomb:
		if !en.inGC {
			m.gcKeys[en.key] = en
			en.inGC = true
		}
	default:
		if en.inGC {
			delete(m.gcKeys, en.key)
			en.inGC = false
		}
	}
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
	if m.hasClean {
		var doomed []*memEntry
		for _, en := range m.order.Sorted() {
			if en.key >= string(m.cleanBel) {
				break
			}
			if n := len(en.vs); !en.dead && n > 0 && en.vs[n-1].Epoch != uncommitted && !en.vs[n-1].Tomb {
				doomed = append(doomed, en)
			}
		}
		for _, en := range doomed {
			en.vs = append(en.vs, Version{Epoch: e, Tomb: true})
			m.settleLocked(en, pinned)
		}
	}
	for _, en := range m.touched {
		en.touched = false
		if n := len(en.vs); n > 0 && en.vs[n-1].Epoch == uncommitted {
			en.vs[n-1].Epoch = e
		}
		if n := len(en.vs); n >= 2 && en.vs[n-2].Epoch == e {
			// Cleaned at this epoch, then rewritten: the write wins.
			m.valBytes -= int64(len(en.vs[n-2].Val))
			en.vs[n-2] = en.vs[n-1]
			en.vs = en.vs[:n-1]
		}
		m.settleLocked(en, pinned)
	}
	clear(m.touched)
	m.touched = m.touched[:0]
	m.hasClean = false
	m.arena = nil
	m.committed = e
	m.charge.trim(m.footprintLocked())
	return nil
}

// gcLocked prunes every multi-version key against the current pins.
func (m *MemoryTable) gcLocked() {
	pinned := m.pinnedLocked()
	for _, en := range m.gcKeys {
		if !en.touched {
			m.settleLocked(en, pinned)
		}
	}
}

// visibleLocked returns the version of en visible at epoch at; the writer
// view (at == MaxEpoch) includes pending versions and the pending CleanBelow.
func (m *MemoryTable) visibleLocked(en *memEntry, at Epoch) (Version, bool) {
	if at != MaxEpoch {
		return VersionAt(en.vs, at)
	}
	n := len(en.vs)
	if n == 0 {
		return Version{}, false
	}
	v := en.vs[n-1]
	if m.hasClean && v.Epoch != uncommitted && en.key < string(m.cleanBel) {
		return Version{}, false
	}
	return v, true
}

// Get implements Table: the writer view.
func (m *MemoryTable) Get(ctx context.Context, keys [][]byte) (Lookup, error) {
	return m.get(keys, MaxEpoch)
}

func (m *MemoryTable) get(keys [][]byte, at Epoch) (Lookup, error) {
	vals := make([][]byte, len(keys))
	found := make([]bool, len(keys))
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return Lookup{}, ErrClosed
	}
	for i, k := range keys {
		if en, ok := m.idx.Get(k); ok {
			if v, ok := m.visibleLocked(en, at); ok && !v.Tomb {
				vals[i], found[i] = v.Val, true
			}
		}
	}
	m.mu.RUnlock()
	rec, err := BuildRows(m.alloc, m.codec, vals, found)
	if err != nil {
		return Lookup{}, err
	}
	return Lookup{Values: rec, Found: found}, nil
}

// Scan implements Table: the writer view.
func (m *MemoryTable) Scan(ctx context.Context, r KeyRange, fn ScanFunc) error {
	return m.scan(ctx, r, MaxEpoch, fn)
}

// scan gathers pieces under the read lock and calls fn without it, so fn
// may call the table's other methods.
func (m *MemoryTable) scan(ctx context.Context, r KeyRange, at Epoch, fn ScanFunc) error {
	cursor := r.Start
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var keys, vals [][]byte
		done := true
		m.mu.RLock()
		if m.closed {
			m.mu.RUnlock()
			return ErrClosed
		}
		ord := m.order.Sorted()
		for _, en := range ord[m.order.Seek(ord, string(cursor)):] {
			if en.dead {
				continue
			}
			k := en.key
			if r.End != nil && k >= string(r.End) {
				break
			}
			if len(keys) == scanPiece {
				done = false
				cursor = append([]byte(keys[len(keys)-1]), 0)
				break
			}
			if v, ok := m.visibleLocked(en, at); ok && !v.Tomb {
				keys = append(keys, []byte(k))
				vals = append(vals, v.Val)
			}
		}
		m.mu.RUnlock()
		if len(keys) > 0 {
			found := make([]bool, len(keys))
			for i := range found {
				found[i] = true
			}
			rec, err := BuildRows(m.alloc, m.codec, vals, found)
			if err != nil {
				return err
			}
			err = fn(keys, rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
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

func valBytes(vs []Version) (n int64) {
	for _, v := range vs {
		n += int64(len(v.Val))
	}
	return n
}

// memEntryOverhead approximates the bytes of one entry besides its key and
// values: the map slot, the skip-list node and the entry with its version
// slice.
const memEntryOverhead = 160

// Stats implements Table: Keys counts entries (live keys plus tombstones a
// snapshot still needs); MemBytes estimates keys, values and per-entry
// overhead. DiskBytes is 0.
func (m *MemoryTable) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return Stats{Keys: int64(m.idx.Len()), MemBytes: m.footprintLocked()}
}

func (m *MemoryTable) footprintLocked() int64 {
	return m.keyBytes + m.valBytes + int64(m.idx.Len())*memEntryOverhead
}

// Close implements Table.
func (m *MemoryTable) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.charge.releaseAll()
	m.idx, m.order, m.gcKeys, m.touched = hashindex.New(func(e *memEntry) string { return e.key }), newOrder(), nil, nil
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
