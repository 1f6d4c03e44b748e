package columnar

import (
	"hash/maphash"
	"unsafe"
)

// memIndex is the memtable's hash index: open addressing with linear
// probing over (hash, entry) slots. Storing the full hash in the slot lets a
// probe reject other keys without touching their entries, so a lookup of a
// random key costs about two cache misses (slot, entry) where a Go map of
// string keys costs three (group, key bytes, entry). Deleted slots become
// tombstones until the next growth. Not safe for concurrent mutation; the
// table's lock guards it (readers only call get).
type memIndex struct {
	seed  maphash.Seed
	slots []memSlot // len is a power of two
	n     int       // live entries
	used  int       // live entries plus tombstones
}

type memSlot struct {
	h  uint64 // 0: empty; tombSlot: deleted
	en *memEntry
}

const tombSlot = 1

func newMemIndex() *memIndex {
	return &memIndex{seed: maphash.MakeSeed(), slots: make([]memSlot, 64)}
}

func (x *memIndex) hash(k []byte) uint64 {
	h := maphash.Bytes(x.seed, k)
	if h <= tombSlot {
		h += 2
	}
	return h
}

func (x *memIndex) len() int { return x.n }

// get returns the entry of k, or nil.
func (x *memIndex) get(k []byte) *memEntry {
	h := x.hash(k)
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.h == h && s.en.key == unsafe.String(unsafe.SliceData(k), len(k)) {
			return s.en
		}
		if s.h == 0 {
			return nil
		}
	}
}

// put adds en, whose key must not be in the index.
func (x *memIndex) put(en *memEntry) {
	if (x.used+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	x.insert(x.hash(unsafe.Slice(unsafe.StringData(en.key), len(en.key))), en)
	x.n++
	x.used++
}

func (x *memIndex) insert(h uint64, en *memEntry) {
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].h != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = memSlot{h: h, en: en}
}

// remove deletes en's slot.
func (x *memIndex) remove(en *memEntry) {
	h := x.hash(unsafe.Slice(unsafe.StringData(en.key), len(en.key)))
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; x.slots[i].h != 0; i = (i + 1) & mask {
		if x.slots[i].en == en {
			x.slots[i] = memSlot{h: tombSlot}
			x.n--
			return
		}
	}
}

// grow rehashes into a table sized for the live entries (dropping
// tombstones), doubling when they fill more than half of it.
func (x *memIndex) grow() {
	size := len(x.slots)
	if x.n*2 >= size {
		size *= 2
	}
	old := x.slots
	x.slots = make([]memSlot, size)
	for _, s := range old {
		if s.h > tombSlot {
			x.insert(s.h, s.en)
		}
	}
	x.used = x.n
}
