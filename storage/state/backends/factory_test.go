package backends_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/backends"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

var kinds = []state.BackendKind{state.BackendMemory, state.BackendPebble, state.BackendColumnar}

// TestConformance runs the shared metamorphic harness on a table of every
// kind opened through the Factory (restarts for the persistent kinds).
func TestConformance(t *testing.T) {
	for _, dir := range []string{"", "disk"} {
		for _, kind := range kinds {
			t.Run(fmt.Sprintf("%s/dir=%s", kind, dir), func(t *testing.T) {
				f := &backends.Factory{Columnar: columnar.Options{MemtableSize: 8 << 10, BlockRows: 16}}
				if dir != "" {
					f.Dir = t.TempDir()
				}
				defer f.Close()
				ctx := context.Background()
				open := func(tb testing.TB) state.Table {
					tbl, err := f.Open(ctx, kind, "view_1", statetest.Schema)
					require.NoError(tb, err)
					return tbl
				}
				b := statetest.Backend{Open: open}
				if kind != state.BackendMemory {
					b.Checkpoint = func(tb testing.TB, tbl state.Table) state.Epoch {
						e, err := tbl.(state.Checkpointer).Checkpoint(ctx)
						require.NoError(tb, err)
						return e
					}
					b.Reopen = func(tb testing.TB, tbl state.Table) state.Table {
						require.NoError(tb, tbl.Close())
						return open(tb)
					}
				}
				statetest.Run(t, b, statetest.Config{Seed: 11, Ops: 1500})
			})
		}
	}
}

func putRange(t *testing.T, tbl state.Table, lo, hi int, e state.Epoch, pad int) error {
	t.Helper()
	ctx := context.Background()
	b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer b.Release()
	var ks [][]byte
	for k := lo; k < hi; k++ {
		ks = append(ks, keys.Int64Key(int64(k)))
		b.Field(0).(*array.Int64Builder).Append(int64(k))
		b.Field(1).(*array.StringBuilder).Append(strings.Repeat("x", pad))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := tbl.Write(ctx, ks, nil, rec); err != nil {
		return err
	}
	return tbl.Commit(ctx, e)
}

// TestReopenAndStats: each kind reports its size; persistent kinds come
// back at their checkpoint under the same name, on disk and in memory.
func TestReopenAndStats(t *testing.T) {
	ctx := context.Background()
	for _, dir := range []string{"", t.TempDir()} {
		f := &backends.Factory{Dir: dir}
		for _, kind := range kinds {
			name := "v_" + string(kind)
			tbl, err := f.Open(ctx, kind, name, statetest.Schema)
			require.NoError(t, err)
			require.NoError(t, putRange(t, tbl, 0, 1000, 1, 10))
			st := tbl.Stats()
			require.Equal(t, int64(1000), st.Keys, kind)
			require.Positive(t, st.MemBytes, kind)
			cp, ok := tbl.(state.Checkpointer)
			require.Equal(t, kind != state.BackendMemory, ok, kind)
			if !ok {
				require.NoError(t, tbl.Close())
				continue
			}
			_, err = cp.Checkpoint(ctx)
			require.NoError(t, err)
			require.Positive(t, tbl.Stats().DiskBytes, kind)
			require.NoError(t, tbl.Close())
			tbl, err = f.Open(ctx, kind, name, statetest.Schema)
			require.NoError(t, err)
			require.Equal(t, state.Epoch(1), tbl.CommittedEpoch(), kind)
			lk, err := tbl.Get(ctx, [][]byte{keys.Int64Key(999)})
			require.NoError(t, err)
			require.True(t, lk.Found[0], kind)
			lk.Values.Release()
			require.NoError(t, tbl.Close())
		}
		require.NoError(t, f.Close())
	}
}

func TestBadKindAndName(t *testing.T) {
	f := &backends.Factory{}
	_, err := f.Open(context.Background(), "rocksdb", "v", statetest.Schema)
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err))
	for _, name := range []string{"", "..", "a/b"} {
		_, err = f.Open(context.Background(), state.BackendColumnar, name, statetest.Schema)
		require.Error(t, err, name)
	}
}

// TestSharedBudget: two columnar tables share a budget. The first holds
// committed data in its memtable; the second's writes make it spill to
// disk (b has nothing to spill itself); an epoch larger than the whole budget is 53200.
func TestSharedBudget(t *testing.T) {
	ctx := context.Background()
	budget := columnar.NewBudget(512 << 10)
	f := &backends.Factory{Budget: budget, Columnar: columnar.Options{MemtableSize: 1 << 30, DisableAutoCompaction: true}}
	a, err := f.Open(ctx, state.BackendColumnar, "a", statetest.Schema)
	require.NoError(t, err)
	defer a.Close()
	b, err := f.Open(ctx, state.BackendColumnar, "b", statetest.Schema)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, putRange(t, a, 0, 2000, 1, 40))
	before := a.Stats().MemBytes
	require.Greater(t, before, int64(256<<10))
	// More than what a leaves free, and b has nothing of its own to spill.
	require.NoError(t, putRange(t, b, 10000, 11500, 1, 40))
	require.LessOrEqual(t, budget.Used(), budget.Limit())
	require.Less(t, a.Stats().MemBytes, before, "a spilled its memtable")
	require.Positive(t, a.Stats().DiskBytes)
	lk, err := a.Get(ctx, [][]byte{keys.Int64Key(1999)})
	require.NoError(t, err)
	require.True(t, lk.Found[0])
	lk.Values.Release()
	err = putRange(t, b, 100000, 110000, 20, 40)
	require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err))
}

var (
	_ state.MemoryBudget    = (*columnar.Budget)(nil)
	_ state.BudgetReclaimer = (*columnar.Budget)(nil)
)

// TestMemoryTableBudget: memory tables charge the shared budget; a write
// that does not fit is 53200 naming the table and the limit, leaves the
// table as it was, and Close gives the bytes back.
func TestMemoryTableBudget(t *testing.T) {
	ctx := context.Background()
	budget := columnar.NewBudget(256 << 10)
	f := &backends.Factory{Budget: budget}
	tbl, err := f.Open(ctx, state.BackendMemory, "mv_mem", statetest.Schema)
	require.NoError(t, err)
	require.NoError(t, putRange(t, tbl, 0, 100, 1, 10))
	used := budget.Used()
	require.Positive(t, used)
	require.GreaterOrEqual(t, used, tbl.Stats().MemBytes)
	err = putRange(t, tbl, 1000, 20000, 2, 10)
	require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), "mv_mem")
	require.Contains(t, err.Error(), "262144")
	require.LessOrEqual(t, budget.Used(), budget.Limit())
	// The failed write changed nothing.
	require.NoError(t, tbl.Commit(ctx, 2))
	require.Equal(t, int64(100), tbl.Stats().Keys)
	lk, err := tbl.Get(ctx, [][]byte{keys.Int64Key(99), keys.Int64Key(1000)})
	require.NoError(t, err)
	require.Equal(t, []bool{true, false}, lk.Found)
	lk.Values.Release()
	// A second table shares the same budget.
	tbl2, err := f.Open(ctx, state.BackendMemory, "mv_mem2", statetest.Schema)
	require.NoError(t, err)
	require.NoError(t, putRange(t, tbl2, 0, 100, 1, 10))
	require.Greater(t, budget.Used(), used)
	require.NoError(t, tbl2.Close())
	require.NoError(t, tbl.Close())
	require.Zero(t, budget.Used())
}

// TestMemoryTableReclaims: a memory table that needs budget makes a
// columnar table sharing it spill its memtable first.
func TestMemoryTableReclaims(t *testing.T) {
	ctx := context.Background()
	budget := columnar.NewBudget(512 << 10)
	f := &backends.Factory{Budget: budget, Columnar: columnar.Options{MemtableSize: 1 << 30, DisableAutoCompaction: true}}
	a, err := f.Open(ctx, state.BackendColumnar, "a", statetest.Schema)
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, putRange(t, a, 0, 2000, 1, 40))
	before := a.Stats().MemBytes
	require.Greater(t, before, int64(256<<10))
	m, err := f.Open(ctx, state.BackendMemory, "m", statetest.Schema)
	require.NoError(t, err)
	defer m.Close()
	// The memory table's rows take more than what a left of the budget.
	require.NoError(t, putRange(t, m, 0, 2000, 1, 40))
	require.Less(t, a.Stats().MemBytes, before, "a spilled its memtable")
	require.LessOrEqual(t, budget.Used(), budget.Limit())
}

// TestRemove drops checkpointed tables by name prefix, with and without a
// directory: reopened, they are empty, and tables outside the prefix keep
// their data.
func TestRemove(t *testing.T) {
	ctx := context.Background()
	for _, dir := range []string{"", t.TempDir()} {
		f := &backends.Factory{Dir: dir}
		for _, kind := range []state.BackendKind{state.BackendPebble, state.BackendColumnar} {
			for _, name := range []string{"mv_1_" + string(kind), "mv_1_" + string(kind) + "_agg0", "mv_2_" + string(kind)} {
				tbl, err := f.Open(ctx, kind, name, statetest.Schema)
				require.NoError(t, err)
				require.NoError(t, putRange(t, tbl, 0, 100, 1, 10))
				_, err = tbl.(state.Checkpointer).Checkpoint(ctx)
				require.NoError(t, err)
				require.NoError(t, tbl.Close())
			}
		}
		require.Error(t, f.Remove(""))
		require.Error(t, f.Remove("mv_*"))
		require.NoError(t, f.Remove("mv_1_"))
		for _, kind := range []state.BackendKind{state.BackendPebble, state.BackendColumnar} {
			for name, want := range map[string]state.Epoch{"mv_1_" + string(kind): 0, "mv_1_" + string(kind) + "_agg0": 0, "mv_2_" + string(kind): 1} {
				tbl, err := f.Open(ctx, kind, name, statetest.Schema)
				require.NoError(t, err)
				require.Equal(t, want, tbl.CommittedEpoch(), "dir %q table %s", dir, name)
				lk, err := tbl.Get(ctx, [][]byte{keys.Int64Key(99)})
				require.NoError(t, err)
				require.Equal(t, want == 1, lk.Found[0], "dir %q table %s", dir, name)
				lk.Values.Release()
				require.NoError(t, tbl.Close())
			}
		}
		require.NoError(t, f.Close())
	}
}

// TestPebbleCacheCharged: the shared Pebble block cache is sized from the
// budget's limit and charged to it once, and Close gives the charge back.
func TestPebbleCacheCharged(t *testing.T) {
	ctx := context.Background()
	b := columnar.NewBudget(64 << 20)
	f := &backends.Factory{Budget: b}
	t1, err := f.Open(ctx, state.BackendPebble, "p1", statetest.Schema)
	require.NoError(t, err)
	// The shared cache is a quarter of the limit; each table reserves two
	// memtables of a sixteenth (4 MiB) for its life.
	require.Equal(t, int64(16<<20+8<<20), b.Used())
	t2, err := f.Open(ctx, state.BackendPebble, "p2", statetest.Schema)
	require.NoError(t, err)
	require.Equal(t, int64(16<<20+2*8<<20), b.Used()) // the cache is shared: charged once
	require.NoError(t, t1.Close())
	require.Equal(t, int64(16<<20+8<<20), b.Used())
	require.NoError(t, t2.Close())
	require.Equal(t, int64(16<<20), b.Used())
	require.NoError(t, f.Close())
	require.Zero(t, b.Used())

	// A table whose memtables do not fit is refused with 53200 and takes
	// nothing.
	small := columnar.NewBudget(64 << 20)
	f = &backends.Factory{Budget: small}
	require.True(t, small.TryReserve(small.Limit()-small.Used()-16<<20-4<<20))
	used := small.Used()
	_, err = f.Open(ctx, state.BackendPebble, "p4", statetest.Schema)
	require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err), "%v", err)
	require.Equal(t, used+16<<20, small.Used()) // only the shared cache, kept by the Factory
	require.NoError(t, f.Close())
	small.Release(used)
	require.Zero(t, small.Used())

	// No budget: the default 32 MiB cache is still reported.
	f = &backends.Factory{}
	t3, err := f.Open(ctx, state.BackendPebble, "p3", statetest.Schema)
	require.NoError(t, err)
	require.Equal(t, int64(32<<20+8<<20), f.Budget.Used())
	require.NoError(t, t3.Close())
	require.NoError(t, f.Close())
	require.Zero(t, f.Budget.Used())
}

// A pebble table's row cache is charged to the Factory's Budget as it
// fills and given back when the table closes.
func TestPebbleRowCacheCharged(t *testing.T) {
	ctx := context.Background()
	b := columnar.NewBudget(64 << 20)
	f := &backends.Factory{Budget: b}
	tbl, err := f.Open(ctx, state.BackendPebble, "p1", statetest.Schema)
	require.NoError(t, err)
	cacheCharge := b.Used()
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer rb.Release()
	var ks [][]byte
	for k := range 200 {
		ks = append(ks, keys.Int64Key(int64(k)))
		rb.Field(0).(*array.Int64Builder).Append(int64(k))
		rb.Field(1).(*array.StringBuilder).Append(strings.Repeat("v", k%5))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	require.NoError(t, tbl.Write(ctx, ks, nil, rec))
	require.NoError(t, tbl.Commit(ctx, 1))
	// Keys read twice enter the row cache.
	for range 2 {
		for _, k := range ks {
			res, err := tbl.Get(ctx, [][]byte{k})
			require.NoError(t, err)
			require.True(t, res.Found[0])
			res.Values.Release()
		}
	}
	require.Greater(t, b.Used(), cacheCharge, "row cache charged")
	require.NoError(t, tbl.Close())
	require.Equal(t, cacheCharge-8<<20, b.Used(), "row cache (and memtables) released by Close")
	require.NoError(t, f.Close())
	require.Zero(t, b.Used())
}
