package pebblestate

import "hash/maphash"

// rcIndex maps keys to row-cache entries: open addressing with linear
// probing over entry numbers, deletions by backward shift. Go's map leaves
// tombstones on delete, and a cache that inserts and evicts on every miss
// made its negative probes walk long chains of them (a third of a missed
// lookup's cost at 100K keys); here a probe ends at the first empty slot
// of a table at most half full. A slot holds its entry's hash tag, so a
// probe touches only the entries whose tag matches.
type rcIndex struct {
	seed  maphash.Seed
	slots []uint64 // hash's high 32 bits ‖ entry index + 1; 0: empty
	n     int
}

func slotOf(i int32, h uint64) uint64 { return h&^(1<<32-1) | uint64(uint32(i+1)) }

func slotEntry(v uint64) int32 { return int32(uint32(v)) - 1 }

func newRCIndex() rcIndex { return rcIndex{seed: maphash.MakeSeed()} }

func (x *rcIndex) hash(k string) uint64 { return maphash.String(x.seed, k) }

// find returns the entry index of key k with hash h (-1 if absent) and
// its slot, or the empty slot ending the probe.
func (x *rcIndex) find(c *rowCache, k string, h uint64) (int32, int) {
	if len(x.slots) == 0 {
		return -1, -1
	}
	mask := len(x.slots) - 1
	tag := h &^ (1<<32 - 1)
	for s := int(h) & mask; ; s = (s + 1) & mask {
		v := x.slots[s]
		if v == 0 {
			return -1, s
		}
		if v&^(1<<32-1) == tag {
			if i := slotEntry(v); c.key(&c.ents[i]) == k {
				return i, s
			}
		}
	}
}

// insert adds entry i (whose key is absent) with hash h.
func (x *rcIndex) insert(ents []rcEntry, i int32, h uint64) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow(ents)
	}
	mask := len(x.slots) - 1
	s := int(h) & mask
	for x.slots[s] != 0 {
		s = (s + 1) & mask
	}
	x.slots[s] = slotOf(i, h)
	x.n++
}

func (x *rcIndex) grow(ents []rcEntry) {
	old := x.slots
	x.slots = make([]uint64, max(64, 2*len(old)))
	mask := len(x.slots) - 1
	for _, v := range old {
		if v == 0 {
			continue
		}
		s := int(ents[slotEntry(v)].hash) & mask
		for x.slots[s] != 0 {
			s = (s + 1) & mask
		}
		x.slots[s] = v
	}
}

// deleteSlot empties slot s, shifting later entries of its probe chain
// back so every probe still reaches its entry before an empty slot.
func (x *rcIndex) deleteSlot(ents []rcEntry, s int) {
	mask := len(x.slots) - 1
	for j := (s + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		home := int(ents[slotEntry(x.slots[j])].hash) & mask
		// The entry at j may move to s if s lies on its probe path,
		// i.e. its distance from home is at least that from s.
		if (j-home)&mask >= (j-s)&mask {
			x.slots[s] = x.slots[j]
			s = j
		}
	}
	x.slots[s] = 0
	x.n--
}
