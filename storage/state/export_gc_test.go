package state

// GeneralGCLoops makes a memory table's Commit and snapshot release take
// their general loops, not the flat ones for tables of one segment, so the
// metamorphic test covers both.
func GeneralGCLoops(t Table) {
	if m, ok := t.(*MemoryTable); ok {
		m.noFlat = true
	}
}
