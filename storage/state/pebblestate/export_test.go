package pebblestate

// Ingested is the number of epochs t committed by ingestion since Open.
func Ingested(t *Table) int { return t.ingested }

// LevelFiles is the number of sstables per level of t.
func LevelFiles(t *Table) []int {
	m := t.db.Metrics()
	n := make([]int, len(m.Levels))
	for i := range m.Levels {
		n[i] = int(m.Levels[i].TablesCount)
	}
	return n
}
