package state_test

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "run the metamorphic test with this seed only")
	opsFlag   = flag.Int("ops", 3000, "operations per metamorphic run")
	seedsFlag = flag.Int("seeds", 0, "random seeds to run besides the fixed ones")
)

// memBackend opens memory tables charged to a budget (of a size drawn from
// the seed, all large enough for the run), on even seeds with tiny arena
// compaction and key-order thresholds. The memory backend is
// volatile: a restart (close, open anew) comes back empty, at epoch 0,
// which is what the model expects of a backend without checkpoints.
func memBackend(seed uint64) (statetest.Backend, *testBudget, string) {
	budget := &testBudget{limit: []int64{0, 64 << 20, 1 << 30}[seed%3]}
	opts := state.MemoryOptions{Name: "m", Allocator: memory.NewGoAllocator(), Budget: budget}
	if seed%2 == 0 {
		// Tiny thresholds: arenas are rewritten and the key order dropped
		// and rebuilt all the time.
		opts.CompactMin, opts.OrderDropMin = 64, 8
	}
	desc := fmt.Sprintf("budget=%d compactMin=%d orderDropMin=%d", budget.limit, opts.CompactMin, opts.OrderDropMin)
	open := func(t testing.TB) state.Table {
		tbl, err := state.OpenMemoryTable(statetest.Schema, opts)
		require.NoError(t, err)
		return tbl
	}
	return statetest.Backend{
		Open: open,
		Reopen: func(t testing.TB, tbl state.Table) state.Table {
			require.NoError(t, tbl.Close())
			return open(t)
		},
	}, budget, desc
}

// TestMemoryMetamorphic runs random operation sequences (writes, deletes,
// range deletes, commits, snapshots, restarts) against the map model.
// -seed replays one seed, -seeds adds random ones, -ops lengthens runs.
func TestMemoryMetamorphic(t *testing.T) {
	for _, s := range statetest.Seeds([]uint64{1, 2, 3, 4, 5, 6, 7, 8}, *seedFlag, *seedsFlag) {
		t.Run(fmt.Sprint("seed=", s), func(t *testing.T) {
			for _, cfg := range []statetest.Config{
				{Seed: s, Ops: *opsFlag},
				{Seed: s, Ops: *opsFlag, KeySpace: 20, MaxBatch: 5},
			} {
				b, budget, desc := memBackend(s)
				t.Log(desc)
				statetest.Run(t, b, cfg)
				// Run closed the table: every byte went back.
				require.Zero(t, budget.Used())
			}
		})
	}
}

// testBudget is a plain state.MemoryBudget (the real one lives in
// storage/columnar, which this package's tests may not import).
type testBudget struct {
	mu          sync.Mutex
	limit, used int64
}

func (b *testBudget) TryReserve(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit > 0 && b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

func (b *testBudget) Release(n int64) { b.mu.Lock(); b.used -= n; b.mu.Unlock() }
func (b *testBudget) Limit() int64    { return b.limit }
func (b *testBudget) Used() int64     { b.mu.Lock(); defer b.mu.Unlock(); return b.used }

func int64Batch(vals ...int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer b.Release()
	for _, v := range vals {
		b.Field(0).(*array.Int64Builder).Append(v)
		b.Field(1).AppendNull()
	}
	return b.NewRecordBatch()
}

func TestMemorySnapshotIsolation(t *testing.T) {
	ctx := context.Background()
	tbl, err := state.NewMemoryTable(statetest.Schema, nil)
	require.NoError(t, err)
	defer tbl.Close()
	k := [][]byte{keys.Int64Key(1)}
	rec := int64Batch(10)
	require.NoError(t, tbl.Write(ctx, k, nil, rec))
	rec.Release()
	// Uncommitted writes are visible to the writer only.
	s0, err := tbl.Snapshot(0)
	require.NoError(t, err)
	lk, err := tbl.Get(ctx, k)
	require.NoError(t, err)
	require.True(t, lk.Found[0])
	lk.Values.Release()
	require.NoError(t, tbl.Commit(ctx, 5))
	lk, err = s0.Get(ctx, k)
	require.NoError(t, err)
	require.False(t, lk.Found[0])
	lk.Values.Release()
	s5, err := tbl.Snapshot(5)
	require.NoError(t, err)
	rec = int64Batch(20)
	require.NoError(t, tbl.Write(ctx, k, nil, rec))
	rec.Release()
	require.NoError(t, tbl.Commit(ctx, 6))
	lk, err = s5.Get(ctx, k)
	require.NoError(t, err)
	require.Equal(t, int64(10), lk.Values.Column(0).(*array.Int64).Value(0))
	lk.Values.Release()
	s5.Release()
	s0.Release()
	// Epoch 5 is no longer retained, and epochs must increase.
	_, err = tbl.Snapshot(5)
	require.Equal(t, state.SnapshotTooOld, pgerror.CodeOf(err))
	require.Error(t, tbl.Commit(ctx, 6))
}

func TestPrefix(t *testing.T) {
	r := state.Prefix([]byte{1, 0xff})
	require.Equal(t, []byte{2}, r.End)
	require.True(t, r.Contains([]byte{1, 0xff, 3}))
	require.False(t, r.Contains([]byte{2}))
	require.Nil(t, state.Prefix([]byte{0xff}).End)
}

func TestMemoryConcurrentSnapshots(t *testing.T) {
	tbl, err := state.NewMemoryTable(statetest.Schema, nil)
	require.NoError(t, err)
	defer tbl.Close()
	statetest.RunConcurrent(t, tbl, 500, 200, 2, nil)
}
