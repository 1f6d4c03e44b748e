package state

// Commit's and gcLocked's loops over a small table, whose entries and
// version slots each fit segment 0: the same steps as the general loops,
// indexing the two arrays as plain slices (no segment lookup per access)
// with allocation state in locals. A view updating its keys once an epoch
// takes every key through both loops each epoch.

// commitTouchedFlat is Commit's loop over the touched entries for a table
// of one segment of entries and of slots; it reports false (having done
// nothing) for a larger table.
func (m *MemoryTable) commitTouchedFlat(e Epoch, pins *pinSet, pinned []Epoch) bool {
	ents, meta := m.ents.s0, m.meta.s0
	if ents == nil || meta == nil || m.noFlat {
		return false
	}
	for _, id := range m.touched {
		en := &ents[id]
		f := en.flags
		if f&entDead != 0 {
			continue
		}
		en.flags = f &^ (entTouched | entPending)
		if f&(entPending|entTomb) == entPending && en.head >= 0 {
			// A live head over at most one older live version.
			hm := &meta[en.head]
			hm.setEpoch(e)
			p := hm.prev()
			if p < 0 {
				m.gcOut(en)
				continue
			}
			if pm := &meta[p]; pm.prev() < 0 && !pm.tomb() {
				if pins.in(pm.epoch(), e) {
					// gcIn, inline.
					if f&entInGC == 0 {
						f2 := en.flags | entInGC
						m.gcN++
						if f2&entListed == 0 {
							f2 |= entListed
							m.gcList = append(m.gcList, id)
						}
						en.flags = f2
					}
					continue
				}
				hm.setPrev(-1)
				*pm = slotMeta{}
				m.freeSlots = append(m.freeSlots, p)
				m.gcOut(en)
				continue
			}
		} else if f&entPending != 0 {
			meta[en.head].setEpoch(e)
		}
		m.settleLocked(id, pinned)
		// settleLocked frees slots and entries only: the segments stay.
	}
	return true
}

// gcFlat is gcLocked's loop for a table of one segment of entries and of
// slots: it returns the ids kept in the GC list (a prefix of list, which
// it reuses), or ok false (having done nothing) for a larger table.
func (m *MemoryTable) gcFlat(list []int32, pins *pinSet, pinned []Epoch) (out []int32, ok bool) {
	ents, meta := m.ents.s0, m.meta.s0
	if ents == nil || meta == nil || m.noFlat {
		return nil, false
	}
	out = list[:0]
	free := m.freeSlots
	gcN := m.gcN
	for _, id := range list {
		e := &ents[id]
		f := e.flags
		if f&entListed == 0 {
			continue
		}
		if f&(entInGC|entTouched|entDead|entTomb) == entInGC && e.head >= 0 {
			hm := &meta[e.head]
			if p := hm.prev(); p >= 0 {
				if pm := &meta[p]; pm.prev() < 0 && !pm.tomb() && !pins.in(pm.epoch(), hm.epoch()) {
					hm.setPrev(-1)
					*pm = slotMeta{}
					free = append(free, p)
					e.flags = f &^ (entInGC | entListed)
					gcN--
					continue
				}
			}
		}
		if f&entInGC != 0 && f&(entTouched|entDead) == 0 {
			m.freeSlots, m.gcN = free, gcN
			m.settleLocked(id, pinned)
			free, gcN = m.freeSlots, m.gcN
			if e.flags&entListed == 0 {
				continue // removed by settle
			}
		}
		e.flags &^= entListed
		if e.flags&entInGC != 0 {
			out = append(out, id)
		}
	}
	m.freeSlots, m.gcN = free, gcN
	return out, true
}
