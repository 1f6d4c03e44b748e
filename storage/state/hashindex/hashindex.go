// Package hashindex is the point-lookup index of the in-memory state
// structures (the memory backend and columnar memtables): open addressing
// with linear probing over (hash, entry) slots. Storing 32 bits of the hash
// in the slot lets a probe reject other keys without touching their entries
// (a false match costs one key comparison in four billion), so a lookup of a
// random key costs about two cache misses (slot, entry) where a Go map of
// string keys costs three (group, key bytes, entry). With entries that are
// ids (uint32) a slot is 8 bytes and holds no pointer, so the garbage
// collector never scans the table.
//
// Invariants:
//  1. At most three quarters of the slots are used (live or tombstone), so
//     every probe sequence reaches an empty slot and terminates.
//  2. A removed entry leaves a tombstone until the next growth rehashes the
//     live entries.
//  3. Get does not mutate; the owner's lock lets readers call it
//     concurrently with each other, never with Put or Remove.
package hashindex

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"unsafe"

	"github.com/sabotsql/sabotsql/internal/hugepage"
)

// Index maps keys to entries of type E (a pointer type whose key is given
// by the key function and never changes). Build one with New.
type Index[E comparable] struct {
	key   func(E) string
	seed  maphash.Seed
	s0    uint64 // seeds of the short-key hash, drawn from seed
	s1    uint64
	slots []slot[E] // len is a power of two
	n     int       // live entries
	used  int       // live entries plus tombstones
	spare []slot[E] // adopted slot array, reused by a growth to its size
}

type slot[E comparable] struct {
	h uint32 // 0: empty; tomb: removed
	e E
}

const tomb = 1

// New returns an empty index.
func New[E comparable](key func(E) string) *Index[E] {
	seed := maphash.MakeSeed()
	return &Index[E]{key: key, seed: seed, s0: maphash.String(seed, "s0") | 1, s1: maphash.String(seed, "s1"),
		slots: make([]slot[E], 64)}
}

func (x *Index[E]) hash(k string) uint32 {
	var h64 uint64
	if n := len(k); n <= 16 {
		// Keys of up to 16 bytes (most state keys) are hashed inline:
		// their bytes as two words (overlapping when shorter than 16),
		// folded with the seeds and the length by a 64x64->128-bit
		// multiplication (as wyhash does for short inputs); a call to
		// maphash costs more than that.
		var a, b uint64
		kb := unsafe.Slice(unsafe.StringData(k), n)
		switch {
		case n >= 8:
			a = binary.LittleEndian.Uint64(kb)
			b = binary.LittleEndian.Uint64(kb[n-8:])
		case n >= 4:
			a = uint64(binary.LittleEndian.Uint32(kb))
			b = uint64(binary.LittleEndian.Uint32(kb[n-4:]))
		case n > 0:
			a = uint64(k[0])<<16 | uint64(k[n>>1])<<8 | uint64(k[n-1])
		}
		hi, lo := bits.Mul64(a^x.s0, b^x.s1^uint64(n))
		h64 = hi ^ lo
	} else {
		h64 = maphash.String(x.seed, k)
	}
	h := uint32(h64 ^ h64>>32)
	if h <= tomb {
		h += 2
	}
	return h
}

// Len is the number of entries.
func (x *Index[E]) Len() int { return x.n }

// Get returns the entry of k and whether it exists.
func (x *Index[E]) Get(k []byte) (E, bool) {
	return x.getHashed(k, x.hash(unsafe.String(unsafe.SliceData(k), len(k))))
}

func (x *Index[E]) getHashed(k []byte, h uint32) (E, bool) {
	ks := unsafe.String(unsafe.SliceData(k), len(k))
	mask := uint32(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.h == h && x.key(s.e) == ks {
			return s.e, true
		}
		if s.h == 0 {
			var zero E
			return zero, false
		}
	}
}

// smallIndex is the slot count up to which GetBatch looks keys up one by
// one (32 Ki slots of 8 bytes with uint32 entries: 256 KiB, about an L2
// cache).
const smallIndex = 1 << 15

// batchGroup is the number of keys GetBatch resolves a stage at a time.
const batchGroup = 32

// GetBatch sets out[i], found[i] to Get(keys[i]). It works in groups of
// keys and stages (hash and home slot, candidate entry and key bytes, then
// the comparisons), so the cache misses of one stage overlap across the
// group's keys instead of following each other key by key — on tables much
// larger than the CPU cache a random lookup is mostly waiting for memory.
func (x *Index[E]) GetBatch(keys [][]byte, out []E, found []bool) {
	if len(x.slots) <= smallIndex {
		// The table fits in the CPU cache: staging would only add work.
		for i, k := range keys {
			out[i], found[i] = x.Get(k)
		}
		return
	}
	var hs [batchGroup]uint32
	var pos [batchGroup]int // slot with the key's hash, or -1 (absent)
	var home [batchGroup]slot[E]
	var cand [batchGroup]string
	mask := uint32(len(x.slots) - 1)
	for lo := 0; lo < len(keys); lo += batchGroup {
		ks := keys[lo:min(lo+batchGroup, len(keys))]
		// Stage 1: hash, then copy every home slot in a tight loop with
		// no branch on what it holds, so the group's cache misses are all
		// in flight at once (a mispredicted probe-loop exit, or a hash
		// call between the loads, would leave few of them in flight).
		for i, k := range ks {
			hs[i] = x.hash(unsafe.String(unsafe.SliceData(k), len(k)))
		}
		for i := range ks {
			home[i] = x.slots[hs[i]&mask]
		}
		// Walk the probe sequences (now in cache) to the first slot with
		// the same 32-bit hash (almost surely the key's).
		for i := range ks {
			h := hs[i]
			pos[i] = -1
			switch home[i].h {
			case h:
				pos[i] = int(h & mask)
				continue
			case 0:
				continue
			}
			for j := (h + 1) & mask; x.slots[j].h != 0; j = (j + 1) & mask {
				if x.slots[j].h == h {
					pos[i] = int(j)
					break
				}
			}
		}
		// Stage 2: the candidates' keys.
		for i := range ks {
			cand[i] = ""
			if pos[i] >= 0 {
				cand[i] = x.key(x.slots[pos[i]].e)
			}
		}
		// Stage 3: compare; a rare false hash match probes in full.
		for i, k := range ks {
			var zero E
			switch {
			case pos[i] < 0:
				out[lo+i], found[lo+i] = zero, false
			case cand[i] == unsafe.String(unsafe.SliceData(k), len(k)):
				out[lo+i], found[lo+i] = x.slots[pos[i]].e, true
			default:
				out[lo+i], found[lo+i] = x.getHashed(k, hs[i])
			}
		}
		clear(cand[:len(ks)])
	}
}

// Put adds e, whose key must not be in the index.
func (x *Index[E]) Put(e E) {
	if (x.used+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	x.insert(x.hash(x.key(e)), e)
	x.n++
	x.used++
}

// GetOrPut returns the entry of k and true, or, when k is absent, adds
// mk() (an entry whose key is k) and returns it and false: one probe
// sequence where Get then Put walk it twice.
func (x *Index[E]) GetOrPut(k []byte, mk func() E) (E, bool) {
	if (x.used+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	ks := unsafe.String(unsafe.SliceData(k), len(k))
	h := x.hash(ks)
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for ; x.slots[i].h != 0; i = (i + 1) & mask {
		if s := &x.slots[i]; s.h == h && x.key(s.e) == ks {
			return s.e, true
		}
	}
	e := mk()
	x.slots[i] = slot[E]{h: h, e: e}
	x.n++
	x.used++
	return e, false
}

// GetOrPutBatch sets out[i] to the entry of keys[i], adding mk(i) (an
// entry whose key is keys[i]) when it is absent, and added[i] to whether
// it did: GetOrPut key by key, so a key repeated in the batch is added
// once, at its first occurrence. On a large table it works in groups
// staged like GetBatch's (hash and home slots, candidate keys), so the
// cache misses of the group's probes overlap, then probes and inserts key
// by key in the cache; the table grows (if it must) between groups.
func (x *Index[E]) GetOrPutBatch(keys [][]byte, out []E, added []bool, mk func(i int) E) {
	var hs [batchGroup]uint32
	var home [batchGroup]uint32
	var pos [batchGroup]uint32
	var cand [batchGroup]string
	for lo := 0; lo < len(keys); lo += batchGroup {
		ks := keys[lo:min(lo+batchGroup, len(keys))]
		if len(x.slots) <= smallIndex {
			// The table fits in the CPU cache: staging would only add work.
			for i, k := range ks {
				if (x.used+1)*4 > len(x.slots)*3 {
					x.grow()
				}
				var found bool
				out[lo+i], found = x.getOrPutHashed(k, x.hash(unsafe.String(unsafe.SliceData(k), len(k))), lo+i, mk)
				added[lo+i] = !found
			}
			continue
		}
		if (x.used+len(ks))*4 > len(x.slots)*3 {
			x.grow()
		}
		mask := uint32(len(x.slots) - 1)
		// Stage 1: hashes, then the home slots in a tight loop.
		for i, k := range ks {
			hs[i] = x.hash(unsafe.String(unsafe.SliceData(k), len(k)))
		}
		for i := range ks {
			home[i] = x.slots[hs[i]&mask].h
		}
		// Stage 2: the key of the first slot with the key's hash (almost
		// surely the key's entry), so its entry is in the cache.
		for i := range ks {
			h := hs[i]
			cand[i] = ""
			if home[i] == 0 {
				continue
			}
			for j := h & mask; x.slots[j].h != 0; j = (j + 1) & mask {
				if x.slots[j].h == h {
					cand[i], pos[i] = x.key(x.slots[j].e), j
					break
				}
			}
		}
		// Stage 3: a key found in stage 2 is still in its slot (inserts
		// only fill empty slots); the others probe and insert key by key
		// (an earlier key of the group may have added the same key or
		// taken a slot).
		for i, k := range ks {
			if cand[i] != "" && cand[i] == unsafe.String(unsafe.SliceData(k), len(k)) {
				out[lo+i], added[lo+i] = x.slots[pos[i]].e, false
				continue
			}
			var found bool
			out[lo+i], found = x.getOrPutHashed(k, hs[i], lo+i, mk)
			added[lo+i] = !found
		}
		clear(cand[:len(ks)])
	}
}

// getOrPutHashed is GetOrPut of k with hash h, adding mk(i); the caller
// made room.
func (x *Index[E]) getOrPutHashed(k []byte, h uint32, i int, mk func(int) E) (E, bool) {
	ks := unsafe.String(unsafe.SliceData(k), len(k))
	mask := uint32(len(x.slots) - 1)
	j := h & mask
	for ; x.slots[j].h != 0; j = (j + 1) & mask {
		if s := &x.slots[j]; s.h == h && x.key(s.e) == ks {
			return s.e, true
		}
	}
	e := mk(i)
	x.slots[j] = slot[E]{h: h, e: e}
	x.n++
	x.used++
	return e, false
}

// Adopt takes the slot array of from, an index nobody uses any more (it
// must not be used afterwards), to reuse when this index grows to its
// size: memory already in use costs no page faults, fresh memory costs
// one per page. It returns the array's size in bytes.
func (x *Index[E]) Adopt(from *Index[E]) int64 {
	x.spare, from.slots = from.slots, nil
	return int64(len(x.spare)) * int64(unsafe.Sizeof(slot[E]{}))
}

// DropSpare forgets the slot array Adopt took.
func (x *Index[E]) DropSpare() { x.spare = nil }

// Reserve makes room for n more entries, so that adding them does not
// grow the table.
func (x *Index[E]) Reserve(n int) {
	size := len(x.slots)
	for (x.n+n)*4 > size*3 {
		size *= 2
	}
	if size > len(x.slots) || (x.used+n)*4 > size*3 {
		x.rehash(size)
	}
}

func (x *Index[E]) insert(h uint32, e E) {
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].h != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = slot[E]{h: h, e: e}
}

// Remove deletes e (a no-op if absent).
func (x *Index[E]) Remove(e E) {
	h := x.hash(x.key(e))
	mask := uint32(len(x.slots) - 1)
	for i := h & mask; x.slots[i].h != 0; i = (i + 1) & mask {
		if x.slots[i].h == h && x.slots[i].e == e {
			x.slots[i] = slot[E]{h: tomb}
			x.n--
			return
		}
	}
}

// grow rehashes the live entries, doubling the table when they fill half
// of it or more (otherwise it only drops tombstones).
func (x *Index[E]) grow() {
	size := len(x.slots)
	if x.n*2 >= size {
		size *= 2
	}
	x.rehash(size)
}

// rehash moves the live entries to a table of size slots.
func (x *Index[E]) rehash(size int) {
	old := x.slots
	if len(x.spare) == size {
		x.slots, x.spare = x.spare, nil
		clear(x.slots)
	} else {
		x.slots = make([]slot[E], size)
		hugepage.Advise(unsafe.Pointer(unsafe.SliceData(x.slots)), uintptr(size)*unsafe.Sizeof(x.slots[0]))
	}
	for _, s := range old {
		if s.h > tomb {
			x.insert(s.h, s.e)
		}
	}
	x.used = x.n
}
