package pebblestate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/pebblestate"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

// singleGets is a pebble table whose Gets (writer view and snapshots) are
// made of single-key Gets, the path the row cache serves, so the shared
// metamorphic sequences check it against the model.
type singleGets struct{ *pebblestate.Table }

func (s singleGets) Get(ctx context.Context, ks [][]byte) (state.Lookup, error) {
	return splitGet(ctx, s.Table, ks)
}

func (s singleGets) Snapshot(e state.Epoch) (state.Snapshot, error) {
	snap, err := s.Table.Snapshot(e)
	if err != nil {
		return nil, err
	}
	return singleSnap{snap}, nil
}

type singleSnap struct{ state.Snapshot }

func (s singleSnap) Get(ctx context.Context, ks [][]byte) (state.Lookup, error) {
	return splitGet(ctx, s.Snapshot, ks)
}

// splitGet looks each key up alone and concatenates the rows.
func splitGet(ctx context.Context, r state.Reader, ks [][]byte) (state.Lookup, error) {
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	found := make([]bool, len(ks))
	for i, k := range ks {
		lk, err := r.Get(ctx, [][]byte{k})
		if err != nil {
			return state.Lookup{}, err
		}
		if len(lk.Found) != 1 || lk.Values.NumRows() != 1 {
			lk.Values.Release()
			return state.Lookup{}, fmt.Errorf("single Get: %d found flags, %d rows", len(lk.Found), lk.Values.NumRows())
		}
		found[i] = lk.Found[0]
		recs = append(recs, lk.Values)
	}
	cols := make([]arrow.Array, recs[0].NumCols())
	for j := range cols {
		parts := make([]arrow.Array, len(recs))
		for i, r := range recs {
			parts[i] = r.Column(j)
		}
		c, err := array.Concatenate(parts, memory.NewGoAllocator())
		if err != nil {
			return state.Lookup{}, err
		}
		defer c.Release()
		cols[j] = c
	}
	return state.Lookup{Values: array.NewRecordBatch(recs[0].Schema(), cols, int64(len(ks))), Found: found}, nil
}

// TestMetamorphicSingleGets runs the shared random sequences with every
// lookup made of single-key Gets (the row cache's path; its sizes drawn
// by randomOptions, down to a cache that holds a few rows and no batch).
func TestMetamorphicSingleGets(t *testing.T) {
	for _, s := range statetest.Seeds([]uint64{11, 12, 13, 14, 15, 16, 17, 18}, *seedFlag, *seedsFlag) {
		t.Run(fmt.Sprint("seed=", s), func(t *testing.T) {
			opts, desc := randomOptions(s, vfs.NewMem())
			t.Log(desc)
			cfg := statetest.Config{Seed: s, Ops: *opsFlag}
			if s%3 == 0 {
				cfg.KeySpace, cfg.MaxBatch = 30, 6
			}
			b := backend(opts)
			open, reopen := b.Open, b.Reopen
			unwrap := func(tbl state.Table) state.Table { return tbl.(singleGets).Table }
			b.Open = func(tb testing.TB) state.Table { return singleGets{open(tb).(*pebblestate.Table)} }
			b.Reopen = func(tb testing.TB, tbl state.Table) state.Table {
				return singleGets{reopen(tb, unwrap(tbl)).(*pebblestate.Table)}
			}
			ckpt, maintain := b.Checkpoint, b.Maintain
			b.Checkpoint = func(tb testing.TB, tbl state.Table) state.Epoch { return ckpt(tb, unwrap(tbl)) }
			b.Maintain = func(tb testing.TB, tbl state.Table, rng *rand.Rand) string { return maintain(tb, unwrap(tbl), rng) }
			statetest.Run(t, b, cfg)
		})
	}
}

// getv reads key k twice (the first read of a key only records it in the
// cache's admission filter; the second caches it) and returns its value.
func getv(t *testing.T, r state.Reader, k int64) (int64, bool) {
	t.Helper()
	lookup(t, r, k)
	return lookup(t, r, k)
}

// TestRowCacheFollowsCommits: rows cached by the writer's lookups follow
// puts, deletes, CleanBelow, ingested epochs and restarts; a snapshot of
// an older epoch never sees the cache's newer rows, one of the current
// epoch does; the cache's bytes show in Stats and in the Budget, which
// Close settles.
func TestRowCacheFollowsCommits(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	budget := &countBudget{}
	opts := pebblestate.Options{Dir: "tbl", FS: fs, MemTableSize: 64 << 10, IngestMinKeys: 100, Budget: budget}
	tbl, err := pebblestate.Open(ctx, statetest.Schema, opts)
	require.NoError(t, err)
	putN(t, tbl, 0, 1000, 1) // v = 10k, ingested
	mem0 := tbl.Stats().MemBytes
	for k := int64(0); k < 1000; k += 7 {
		require.Equal(t, k*10, must(getv(t, tbl, k)))
	}
	require.Greater(t, tbl.Stats().MemBytes, mem0)
	require.Positive(t, budget.used())
	s1, err := tbl.Snapshot(1)
	require.NoError(t, err)
	require.Equal(t, int64(70), must(getv(t, s1, 7))) // current epoch: cache

	putVal(t, tbl, 7, -7, false, 2) // update a cached key
	putVal(t, tbl, 14, 0, true, 3)  // delete one
	putN(t, tbl, 1000, 1200, 4)     // ingested above the rest
	require.Equal(t, int64(10010), must(getv(t, tbl, 1001)))
	require.Equal(t, int64(-7), must(getv(t, tbl, 7)))
	_, ok := getv(t, tbl, 14)
	require.False(t, ok)
	require.Equal(t, int64(70), must(getv(t, s1, 7))) // older epoch: Pebble
	require.Equal(t, int64(140), must(getv(t, s1, 14)))
	s1.Release()

	// A pending write and a pending CleanBelow hide the cached rows; the
	// commit removes them from the cache.
	require.NoError(t, tbl.CleanBelow(ctx, keys.Int64Key(500)))
	_, ok = getv(t, tbl, 21)
	require.False(t, ok)
	require.NoError(t, tbl.Commit(ctx, 5))
	for k := int64(0); k < 500; k += 7 {
		_, ok := getv(t, tbl, k)
		require.False(t, ok, "key %d", k)
	}
	require.Equal(t, int64(5040), must(getv(t, tbl, 504)))
	s5, err := tbl.Snapshot(5)
	require.NoError(t, err)
	_, ok = getv(t, s5, 21)
	require.False(t, ok)
	require.Equal(t, int64(5040), must(getv(t, s5, 504)))

	// An epoch that changes nothing keeps epoch 5's snapshot on the cache;
	// one that changes a key takes it off.
	require.NoError(t, tbl.Commit(ctx, 6))
	require.Equal(t, int64(5040), must(getv(t, s5, 504)))
	putVal(t, tbl, 504, 1, false, 7)
	require.Equal(t, int64(1), must(getv(t, tbl, 504)))
	require.Equal(t, int64(5040), must(getv(t, s5, 504)))
	s5.Release()

	// Batched reads mix pending, cached and stored rows.
	require.NoError(t, tbl.Write(ctx, [][]byte{keys.Int64Key(600)}, []state.Op{state.OpDelete}, nil))
	ks := [][]byte{keys.Int64Key(504), keys.Int64Key(600), keys.Int64Key(601), keys.Int64Key(14), keys.Int64Key(1001)}
	for range 2 {
		lk, err := tbl.Get(ctx, ks)
		require.NoError(t, err)
		require.Equal(t, []bool{true, false, true, false, true}, lk.Found)
		v := lk.Values.Column(0).(*array.Int64)
		require.Equal(t, []int64{1, 6010, 10010}, []int64{v.Value(0), v.Value(2), v.Value(4)})
		lk.Values.Release()
	}

	_, err = tbl.Checkpoint(ctx)
	require.NoError(t, err)
	putVal(t, tbl, 601, 2, false, 8) // lost by the restart
	require.Equal(t, int64(2), must(getv(t, tbl, 601)))
	require.NoError(t, tbl.Close())
	require.Zero(t, budget.used())
	tbl, err = pebblestate.Open(ctx, statetest.Schema, opts)
	require.NoError(t, err)
	require.Equal(t, int64(6010), must(getv(t, tbl, 601)))
	_, ok = getv(t, tbl, 600) // the pending delete was never committed
	require.True(t, ok)
	require.NoError(t, tbl.Close())
	require.Zero(t, budget.used())
}

// countBudget is a MemoryBudget with no limit that counts reservations.
type countBudget struct {
	mu sync.Mutex
	n  int64
}

func (b *countBudget) TryReserve(n int64) bool { b.mu.Lock(); b.n += n; b.mu.Unlock(); return true }
func (b *countBudget) Release(n int64)         { b.mu.Lock(); b.n -= n; b.mu.Unlock() }
func (b *countBudget) Limit() int64            { return 0 }
func (b *countBudget) Used() int64             { return b.used() }
func (b *countBudget) used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// TestRowCacheConcurrentSnapshots: snapshot readers of the committed epoch
// fill and read the row cache while the writer commits new values of the
// same keys (and reads them through the cache); every reader sees its
// epoch's values only. Run with -race.
func TestRowCacheConcurrentSnapshots(t *testing.T) {
	ctx := context.Background()
	tbl, err := pebblestate.Open(ctx, statetest.Schema, pebblestate.Options{Dir: "tbl", FS: vfs.NewMem(), MemTableSize: 64 << 10, RowCacheSize: 16 << 10})
	require.NoError(t, err)
	defer tbl.Close()
	const nkeys = 64
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 9))
			for {
				select {
				case <-done:
					return
				default:
				}
				e := tbl.CommittedEpoch()
				if e == 0 {
					continue
				}
				s, err := tbl.Snapshot(e)
				if err != nil {
					continue // too old: the writer moved on
				}
				for range 20 {
					k := rng.Int64N(nkeys)
					lk, err := s.Get(ctx, [][]byte{keys.Int64Key(k)})
					if err != nil {
						errs <- err
						s.Release()
						return
					}
					got := lk.Values.Column(0).(*array.Int64).Value(0)
					lk.Values.Release()
					if want := int64(e)*1000 + k; !lk.Found[0] || got != want {
						errs <- fmt.Errorf("snapshot %d key %d: found=%v v=%d, want %d", e, k, lk.Found[0], got, want)
						s.Release()
						return
					}
				}
				s.Release()
			}
		}()
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer b.Release()
	rng := rand.New(rand.NewPCG(7, 7))
	ks := make([][]byte, nkeys)
	for i := range ks {
		ks[i] = keys.Int64Key(int64(i))
	}
	for e := state.Epoch(1); e <= 300; e++ {
		for i := range ks {
			b.Field(0).(*array.Int64Builder).Append(int64(e)*1000 + int64(i))
			b.Field(1).AppendNull()
		}
		rec := b.NewRecordBatch()
		require.NoError(t, tbl.Write(ctx, ks, nil, rec))
		rec.Release()
		require.NoError(t, tbl.Commit(ctx, e))
		for range 10 {
			k := rng.Int64N(nkeys)
			require.Equal(t, int64(e)*1000+k, must(lookup(t, tbl, k)))
		}
		if e%50 == 0 {
			require.NoError(t, tbl.Flush())
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
