package state

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"unsafe"

	"github.com/sabotsql/sabotsql/internal/hugepage"
)

// inlineKey is the longest key an entry holds inline; longer keys live in
// the key arena.
const inlineKey = 16

// bigEndian reports a big-endian host, where keyOf copies an inline key
// out of its words instead of viewing them. It is fixed at init.
var bigEndian = binary.NativeEndian.Uint16([]byte{0, 1}) == 1

// memEnt is one key and its newest version. A key of up to 16 bytes is
// held inline in k (its bytes in order, zero padded), so a lookup compares
// two words and touches no arena; a longer key lives in the key arena at
// offset k[0]. The key length takes 24 bits (n0, n1).
type memEnt struct {
	k     [2]uint64
	head  int32 // newest version's slot; -1 while a pending write was undone
	flags uint8
	n0    uint8
	n1    uint16
}

func (e *memEnt) keyLen() int { return int(e.n0) | int(e.n1)<<8 }

// packKey returns the words of a key of at most 16 bytes as an entry holds
// them inline: its bytes in order (little-endian words), zero padded.
// Overlapping loads shifted into place avoid a byte loop; it inlines.
func packKey(k []byte) (a, b uint64) {
	if n := len(k); n >= 8 {
		// n == 8 shifts by 64: b is 0.
		return binary.LittleEndian.Uint64(k), binary.LittleEndian.Uint64(k[n-8:]) >> (128 - 8*uint(n))
	}
	return packTiny(k), 0
}

// packTiny packs a key of fewer than 8 bytes (kept out of line so that
// packKey inlines).
//
//go:noinline
func packTiny(k []byte) uint64 {
	switch n := len(k); {
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(k)) | uint64(binary.LittleEndian.Uint32(k[n-4:]))<<(8*(n-4))
	case n > 0:
		return uint64(k[0]) | uint64(k[n>>1])<<(8*(n>>1)) | uint64(k[n-1])<<(8*(n-1))
	}
	return 0
}

// shortHash hashes a packed short key: one seeded 128-bit multiply, its
// halves folded and mixed (mixTag). Its low 32 bits are the key's tag.
func (m *MemoryTable) shortHash(a, b uint64, n int) uint64 {
	return mixTag(bits.Mul64(a^m.s0, b^m.s1^uint64(n)<<56))
}

// mixTag is the 32-bit tag of a short key from the halves of its seeded
// 128-bit product: their XOR multiplied by an odd constant, high half.
// The XOR alone leaves structure a dense key range keeps: its low bits
// come from few key bits, and over sequential integer keys some seeds
// gave 3x the displacement from the home slot (mean probe length at a
// 1K-key small table 1.13, worst of 40 seeds 1.37; with the mix 1.16 and
// 1.19; 1M keys: worst 1.74 -> 1.46).
func mixTag(hi, lo uint64) uint64 {
	return (hi ^ lo) * hashMix >> 32
}

// hashMix is mixTag's multiplier (2^64 over the golden ratio, odd).
const hashMix = 0x9e3779b97f4a7c15

// hash hashes a key: short keys with shortHash of their packed words,
// longer ones with maphash.
func (m *MemoryTable) hash(k []byte) uint64 {
	if len(k) > inlineKey {
		return maphash.Bytes(m.seed, k)
	}
	a, b := packKey(k)
	return m.shortHash(a, b, len(k))
}

// keyOf returns entry id's key. The slice may point into the entry array:
// it is valid until the next call that adds entries.
func (m *MemoryTable) keyOf(id int32) []byte {
	e := m.ents.at(id)
	n := e.keyLen()
	if n <= inlineKey {
		if bigEndian {
			var b [inlineKey]byte
			binary.LittleEndian.PutUint64(b[:], e.k[0])
			binary.LittleEndian.PutUint64(b[8:], e.k[1])
			return b[:n:n]
		}
		return unsafe.Slice((*byte)(unsafe.Pointer(&e.k)), inlineKey)[:n:n]
	}
	off := e.k[0]
	return m.keys[off : off+uint64(n) : off+uint64(n)]
}

// keyIs reports whether entry id holds key k, whose packed words (when
// len(k) ≤ 16) are a and b.
func (m *MemoryTable) keyIs(id int32, k []byte, a, b uint64) bool {
	e := m.ents.at(id)
	if e.keyLen() != len(k) {
		return false
	}
	if len(k) <= inlineKey {
		return e.k[0] == a && e.k[1] == b
	}
	off := e.k[0]
	return bytes.Equal(m.keys[off:off+uint64(len(k))], k)
}

// find returns the entry of k, or -1.
func (m *MemoryTable) find(k []byte) int32 {
	var a, b uint64
	var h uint64
	if len(k) <= inlineKey {
		a, b = packKey(k)
		h = m.shortHash(a, b, len(k))
	} else {
		h = maphash.Bytes(m.seed, k)
	}
	return m.findFrom(k, uint64(uint32(h)), a, b)
}

// findFrom is find given the key's tag (low 32 bits of its hash) and packed
// words.
func (m *MemoryTable) findFrom(k []byte, tag, a, b uint64) int32 {
	mask := uint64(len(m.tab) - 1)
	for i := tag & mask; ; i = (i + 1) & mask {
		t := m.tab[i]
		if t == 0 {
			return -1
		}
		if t>>32 == tag {
			if id := int32(uint32(t)) - 1; m.keyIs(id, k, a, b) {
				return id
			}
		}
	}
}

// lookupGroup is the number of keys findLocked resolves a stage at a time.
const lookupGroup = 32

// findGroup is findLocked's per-group scratch: each key's tag, packed
// words, and the index word then entry of its first tag match.
type findGroup struct {
	tags, first, pa, pb [lookupGroup]uint64
	cand                [lookupGroup]int32
}

// findLocked sets out[i] to the entry of keys[i], or -1. It works in
// groups of keys and stages — hash and load each key's home index slot;
// finish the probes and load each candidate entry; compare keys — so the
// cache misses of a stage overlap across the group's keys. The loads that
// start a stage do not branch on what they load: a mispredicted branch on
// a missing load would hold back the loads after it, serializing the
// misses the staging means to overlap. A short key is compared with the
// entry's inline words, so a hit touches the index and the entry only.
// Each stage is its own function and the rare cases (long keys, a tag
// matching another key) run in separate passes, so the common loops make
// no calls and keep their values in registers.
func (m *MemoryTable) findLocked(keys [][]byte, out []int32) {
	var g findGroup
	var sink uint64
	for lo := 0; lo < len(keys); lo += lookupGroup {
		ks := keys[lo:min(lo+lookupGroup, len(keys))]
		o := out[lo : lo+len(ks)]
		if g.hashShort(m, ks) {
			g.hashLong(m, ks)
		}
		sink += g.probe(m.tab, &m.ents, len(ks))
		if g.compareShort(&m.ents, ks, o) {
			for i, k := range ks {
				if o[i] == -2 {
					o[i] = -1
					if id := g.cand[i]; m.keyIs(id, k, g.pa[i], g.pb[i]) {
						o[i] = id
					} else {
						o[i] = m.findFrom(k, g.tags[i], g.pa[i], g.pb[i])
					}
				}
			}
		}
	}
	m.findSink.Add(sink)
}

// hashShort packs and hashes the keys of up to 16 bytes and loads their
// home index slots; it reports whether longer keys were left to hashLong.
func (g *findGroup) hashShort(m *MemoryTable, ks [][]byte) (long bool) {
	tab := m.tab
	mask := uint64(len(tab) - 1)
	s0, s1 := m.s0, m.s1
	for i, k := range ks {
		// packKey, its common case written out so the loop makes no call.
		var a, b uint64
		switch n := len(k); {
		case n > inlineKey:
			long = true
			continue
		case n >= 8:
			a, b = binary.LittleEndian.Uint64(k), binary.LittleEndian.Uint64(k[n-8:])>>(128-8*uint(n))
		default:
			a = packTiny(k)
		}
		tag := mixTag(bits.Mul64(a^s0, b^s1^uint64(len(k))<<56))
		g.pa[i], g.pb[i], g.tags[i] = a, b, tag
		g.first[i] = tab[tag&mask]
	}
	return long
}

// hashLong hashes the keys longer than 16 bytes.
func (g *findGroup) hashLong(m *MemoryTable, ks [][]byte) {
	mask := uint64(len(m.tab) - 1)
	for i, k := range ks {
		if len(k) > inlineKey {
			tag := uint64(uint32(maphash.Bytes(m.seed, k)))
			g.pa[i], g.pb[i], g.tags[i] = 0, 0, tag
			g.first[i] = m.tab[tag&mask]
		}
	}
}

// probe walks each of the first n keys' probe sequences to the first slot
// with its tag and loads the candidate entry (-1: none).
func (g *findGroup) probe(tab []uint64, ents *segArr[memEnt], n int) (sink uint64) {
	mask := uint64(len(tab) - 1)
	for i := range n {
		tag := g.tags[i]
		t := g.first[i]
		for j := tag & mask; t != 0 && t>>32 != tag; {
			j = (j + 1) & mask
			t = tab[j]
		}
		id := int32(uint32(t)) - 1
		g.cand[i] = id
		if id >= 0 {
			sink += ents.at(id).k[0]
		}
	}
	return sink
}

// compareShort sets o[i] for each short key: its entry, or -1 when it has
// no candidate; -2 (and the report) leaves long keys and mismatches to a
// slow pass.
func (g *findGroup) compareShort(ents *segArr[memEnt], ks [][]byte, o []int32) (slow bool) {
	for i, k := range ks {
		id := g.cand[i]
		switch {
		case id < 0:
			o[i] = -1
		case len(k) > inlineKey:
			o[i], slow = -2, true
		default:
			e := ents.at(id)
			if e.k[0] == g.pa[i] && e.k[1] == g.pb[i] && e.keyLen() == len(k) {
				o[i] = id
			} else {
				o[i], slow = -2, true
			}
		}
	}
	return slow
}

func (m *MemoryTable) tabInsert(tag uint64, id int32) {
	m.tab[m.freeTabSlot(tag)] = tag<<32 | uint64(uint32(id+1))
}

// growTab keeps the index at most three quarters full for n entries, or
// three eighths for a small table (see tabSizeFor).
func (m *MemoryTable) growTab(n int) {
	if n*4 <= len(m.tab)*3 && (n > smallEnts || n*8 <= len(m.tab)*3) {
		return
	}
	size := m.tabSizeFor(n)
	old := m.tab
	m.tab = make([]uint64, size)
	hugepage.Advise(unsafe.Pointer(unsafe.SliceData(m.tab)), uintptr(size)*8)
	for _, t := range old {
		if t != 0 {
			m.tabInsert(t>>32, int32(uint32(t))-1)
		}
	}
}

// tabSizeFor is the index length growTab would give for n entries. A
// small table (up to smallEnts entries, probed key by key) keeps its
// index at most three eighths full: with linear probing a key then sits
// in its home slot or the next one — the two the small-table loops take
// without a branch — for 94 to 97 keys in 100 instead of 80 to 90, and a
// miss there costs a mispredicted branch and a walk. The price is 11 to
// 21 bytes a key more (2.7 to 5.3 index slots a key instead of 1.3 to
// 2.7), only in tables of up to 8K keys (and up to 12K after them: the
// index does not shrink). FixedView at 1K keys, fixed hash seeds 1-3, 3
// interleaved runs each: Get 5.0-6.5 -> 4.4-5.4 CPU ns/key, upsert
// 5.4-6.8 -> 4.7-5.3.
func (m *MemoryTable) tabSizeFor(n int) int {
	size := len(m.tab)
	for n*4 > size*3 || n <= smallEnts && n*8 > size*3 {
		size *= 2
	}
	return size
}

// tabRemove deletes entry id (key k) from the index by backward shifting.
func (m *MemoryTable) tabRemove(k []byte, id int32) {
	tag := uint64(uint32(m.hash(k)))
	mask := uint64(len(m.tab) - 1)
	want := tag<<32 | uint64(uint32(id+1))
	i := tag & mask
	for m.tab[i] != want {
		i = (i + 1) & mask
	}
	m.tab[i] = 0
	for j := (i + 1) & mask; m.tab[j] != 0; j = (j + 1) & mask {
		home := (m.tab[j] >> 32) & mask
		if (j-home)&mask >= (j-i)&mask {
			m.tab[i], m.tab[j] = m.tab[j], 0
			i = j
		}
	}
	m.tabN--
}

func (m *MemoryTable) newEntry(k []byte) int32 {
	var a, b uint64
	var h uint64
	if len(k) <= inlineKey {
		a, b = packKey(k)
		h = m.shortHash(a, b, len(k))
	} else {
		h = maphash.Bytes(m.seed, k)
	}
	m.growTab(m.tabN + 1)
	return m.addAt(k, a, b, h, m.freeTabSlot(uint64(uint32(h))))
}

// findOrAdd returns the entry of k, adding it when it is missing, with
// one hash and one probe sequence (growing the index first if an added
// entry would overfill it).
func (m *MemoryTable) findOrAdd(k []byte) int32 {
	var a, b uint64
	var h uint64
	if len(k) <= inlineKey {
		a, b = packKey(k)
		h = m.shortHash(a, b, len(k))
	} else {
		h = maphash.Bytes(m.seed, k)
	}
	m.growTab(m.tabN + 1)
	tag := uint64(uint32(h))
	mask := uint64(len(m.tab) - 1)
	for i := tag & mask; ; i = (i + 1) & mask {
		t := m.tab[i]
		if t == 0 {
			return m.addAt(k, a, b, h, i)
		}
		if t>>32 == tag {
			if id := int32(uint32(t)) - 1; m.keyIs(id, k, a, b) {
				return id
			}
		}
	}
}

// freeTabSlot is the first empty index slot on tag's probe sequence.
func (m *MemoryTable) freeTabSlot(tag uint64) uint64 {
	mask := uint64(len(m.tab) - 1)
	i := tag & mask
	for m.tab[i] != 0 {
		i = (i + 1) & mask
	}
	return i
}

// addAt adds an entry for key k (packed words a, b when inline; hash h)
// at the empty index slot pos, which lies on its probe sequence.
func (m *MemoryTable) addAt(k []byte, a, b, h, pos uint64) int32 {
	var id int32
	if n := len(m.freeEnts); n > 0 {
		id = m.freeEnts[n-1]
		m.freeEnts = m.freeEnts[:n-1]
	} else {
		id = int32(m.ents.n)
		m.ents.resize(m.ents.n + 1)
	}
	e := memEnt{head: -1, n0: uint8(len(k)), n1: uint16(len(k) >> 8)}
	if len(k) <= inlineKey {
		e.k = [2]uint64{a, b}
	} else {
		e.k[0] = uint64(len(m.keys))
		m.keys = append(m.keys, k...)
	}
	*m.ents.at(id) = e
	m.tab[pos] = uint64(uint32(h))<<32 | uint64(uint32(id+1))
	m.tabN++
	m.order.added(id)
	if m.app.n() > 0 {
		m.app.removeKey(k) // the key's appended row, if any, ends here
	}
	return id
}

// removeEntry drops an entry without versions from the index.
func (m *MemoryTable) removeEntry(id int32) {
	k := m.keyOf(id)
	m.tabRemove(k, id)
	if len(k) > inlineKey {
		m.keyGarb += int64(len(k))
	}
	e := m.ents.at(id)
	e.flags = entDead
	e.head = -1
	if !m.order.removed(id) {
		m.freeEnts = append(m.freeEnts, id)
	}
}
