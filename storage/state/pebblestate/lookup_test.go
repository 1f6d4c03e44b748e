package pebblestate_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/pebblestate"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

// putVal writes key k with value v (deleting it if del) in epoch e.
func putVal(t *testing.T, tbl state.Table, k, v int64, del bool, e state.Epoch) {
	t.Helper()
	ctx := context.Background()
	b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(v)
	b.Field(1).(*array.StringBuilder).Append("p")
	rec := b.NewRecordBatch()
	defer rec.Release()
	op := state.OpPut
	if del {
		op = state.OpDelete
	}
	require.NoError(t, tbl.Write(ctx, [][]byte{keys.Int64Key(k)}, []state.Op{op}, rec))
	require.NoError(t, tbl.Commit(ctx, e))
}

// lookup returns key k's value in r (ok false: not found).
func lookup(t *testing.T, r state.Reader, k int64) (int64, bool) {
	t.Helper()
	lk, err := r.Get(context.Background(), [][]byte{keys.Int64Key(k)})
	require.NoError(t, err)
	defer lk.Values.Release()
	require.Len(t, lk.Found, 1)
	if !lk.Found[0] {
		return 0, false
	}
	return lk.Values.Column(0).(*array.Int64).Value(0), true
}

// TestKeptIteratorsFollowCommits: the lookup iterators kept between calls
// never serve a stale or a future state. The writer's sees each commit
// (puts, deletes, ingested epochs, flushed and compacted state); a
// snapshot's keeps its epoch while the writer moves on; concurrent
// snapshot readers (one on the kept iterator, the rest on their own) agree;
// Close with kept iterators open leaks none.
func TestKeptIteratorsFollowCommits(t *testing.T) {
	ctx := context.Background()
	tbl, err := pebblestate.Open(ctx, statetest.Schema, pebblestate.Options{Dir: "tbl", FS: vfs.NewMem(), MemTableSize: 64 << 10, IngestMinKeys: 100})
	require.NoError(t, err)
	putN(t, tbl, 0, 1000, 1) // ingested (appending, ≥ 100 keys)
	v, ok := lookup(t, tbl, 5)
	require.True(t, ok)
	require.Equal(t, int64(50), v)
	_, ok = lookup(t, tbl, 1000)
	require.False(t, ok)

	s1, err := tbl.Snapshot(1)
	require.NoError(t, err)
	v, ok = lookup(t, s1, 7)
	require.True(t, ok)
	require.Equal(t, int64(70), v)

	putVal(t, tbl, 5, -5, false, 2)
	putVal(t, tbl, 7, 0, true, 3)
	putN(t, tbl, 1000, 3000, 4) // ingested again, after the writer's lookups
	v, ok = lookup(t, tbl, 5)
	require.True(t, ok)
	require.Equal(t, int64(-5), v)
	_, ok = lookup(t, tbl, 7)
	require.False(t, ok)
	v, ok = lookup(t, tbl, 2999)
	require.True(t, ok)
	require.Equal(t, int64(29990), v)

	// The snapshot still reads epoch 1.
	v, ok = lookup(t, s1, 5)
	require.True(t, ok)
	require.Equal(t, int64(50), v)
	v, ok = lookup(t, s1, 7)
	require.True(t, ok)
	require.Equal(t, int64(70), v)
	_, ok = lookup(t, s1, 2999)
	require.False(t, ok)

	// Flushes and compactions move data between files under the kept
	// iterators; what they read does not change.
	for e := state.Epoch(5); e < 25; e++ {
		putVal(t, tbl, int64(e), int64(e)*100, false, e)
		require.Equal(t, int64(e)*100, must(lookup(t, tbl, int64(e))))
		if e%5 == 0 {
			_, err := tbl.Checkpoint(ctx)
			require.NoError(t, err)
		}
	}
	require.NoError(t, tbl.Compact(ctx))
	require.Equal(t, int64(2400), must(lookup(t, tbl, 24)))
	require.Equal(t, int64(240), must(lookup(t, s1, 24)))

	// Concurrent snapshot readers: single and batched lookups.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				k := int64((g*997 + i*31) % 1200)
				ks := [][]byte{keys.Int64Key(k)}
				if i%3 == 0 {
					ks = append(ks, keys.Int64Key(k+1))
				}
				lk, err := s1.Get(ctx, ks)
				if err != nil {
					errs[g] = err
					return
				}
				col := lk.Values.Column(0).(*array.Int64)
				for j := range ks {
					kk := k + int64(j)
					if lk.Found[j] != (kk < 1000) || (kk < 1000 && col.Value(j) != kk*10) {
						errs[g] = fmt.Errorf("snapshot key %d: found %v value %d", kk, lk.Found[j], col.Value(j))
					}
				}
				lk.Values.Release()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	// Close with both kept iterators open and s1 unreleased.
	require.NoError(t, tbl.Close())
	s1.Release()
}

func must(v int64, ok bool) int64 {
	if !ok {
		return -1
	}
	return v
}

// TestBloomFiltersOnFlushedNotIngested: flushed sstables carry Bloom
// filters (a lookup's prefix seek skips the files that lack its key);
// ingested epochs, which go to the bottom level whose filters iterators
// skip, are written without. Lookups across the layers still find every
// key's last value.
func TestBloomFiltersOnFlushedNotAppended(t *testing.T) {
	ctx := context.Background()
	tbl, err := pebblestate.Open(ctx, statetest.Schema, pebblestate.Options{Dir: "tbl", FS: vfs.NewMem(), IngestMinKeys: 100})
	require.NoError(t, err)
	defer tbl.Close()
	putN(t, tbl, 0, 1000, 1) // ingested
	for e := state.Epoch(2); e < 5; e++ {
		putVal(t, tbl, int64(e)*10, int64(e), false, e) // batches, flushed below
		_, err := tbl.Checkpoint(ctx)
		require.NoError(t, err)
	}
	fp, err := pebblestate.FilterPolicies(tbl)
	require.NoError(t, err)
	var withFilter, without int
	for _, files := range fp {
		for _, name := range files {
			if name == "" {
				without++
			} else {
				require.Equal(t, "rocksdb.BuiltinBloomFilter", name)
				withFilter++
			}
		}
	}
	require.Equal(t, 3, withFilter, "flushed files: %v", fp)
	require.Equal(t, 1, without, "ingested file: %v", fp)
	for e := int64(2); e < 5; e++ {
		v, ok := lookup(t, tbl, e*10)
		require.True(t, ok)
		require.Equal(t, e, v)
	}
	_, ok := lookup(t, tbl, 5000)
	require.False(t, ok)

	// An epoch of overwrites over stored keys is ingested into L0, with a
	// filter (lookups check L0 filters).
	putN(t, tbl, 0, 200, 5)
	fp, err = pebblestate.FilterPolicies(tbl)
	require.NoError(t, err)
	withFilter, without = 0, 0
	for _, files := range fp {
		for _, name := range files {
			if name == "" {
				without++
			} else {
				withFilter++
			}
		}
	}
	require.Equal(t, 4, withFilter, "flushed files and the overwriting epoch: %v", fp)
	require.Equal(t, 1, without, "the appended file: %v", fp)
}

// TestBottomLevelWithoutFilters: a compaction into the bottom level writes
// no Bloom filter (iterators never check the bottom level's), and
// lookups still find every key's last value and miss absent keys.
func TestBottomLevelWithoutFilters(t *testing.T) {
	ctx := context.Background()
	tbl, err := pebblestate.Open(ctx, statetest.Schema, pebblestate.Options{Dir: "tbl", FS: vfs.NewMem(), IngestMinKeys: -1})
	require.NoError(t, err)
	defer tbl.Close()
	for e := state.Epoch(1); e < 4; e++ {
		putN(t, tbl, 0, 300, 2*e-1) // batches over the same keys, flushed below
		putVal(t, tbl, 1000+int64(e), int64(e), false, 2*e)
		_, err := tbl.Checkpoint(ctx)
		require.NoError(t, err)
	}
	require.NoError(t, pebblestate.CompactAll(tbl))
	fp, err := pebblestate.FilterPolicies(tbl)
	require.NoError(t, err)
	bottom := len(fp) - 1
	require.NotEmpty(t, fp[bottom], "files per level: %v", fp)
	for l, files := range fp {
		if l != bottom {
			require.Empty(t, files, "level %d: %v", l, fp)
		}
	}
	for _, name := range fp[bottom] {
		require.Equal(t, "", name, "bottom level: %v", fp)
	}
	for e := int64(1); e < 4; e++ {
		v, ok := lookup(t, tbl, 1000+e)
		require.True(t, ok)
		require.Equal(t, e, v)
	}
	v, ok := lookup(t, tbl, 7)
	require.True(t, ok)
	require.Equal(t, int64(70), v)
	_, ok = lookup(t, tbl, 5000)
	require.False(t, ok)
}

// TestHighL0CompactionThreshold: an L0 compaction threshold above
// Pebble's default stop-writes threshold (12) opens and works.
func TestHighL0CompactionThreshold(t *testing.T) {
	ctx := context.Background()
	tbl, err := pebblestate.Open(ctx, statetest.Schema, pebblestate.Options{Dir: "tbl", FS: vfs.NewMem(), L0CompactionThreshold: 32})
	require.NoError(t, err)
	defer tbl.Close()
	putN(t, tbl, 0, 10, 1)
	v, ok := lookup(t, tbl, 3)
	require.True(t, ok)
	require.Equal(t, int64(30), v)
}
