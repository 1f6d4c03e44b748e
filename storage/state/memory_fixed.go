package state

import (
	"context"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// The typed fast path of MemoryTable (FixedTable). A FixedView is the same
// table seen through uint64 keys and value words: it reads and writes the
// same entries, version slots and columns as Get and Write, under the same
// lock, budget and epoch rules, and differs only at the edges — a key word
// is packed straight into the two inline words an entry compares (no byte
// key, no arena), and values move as words between the caller's slices
// and the column slices (no Arrow arrays built or read).

var _ FixedTable = (*MemoryTable)(nil)

// wordCol is implemented by the columns the typed path serves: those held
// as plain fixed-width slices.
type wordCol interface {
	// getWords sets out[i] to slot src[i]'s value (0 for src[i] < 0 or a
	// NULL, which also sets null[i] when null is not nil).
	getWords(src []int32, out []uint64, null []bool)
	// putWords stores w[i] (its low bytes) in slot dst[i] (skipping
	// dst[i] < 0) as a non-NULL value.
	putWords(dst []int32, w []uint64)
}

func (c *fixedCol[T]) getWords(src []int32, out []uint64, null []bool) {
	out = out[:len(src)]
	vals := &c.vals
	if c.valid.n == 0 {
		if len(vals.s) == 1 {
			// One segment: index it through a pointer (a slot is below
			// the column's length).
			flat := unsafe.Pointer(unsafe.SliceData(vals.s[0]))
			for i, s := range src {
				var v uint64
				if s >= 0 {
					v = uint64(*(*T)(unsafe.Add(flat, uintptr(s)*unsafe.Sizeof(T(0)))))
				}
				out[i] = v
			}
			return
		}
		for i, s := range src {
			var v uint64
			if s >= 0 {
				v = uint64(vals.get(s))
			}
			out[i] = v
		}
		return
	}
	for i, s := range src {
		var v uint64
		if s >= 0 {
			if c.valid.get(s) {
				v = uint64(vals.get(s))
			} else if null != nil {
				null[i] = true
			}
		}
		out[i] = v
	}
}

func (c *fixedCol[T]) putWords(dst []int32, w []uint64) {
	w = w[:len(dst)]
	vals := &c.vals
	if c.valid.n == 0 {
		if len(vals.s) == 1 {
			// One segment: index it through a pointer (a slot is below
			// the column's length).
			flat := unsafe.Pointer(unsafe.SliceData(vals.s[0]))
			for i, s := range dst {
				if s >= 0 {
					*(*T)(unsafe.Add(flat, uintptr(s)*unsafe.Sizeof(T(0)))) = T(w[i])
				}
			}
			return
		}
		for i, s := range dst {
			if s >= 0 {
				vals.set(s, T(w[i]))
			}
		}
		return
	}
	for i, s := range dst {
		if s >= 0 {
			vals.set(s, T(w[i]))
			c.valid.set(s, true)
		}
	}
}

// memFixed is MemoryTable's FixedView for one key layout. A key word k
// is the key Prefix ‖ BE(k)[8-Width:]; packed as an entry holds it inline
// (the key's bytes as a little-endian 128-bit number) that is
// pre | bswap(k << (64 - 8·Width)) << (8·len(Prefix)).
type memFixed struct {
	m      *MemoryTable
	lay    FixedKeyLayout
	pre    uint64 // the prefix bytes, packed
	kshift uint   // 64 - 8·Width
	pshift uint   // 8·len(Prefix)
	n      int    // key length

	src []int32 // GetFixed scratch
	ids []int32 // WriteFixed scratch
}

// Fixed implements FixedTable: it serves any layout (keys of up to 16
// bytes are inline) when every value column is a fixed-width type of 1 to
// 8 bytes (not boolean).
func (m *MemoryTable) Fixed(l FixedKeyLayout) (FixedView, bool) {
	if len(l.Prefix) > 8 || l.Width < 1 || l.Width > 8 {
		return nil, false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, false
	}
	for _, c := range m.cols {
		if _, ok := c.(wordCol); !ok {
			return nil, false
		}
	}
	var pb [8]byte
	copy(pb[:], l.Prefix)
	return &memFixed{
		m:      m,
		lay:    FixedKeyLayout{Prefix: slices.Clone(l.Prefix), Width: l.Width},
		pre:    binary.LittleEndian.Uint64(pb[:]),
		kshift: uint(64 - 8*l.Width),
		pshift: uint(8 * len(l.Prefix)),
		n:      l.Len(),
	}, true
}

// Layout implements FixedView.
func (f *memFixed) Layout() FixedKeyLayout { return f.lay }

// keyPacker packs key words of one layout into inline words with shifts
// under 64 and masks (a Go shift by a variable that may reach 64 costs a
// compare and a mask more).
type keyPacker struct {
	pre          uint64 // the prefix bytes, packed
	kshift       uint   // 64 - 8·Width
	ashift       uint   // 8·len(Prefix), mod 64
	bshift       uint   // 64 - 8·len(Prefix), mod 64
	amask, bmask uint64 // all ones, or 0 where the shift would be 64
}

func (f *memFixed) packer() keyPacker {
	p := keyPacker{pre: f.pre, kshift: f.kshift & 63, ashift: f.pshift & 63, bshift: (64 - f.pshift) & 63, amask: ^uint64(0), bmask: ^uint64(0)}
	if f.pshift == 64 {
		p.amask = 0
	}
	if f.pshift == 0 {
		p.bmask = 0
	}
	return p
}

// pack returns key word k's inline words.
func (p *keyPacker) pack(k uint64) (a, b uint64) {
	x := bits.ReverseBytes64(k << (p.kshift & 63))
	return p.pre | x<<(p.ashift&63)&p.amask, x >> (p.bshift & 63) & p.bmask
}

// pack returns key word k's inline words.
func (f *memFixed) pack(k uint64) (a, b uint64) {
	p := f.packer()
	return p.pack(k)
}

// key returns key word k's bytes (for a new entry).
func (f *memFixed) key(buf *[inlineKey]byte, k uint64) []byte {
	return f.lay.AppendKey(buf[:0], k)
}

// smallEnts is the most entries a table may hold for findFixed to probe
// key by key: its index and entries (about 60 bytes an entry) then fit in
// a core's L2 cache, where a miss costs less than staging the lookups.
const smallEnts = 8 << 10

// findFixed sets out[i] to the entry of keys[i], or -1 — or, when heads is
// set, to the slot the writer view reads (-1: none; the caller checked
// there is no pending CleanBelow). A small table is probed key by key;
// a larger one in stages over groups, like findLocked.
func (f *memFixed) findFixed(keys []uint64, out []int32, heads bool) {
	m := f.m
	if m.ents.n <= smallEnts {
		if f.small9() {
			f.findSmall9(keys, out, heads)
		} else {
			f.findSmall(keys, out, heads)
		}
		return
	}
	f.findStaged(keys, out, heads)
}

// small9 reports whether the table is small enough to probe key by key
// and the layout is findSmall9's.
func (f *memFixed) small9() bool {
	return f.m.ents.n <= smallEnts && f.pshift == 8 && f.kshift == 0 && !bigEndian
}

// putSmall9 is the puts of a small table with findSmall9's layout in one
// pass: a key found in its home or next index slot (pick2) takes its
// pending slot straight from the entry when it has a live one (written
// earlier in the epoch), or a new one from putEntry (its first write in
// the epoch: a view updating its keys once an epoch); a key further from
// home walks its probe sequence (walk9), and a new key goes through
// findOrAdd. It returns the slot of each row (in m.dst).
func (f *memFixed) putSmall9(keys []uint64) []int32 {
	m := f.m
	m.resizeSlots(m.nslots + len(keys))
	dst := slices.Grow(m.dst[:0], len(keys))[:len(keys)]
	m.dst = dst
	s0, s1 := m.s0, m.s1^9<<56
	pre := f.pre
	var buf [inlineKey]byte
	for i := 0; i < len(keys); i++ {
		if m.ents.n > segLen {
			// The entries outgrew segment 0, which the pointer walk
			// below assumes holds them all.
			for ; i < len(keys); i++ {
				dst[i] = m.putEntry(m.findOrAdd(f.key(&buf, keys[i])))
			}
			break
		}
		// The index and entries move when findOrAdd adds a key (putEntry
		// moves version slots only: resizeSlots above made room).
		tab := unsafe.Pointer(unsafe.SliceData(m.tab))
		ents := unsafe.Pointer(unsafe.SliceData(m.ents.first()))
		mask := uint64(len(m.tab) - 1)
		// The version slots while they are one segment (else nil), and
		// allocSlot's state, kept in locals through the loop.
		meta := m.meta.s0
		free, cleared, nslots := m.freeSlots, m.cleared, m.nslots
		touched := slices.Grow(m.touched, len(keys)-i)
		for ; i < len(keys); i++ {
			k := keys[i]
			a, b := pre|bits.ReverseBytes64(k)<<8, k&0xff
			tag := mixTag(bits.Mul64(a^s0, b^s1))
			// Home or next slot (pick2); anything else takes the slow
			// path, a walk of the probe sequence.
			t := pick2(tab, mask, tag)
			// An empty slot names entry 0 (there is one), so e always
			// points into the entries; the tag and key checks reject it.
			id := uint32(t) - 1
			if uint32(t) == 0 {
				id = 0
			}
			e := (*memEnt)(unsafe.Add(ents, uintptr(id)*unsafe.Sizeof(memEnt{})))
			// One word holds the flags and the key length: the length is
			// 9.
			fl := *(*uint32)(unsafe.Pointer(&e.flags))
			if t>>32 != tag || uint32(t) == 0 || e.k[0] != a || e.k[1] != b || fl>>8 != 9 {
				break
			}
			switch {
			case fl&uint32(entPending|entTomb) == uint32(entPending):
				dst[i] = e.head
			case fl&uint32(entPending|entTouched) == 0 && meta != nil:
				// putEntry's first write of a committed key inline: a
				// version slot from the free list or the high-water mark
				// (resizeSlots made room), over the committed head.
				var sl int32
				if n := len(free); n > 0 {
					sl = free[n-1]
					free = free[:n-1]
					cleared = min(cleared, n-1)
				} else {
					sl = int32(nslots)
					nslots++
				}
				meta[sl] = newMeta(uncommitted, e.head, false)
				e.head = sl
				e.flags = uint8(fl)&^entTomb | entPending | entTouched
				touched = append(touched, int32(id))
				dst[i] = sl
			default:
				m.freeSlots, m.cleared, m.nslots, m.touched = free, cleared, nslots, touched
				dst[i] = m.putEntry(int32(id))
				free, cleared, nslots, touched = m.freeSlots, m.cleared, m.nslots, m.touched
			}
		}
		m.freeSlots, m.cleared, m.nslots, m.touched = free, cleared, nslots, touched
		if i < len(keys) {
			k := keys[i]
			a, b := pre|bits.ReverseBytes64(k)<<8, k&0xff
			id := walk9(tab, ents, mask, mixTag(bits.Mul64(a^s0, b^s1)), a, b)
			if id >= 0 {
				if e := m.ents.at(id); e.flags&(entPending|entTomb) == entPending {
					// Live pending, only further from home.
					dst[i] = e.head
					continue
				}
			} else {
				id = m.findOrAdd(f.key(&buf, k))
			}
			dst[i] = m.putEntry(id)
		}
	}
	return dst
}

// pick2 is the index word of tag's home slot if it carries tag, else of
// the next slot, chosen without branching on the words loaded: a
// mispredicted probe exit costs more than the lookup. With linear probing
// a key sits in its home or the next slot for 94 to 97 keys in 100 at a
// small table's index load (at most three eighths, see tabSizeFor). A
// word carrying the tag is
// only a candidate: the caller compares the entry's key, and walks the
// whole probe sequence (walk9) when it differs.
func pick2(tab unsafe.Pointer, mask, tag uint64) uint64 {
	t := *(*uint64)(unsafe.Add(tab, (tag&mask)*8))
	var d uint64
	if t>>32 != tag {
		d = 1
	}
	return *(*uint64)(unsafe.Add(tab, ((tag+d)&mask)*8))
}

// walk9 walks the probe sequence of tag for the entry of the 9-byte key
// with inline words a, b, or -1, indexing the index and the entries
// (segment 0) through pointers as the small-table loops do.
func walk9(tab, ents unsafe.Pointer, mask, tag, a, b uint64) int32 {
	for j := tag; ; j++ {
		t := *(*uint64)(unsafe.Add(tab, (j&mask)*8))
		if t == 0 {
			return -1
		}
		if t>>32 != tag {
			continue
		}
		id := uint32(t) - 1
		e := (*memEnt)(unsafe.Add(ents, uintptr(id)*unsafe.Sizeof(memEnt{})))
		if e.k[0] == a && e.k[1] == b && *(*uint32)(unsafe.Pointer(&e.flags))>>8 == 9 {
			return int32(id)
		}
	}
}

// findSmall is findFixed in one pass: each key's probe, compare and head
// in turn, its values kept in registers.
func (f *memFixed) findSmall(keys []uint64, out []int32, heads bool) {
	m := f.m
	tab, ents := m.tab, m.ents.first()
	s0, s1 := m.s0, m.s1^uint64(f.n)<<56
	pk := f.packer()
	n := f.n
	out = out[:len(keys)]
	for i, k := range keys {
		a, b := pk.pack(k)
		tag := mixTag(bits.Mul64(a^s0, b^s1))
		res := int32(-1)
		for j := tag; ; j++ {
			t := tab[j&uint64(len(tab)-1)]
			if t == 0 {
				break
			}
			if t>>32 != tag {
				continue
			}
			id := int32(uint32(t)) - 1
			e := &ents[id]
			if e.k[0] != a || e.k[1] != b || e.keyLen() != n {
				continue
			}
			res = id
			if heads {
				res = -1
				if e.flags&entTomb == 0 {
					res = e.head
				}
			}
			break
		}
		out[i] = res
	}
}

// headsSmallMarker is findSmall9 with heads set and the prefix the value
// marker byte 0x01 (a NULL-free one-column key): the writer view's slot of
// each key, and found[i] (whether there is one), set in the same pass.
// With both as constants the loop keeps most of its values in registers.
func (f *memFixed) headsSmallMarker(keys []uint64, out []int32, found []bool) {
	m := f.m
	tab := unsafe.Pointer(unsafe.SliceData(m.tab))
	ents := unsafe.Pointer(unsafe.SliceData(m.ents.first()))
	mask := uint64(len(m.tab) - 1)
	s0, s1 := m.s0, m.s1^9<<56
	out = out[:len(keys)]
	found = found[:len(keys)]
	for i, k := range keys {
		a := 1 | bits.ReverseBytes64(k)<<8
		tag := mixTag(bits.Mul64(a^s0, k&0xff^s1))
		// The key sits in its home slot or the next one for most keys:
		// take whichever of the two carries the tag (pick2),
		// and walk the probe sequence (walk9) only when that is not the
		// key.
		t := pick2(tab, mask, tag)
		// An empty slot names entry 0 (the caller checked there is one),
		// so e always points into the entries; the checks reject it.
		id := uint32(t) - 1
		if uint32(t) == 0 {
			id = 0
		}
		e := (*memEnt)(unsafe.Add(ents, uintptr(id)*unsafe.Sizeof(memEnt{})))
		if t>>32 != tag || uint32(t) == 0 || e.k[0] != a || e.k[1] != k&0xff || *(*uint32)(unsafe.Pointer(&e.flags))>>8 != 9 {
			res := int32(-1)
			if id := walk9(tab, ents, mask, tag, a, k&0xff); id >= 0 {
				if e := m.ents.at(id); e.flags&entTomb == 0 {
					res = e.head
				}
			}
			out[i], found[i] = res, res >= 0
			continue
		}
		res := int32(-1)
		if e.flags&entTomb == 0 {
			res = e.head
		}
		out[i], found[i] = res, res >= 0
	}
}

// findSmall9 is findSmall for the layout of one-column keys of 8-byte
// types (a 1-byte prefix, 8 key bytes: 9 bytes): its packing shifts and
// key length are constants, and it indexes the index and entry arrays
// through pointers (the mask bounds every index position; an index word
// names an entry that exists), which leaves the loop registers enough to
// keep its values in them.
func (f *memFixed) findSmall9(keys []uint64, out []int32, heads bool) {
	m := f.m
	tab := unsafe.Pointer(unsafe.SliceData(m.tab))
	ents := unsafe.Pointer(unsafe.SliceData(m.ents.first()))
	mask := uint64(len(m.tab) - 1)
	s0, s1 := m.s0, m.s1^9<<56
	pre := f.pre
	out = out[:len(keys)]
	for i, k := range keys {
		a, b := pre|bits.ReverseBytes64(k)<<8, k&0xff
		tag := mixTag(bits.Mul64(a^s0, b^s1))
		res := int32(-1)
		for j := tag; ; j++ {
			t := *(*uint64)(unsafe.Add(tab, (j&mask)*8))
			if t == 0 {
				break
			}
			if t>>32 != tag {
				continue
			}
			id := uint32(t) - 1
			e := (*memEnt)(unsafe.Add(ents, uintptr(id)*unsafe.Sizeof(memEnt{})))
			if e.k[0] != a || e.k[1] != b {
				continue
			}
			// flags, n0, n1 as one word: the length is 9, and the flags
			// follow.
			fl := *(*uint32)(unsafe.Pointer(&e.flags))
			if fl>>8 != 9 {
				continue
			}
			res = int32(id)
			if heads {
				res = -1
				if fl&uint32(entTomb) == 0 {
					res = e.head
				}
			}
			break
		}
		out[i] = res
	}
}

// findStaged is findFixed's lookup in stages (the writer-view slots when
// heads is set, read from the entries while the compare has them).
func (f *memFixed) findStaged(keys []uint64, out []int32, heads bool) {
	m := f.m
	var g findGroup
	var sink uint64
	tab := m.tab
	mask := uint64(len(tab) - 1)
	s0, s1 := m.s0, m.s1^uint64(f.n)<<56
	pk := f.packer()
	for lo := 0; lo < len(keys); lo += lookupGroup {
		ks := keys[lo:min(lo+lookupGroup, len(keys))]
		o := out[lo : lo+len(ks)]
		for i, k := range ks {
			a, b := pk.pack(k)
			tag := mixTag(bits.Mul64(a^s0, b^s1))
			g.pa[i], g.pb[i], g.tags[i] = a, b, tag
			g.first[i] = tab[tag&mask]
		}
		sink += g.probe(tab, &m.ents, len(ks))
		slow := false
		ents := &m.ents
		for i := range ks {
			res := g.cand[i]
			if res >= 0 {
				switch e := ents.at(res); {
				case e.k[0] != g.pa[i] || e.k[1] != g.pb[i] || e.keyLen() != f.n:
					res = -2
				case heads:
					res = e.head
					if e.flags&entTomb != 0 {
						res = -1
					}
				}
			}
			if res == -2 {
				slow = true
			}
			o[i] = res
		}
		if slow {
			for i := range ks {
				if o[i] == -2 {
					id := f.findFrom(g.tags[i], g.pa[i], g.pb[i])
					if heads && id >= 0 {
						e := ents.at(id)
						id = e.head
						if e.flags&entTomb != 0 {
							id = -1
						}
					}
					o[i] = id
				}
			}
		}
	}
	m.findSink.Add(sink)
}

// findFrom walks the probe sequence of tag for the entry with inline words
// a, b (the key's length is f.n), or -1.
func (f *memFixed) findFrom(tag, a, b uint64) int32 {
	m := f.m
	mask := uint64(len(m.tab) - 1)
	for i := tag & mask; ; i = (i + 1) & mask {
		t := m.tab[i]
		if t == 0 {
			return -1
		}
		if t>>32 == tag {
			id := int32(uint32(t)) - 1
			if e := m.ents.at(id); e.k[0] == a && e.k[1] == b && e.keyLen() == f.n {
				return id
			}
		}
	}
}

// find1 is the entry of one key word, or -1.
func (f *memFixed) find1(k uint64) int32 {
	a, b := f.pack(k)
	return f.findFrom(mixTag(bits.Mul64(a^f.m.s0, b^f.m.s1^uint64(f.n)<<56)), a, b)
}

// GetFixed implements FixedView.
func (f *memFixed) GetFixed(ctx context.Context, keys []uint64, vals [][]uint64, found, null []bool) error {
	m := f.m
	n := len(keys)
	if len(found) < n || (null != nil && len(null) < n) {
		return pgerror.Internal("state: GetFixed of %d keys with %d found and %d null flags", n, len(found), len(null))
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	if err := f.checkVals(vals, n); err != nil {
		return err
	}
	src := slices.Grow(f.src[:0], n)[:n]
	f.src = src
	switch {
	case m.hasClean:
		f.findFixed(keys, src, false)
		m.slotsLocked(src, MaxEpoch)
	case f.small9() && f.pre == 1 && m.ents.n > 0:
		f.headsSmallMarker(keys, src, found)
		found = nil
	default:
		f.findFixed(keys, src, true)
	}
	if found != nil {
		for i, s := range src {
			found[i] = s >= 0
		}
	}
	if null != nil {
		clear(null[:n])
	}
	for j, c := range m.cols {
		c.(wordCol).getWords(src, vals[j], null)
	}
	return nil
}

func (f *memFixed) checkVals(vals [][]uint64, n int) error {
	if len(vals) != len(f.m.cols) {
		return pgerror.Internal("state: %d value columns, table has %d", len(vals), len(f.m.cols))
	}
	for j, v := range vals {
		if len(v) < n {
			return pgerror.Internal("state: value column %d has %d words for %d keys", j, len(v), n)
		}
	}
	return nil
}

// WriteFixed implements FixedView.
func (f *memFixed) WriteFixed(ctx context.Context, keys []uint64, ops []Op, vals [][]uint64) error {
	n := len(keys)
	if ops != nil && len(ops) != n {
		return pgerror.Internal("state: write of %d keys with %d ops", n, len(ops))
	}
	puts, dels := ops == nil, false
	for _, op := range ops {
		switch op {
		case OpPut:
			puts = true
		case OpDelete:
			dels = true
		default:
			return pgerror.Internal("state: unknown write op %d", op)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m := f.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if puts {
		if err := f.checkVals(vals, n); err != nil {
			return err
		}
	}
	if m.nslots+n > math.MaxInt32-1 || m.ents.n+n > math.MaxInt32-1 {
		return pgerror.New(pgerror.ProgramLimitExceeded, "memory state table holds too many versions")
	}
	if err := m.charge.ensure(ctx, m.worstCaseLocked(n, int64(n*f.n))); err != nil {
		return err
	}
	if !dels {
		ops = nil // all puts
	}
	if ops == nil && f.small9() && m.ents.n > 0 {
		dst := f.putSmall9(keys)
		for j, c := range m.cols {
			c.(wordCol).putWords(dst, vals[j])
		}
		return nil
	}
	// A larger table: a piece of keys at a time goes through lookup,
	// versioning and value stores, so the entries the lookup brought into
	// cache are still there when the write touches them.
	var buf [inlineKey]byte
	for lo := 0; lo < n; lo += writePiece {
		hi := min(lo+writePiece, n)
		ks := keys[lo:hi]
		ids := slices.Grow(f.ids[:0], len(ks))[:len(ks)]
		f.ids = ids
		f.findFixed(ks, ids, false)
		var pops []Op
		if ops != nil {
			pops = ops[lo:hi]
		}
		dst := m.applyOpsLocked(pops, ids, func(i int, add bool) int32 {
			if add {
				return m.findOrAdd(f.key(&buf, ks[i]))
			}
			return f.find1(ks[i])
		})
		if puts {
			for j, c := range m.cols {
				c.(wordCol).putWords(dst, vals[j][lo:hi])
			}
		}
	}
	return nil
}

// writePiece is the keys WriteFixed takes through all its steps at a time
// on a large table. (The generic Write measured no gain from the same
// piecing and does not use it.)
const writePiece = 256

// The word findSmall9 reads at an entry's flags is flags, n0 and n1.
const _ = -uint(unsafe.Offsetof(memEnt{}.n0) - unsafe.Offsetof(memEnt{}.flags) - 1 + unsafe.Offsetof(memEnt{}.n1) - unsafe.Offsetof(memEnt{}.flags) - 2)
