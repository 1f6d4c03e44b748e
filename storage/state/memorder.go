package state

import (
	"bytes"
	"slices"
	"sync"
)

// memOrder is the key order of a MemoryTable's entries, kept only once a
// scan or range deletion has needed it: until then a write pays nothing for
// it, and the first reader sorts every entry. Afterwards new entries wait
// unsorted in fresh and are merged in by the next reader; removed entries
// stay (flagged dead) until that merge, and only then do their ids become
// reusable, so an id in any order slice never names another key.
//
// added, removed and drop run under the table's write lock; sorted also
// runs under its read lock, serialized by mu. A slice sorted returned is
// never modified afterwards.
type memOrder struct {
	m     *MemoryTable
	mu    sync.Mutex
	on    bool
	srt   []int32 // ascending by key; may hold dead entries
	fresh []int32 // added since the last merge, unordered
	ndead int     // entries removed since the last merge
	limbo []int32 // removed ids waiting for the merge to drop them
}

func (o *memOrder) added(id int32) {
	if o.on {
		o.fresh = append(o.fresh, id)
	}
}

// removed notes a dead entry; false means the order is off and the id may
// be reused at once.
func (o *memOrder) removed(id int32) bool {
	if !o.on {
		return false
	}
	o.limbo = append(o.limbo, id)
	o.ndead++
	return true
}

func (o *memOrder) cmp(a, b int32) int { return bytes.Compare(o.m.keyOf(a), o.m.keyOf(b)) }

// sorted returns the entries in ascending key order, possibly with dead
// ones the caller skips.
func (o *memOrder) sorted() []int32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.m
	if !o.on {
		ids := make([]int32, 0, m.tabN)
		for id := range int32(m.ents.n) {
			if m.ents.at(id).flags&entDead == 0 {
				ids = append(ids, int32(id))
			}
		}
		slices.SortFunc(ids, o.cmp)
		o.srt, o.on = ids, true
		return ids
	}
	if len(o.fresh) == 0 && o.ndead == 0 {
		return o.srt
	}
	live := func(id int32) bool { return m.ents.at(id).flags&entDead == 0 }
	fresh := o.fresh[:0]
	for _, id := range o.fresh {
		if live(id) {
			fresh = append(fresh, id)
		}
	}
	slices.SortFunc(fresh, o.cmp)
	out := make([]int32, 0, len(o.srt)+len(fresh))
	i, j := 0, 0
	for i < len(o.srt) {
		if !live(o.srt[i]) {
			i++
			continue
		}
		if j < len(fresh) && o.cmp(fresh[j], o.srt[i]) < 0 {
			out = append(out, fresh[j])
			j++
			continue
		}
		out = append(out, o.srt[i])
		i++
	}
	out = append(out, fresh[j:]...)
	o.srt, o.fresh, o.ndead = out, fresh[:0], 0
	m.freeEnts = append(m.freeEnts, o.limbo...)
	o.limbo = o.limbo[:0]
	return out
}

// drop forgets the order; the next sorted rebuilds it.
func (o *memOrder) drop() {
	o.m.freeEnts = append(o.m.freeEnts, o.limbo...)
	o.on, o.srt, o.fresh, o.ndead, o.limbo = false, nil, nil, 0, nil
}

// maybeDrop drops the order when more has changed since the last merge
// than it holds, so a table nobody scans any more stops paying for it.
func (o *memOrder) maybeDrop() {
	if ch := len(o.fresh) + o.ndead; o.on && ch > o.m.orderDropMin && ch > len(o.srt) {
		o.drop()
	}
}
