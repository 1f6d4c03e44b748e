package pebblestate

import (
	"sort"

	"github.com/cockroachdb/pebble/v2"
	"strings"
	"unsafe"

	"github.com/sabotsql/sabotsql/storage/state/lazyorder"
)

// pendEntry is the pending epoch's last write to one key.
type pendEntry struct {
	key  string
	val  []byte // encoded row; nil for a delete
	del  bool
	dead bool // undone by CleanBelow; the order drops it at its next sort
}

// pending is the writer's uncommitted epoch: the last write per key and
// the epoch's CleanBelow watermark. Commit turns it into one Pebble batch,
// or one ingested sstable when the epoch is large, holding the range
// deletion first and then one operation per key in key order, so an epoch
// that updates a key many times costs Pebble one entry.
//
// A key lives in exactly one of two places:
//   - run, the append run: keys written in strictly ascending order, each
//     larger than every key written before it in the epoch (row ids of an
//     insert-mostly view, time-ordered keys). Appending costs no hashing
//     and no sorting; lookups binary-search it.
//   - idx, a hash index with a lazily sorted order, for every other key.
//
// Entries of idx live in slabs and all keys in a key arena (both replaced,
// never grown, when full, so pointers into them stay valid for the epoch):
// a new key costs no allocation of its own.
type pending struct {
	idx      map[string]*pendEntry
	order    *lazyorder.Order[*pendEntry]
	idxMax   string // the largest key ever added to idx this epoch
	idxUsed  bool   // a key was added to idx this epoch (idxMax is set)
	run      []pendEntry
	merged   []*pendEntry // cached key order of run and idx; valid if mergedOK
	mergedOK bool
	cleanBel []byte
	hasClean bool
	bytes    int64  // keys and rows held
	arena    []byte // rows of this epoch
	keys     []byte // keys of this epoch (entries' key strings point here)
	slab     []pendEntry
}

// newPending returns an empty epoch sized from the previous one (idx keys
// and run keys), so a steady stream neither rehashes nor regrows its run.
func newPending(idxHint, runHint int) *pending {
	return &pending{
		idx:   make(map[string]*pendEntry, idxHint),
		order: lazyorder.New(func(e *pendEntry) string { return e.key }, func(e *pendEntry) bool { return e.dead }),
		run:   make([]pendEntry, 0, runHint),
	}
}

// len is the number of live keys the epoch writes.
func (p *pending) len() int { return len(p.idx) + len(p.run) }

// put records the write of val (nil and del for a delete) to k. val must
// stay valid until the epoch commits (it points into the arena).
func (p *pending) put(k []byte, val []byte, del bool) {
	ks := unsafe.String(unsafe.SliceData(k), len(k)) // not kept
	n := len(p.run)
	if (n == 0 || ks > p.run[n-1].key) && (!p.idxUsed || ks > p.idxMax) {
		p.run = append(p.run, pendEntry{key: p.keyString(k), val: val, del: del})
		p.bytes += int64(len(k)+len(val)) + 48
		p.mergedOK = false
		return
	}
	if n > 0 && ks <= p.run[n-1].key && ks >= p.run[0].key {
		if i, ok := p.runFind(ks); ok {
			p.bytes += int64(len(val))
			p.run[i].val, p.run[i].del = val, del
			return
		}
	}
	e := p.idx[ks]
	if e == nil {
		if len(p.slab) == cap(p.slab) {
			p.slab = make([]pendEntry, 0, 1024)
		}
		p.slab = append(p.slab, pendEntry{key: p.keyString(k)})
		e = &p.slab[len(p.slab)-1]
		p.idx[e.key] = e
		p.order.Add(e)
		p.bytes += int64(len(k)) + 64
		if !p.idxUsed || e.key > p.idxMax {
			p.idxMax, p.idxUsed = e.key, true
		}
		p.mergedOK = false
	}
	p.bytes += int64(len(val))
	e.val, e.del = val, del
}

// runFind binary-searches the run for k.
func (p *pending) runFind(k string) (int, bool) {
	i := sort.Search(len(p.run), func(i int) bool { return p.run[i].key >= k })
	return i, i < len(p.run) && p.run[i].key == k
}

// keyString copies k into the key arena and returns it as a string.
func (p *pending) keyString(k []byte) string {
	if len(k) == 0 {
		return ""
	}
	if cap(p.keys)-len(p.keys) < len(k) {
		p.keys = make([]byte, 0, max(64<<10, len(k)))
	}
	start := len(p.keys)
	p.keys = append(p.keys, k...)
	return unsafe.String(&p.keys[start], len(k))
}

// cleanBelow undoes the epoch's earlier writes below w and records w.
func (p *pending) cleanBelow(w []byte) {
	ws := string(w)
	for _, e := range p.order.Sorted() {
		if e.key >= ws {
			break
		}
		if !e.dead {
			e.dead = true
			delete(p.idx, e.key)
			p.order.Removed()
		}
	}
	if i, _ := p.runFind(ws); i > 0 {
		p.run = p.run[i:]
	}
	p.mergedOK = false
	if !p.hasClean || ws > string(p.cleanBel) {
		p.cleanBel = append(p.cleanBel[:0], w...)
		p.hasClean = true
	}
}

// empty reports whether committing would change nothing.
func (p *pending) empty() bool { return p.len() == 0 && !p.hasClean }

// each calls fn for the epoch's live entries in ascending key order (the
// run merged with idx's order) and stops at fn's first error.
func (p *pending) each(fn func(e *pendEntry) error) error {
	var ord []*pendEntry
	if len(p.idx) > 0 {
		ord = p.order.Sorted()
	}
	j := 0
	for i := range p.run {
		r := &p.run[i]
		for ; j < len(ord) && ord[j].key < r.key; j++ {
			if !ord[j].dead {
				if err := fn(ord[j]); err != nil {
					return err
				}
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	for ; j < len(ord); j++ {
		if !ord[j].dead {
			if err := fn(ord[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// first returns the smallest key the epoch writes.
func (p *pending) first() (string, bool) {
	var k string
	ok := false
	if len(p.run) > 0 {
		k, ok = p.run[0].key, true
	}
	if len(p.idx) > 0 {
		for _, e := range p.order.Sorted() {
			if !e.dead {
				if !ok || e.key < k {
					k, ok = e.key, true
				}
				break
			}
		}
	}
	return k, ok
}

// last returns the largest key the epoch writes.
func (p *pending) last() (string, bool) {
	var k string
	ok := false
	if len(p.run) > 0 {
		k, ok = p.run[len(p.run)-1].key, true
	}
	if len(p.idx) > 0 && (!ok || p.idxMax > k) {
		// idxMax may be an entry CleanBelow undid: still an upper bound.
		k, ok = p.idxMax, true
	}
	return k, ok
}

// sorted returns the live entries in key order (cached until the next
// new key or CleanBelow; the writer-view scan reads it piece by piece).
func (p *pending) sorted() []*pendEntry {
	if p.mergedOK {
		return p.merged
	}
	out := p.merged[:0]
	if cap(out) < p.len() {
		out = make([]*pendEntry, 0, p.len())
	}
	_ = p.each(func(e *pendEntry) error {
		out = append(out, e)
		return nil
	})
	p.merged, p.mergedOK = out, true
	return out
}

// seek returns the index of the first entry of s with a key ≥ k.
func seek(s []*pendEntry, k string) int {
	return sort.Search(len(s), func(i int) bool { return strings.Compare(s[i].key, k) >= 0 })
}

// lookup returns the pending state of k: found reports whether the epoch
// decides k (a write, a delete, or the CleanBelow range); val is nil when
// k is absent from the writer view.
func (p *pending) lookup(k []byte) (val []byte, found bool) {
	ks := unsafe.String(unsafe.SliceData(k), len(k))
	var e *pendEntry
	if len(p.idx) > 0 {
		e = p.idx[ks]
	}
	if e == nil && len(p.run) > 0 && ks >= p.run[0].key && ks <= p.run[len(p.run)-1].key {
		if i, ok := p.runFind(ks); ok {
			e = &p.run[i]
		}
	}
	if e != nil {
		if e.del {
			return nil, true
		}
		return e.val, true
	}
	if p.hasClean && ks < string(p.cleanBel) {
		return nil, true
	}
	return nil, false
}

// fill writes the epoch into b: the range deletion, then the keys in order.
func (p *pending) fill(b *pebble.Batch) error {
	if p.hasClean {
		if err := b.DeleteRange(dbKey(nil, nil), dbKey(nil, p.cleanBel), nil); err != nil {
			return err
		}
	}
	var kb []byte
	return p.each(func(e *pendEntry) error {
		kb = dbKey(kb, unsafe.Slice(unsafe.StringData(e.key), len(e.key))) // the batch copies it
		if e.del {
			return b.Delete(kb, nil)
		}
		return b.Set(kb, e.val, nil)
	})
}
