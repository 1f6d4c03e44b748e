package stream

import "github.com/sabotsql/sabotsql/exec/kernels/vec"

// keyTable maps a 64-bit key id to a bucket number: open addressing with
// linear probing in one flat slot array, so a lookup costs one cache miss
// (a Go map's group layout costs about two at this size), and deletion by
// backward shifting (no tombstones). The table grows at half load.
type keyTable struct {
	slots []keySlot
	mask  uint64
	n     int
}

type keySlot struct {
	id uint64
	b  int32 // bucket + 1; 0 marks an empty slot
}

const keyTableMin = 64

func (t *keyTable) home(id uint64) uint64 { return vec.HashU64(id) & t.mask }

// get returns the bucket of id.
func (t *keyTable) get(id uint64) (int32, bool) {
	if t.n == 0 {
		return -1, false
	}
	for p := t.home(id); ; p = (p + 1) & t.mask {
		s := &t.slots[p]
		if s.b == 0 {
			return -1, false
		}
		if s.id == id {
			return s.b - 1, true
		}
	}
}

// put maps id to bucket b (replacing its previous bucket).
func (t *keyTable) put(id uint64, b int32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	for p := t.home(id); ; p = (p + 1) & t.mask {
		s := &t.slots[p]
		if s.b == 0 {
			*s = keySlot{id: id, b: b + 1}
			t.n++
			return
		}
		if s.id == id {
			s.b = b + 1
			return
		}
	}
}

// del removes id, shifting later slots of its probe run back.
func (t *keyTable) del(id uint64) {
	if t.n == 0 {
		return
	}
	p := t.home(id)
	for {
		s := &t.slots[p]
		if s.b == 0 {
			return
		}
		if s.id == id {
			break
		}
		p = (p + 1) & t.mask
	}
	t.n--
	hole := p
	for q := (p + 1) & t.mask; ; q = (q + 1) & t.mask {
		s := t.slots[q]
		if s.b == 0 {
			break
		}
		// s may move into the hole if its home is not in (hole, q].
		h := t.home(s.id)
		if (q-h)&t.mask >= (q-hole)&t.mask {
			t.slots[hole] = s
			hole = q
		}
	}
	t.slots[hole] = keySlot{}
}

func (t *keyTable) grow() {
	old := t.slots
	size := max(keyTableMin, 2*len(old))
	t.slots = make([]keySlot, size)
	t.mask = uint64(size - 1)
	t.n = 0
	for _, s := range old {
		if s.b != 0 {
			t.put(s.id, s.b-1)
		}
	}
}

// reset empties the table, keeping its slots.
func (t *keyTable) reset() {
	if t.n > 0 {
		clear(t.slots)
		t.n = 0
	}
}

// keySet is a set of join keys (key id, encoded key) without per-key
// allocations: a keyTable from id to the first of a chain of entries whose
// keys live in one arena (integer-keyed sides store no bytes: the id is
// the key).
type keySet struct {
	t     keyTable
	ents  []keySetEnt
	arena []byte
}

type keySetEnt struct {
	off, end uint32
	next     int32 // next entry with the same id, or -1
}

// has reports whether (id, key) is in the set.
func (k *keySet) has(id uint64, key []byte) bool {
	e, ok := k.t.get(id)
	for ok && e >= 0 {
		x := k.ents[e]
		if string(k.arena[x.off:x.end]) == string(key) {
			return true
		}
		e = x.next
	}
	return false
}

// add inserts (id, key), which must not be in the set.
func (k *keySet) add(id uint64, key []byte) {
	next := int32(-1)
	if e, ok := k.t.get(id); ok {
		next = e
	}
	off := uint32(len(k.arena))
	k.arena = append(k.arena, key...)
	k.ents = append(k.ents, keySetEnt{off: off, end: uint32(len(k.arena)), next: next})
	k.t.put(id, int32(len(k.ents)-1))
}

// len is the number of keys in the set.
func (k *keySet) len() int { return len(k.ents) }

// reset empties the set, keeping its memory.
func (k *keySet) reset() {
	k.t.reset()
	k.ents, k.arena = k.ents[:0], k.arena[:0]
}

// bytes is the memory the set holds.
func (k *keySet) bytes() int64 {
	return int64(len(k.t.slots))*keySlotBytes + int64(cap(k.ents))*12 + int64(cap(k.arena))
}
