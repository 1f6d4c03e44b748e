package state

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state/skiplist"
)

// scanPiece is the number of rows a Scan hands to its callback at a time.
const scanPiece = 1024

type memEntry struct {
	key string
	vs  []Version // ascending by epoch
}

type pendVal struct {
	tomb bool
	val  []byte
}

// MemoryTable is the `memory` backend: a hash index for point lookups and a
// skip list for ordered scans over multi-versioned entries, all in RAM and
// lost on restart (the engine rebuilds it from the last checkpoint).
type MemoryTable struct {
	codec *RowCodec
	alloc memory.Allocator

	mu        sync.RWMutex // guards the fields below up to the writer state
	idx       map[string]*memEntry
	order     *skiplist.List[*memEntry]
	committed Epoch
	pins      map[Epoch]int // live snapshots per epoch
	gcKeys    map[string]*memEntry
	closed    bool

	// Writer state: touched only by the writer goroutine.
	pending  map[string]pendVal
	cleanBel []byte // CleanBelow watermark of the pending epoch
	hasClean bool
	arena    []byte
}

var _ Table = (*MemoryTable)(nil)

// NewMemoryTable returns an empty memory table for the value schema.
func NewMemoryTable(valueSchema *arrow.Schema, alloc memory.Allocator) (*MemoryTable, error) {
	codec, err := NewRowCodec(valueSchema)
	if err != nil {
		return nil, err
	}
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	return &MemoryTable{
		codec:   codec,
		alloc:   alloc,
		idx:     make(map[string]*memEntry),
		order:   skiplist.New[*memEntry](),
		pins:    make(map[Epoch]int),
		gcKeys:  make(map[string]*memEntry),
		pending: make(map[string]pendVal),
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
	for i, k := range keys {
		if ops != nil && ops[i] == OpDelete {
			m.pending[string(k)] = pendVal{tomb: true}
			continue
		}
		if cap(m.arena)-len(m.arena) < 256 {
			m.arena = make([]byte, 0, 64<<10)
		}
		start := len(m.arena)
		m.arena = m.codec.AppendRow(m.arena, values, i)
		m.pending[string(k)] = pendVal{val: m.arena[start:len(m.arena):len(m.arena)]}
	}
	return nil
}

// CleanBelow implements Table.
func (m *MemoryTable) CleanBelow(ctx context.Context, watermark []byte) error {
	for k := range m.pending {
		if k < string(watermark) {
			delete(m.pending, k)
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

// Commit implements Table.
func (m *MemoryTable) Commit(ctx context.Context, e Epoch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if e <= m.committed {
		return pgerror.Internal("state: commit of epoch %d after epoch %d", e, m.committed)
	}
	pinned := m.pinnedLocked()
	touch := func(en *memEntry, v Version) {
		if n := len(en.vs); n > 0 && en.vs[n-1].Epoch == e {
			en.vs[n-1] = v
		} else {
			en.vs = append(en.vs, v)
		}
		en.vs = PruneVersions(en.vs, pinned, true)
		switch {
		case len(en.vs) == 0:
			delete(m.idx, en.key)
			delete(m.gcKeys, en.key)
			m.order.Delete(en.key)
		case len(en.vs) > 1 || en.vs[0].Tomb:
			m.gcKeys[en.key] = en
		default:
			delete(m.gcKeys, en.key)
		}
	}
	if m.hasClean {
		var doomed []*memEntry
		for it := m.order.First(); it.Valid() && it.Key() < string(m.cleanBel); it.Next() {
			if en := it.Value(); !en.vs[len(en.vs)-1].Tomb {
				doomed = append(doomed, en)
			}
		}
		for _, en := range doomed {
			touch(en, Version{Epoch: e, Tomb: true})
		}
	}
	for k, p := range m.pending {
		en := m.idx[k]
		if en == nil {
			if p.tomb {
				continue
			}
			en = &memEntry{key: k}
			m.idx[k] = en
			m.order.Set(k, en)
		}
		touch(en, Version{Epoch: e, Tomb: p.tomb, Val: p.val})
	}
	clear(m.pending)
	m.hasClean = false
	m.arena = nil
	m.committed = e
	return nil
}

// gcLocked prunes every multi-version key against the current pins.
func (m *MemoryTable) gcLocked() {
	pinned := m.pinnedLocked()
	for k, en := range m.gcKeys {
		en.vs = PruneVersions(en.vs, pinned, true)
		switch {
		case len(en.vs) == 0:
			delete(m.idx, k)
			delete(m.gcKeys, k)
			m.order.Delete(k)
		case len(en.vs) == 1 && !en.vs[0].Tomb:
			delete(m.gcKeys, k)
		}
	}
}

// Get implements Table: the writer view.
func (m *MemoryTable) Get(ctx context.Context, keys [][]byte) (Lookup, error) {
	return m.get(keys, MaxEpoch, true)
}

func (m *MemoryTable) get(keys [][]byte, at Epoch, writer bool) (Lookup, error) {
	vals := make([][]byte, len(keys))
	found := make([]bool, len(keys))
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return Lookup{}, ErrClosed
	}
	for i, k := range keys {
		if writer {
			if len(m.pending) > 0 {
				if p, ok := m.pending[string(k)]; ok {
					vals[i], found[i] = p.val, !p.tomb
					continue
				}
			}
			if m.hasClean && string(k) < string(m.cleanBel) {
				continue
			}
		}
		en := m.idx[string(k)]
		if en == nil {
			continue
		}
		var v Version
		if at == MaxEpoch {
			v = en.vs[len(en.vs)-1]
		} else {
			var ok bool
			if v, ok = VersionAt(en.vs, at); !ok {
				continue
			}
		}
		vals[i], found[i] = v.Val, !v.Tomb
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
	return m.scan(ctx, r, MaxEpoch, true, fn)
}

type kv struct {
	key  string
	tomb bool
	val  []byte
}

func (m *MemoryTable) scan(ctx context.Context, r KeyRange, at Epoch, writer bool, fn ScanFunc) error {
	var pend []kv
	if writer {
		for k, p := range m.pending {
			if r.Contains([]byte(k)) {
				pend = append(pend, kv{key: k, tomb: p.tomb, val: p.val})
			}
		}
		sort.Slice(pend, func(i, j int) bool { return pend[i].key < pend[j].key })
	}
	cursor := r.Start
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Gather the next piece of committed entries under the read lock.
		var got []kv
		done := true
		m.mu.RLock()
		if m.closed {
			m.mu.RUnlock()
			return ErrClosed
		}
		for it := m.order.Seek(cursor); it.Valid(); it.Next() {
			k := it.Key()
			if r.End != nil && k >= string(r.End) {
				break
			}
			if len(got) == scanPiece {
				done = false
				break
			}
			en := it.Value()
			v, ok := VersionAt(en.vs, at)
			if !ok {
				continue
			}
			if writer && m.hasClean && k < string(m.cleanBel) {
				v.Tomb = true
			}
			got = append(got, kv{key: k, tomb: v.Tomb, val: v.Val})
		}
		m.mu.RUnlock()
		// Merge pending writes up to the last gathered key (or all, at the end).
		var limit string
		if !done {
			limit = got[len(got)-1].key
			cursor = append([]byte(limit), 0)
		}
		merged := make([]kv, 0, len(got)+len(pend))
		i := 0
		for _, c := range got {
			for i < len(pend) && pend[i].key < c.key {
				merged = append(merged, pend[i])
				i++
			}
			if i < len(pend) && pend[i].key == c.key {
				merged = append(merged, pend[i])
				i++
				continue
			}
			merged = append(merged, c)
		}
		for i < len(pend) && (done || pend[i].key <= limit) {
			merged = append(merged, pend[i])
			i++
		}
		pend = pend[i:]
		if err := emit(m.alloc, m.codec, merged, fn); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// emit hands the live rows of kvs to fn in pieces.
func emit(alloc memory.Allocator, codec *RowCodec, kvs []kv, fn ScanFunc) error {
	var keys [][]byte
	var vals [][]byte
	for _, x := range kvs {
		if !x.tomb {
			keys = append(keys, []byte(x.key))
			vals = append(vals, x.val)
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), scanPiece)
		found := make([]bool, n)
		for i := range found {
			found[i] = true
		}
		rec, err := BuildRows(alloc, codec, vals[:n], found)
		if err != nil {
			return err
		}
		err = fn(keys[:n], rec)
		rec.Release()
		if err != nil {
			return err
		}
		keys, vals = keys[n:], vals[n:]
	}
	return nil
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

// Close implements Table.
func (m *MemoryTable) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.idx, m.order, m.gcKeys, m.pending = nil, skiplist.New[*memEntry](), nil, nil
	return nil
}

type memSnapshot struct {
	m        *MemoryTable
	e        Epoch
	released sync.Once
}

func (s *memSnapshot) Epoch() Epoch { return s.e }

func (s *memSnapshot) Get(ctx context.Context, keys [][]byte) (Lookup, error) {
	return s.m.get(keys, s.e, false)
}

func (s *memSnapshot) Scan(ctx context.Context, r KeyRange, fn ScanFunc) error {
	return s.m.scan(ctx, r, s.e, false, fn)
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
