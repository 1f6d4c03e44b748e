package pebblestate

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/pebble/v2"
	"github.com/sabotsql/sabotsql/storage/state"
)

// scanPiece is the number of rows a Scan hands to its callback at a time.
const scanPiece = 1024

// keyPrefix starts every key the table stores in Pebble: user key k is
// stored as keyPrefix‖k. Pebble's columnar blocks mishandle the empty user
// key (consecutive versions of it compare as unequal, which Pebble's
// invariants builds catch, and a range deletion starting at it goes wrong),
// and a zero-column state key is empty; with the prefix no stored key is.
const keyPrefix = 0x01

// dbKey returns keyPrefix‖k, reusing dst's storage.
func dbKey(dst, k []byte) []byte {
	return append(append(dst[:0], keyPrefix), k...)
}

// dbBounds are the iterator bounds of the user key range [lower, upper)
// (nil upper: unbounded).
func dbBounds(lower, upper []byte) *pebble.IterOptions {
	o := &pebble.IterOptions{LowerBound: dbKey(nil, lower), UpperBound: []byte{keyPrefix + 1}}
	if upper != nil {
		o.UpperBound = dbKey(nil, upper)
	}
	return o
}

// pebbleReader is what both the writer's indexed batch and a Pebble
// snapshot offer.
type pebbleReader interface {
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
	Get(key []byte) ([]byte, io.Closer, error)
}

// writerView is the epoch argument of the writer view's reads (no
// snapshot is ever taken at it: Commit refuses it).
const writerView = state.MaxEpoch

// Get implements state.Table: the writer view (committed state overlaid
// with the pending epoch, then the row cache, then Pebble).
func (t *Table) Get(ctx context.Context, keys [][]byte) (state.Lookup, error) {
	p := t.pend
	if p == nil {
		return state.Lookup{}, state.ErrClosed
	}
	if len(keys) == 1 {
		if v, ok := p.lookup(keys[0]); ok {
			return t.build1(v, v != nil)
		}
		return t.getOne(ctx, keys[0], nil, t.db, writerView)
	}
	// Keys the pending epoch decides are answered here, then the row
	// cache's; the rest go to Pebble in one pass.
	vals := make([][]byte, len(keys))
	found := make([]bool, len(keys))
	var rest [][]byte
	var restIdx []int
	for i, k := range keys {
		if v, ok := p.lookup(k); ok {
			vals[i], found[i] = v, v != nil
			continue
		}
		rest = append(rest, k)
		restIdx = append(restIdx, i)
	}
	if len(rest) > 0 && t.rc != nil {
		// Only the writer commits, so the cached rows stay those of the
		// committed state for the whole call.
		rv := make([][]byte, len(rest))
		hit := make([]bool, len(rest))
		if t.rc.vals(rest, rv, hit) > 0 {
			m := 0
			for j, i := range restIdx {
				if hit[j] {
					vals[i], found[i] = rv[j], true
					continue
				}
				rest[m], restIdx[m] = rest[j], i
				m++
			}
			rest, restIdx = rest[:m], restIdx[:m]
		}
	}
	if len(rest) > 0 {
		rv, rf, err := t.read(ctx, rest, &t.wits.its[0], t.db)
		if err != nil {
			return state.Lookup{}, err
		}
		for j, i := range restIdx {
			vals[i], found[i] = rv[j], rf[j]
		}
		if t.rc != nil {
			t.rc.addFound(rest, rv, rf)
		}
	}
	rec, err := state.BuildRows(t.opts.Allocator, t.codec, vals, found)
	if err != nil {
		return state.Lookup{}, err
	}
	return state.Lookup{Values: rec, Found: found}, nil
}

// cacheFor returns the row cache if it holds the state that reads at
// epoch e (writerView: the writer's committed state) see, else nil. The
// caller holds the table's read lock.
func (t *Table) cacheFor(e state.Epoch) *rowCache {
	if t.rc == nil || (e != writerView && e < t.changedAt) {
		return nil
	}
	return t.rc
}

// buildRow builds the one-row batch of stored row v.
func (t *Table) buildRow(v []byte) (arrow.RecordBatch, error) {
	vals, found := [1][]byte{v}, [1]bool{true}
	return state.BuildRows(t.opts.Allocator, t.codec, vals[:], found[:])
}

// lookupIter is a Pebble iterator kept open for point lookups, with its
// key scratch. Creating an iterator (and the sstable iterators below it)
// cost most of a cached lookup; a kept one repositions with a seek, and
// Pebble keeps a level's sstable iterator while the seeks stay in its
// file. An iterator reads the state of its creation: the writer's is
// closed by every Commit (Pebble's visible state changes only there), a
// snapshot's never goes stale.
type lookupIter struct {
	it  *pebble.Iterator
	key []byte
}

// iter returns the kept iterator, creating it from src if needed.
func (l *lookupIter) iter(src pebbleReader) (*pebble.Iterator, error) {
	if l.it == nil {
		it, err := src.NewIter(nil)
		if err != nil {
			return nil, err
		}
		l.it = it
	}
	return l.it, nil
}

// close closes the kept iterator (nil-safe, idempotent).
func (l *lookupIter) close() error {
	if l == nil || l.it == nil {
		return nil
	}
	err := l.it.Close()
	l.it = nil
	return err
}

// build1 builds the one-row result of a single-key lookup.
func (t *Table) build1(v []byte, found bool) (state.Lookup, error) {
	fs := []bool{found}
	vals := [1][]byte{v}
	rec, err := state.BuildRows(t.opts.Allocator, t.codec, vals[:], fs)
	if err != nil {
		return state.Lookup{}, err
	}
	return state.Lookup{Values: rec, Found: fs}, nil
}

// getOne looks one key up for a read at epoch e (writerView: the
// writer's), first in the row cache when it serves e, then with the kept
// iterator l (created from src if needed; nil: the writer's iterator for
// k's range): one prefix seek, and the row decoded into the Arrow result
// straight from Pebble's block (BuildRows copies). A row read from Pebble
// is cached (its batch on its first hit).
func (t *Table) getOne(ctx context.Context, k []byte, l *lookupIter, src pebbleReader, e state.Epoch) (state.Lookup, error) {
	if err := ctx.Err(); err != nil {
		return state.Lookup{}, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return state.Lookup{}, state.ErrClosed
	}
	rc := t.cacheFor(e)
	var h uint64
	if rc != nil {
		rec, hash, ok, err := rc.getRec(k, t.buildRow)
		h = hash
		if err != nil {
			return state.Lookup{}, err
		}
		if ok {
			return state.Lookup{Values: rec, Found: []bool{true}}, nil
		}
	}
	if l == nil {
		l = t.wits.pick(t.db, k)
	}
	it, err := l.iter(src)
	if err != nil {
		return state.Lookup{}, storageErr("read", t.opts.Dir, err)
	}
	l.key = dbKey(l.key, k)
	var v []byte
	found := false
	if it.SeekPrefixGE(l.key) && bytes.Equal(it.Key(), l.key) {
		v, err = it.ValueAndErr()
		found = err == nil
	}
	if err == nil {
		err = it.Error()
	}
	if err != nil {
		// Start the next lookup from a fresh iterator.
		return state.Lookup{}, storageErr("read", t.opts.Dir, errors.Join(err, l.close()))
	}
	lk, err := t.build1(v, found)
	if err == nil && found && rc != nil {
		// Under the read lock: no commit in between. The batch is built
		// and cached by the first hit: a key read once costs no batch
		// retained (nor released on eviction).
		rc.add(k, v, h)
	}
	return lk, err
}

// get looks the keys up with the kept iterator l, visiting them in key
// order so the seeks move forward.
func (t *Table) get(ctx context.Context, keys [][]byte, l *lookupIter, r pebbleReader, e state.Epoch) (state.Lookup, error) {
	if len(keys) == 1 {
		return t.getOne(ctx, keys[0], l, r, e)
	}
	vals, found, err := t.read(ctx, keys, l, r)
	if err != nil {
		return state.Lookup{}, err
	}
	rec, err := state.BuildRows(t.opts.Allocator, t.codec, vals, found)
	if err != nil {
		return state.Lookup{}, err
	}
	return state.Lookup{Values: rec, Found: found}, nil
}

// read fetches the stored rows of keys from r through the kept iterator l
// (values copied into one buffer).
func (t *Table) read(ctx context.Context, keys [][]byte, l *lookupIter, r pebbleReader) ([][]byte, []bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	n := len(keys)
	found := make([]bool, n)
	vals := make([][]byte, n)
	order := sortedOrder(keys)
	var buf []byte
	ends := make([]int, n) // end offset of key i's value in buf
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return nil, nil, state.ErrClosed
	}
	it, err := l.iter(r)
	if err == nil {
		err = iterGet(it, l, keys, order, found, ends, &buf)
		if err != nil {
			err = errors.Join(err, l.close())
		}
	}
	t.mu.RUnlock()
	if err != nil {
		return nil, nil, storageErr("read", t.opts.Dir, err)
	}
	// Rebuild the slices now that buf no longer moves: values were appended
	// in sorted order, so each starts where the previous (in that order)
	// ended.
	start := 0
	for _, i := range order {
		if found[i] {
			vals[i] = buf[start:ends[i]:ends[i]]
		}
		start = ends[i]
	}
	return vals, found, nil
}

func iterGet(it *pebble.Iterator, l *lookupIter, keys [][]byte, order []int, found []bool, ends []int, buf *[]byte) error {
	var err error
	for _, i := range order {
		l.key = dbKey(l.key, keys[i])
		if it.SeekGE(l.key) && bytes.Equal(it.Key(), l.key) {
			v, verr := it.ValueAndErr()
			if verr != nil {
				err = verr
				break
			}
			*buf = append(*buf, v...)
			found[i] = true
		}
		ends[i] = len(*buf)
	}
	if err == nil {
		err = it.Error()
	}
	return err
}

// sortedOrder returns the indexes of keys in ascending key order (nil-safe;
// already sorted input costs one pass).
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

// Scan implements state.Table: the writer view, Pebble's committed keys
// merged with the pending epoch.
func (t *Table) Scan(ctx context.Context, r state.KeyRange, fn state.ScanFunc) error {
	p := t.pend
	if p == nil {
		return state.ErrClosed
	}
	return t.scanWith(ctx, r, func(lower, upper []byte) ([][]byte, [][]byte, bool, error) {
		return t.writerPiece(p, lower, upper)
	}, fn)
}

// scan reads pieces of up to scanPiece rows, each with a fresh iterator
// closed before fn runs, so fn may call the table's other methods (even
// write to the pending batch).
func (t *Table) scan(ctx context.Context, r state.KeyRange, src pebbleReader, fn state.ScanFunc) error {
	return t.scanWith(ctx, r, func(lower, upper []byte) ([][]byte, [][]byte, bool, error) {
		return t.scanPiece(src, lower, upper)
	}, fn)
}

func (t *Table) scanWith(ctx context.Context, r state.KeyRange, piece func(lower, upper []byte) ([][]byte, [][]byte, bool, error), fn state.ScanFunc) error {
	cursor := r.Start
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ks, vals, done, err := piece(cursor, r.End)
		if err != nil {
			return err
		}
		if len(ks) > 0 {
			found := make([]bool, len(ks))
			for i := range found {
				found[i] = true
			}
			rec, err := state.BuildRows(t.opts.Allocator, t.codec, vals, found)
			if err != nil {
				return err
			}
			err = fn(ks, rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		if done {
			return nil
		}
		cursor = append(bytes.Clone(ks[len(ks)-1]), 0)
	}
}

func (t *Table) scanPiece(src pebbleReader, lower, upper []byte) (ks, vals [][]byte, done bool, err error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return nil, nil, false, state.ErrClosed
	}
	it, err := src.NewIter(dbBounds(lower, upper))
	if err != nil {
		return nil, nil, false, storageErr("scan", t.opts.Dir, err)
	}
	var kbuf, vbuf []byte
	var kends, vends []int
	done = true
	for ok := it.First(); ok; ok = it.Next() {
		if len(kends) == scanPiece {
			done = false
			break
		}
		v, verr := it.ValueAndErr()
		if verr != nil {
			err = verr
			break
		}
		kbuf = append(kbuf, it.Key()[1:]...)
		vbuf = append(vbuf, v...)
		kends = append(kends, len(kbuf))
		vends = append(vends, len(vbuf))
	}
	if err == nil {
		err = it.Error()
	}
	if err = errors.Join(err, it.Close()); err != nil {
		return nil, nil, false, storageErr("scan", t.opts.Dir, err)
	}
	ks = make([][]byte, len(kends))
	vals = make([][]byte, len(vends))
	kp, vp := 0, 0
	for i := range ks {
		ks[i] = kbuf[kp:kends[i]:kends[i]]
		vals[i] = vbuf[vp:vends[i]:vends[i]]
		kp, vp = kends[i], vends[i]
	}
	return ks, vals, done, nil
}

// writerPiece gathers up to scanPiece writer-view rows in [lower, upper):
// Pebble's keys at or above the pending CleanBelow watermark, merged with
// the pending writes (which win on equal keys; pending deletes hide keys).
func (t *Table) writerPiece(p *pending, lower, upper []byte) (ks, vals [][]byte, done bool, err error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return nil, nil, false, state.ErrClosed
	}
	dbLower := lower
	if p.hasClean && bytes.Compare(dbLower, p.cleanBel) < 0 {
		dbLower = p.cleanBel
	}
	var it *pebble.Iterator
	dbOK := false
	if upper == nil || bytes.Compare(dbLower, upper) < 0 {
		if it, err = t.db.NewIter(dbBounds(dbLower, upper)); err != nil {
			return nil, nil, false, storageErr("scan", t.opts.Dir, err)
		}
		dbOK = it.First()
	}
	ord := p.sorted()
	pi := seek(ord, string(lower))
	nextPend := func() *pendEntry {
		if pi < len(ord) {
			if e := ord[pi]; upper == nil || e.key < string(upper) {
				return e
			}
			pi = len(ord)
		}
		return nil
	}
	var kbuf, vbuf []byte
	var kends, vends []int
	add := func(k, v []byte) {
		kbuf = append(kbuf, k...)
		vbuf = append(vbuf, v...)
		kends = append(kends, len(kbuf))
		vends = append(vends, len(vbuf))
	}
	done = true
	for {
		pe := nextPend()
		if pe == nil && !dbOK {
			break
		}
		if len(kends) == scanPiece {
			done = false
			break
		}
		c := 1 // which side is smaller: -1 Pebble, 0 equal, 1 pending
		if pe == nil {
			c = -1
		} else if dbOK {
			c = bytes.Compare(it.Key()[1:], unsafe.Slice(unsafe.StringData(pe.key), len(pe.key)))
		}
		if c <= 0 && dbOK {
			if c < 0 {
				v, verr := it.ValueAndErr()
				if verr != nil {
					err = verr
					break
				}
				add(it.Key()[1:], v)
			}
			dbOK = it.Next()
			if c < 0 {
				continue
			}
		}
		// c ≥ 0: the pending entry decides this key.
		pi++
		if !pe.del {
			add([]byte(pe.key), pe.val)
		}
	}
	if it != nil {
		if err == nil {
			err = it.Error()
		}
		err = errors.Join(err, it.Close())
	}
	if err != nil {
		return nil, nil, false, storageErr("scan", t.opts.Dir, err)
	}
	ks = make([][]byte, len(kends))
	vals = make([][]byte, len(vends))
	kp, vp := 0, 0
	for i := range ks {
		ks[i] = kbuf[kp:kends[i]:kends[i]]
		vals[i] = vbuf[vp:vends[i]:vends[i]]
		kp, vp = kends[i], vends[i]
	}
	return ks, vals, done, nil
}
