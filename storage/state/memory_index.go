package state

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"unsafe"
)

// inlineKey is the longest key an entry holds inline; longer keys live in
// the key arena.
const inlineKey = 16

// bigEndian reports a big-endian host, where packed key words are byte
// swapped so that an entry's inline words still lay the key's bytes out in
// order in memory. It is fixed at init.
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
// them inline: its bytes in order, zero padded. Overlapping loads shifted
// into place avoid a byte loop.
func packKey(k []byte) (a, b uint64) {
	switch n := len(k); {
	case n > 8:
		a = binary.LittleEndian.Uint64(k)
		b = binary.LittleEndian.Uint64(k[n-8:]) >> (8 * (16 - n))
	case n == 8:
		a = binary.LittleEndian.Uint64(k)
	case n >= 4:
		a = uint64(binary.LittleEndian.Uint32(k)) | uint64(binary.LittleEndian.Uint32(k[n-4:]))<<(8*(n-4))
	case n > 0:
		a = uint64(k[0]) | uint64(k[n>>1])<<(8*(n>>1)) | uint64(k[n-1])<<(8*(n-1))
	}
	if bigEndian {
		a, b = bits.ReverseBytes64(a), bits.ReverseBytes64(b)
	}
	return a, b
}

// shortHash hashes a packed short key: one seeded 128-bit multiply.
func (m *MemoryTable) shortHash(a, b uint64, n int) uint64 {
	hi, lo := bits.Mul64(a^m.s0, b^m.s1^uint64(n)<<56)
	return hi ^ lo
}

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
	e := &m.ents[id]
	n := e.keyLen()
	if n <= inlineKey {
		return unsafe.Slice((*byte)(unsafe.Pointer(&e.k)), inlineKey)[:n:n]
	}
	off := e.k[0]
	return m.keys[off : off+uint64(n) : off+uint64(n)]
}

// keyIs reports whether entry id holds key k, whose packed words (when
// len(k) ≤ 16) are a and b.
func (m *MemoryTable) keyIs(id int32, k []byte, a, b uint64) bool {
	e := &m.ents[id]
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

// findLocked sets out[i] to the entry of keys[i], or -1. It works in
// groups of keys and two stages (hash and index probe; entry and key
// comparison), so the cache misses of one stage overlap across the group's
// keys instead of following each other key by key. A short key is
// compared with the entry's inline words, so a hit touches the index and
// the entry only.
func (m *MemoryTable) findLocked(keys [][]byte, out []int32) {
	var tags, first, pa, pb [lookupGroup]uint64
	mask := uint64(len(m.tab) - 1)
	tab := m.tab
	for lo := 0; lo < len(keys); lo += lookupGroup {
		ks := keys[lo:min(lo+lookupGroup, len(keys))]
		o := out[lo : lo+len(ks)]
		// Stage 1: hash, and walk the probe sequence to the first slot
		// with the key's tag.
		for i, k := range ks {
			var h uint64
			if len(k) <= inlineKey {
				pa[i], pb[i] = packKey(k)
				h = m.shortHash(pa[i], pb[i], len(k))
			} else {
				h = maphash.Bytes(m.seed, k)
			}
			tag := uint64(uint32(h))
			tags[i] = tag
			first[i] = 0
			for j := tag & mask; ; j = (j + 1) & mask {
				t := tab[j]
				if t == 0 || t>>32 == tag {
					first[i] = t
					break
				}
			}
		}
		// Stage 2: compare the candidate entries' keys; a false tag match
		// probes in full.
		for i, k := range ks {
			o[i] = -1
			if t := first[i]; t != 0 {
				if id := int32(uint32(t)) - 1; m.keyIs(id, k, pa[i], pb[i]) {
					o[i] = id
				} else {
					o[i] = m.findFrom(k, tags[i], pa[i], pb[i])
				}
			}
		}
	}
}

func (m *MemoryTable) tabInsert(tag uint64, id int32) {
	mask := uint64(len(m.tab) - 1)
	i := tag & mask
	for m.tab[i] != 0 {
		i = (i + 1) & mask
	}
	m.tab[i] = tag<<32 | uint64(uint32(id+1))
}

// growTab keeps the index at most three quarters full for n entries.
func (m *MemoryTable) growTab(n int) {
	if n*4 <= len(m.tab)*3 {
		return
	}
	size := m.tabSizeFor(n)
	old := m.tab
	m.tab = make([]uint64, size)
	for _, t := range old {
		if t != 0 {
			m.tabInsert(t>>32, int32(uint32(t))-1)
		}
	}
}

// tabSizeFor is the index length growTab would give for n entries.
func (m *MemoryTable) tabSizeFor(n int) int {
	size := len(m.tab)
	for n*4 > size*3 {
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
	var id int32
	if n := len(m.freeEnts); n > 0 {
		id = m.freeEnts[n-1]
		m.freeEnts = m.freeEnts[:n-1]
	} else {
		id = int32(len(m.ents))
		m.ents = append(m.ents, memEnt{})
	}
	e := memEnt{head: -1, n0: uint8(len(k)), n1: uint16(len(k) >> 8)}
	var h uint64
	if len(k) <= inlineKey {
		a, b := packKey(k)
		e.k = [2]uint64{a, b}
		h = m.shortHash(a, b, len(k))
	} else {
		e.k[0] = uint64(len(m.keys))
		m.keys = append(m.keys, k...)
		h = maphash.Bytes(m.seed, k)
	}
	m.ents[id] = e
	m.growTab(m.tabN + 1)
	m.tabInsert(uint64(uint32(h)), id)
	m.tabN++
	m.order.added(id)
	return id
}

// removeEntry drops an entry without versions from the index.
func (m *MemoryTable) removeEntry(id int32) {
	k := m.keyOf(id)
	m.tabRemove(k, id)
	if len(k) > inlineKey {
		m.keyGarb += int64(len(k))
	}
	e := &m.ents[id]
	e.flags = entDead
	e.head = -1
	if !m.order.removed(id) {
		m.freeEnts = append(m.freeEnts, id)
	}
}
