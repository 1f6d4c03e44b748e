package pebblestate

import (
	"bytes"
	"errors"
	"sort"

	"github.com/cockroachdb/pebble/v2"
)

// maxLookupIters bounds the writer view's kept lookup iterators.
const maxLookupIters = 8

// rerouteEvery is the number of commits after which the writer's
// iterators' key ranges are recomputed (they are only a hint: any
// iterator answers any key).
const rerouteEvery = 64

// writerIters are the writer view's kept lookup iterators. A Pebble
// iterator keeps one sstable iterator per level, so random lookups over a
// level of many files build a new sstable iterator on most seeks (the cost
// the kept iterator avoids). Single-key lookups are therefore routed by
// key range to up to maxLookupIters iterators, the ranges cutting the
// level with the most files into equal groups of files, so each iterator
// stays within its group. All are closed by every Commit.
type writerIters struct {
	its     [maxLookupIters]lookupIter
	bounds  [][]byte // its[i] serves user keys in [bounds[i-1], bounds[i])
	routed  bool
	commits int
}

// pick returns the iterator for user key k, computing the routing from
// db's sstables when due. The caller holds the table's read lock.
func (w *writerIters) pick(db *pebble.DB, k []byte) *lookupIter {
	if !w.routed {
		w.route(db)
	}
	i := sort.Search(len(w.bounds), func(i int) bool { return bytes.Compare(w.bounds[i], k) > 0 })
	return &w.its[i]
}

func (w *writerIters) route(db *pebble.DB) {
	w.routed = true
	w.bounds = w.bounds[:0]
	levels, err := db.SSTables()
	if err != nil {
		return // one iterator serves every key
	}
	var files []pebble.SSTableInfo
	for l := 1; l < len(levels); l++ { // L0's files overlap; the others are key-ordered
		if len(levels[l]) > len(files) {
			files = levels[l]
		}
	}
	g := min(len(files), maxLookupIters)
	for j := 1; j < g; j++ {
		uk := files[j*len(files)/g].Smallest.UserKey
		var b []byte
		if len(uk) > 0 && uk[0] == keyPrefix {
			b = bytes.Clone(uk[1:])
		}
		w.bounds = append(w.bounds, b)
	}
}

// committed closes the iterators (they read the state before the commit)
// and schedules a new routing every rerouteEvery commits.
func (w *writerIters) committed() error {
	if w.commits++; w.commits%rerouteEvery == 0 {
		w.routed = false
	}
	return w.close()
}

func (w *writerIters) close() error {
	var errs []error
	for i := range w.its {
		errs = append(errs, w.its[i].close())
	}
	return errors.Join(errs...)
}
