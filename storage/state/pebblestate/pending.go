package pebblestate

import (
	"cmp"
	"encoding/binary"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
)

// pendEntry is one write of the pending epoch.
type pendEntry struct {
	key  string
	val  []byte // encoded row; nil for a delete
	del  bool
	dead bool // undone by a later CleanBelow
}

// pending is the writer's uncommitted epoch: a log of its writes in call
// order and its CleanBelow watermark. Commit turns it into one Pebble
// batch, or one ingested sstable when the epoch appends, holding the range
// deletion first and then the last write of each key in key order, so an
// epoch that updates a key many times costs Pebble one entry.
//
// A write costs an append (its key copied into the key arena, its row
// already in the row arena): no hashing, no sorting. The order is built
// when needed — at Commit, or for a writer-view scan — by sorting the
// log's (16-byte key prefix, position) pairs, last write per key winning;
// a log whose keys ascend (row ids of an insert-mostly view) is already
// that order. Lookups binary-search an ascending log, otherwise they use
// a hash index of the latest write per key that catches up with the log
// only when a lookup comes (blind writers never build it).
type pending struct {
	log       []pendEntry
	ascending bool        // the log's keys strictly ascend (sorted, unique)
	compactAt int         // log length at which an unordered log is compacted
	spare     []pendEntry // the log's other buffer for compactions
	dedup     bool        // puts rewrite a logged key in place (via idx)
	maxKey    string      // the largest key written (if len(log) > 0)
	idx       map[string]int32
	indexed   int          // log[:indexed] is in idx
	ord       []*pendEntry // cached key order (live, last write per key)
	ordOK     bool
	sortBuf   []sortItem
	sortTmp   []sortItem
	cleanBel  []byte
	hasClean  bool
	arena     []byte // rows of this epoch
	keys      []byte // keys of this epoch (entries' key strings point here)
	bytes     int    // key and row bytes written (rewrites included)
}

// sortItem is a log position with its key's first 16 bytes as two
// big-endian words (zero-padded), which decide most comparisons without
// touching the keys.
type sortItem struct {
	p0, p1 uint64
	i      int32
}

// sortItems orders items by key and, for equal keys, by log position.
// Items arrive in log position order. Many items are sorted by a stable
// least-significant-digit radix sort over the prefix bytes that vary
// (typical keys share their leading bytes: two or three passes), few by
// comparison; items with equal prefixes (keys longer than 16 bytes, or
// rewrites of a key) are then ordered by full, the full-key comparison.
// It returns the sorted slice and the spare buffer (tmp or items).
func sortItems(items, tmp []sortItem, full func(a, b sortItem) int) ([]sortItem, []sortItem) {
	if len(items) < 256 {
		slices.SortFunc(items, func(a, b sortItem) int {
			if c := cmp.Compare(a.p0, b.p0); c != 0 {
				return c
			}
			if c := cmp.Compare(a.p1, b.p1); c != 0 {
				return c
			}
			return full(a, b)
		})
		return items, tmp
	}
	var vary0, vary1 uint64
	for _, it := range items {
		vary0 |= it.p0 ^ items[0].p0
		vary1 |= it.p1 ^ items[0].p1
	}
	tmp = slices.Grow(tmp[:0], len(items))[:len(items)]
	src, dst := items, tmp
	for pass := 0; pass < 16; pass++ {
		vary := vary1 // passes 0-7: p1's bytes, low first; then p0's
		if pass >= 8 {
			vary = vary0
		}
		shift := uint(pass%8) * 8
		if (vary>>shift)&0xff == 0 {
			continue
		}
		var count [256]int
		for _, it := range src {
			count[byte(radixWord(it, pass)>>shift)]++
		}
		pos := 0
		for b := range count {
			pos, count[b] = pos+count[b], pos
		}
		for _, it := range src {
			b := byte(radixWord(it, pass) >> shift)
			dst[count[b]] = it
			count[b]++
		}
		src, dst = dst, src
	}
	for i := 0; i < len(src); {
		j := i + 1
		for j < len(src) && src[j].p0 == src[i].p0 && src[j].p1 == src[i].p1 {
			j++
		}
		// Rewrites of one key are already in log order (the passes are
		// stable): checking is cheaper than sorting.
		if j-i > 1 && !slices.IsSortedFunc(src[i:j], full) {
			slices.SortFunc(src[i:j], full)
		}
		i = j
	}
	return src, dst
}

func radixWord(it sortItem, pass int) uint64 {
	if pass < 8 {
		return it.p1
	}
	return it.p0
}

// newPending returns an empty epoch whose log is sized for hint writes
// (the previous epoch's), so a steady stream does not regrow it; dedup
// carries the previous epoch's mode.
func newPending(hint int, dedup bool) *pending {
	at := max(compactMin, 2*hint)
	p := &pending{log: make([]pendEntry, 0, min(at, max(hint, 1024))), ascending: true, compactAt: at, dedup: dedup}
	if dedup {
		p.idx = make(map[string]int32, hint)
	}
	return p
}

// next returns the empty pending epoch that follows p, sized for p's
// writes and in p's mode like newPending, but reusing p's log, sort
// buffers, hash index and arenas' last chunks, so a steady stream of
// epochs allocates (and the collector scans) nothing new per epoch. p must
// not be used afterwards: once its epoch is committed nothing refers to
// its entries, keys or rows (Pebble's batch and sstable writer, the row
// cache and reads all copy them).
func (p *pending) next() *pending {
	hint := len(p.log)
	q := &pending{ascending: true, compactAt: max(compactMin, 2*hint), dedup: p.dedup}
	want := min(q.compactAt, max(hint, 1024))
	log := p.log
	if cap(p.spare) > cap(log) {
		log = p.spare
	}
	if cap(log) >= want {
		clear(log[:cap(log)]) // no stale pointers into the old arenas
		q.log = log[:0]
	} else {
		q.log = make([]pendEntry, 0, want)
	}
	if q.dedup {
		q.idx = p.idx
		if q.idx == nil {
			q.idx = make(map[string]int32, hint)
		} else {
			clear(q.idx)
		}
	}
	clear(p.ord)
	q.ord, q.sortBuf, q.sortTmp = p.ord[:0], p.sortBuf[:0], p.sortTmp[:0]
	q.cleanBel = p.cleanBel[:0]
	q.arena, q.keys = p.arena[:0], p.keys[:0]
	return q
}

// writes is the number of writes logged (an upper bound of the keys).
func (p *pending) writes() int { return len(p.log) }

// put records the write of val (nil and del for a delete) to k. val must
// stay valid until the epoch commits (it points into the arena).
func (p *pending) put(k []byte, val []byte, del bool) {
	ks := unsafe.String(unsafe.SliceData(k), len(k)) // not kept
	p.bytes += len(k) + len(val)
	if n := len(p.log); n > 0 {
		last := &p.log[n-1]
		if ks == last.key && !last.dead {
			last.val, last.del = val, del // rewrite of the last key
			return
		}
		if p.ascending && ks <= last.key {
			p.ascending = false
		}
	}
	if p.dedup {
		p.catchUp()
		if i, ok := p.idx[ks]; ok {
			p.log[i].val, p.log[i].del = val, del
			return
		}
	}
	e := pendEntry{key: p.keyString(k), val: val, del: del}
	if len(p.log) == 0 || e.key > p.maxKey {
		p.maxKey = e.key
	}
	p.log = append(p.log, e)
	p.ordOK = false
	if p.dedup {
		p.idx[e.key] = int32(len(p.log) - 1)
		p.indexed = len(p.log)
	} else if !p.ascending && len(p.log) >= p.compactAt {
		p.compact()
	}
}

// compactMin is the log length from which an unordered log is compacted.
const compactMin = 4096

// compact replaces an unordered log by its live last writes in key order
// (then ascending). If that halved it, rewrites dominate (a counting view,
// an upsert stream over a small key set): the epoch switches to dedup
// mode, where a put finds its key in the hash index and rewrites it in
// place, so the log stays the size of the key set (the mode carries over
// to the next epochs). Otherwise the next compaction waits for four times
// the length, so distinct-key streams pay it rarely.
func (p *pending) compact() {
	n := len(p.log)
	ord := p.sorted()
	if len(ord) <= n/2 {
		// Rewrites dominate: from now on (and in the following epochs)
		// puts look their key up and rewrite it in place.
		p.dedup = true
	}
	p.compactAt = 4 * n
	log := p.spare[:0]
	if cap(log) < p.compactAt {
		log = make([]pendEntry, 0, p.compactAt)
	}
	for _, e := range ord {
		log = append(log, *e)
	}
	clear(p.log) // the spare holds no stale pointers
	p.log, p.spare, p.ascending = log, p.log[:0], true
	p.idx, p.indexed, p.ordOK = nil, 0, false
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
	for i := range p.log {
		if e := &p.log[i]; e.key < ws {
			e.dead = true
		} else if p.ascending {
			break
		}
	}
	p.idx, p.indexed, p.ordOK = nil, 0, false
	if !p.hasClean || ws > string(p.cleanBel) {
		p.cleanBel = append(p.cleanBel[:0], w...)
		p.hasClean = true
	}
}

// empty reports whether committing would change nothing.
func (p *pending) empty() bool { return len(p.log) == 0 && !p.hasClean }

// sorted returns the epoch's live writes in key order, the last one per
// key (cached until the next write or CleanBelow).
func (p *pending) sorted() []*pendEntry {
	if p.ordOK {
		return p.ord
	}
	out := slices.Grow(p.ord[:0], len(p.log))
	if p.ascending {
		for i := range p.log {
			if e := &p.log[i]; !e.dead {
				out = append(out, e)
			}
		}
	} else {
		items := slices.Grow(p.sortBuf[:0], len(p.log))
		for i := range p.log {
			e := &p.log[i]
			if e.dead {
				continue
			}
			var buf [16]byte
			copy(buf[:], e.key)
			items = append(items, sortItem{binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:]), int32(i)})
		}
		var tmp []sortItem
		items, tmp = sortItems(items, p.sortTmp, func(a, b sortItem) int {
			if c := strings.Compare(p.log[a.i].key, p.log[b.i].key); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
		p.sortTmp = tmp[:0]
		for j, it := range items {
			if j+1 < len(items) && items[j+1].p0 == it.p0 && items[j+1].p1 == it.p1 &&
				p.log[items[j+1].i].key == p.log[it.i].key {
				continue // a later write of the key follows
			}
			out = append(out, &p.log[it.i])
		}
		p.sortBuf = items[:0]
	}
	p.ord, p.ordOK = out, true
	return out
}

// each calls fn for the epoch's live writes in key order, the last one per
// key, and stops at fn's first error.
func (p *pending) each(fn func(e *pendEntry) error) error {
	if p.ascending {
		for i := range p.log {
			if e := &p.log[i]; !e.dead {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, e := range p.sorted() {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// first returns the smallest key the epoch writes.
func (p *pending) first() (string, bool) {
	var k string
	ok := false
	_ = p.each(func(e *pendEntry) error {
		k, ok = e.key, true
		return errStop
	})
	return k, ok
}

// last returns an upper bound of the keys the epoch writes.
func (p *pending) last() (string, bool) { return p.maxKey, len(p.log) > 0 }

// seek returns the index of the first entry of s with a key ≥ k.
func seek(s []*pendEntry, k string) int {
	return sort.Search(len(s), func(i int) bool { return s[i].key >= k })
}

// lookup returns the pending state of k: found reports whether the epoch
// decides k (a write, a delete, or the CleanBelow range); val is nil when
// k is absent from the writer view.
func (p *pending) lookup(k []byte) (val []byte, found bool) {
	ks := unsafe.String(unsafe.SliceData(k), len(k))
	var e *pendEntry
	if n := len(p.log); n == 0 {
	} else if p.ascending {
		if ks >= p.log[0].key && ks <= p.log[n-1].key {
			i := sort.Search(n, func(i int) bool { return p.log[i].key >= ks })
			if i < n && p.log[i].key == ks {
				e = &p.log[i]
			}
		}
	} else {
		p.catchUp()
		if i, ok := p.idx[ks]; ok {
			e = &p.log[i]
		}
	}
	if e != nil && !e.dead {
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

// catchUp indexes the writes logged since the last lookup.
func (p *pending) catchUp() {
	if p.indexed == len(p.log) {
		return
	}
	if p.idx == nil {
		p.idx = make(map[string]int32, len(p.log))
	}
	for i := p.indexed; i < len(p.log); i++ {
		if e := &p.log[i]; !e.dead {
			p.idx[e.key] = int32(i)
		}
	}
	p.indexed = len(p.log)
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
