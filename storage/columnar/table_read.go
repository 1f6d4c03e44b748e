package columnar

import (
	"bytes"
	"context"
	"slices"
	"sort"

	"github.com/sabotsql/sabotsql/storage/state"
)

const scanPiece = 1024

// getBlock returns block i of r through the cache.
func (t *Table) getBlock(r *run, i int) (*block, error) {
	return t.getBlockMemo(r, i, nil, nil)
}

// readBufs lends a lookup call the buffers of the blocks it reads and the
// cache does not keep: the values it finds alias them until the call has
// copied them into its result, then they go back to the table's pool. An
// uncached point lookup thus reads into a warm buffer instead of
// allocating (and zeroing, and later collecting) one per block.
type readBufs struct {
	held []*[]byte
}

// take returns a buffer of at least n bytes from the pool, to be handed
// back with keep (if the block read into it is not cached) or dropped.
func (t *Table) takeBuf(n int) *[]byte {
	if p, ok := t.bufPool.Get().(*[]byte); ok && cap(*p) >= n {
		return p
	}
	b := make([]byte, 0, max(n, 16<<10))
	return &b
}

// release returns the held buffers to the pool. The caller no longer uses
// any slice of the blocks read into them.
func (rb *readBufs) release(t *Table) {
	for i, p := range rb.held {
		t.bufPool.Put(p)
		rb.held[i] = nil
	}
	rb.held = rb.held[:0]
}

// blockMemo holds, per run, the block a vectorized lookup read last. Get
// visits its keys in key order, so a run's block index never decreases
// within one call: remembering only the last block reads and decodes each
// block at most once per call even when the cache cannot keep it, while the
// call holds at most one decoded block per run (not every block its keys
// touch).
type blockMemo map[uint64]memoBlock

type memoBlock struct {
	i   int
	b   *block
	buf *[]byte // the lent buffer b was read into, if the cache did not keep it
}

// release hands the buffers of the memoized blocks back to the pool.
func (m blockMemo) release(t *Table) {
	for id, mb := range m {
		if mb.buf != nil {
			t.bufPool.Put(mb.buf)
			mb.buf = nil
			m[id] = mb
		}
	}
}

// getBlockMemo is getBlock through a per-call memo (nil: none), reading
// into buffers lent by rb (nil: fresh buffers). With rb (a lookup, which
// reads blocks only through versionIn) a block read from the file has its
// offsets verified only if the cache may keep it: the cache, and so scans,
// see verified blocks only.
func (t *Table) getBlockMemo(r *run, i int, memo blockMemo, rb *readBufs) (*block, error) {
	if m, ok := memo[r.info.ID]; ok && m.i == i {
		return m.b, nil
	}
	k := cacheKey{run: r.info.ID, block: i}
	b := t.cache.get(k)
	if b == nil {
		var buf *[]byte
		if rb != nil {
			buf = t.takeBuf(int(r.index[i].length))
		}
		var err error
		if buf != nil {
			b, err = r.readBlockInto(i, *buf, true)
			if err == nil && t.cache.mayFit(b.size) {
				if verr := b.verify(); verr != nil {
					err = corruptf(r.info.File, "block %d: %v", i, verr)
				}
			}
		} else {
			b, err = r.readBlock(i)
		}
		if err != nil {
			if buf != nil {
				t.bufPool.Put(buf)
			}
			return nil, err
		}
		if (!b.checked || !t.cache.put(k, b)) && buf != nil {
			if memo == nil {
				rb.held = append(rb.held, buf)
			}
		} else {
			buf = nil
		}
		if memo != nil {
			// A memoized call copies what it finds before its next lookup
			// (get): the block it leaves is no longer referenced, so its
			// buffer goes back at once. The call then holds one buffer per
			// run, not one per block its keys touched (with 2Ki-key
			// backfill chunks those pinned ~90 MB at 20M keys).
			if old, ok := memo[r.info.ID]; ok && old.buf != nil {
				t.bufPool.Put(old.buf)
			}
			memo[r.info.ID] = memoBlock{i: i, b: b, buf: buf}
		}
		return b, nil
	}
	if memo != nil {
		if old, ok := memo[r.info.ID]; ok && old.buf != nil {
			t.bufPool.Put(old.buf)
		}
		memo[r.info.ID] = memoBlock{i: i, b: b}
	}
	return b, nil
}

// hiddenLocked reports whether version v of k is hidden by a range deletion
// visible at epoch at, or, in the writer view, by the pending CleanBelow.
func (t *Table) hiddenLocked(k []byte, v state.Version, at state.Epoch, writer bool) bool {
	ve := v.Epoch
	if ve == uncommitted {
		return false
	}
	if writer && t.hasClean && bytes.Compare(k, t.cleanBel) < 0 {
		return true
	}
	for _, rd := range t.rds {
		if state.Epoch(rd.Epoch) <= at && ve < state.Epoch(rd.Epoch) && bytes.Compare(k, rd.End) < 0 {
			return true
		}
	}
	return false
}

// lookupLocked finds the version of k visible at epoch at in committed
// state: memtable, then frozen memtables, then runs, newest first.
func (t *Table) lookupLocked(k []byte, at state.Epoch, memo blockMemo, rb *readBufs) (state.Version, bool, error) {
	if _, e, ok := t.mem.lookup(k); ok {
		if v, ok := t.mem.versionAt(e, at); ok {
			return v, true, nil
		}
	}
	for _, fm := range t.frozen {
		if v, ok := fm.lookup(k, at); ok {
			return v, true, nil
		}
	}
	for _, r := range t.runs {
		if state.Epoch(r.info.MinEpoch) > at || !r.bloom.mayContain(k) {
			continue
		}
		i := r.findBlock(k)
		if i < 0 {
			continue
		}
		b, err := t.getBlockMemo(r, i, memo, rb)
		if err != nil {
			return state.Version{}, false, err
		}
		v, ok, err := versionIn(b, k, at)
		if err != nil {
			return state.Version{}, false, corruptf(r.info.File, "block %d: %v", i, err)
		}
		if ok {
			return v, true, nil
		}
	}
	return state.Version{}, false, nil
}

// Get implements state.Table: the writer view.
func (t *Table) Get(ctx context.Context, keys [][]byte) (state.Lookup, error) {
	return t.get(ctx, keys, state.MaxEpoch, true)
}

func (t *Table) get(ctx context.Context, keys [][]byte, at state.Epoch, writer bool) (state.Lookup, error) {
	if err := ctx.Err(); err != nil {
		return state.Lookup{}, err
	}
	vals := make([][]byte, len(keys))
	found := make([]bool, len(keys))
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return state.Lookup{}, state.ErrClosed
	}
	var memo blockMemo
	if len(keys) > 1 && len(t.runs) > 0 {
		memo = make(blockMemo, len(t.runs))
	}
	var rb readBufs
	one := [1]int{0}
	order := one[:min(len(keys), 1)]
	if len(keys) > 1 {
		// Visit the keys in key order: consecutive lookups then walk the
		// same index paths and blocks, which stay in the CPU cache.
		order = sortedOrder(keys)
	}
	var slab []byte // copies of found values (memoized calls)
	for _, i := range order {
		k := keys[i]
		v, ok, err := t.lookupLocked(k, at, memo, &rb)
		if err != nil {
			t.mu.RUnlock()
			rb.release(t)
			memo.release(t)
			return state.Lookup{}, err
		}
		if ok && !v.Tomb && !t.hiddenLocked(k, v, at, writer) {
			val := v.Val
			if memo != nil {
				if cap(slab)-len(slab) < len(val) {
					slab = make([]byte, 0, max(64<<10, len(val)))
				}
				slab = append(slab, val...)
				val = slab[len(slab)-len(val):]
			}
			vals[i], found[i] = val, true
		}
	}
	t.mu.RUnlock()
	memo.release(t)
	rec, err := state.BuildRows(t.opts.Allocator, t.codec, vals, found)
	// The result holds copies: the values may alias lent buffers no more.
	clear(vals)
	rb.release(t)
	if err != nil {
		return state.Lookup{}, err
	}
	return state.Lookup{Values: rec, Found: found}, nil
}

// entryIter walks entries in key-ascending, epoch-descending order.
type entryIter interface {
	seek(k []byte) error
	valid() bool
	key() []byte
	epoch() state.Epoch
	tomb() bool
	val() []byte
	next() error
}

// memIter walks a memtable (frozen: over its fixed order).
type memIter struct {
	m      *memtable
	frozen []uint32 // the order of a frozen memtable; nil: m.ordered()
	ord    []uint32
	i      int // position in ord
	vi     int // index into the current entry's versions, counting down
	vs     []memVersion
	kb     []byte
}

// load moves to the first live entry with versions at or after i.
func (mi *memIter) load() {
	for ; mi.i < len(mi.ord); mi.i++ {
		e := mi.m.ent(mi.ord[mi.i])
		if !e.dead && e.nv > 0 {
			mi.vs = mi.m.versions(e)
			mi.vi = len(mi.vs) - 1
			mi.kb = mi.m.keyBytes(e)
			return
		}
	}
}

func (mi *memIter) seek(k []byte) error {
	mi.ord = mi.frozen
	if mi.ord == nil {
		mi.ord = mi.m.ordered()
	}
	ks := string(k)
	mi.i = sort.Search(len(mi.ord), func(i int) bool { return mi.m.keyOf(mi.ord[i]) >= ks })
	mi.load()
	return nil
}
func (mi *memIter) valid() bool        { return mi.i < len(mi.ord) }
func (mi *memIter) key() []byte        { return mi.kb }
func (mi *memIter) epoch() state.Epoch { return mi.vs[mi.vi].epoch }
func (mi *memIter) tomb() bool         { return mi.vs[mi.vi].ref.tomb() }
func (mi *memIter) val() []byte        { return mi.m.value(mi.vs[mi.vi].ref) }
func (mi *memIter) next() error {
	if mi.vi > 0 {
		mi.vi--
		return nil
	}
	mi.i++
	mi.load()
	return nil
}

// blocksIter walks a sequence of sorted blocks.
type blocksIter struct {
	n         int
	firstKeys func(i int) []byte
	load      func(i int) (*block, error)
	bi        int
	b         *block
	row       int
	k         []byte // the key at row, while valid: a merge reads it several times per step
}

func (bi *blocksIter) seek(k []byte) error {
	i := 0
	if k != nil {
		lo, hi := 0, bi.n
		for lo < hi { // last block with firstKey ≤ k
			mid := (lo + hi) / 2
			if bytes.Compare(bi.firstKeys(mid), k) <= 0 {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		i = max(lo-1, 0)
	}
	if err := bi.loadBlock(i); err != nil {
		return err
	}
	if bi.b != nil && k != nil {
		bi.row = bi.b.seek(k)
	}
	return bi.skipExhausted()
}

func (bi *blocksIter) loadBlock(i int) error {
	bi.bi, bi.row, bi.b = i, 0, nil
	if i >= bi.n {
		return nil
	}
	b, err := bi.load(i)
	if err != nil {
		return err
	}
	bi.b = b
	return nil
}

// skipExhausted moves past the end of exhausted blocks and sets k.
func (bi *blocksIter) skipExhausted() error {
	for bi.b != nil && bi.row >= bi.b.len() {
		if err := bi.loadBlock(bi.bi + 1); err != nil {
			return err
		}
	}
	if bi.b != nil {
		bi.k = bi.b.key(bi.row)
	}
	return nil
}

func (bi *blocksIter) valid() bool        { return bi.b != nil }
func (bi *blocksIter) key() []byte        { return bi.k }
func (bi *blocksIter) epoch() state.Epoch { return state.Epoch(bi.b.epoch(bi.row)) }
func (bi *blocksIter) tomb() bool         { return bi.b.tomb(bi.row) }
func (bi *blocksIter) val() []byte        { return bi.b.val(bi.row) }
func (bi *blocksIter) next() error {
	bi.row++
	return bi.skipExhausted()
}

func runIter(r *run, load func(r *run, i int) (*block, error)) *blocksIter {
	return &blocksIter{n: len(r.index), firstKeys: func(i int) []byte { return r.index[i].firstKey },
		load: func(i int) (*block, error) { return load(r, i) }}
}

// itersLocked returns iterators over every committed source, newest first.
func (t *Table) itersLocked(at state.Epoch) []entryIter {
	its := []entryIter{&memIter{m: t.mem}}
	for _, fm := range t.frozen {
		its = append(its, &memIter{m: fm.m, frozen: fm.ord})
	}
	for _, r := range t.runs {
		if state.Epoch(r.info.MinEpoch) > at {
			continue
		}
		its = append(its, runIter(r, t.getBlock))
	}
	return its
}

type kv struct {
	key  []byte
	tomb bool
	val  []byte
}

// merger merges entry iterators (newest source first) one key at a time,
// reusing its buffers from key to key.
type merger struct {
	its []entryIter
	key []byte          // the current key; valid until the next step
	vs  []state.Version // its versions ≤ at, descending epochs across sources
}

// step finds the smallest key among the iterators, gathers its versions
// visible at epoch at (the newest source holding a version ≤ at comes
// first) and advances every iterator past it. ok is false when all
// iterators are exhausted.
func (mg *merger) step(at state.Epoch) (ok bool, err error) {
	var minKey []byte
	have := false
	for _, it := range mg.its {
		if !it.valid() {
			continue
		}
		if k := it.key(); !have || bytes.Compare(k, minKey) < 0 {
			minKey, have = k, true
		}
	}
	if !have {
		return false, nil
	}
	mg.key = append(mg.key[:0], minKey...)
	clear(mg.vs)
	mg.vs = mg.vs[:0]
	for _, it := range mg.its {
		for it.valid() && bytes.Equal(it.key(), mg.key) {
			if e := it.epoch(); e <= at {
				mg.vs = append(mg.vs, state.Version{Epoch: e, Tomb: it.tomb(), Val: it.val()})
			}
			if err := it.next(); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// Scan implements state.Table: the writer view.
func (t *Table) Scan(ctx context.Context, r state.KeyRange, fn state.ScanFunc) error {
	return t.scan(ctx, r, state.MaxEpoch, true, fn)
}

func (t *Table) scan(ctx context.Context, r state.KeyRange, at state.Epoch, writer bool, fn state.ScanFunc) error {
	cursor := r.Start
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		got, done, err := t.scanPiece(cursor, r.End, at, writer)
		if err != nil {
			return err
		}
		if !done {
			cursor = append(bytes.Clone(got[len(got)-1].key), 0)
		}
		if err := t.emit(got, fn); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// scanPiece gathers up to scanPiece resolved keys ≥ cursor and < end under
// the read lock (tombstones included, so a piece is never empty before the end).
func (t *Table) scanPiece(cursor, end []byte, at state.Epoch, writer bool) ([]kv, bool, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return nil, false, state.ErrClosed
	}
	its := t.itersLocked(at)
	for _, it := range its {
		if err := it.seek(cursor); err != nil {
			return nil, false, err
		}
	}
	mg := merger{its: its}
	got := make([]kv, 0, scanPiece)
	var keyBuf []byte // the piece's keys, in chunks (a full chunk is left, not moved)
	for {
		if len(got) == scanPiece {
			return got, false, nil
		}
		ok, err := mg.step(at)
		if err != nil {
			return nil, false, err
		}
		if !ok || (end != nil && bytes.Compare(mg.key, end) >= 0) {
			return got, true, nil
		}
		if len(mg.vs) == 0 {
			continue
		}
		if cap(keyBuf)-len(keyBuf) < len(mg.key) {
			keyBuf = make([]byte, 0, max(16<<10, len(mg.key)))
		}
		n := len(keyBuf)
		keyBuf = append(keyBuf, mg.key...)
		k := keyBuf[n:len(keyBuf):len(keyBuf)]
		v := mg.vs[0]
		got = append(got, kv{key: k, tomb: v.Tomb || t.hiddenLocked(k, v, at, writer), val: v.Val})
	}
}

func (t *Table) emit(kvs []kv, fn state.ScanFunc) error {
	var keys, vals [][]byte
	for _, x := range kvs {
		if !x.tomb {
			keys = append(keys, x.key)
			vals = append(vals, x.val)
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), scanPiece)
		found := make([]bool, n)
		for i := range found {
			found[i] = true
		}
		rec, err := state.BuildRows(t.opts.Allocator, t.codec, vals[:n], found)
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

// sortedOrder returns the indexes of keys in ascending key order (one pass
// when they already are).
func sortedOrder(keys [][]byte) []int {
	order := make([]int, len(keys))
	sorted := true
	for i := range order {
		order[i] = i
		if i > 0 && bytes.Compare(keys[i-1], keys[i]) > 0 {
			sorted = false
		}
	}
	if !sorted {
		slices.SortFunc(order, func(a, b int) int { return bytes.Compare(keys[a], keys[b]) })
	}
	return order
}
