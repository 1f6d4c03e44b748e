package pebblestate

import (
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/sabotsql/sabotsql/storage/state/lazyorder"
)

// pendEntry is the pending epoch's last write to one key.
type pendEntry struct {
	key  string
	val  []byte // encoded row; nil for a delete
	del  bool
	dead bool // undone by CleanBelow; the order drops it at its next sort
}

// pending is the writer's uncommitted epoch: the last write per key (a hash
// index with a lazily sorted order for writer-view scans) and the epoch's
// CleanBelow watermark. Commit turns it into one Pebble batch holding the
// range deletion first and then one operation per key in key order, so an
// epoch that updates a key many times costs Pebble one memtable insert, and
// the inserts arrive sorted (Pebble's skip list reuses its search path).
//
// Entries live in slabs and their keys in a key arena (both replaced, never
// grown, when full, so pointers into them stay valid for the epoch): a new
// key costs a map insert and no allocation of its own.
type pending struct {
	idx      map[string]*pendEntry
	order    *lazyorder.Order[*pendEntry]
	cleanBel []byte
	hasClean bool
	bytes    int64  // keys and rows held
	arena    []byte // rows of this epoch
	keys     []byte // keys of this epoch (entries' key strings point here)
	slab     []pendEntry
}

// newPending returns an empty epoch whose index is sized for hint keys
// (the previous epoch's count), so a steady stream does not rehash.
func newPending(hint int) *pending {
	return &pending{
		idx:   make(map[string]*pendEntry, hint),
		order: lazyorder.New(func(e *pendEntry) string { return e.key }, func(e *pendEntry) bool { return e.dead }),
	}
}

// put records the write of val (nil and del for a delete) to k. val must
// stay valid until the epoch commits (it points into the arena).
func (p *pending) put(k []byte, val []byte, del bool) {
	e := p.idx[string(k)]
	if e == nil {
		if len(p.slab) == cap(p.slab) {
			p.slab = make([]pendEntry, 0, 1024)
		}
		p.slab = append(p.slab, pendEntry{key: p.keyString(k)})
		e = &p.slab[len(p.slab)-1]
		p.idx[e.key] = e
		p.order.Add(e)
		p.bytes += int64(len(k)) + 64
	}
	p.bytes += int64(len(val))
	e.val, e.del = val, del
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
	for _, e := range p.order.Sorted() {
		if e.key >= string(w) {
			break
		}
		if !e.dead {
			e.dead = true
			delete(p.idx, e.key)
			p.order.Removed()
		}
	}
	if !p.hasClean || string(w) > string(p.cleanBel) {
		p.cleanBel = append(p.cleanBel[:0], w...)
		p.hasClean = true
	}
}

// empty reports whether committing would change nothing.
func (p *pending) empty() bool { return len(p.idx) == 0 && !p.hasClean }

// fill writes the epoch into b: the range deletion, then the keys in order.
func (p *pending) fill(b *pebble.Batch) error {
	if p.hasClean {
		if err := b.DeleteRange(dbKey(nil, nil), dbKey(nil, p.cleanBel), nil); err != nil {
			return err
		}
	}
	var kb []byte
	for _, e := range p.order.Sorted() {
		if e.dead {
			continue
		}
		kb = dbKey(kb, unsafe.Slice(unsafe.StringData(e.key), len(e.key))) // the batch copies it
		k := kb
		var err error
		if e.del {
			err = b.Delete(k, nil)
		} else {
			err = b.Set(k, e.val, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// lookup returns the pending state of k: found reports whether the epoch
// decides k (a write, a delete, or the CleanBelow range); val is nil when
// k is absent from the writer view.
func (p *pending) lookup(k []byte) (val []byte, found bool) {
	if e := p.idx[string(k)]; e != nil {
		if e.del {
			return nil, true
		}
		return e.val, true
	}
	if p.hasClean && string(k) < string(p.cleanBel) {
		return nil, true
	}
	return nil, false
}
