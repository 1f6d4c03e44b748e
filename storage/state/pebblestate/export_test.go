package pebblestate

import (
	"context"

	"github.com/cockroachdb/pebble/v2"
)

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

// FilterPolicies is the filter policy name of each sstable of t by level
// ("" for a file without filter).
func FilterPolicies(t *Table) ([][]string, error) {
	levels, err := t.db.SSTables(pebble.WithProperties())
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(levels))
	for l, files := range levels {
		for _, f := range files {
			name := ""
			if f.Properties != nil {
				name = f.Properties.FilterPolicyName
			}
			out[l] = append(out[l], name)
		}
	}
	return out, nil
}

// CompactAll compacts every level of t into the bottom one.
func CompactAll(t *Table) error {
	return t.db.Compact(context.Background(), []byte{0x00}, []byte{0xff}, false)
}
