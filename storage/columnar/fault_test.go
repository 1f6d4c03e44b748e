package columnar

import (
	"context"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

// putRange writes keys [lo, hi) with value v = key*10 and commits epoch e.
func putRange(t *testing.T, tbl *Table, lo, hi int64, e state.Epoch) {
	t.Helper()
	ctx := context.Background()
	b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer b.Release()
	var ks [][]byte
	for k := lo; k < hi; k++ {
		ks = append(ks, keys.Int64Key(k))
		b.Field(0).(*array.Int64Builder).Append(k * 10)
		b.Field(1).(*array.StringBuilder).Append(strings.Repeat("x", int(k%7)))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	require.NoError(t, tbl.Write(ctx, ks, nil, rec))
	require.NoError(t, tbl.Commit(ctx, e))
}

// requireRange checks that keys [lo, hi) read back with v = key*10.
func requireRange(t *testing.T, r state.Reader, lo, hi int64) {
	t.Helper()
	var ks [][]byte
	for k := lo; k < hi; k++ {
		ks = append(ks, keys.Int64Key(k))
	}
	lk, err := r.Get(context.Background(), ks)
	require.NoError(t, err)
	defer lk.Values.Release()
	vs := lk.Values.Column(0).(*array.Int64)
	for i := range ks {
		require.True(t, lk.Found[i], "key %d", lo+int64(i))
		require.Equal(t, (lo+int64(i))*10, vs.Value(i))
	}
}

func openTest(t *testing.T, fs vfs.FS, mut func(*Options)) *Table {
	t.Helper()
	o := Options{FS: fs, MemtableSize: 4 << 10, BlockRows: 32, DisableAutoCompaction: true}
	if mut != nil {
		mut(&o)
	}
	tbl, err := Open(context.Background(), statetest.Schema, o)
	require.NoError(t, err)
	return tbl
}

func TestWriteErrorsAndENOSPC(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
	}{{vfs.ErrInjected, pgerror.IOError}, {syscall.ENOSPC, pgerror.DiskFull}} {
		t.Run(tc.code, func(t *testing.T) {
			ctx := context.Background()
			mem := vfs.NewMem()
			fs := vfs.NewFault(mem)
			tbl := openTest(t, fs, func(o *Options) { o.MemtableSize = 1 << 30 })
			putRange(t, tbl, 0, 100, 1)
			_, err := tbl.Checkpoint(ctx)
			require.NoError(t, err)
			putRange(t, tbl, 100, 200, 2)
			fs.FailWrites(".run", tc.err)
			_, err = tbl.Checkpoint(ctx)
			require.Error(t, err)
			require.Equal(t, tc.code, pgerror.CodeOf(err))
			require.ErrorIs(t, err, tc.err)
			// The data stays readable from the frozen memtable, and no
			// partial run file is left behind.
			requireRange(t, tbl, 0, 200)
			require.Equal(t, 1, tbl.Shape().Frozen)
			// A crash now recovers the last checkpoint.
			require.NoError(t, tbl.Close())
			fs.FailWrites("", nil)
			tbl = openTest(t, fs, nil)
			require.Equal(t, state.Epoch(1), tbl.CommittedEpoch())
			requireRange(t, tbl, 0, 100)
			putRange(t, tbl, 100, 200, 2)
			e, err := tbl.Checkpoint(ctx)
			require.NoError(t, err)
			require.Equal(t, state.Epoch(2), e)
			require.NoError(t, tbl.Close())
			tbl = openTest(t, fs, nil)
			defer tbl.Close()
			requireRange(t, tbl, 0, 200)
		})
	}
}

func TestRetryAfterWriteError(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewFault(vfs.NewMem())
	tbl := openTest(t, fs, func(o *Options) { o.MemtableSize = 1 << 30 })
	defer tbl.Close()
	putRange(t, tbl, 0, 100, 1)
	fs.FailWrites(".run", vfs.ErrInjected)
	_, err := tbl.Checkpoint(ctx)
	require.Error(t, err)
	putRange(t, tbl, 100, 150, 2) // the frozen data stays readable under newer commits
	requireRange(t, tbl, 0, 150)
	fs.FailWrites("", nil)
	e, err := tbl.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, state.Epoch(2), e)
	st := tbl.Shape()
	require.Equal(t, 0, st.Frozen)
	require.Equal(t, 2, st.Runs)
	requireRange(t, tbl, 0, 150)
}

func TestSyncErrorKeepsOldManifest(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewMem()
	fs := vfs.NewFault(mem)
	tbl := openTest(t, fs, nil)
	putRange(t, tbl, 0, 50, 1)
	_, err := tbl.Checkpoint(ctx)
	require.NoError(t, err)
	putRange(t, tbl, 50, 100, 2)
	fs.FailSyncs(vfs.ErrInjected)
	_, err = tbl.Checkpoint(ctx)
	require.Error(t, err)
	require.Equal(t, pgerror.IOError, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), "sync")
	require.NoError(t, tbl.Close())
	fs.FailSyncs(nil)
	tbl = openTest(t, fs, nil)
	defer tbl.Close()
	require.Equal(t, state.Epoch(1), tbl.CommittedEpoch())
	requireRange(t, tbl, 0, 50)
	lk, err := tbl.Get(ctx, [][]byte{keys.Int64Key(70)})
	require.NoError(t, err)
	require.False(t, lk.Found[0])
	lk.Values.Release()
	// Only files the manifest names survive the restart.
	names, err := mem.List()
	require.NoError(t, err)
	for _, n := range names {
		require.False(t, strings.HasSuffix(n, ".tmp"), n)
	}
	require.Equal(t, len(names)-1, tbl.Shape().Runs)
}

func checkpointedRun(t *testing.T) (*vfs.Mem, string) {
	mem := vfs.NewMem()
	tbl := openTest(t, mem, nil)
	putRange(t, tbl, 0, 300, 1)
	_, err := tbl.Checkpoint(context.Background())
	require.NoError(t, err)
	require.NoError(t, tbl.Close())
	names, err := mem.List()
	require.NoError(t, err)
	for _, n := range names {
		if strings.HasSuffix(n, ".run") {
			return mem, n
		}
	}
	t.Fatal("no run file")
	return nil, ""
}

func TestTruncatedRunIsCorruption(t *testing.T) {
	mem, name := checkpointedRun(t)
	f, err := mem.Open(name)
	require.NoError(t, err)
	size, _ := f.Size()
	require.NoError(t, mem.Truncate(name, size-10))
	_, err = Open(context.Background(), statetest.Schema, Options{FS: mem})
	require.Error(t, err)
	require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), name)
}

func TestFlippedBlockByteIsCorruption(t *testing.T) {
	mem, name := checkpointedRun(t)
	require.NoError(t, mem.FlipByte(name, 200))
	tbl, err := Open(context.Background(), statetest.Schema, Options{FS: mem, DisableAutoCompaction: true})
	require.NoError(t, err) // the meta section is intact
	defer tbl.Close()
	_, err = tbl.Get(context.Background(), [][]byte{keys.Int64Key(0)})
	require.Error(t, err)
	require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), name)
	require.Contains(t, err.Error(), "checksum")
	err = tbl.Scan(context.Background(), state.KeyRange{}, func([][]byte, arrow.RecordBatch) error { return nil })
	require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
}

func TestCorruptManifest(t *testing.T) {
	mem, _ := checkpointedRun(t)
	require.NoError(t, mem.FlipByte(manifestName, 3))
	_, err := Open(context.Background(), statetest.Schema, Options{FS: mem})
	require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), manifestName)
}

func TestCompactionWriteErrorLeavesRunsIntact(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewFault(vfs.NewMem())
	tbl := openTest(t, fs, nil)
	defer tbl.Close()
	for i := int64(0); i < 6; i++ {
		putRange(t, tbl, i*50, i*50+50, state.Epoch(i+1))
		_, err := tbl.Checkpoint(ctx)
		require.NoError(t, err)
	}
	before := tbl.Shape().Runs
	require.GreaterOrEqual(t, before, 2)
	fs.FailWrites(".run", syscall.ENOSPC)
	err := tbl.CompactAll(ctx)
	require.Equal(t, pgerror.DiskFull, pgerror.CodeOf(err))
	require.Equal(t, before, tbl.Shape().Runs)
	requireRange(t, tbl, 0, 300)
	fs.FailWrites("", nil)
	require.NoError(t, tbl.CompactAll(ctx))
	require.Equal(t, 1, tbl.Shape().Runs)
	requireRange(t, tbl, 0, 300)
}

func TestBudgetSpillsThenFails(t *testing.T) {
	ctx := context.Background()
	budget := NewBudget(256 << 10)
	tbl := openTest(t, vfs.NewMem(), func(o *Options) {
		o.Budget = budget
		o.MemtableSize = 1 << 30 // only the budget forces flushes
	})
	defer tbl.Close()
	// 20k rows over many epochs: far more than the budget, served from runs.
	for e := int64(0); e < 40; e++ {
		putRange(t, tbl, e*500, e*500+500, state.Epoch(e+1))
		require.LessOrEqual(t, budget.Used(), budget.Limit())
		require.GreaterOrEqual(t, budget.Used(), int64(0))
	}
	require.Greater(t, tbl.Shape().Runs, 0)
	requireRange(t, tbl, 0, 20000)
	require.LessOrEqual(t, budget.Used(), budget.Limit())
	// One epoch larger than the whole budget cannot be held: 53200.
	b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer b.Release()
	var ks [][]byte
	for k := 0; k < 5000; k++ {
		ks = append(ks, keys.Int64Key(int64(100000+k)))
		b.Field(0).(*array.Int64Builder).Append(1)
		b.Field(1).(*array.StringBuilder).Append(strings.Repeat("y", 40))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	err := tbl.Write(ctx, ks, nil, rec)
	require.Error(t, err)
	require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err))
	// The failed write left no charge behind and the table still works.
	require.LessOrEqual(t, budget.Used(), budget.Limit())
	putRange(t, tbl, 20000, 20100, 41)
	requireRange(t, tbl, 0, 20100)
	// Overwrites and deletes within and across epochs keep the charge
	// balanced: closing the table returns every byte.
	for e := int64(0); e < 10; e++ {
		putRange(t, tbl, e*100, e*100+1000, state.Epoch(42+e))
		require.GreaterOrEqual(t, budget.Used(), int64(0))
	}
	require.NoError(t, tbl.Close())
	require.Equal(t, int64(0), budget.Used())
}

func TestConcurrentSnapshotsWithFlushAndCompaction(t *testing.T) {
	ctx := context.Background()
	tbl := openTest(t, vfs.NewMem(), func(o *Options) {
		o.MemtableSize = 8 << 10
		o.CompactionTrigger = 2
		o.DisableAutoCompaction = false
		o.CacheSize = 16 << 10
	})
	defer tbl.Close()
	statetest.RunConcurrent(t, tbl, 300, 150, 2, func(e state.Epoch) error {
		if e%10 == 0 {
			_, err := tbl.Checkpoint(ctx)
			return err
		}
		return nil
	})
}

func TestMissingRunIsCorruption(t *testing.T) {
	mem, name := checkpointedRun(t)
	require.NoError(t, mem.Remove(name))
	_, err := Open(context.Background(), statetest.Schema, Options{FS: mem})
	require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), name)
}

func TestOSFilesystemRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs, err := vfs.NewOS(dir)
	require.NoError(t, err)
	tbl := openTest(t, fs, nil)
	putRange(t, tbl, 0, 500, 1)
	require.NoError(t, tbl.CleanBelow(ctx, keys.Int64Key(100)))
	require.NoError(t, tbl.Commit(ctx, 2))
	e, err := tbl.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, state.Epoch(2), e)
	require.NoError(t, tbl.Close())
	fs2, err := vfs.NewOS(dir)
	require.NoError(t, err)
	tbl = openTest(t, fs2, nil)
	defer tbl.Close()
	requireRange(t, tbl, 100, 500)
	lk, err := tbl.Get(ctx, [][]byte{keys.Int64Key(99)})
	require.NoError(t, err)
	require.False(t, lk.Found[0])
	lk.Values.Release()
}

// TestFlippedBitUncachedLookup: with no block cache (point lookups decode
// lazily and verify no offsets up front), any flipped bit of a block is
// still corruption, from a lookup of any key in it.
func TestFlippedBitUncachedLookup(t *testing.T) {
	mem, name := checkpointedRun(t)
	f, err := mem.Open(name)
	require.NoError(t, err)
	tbl, err := Open(context.Background(), statetest.Schema, Options{FS: mem, DisableAutoCompaction: true, CacheSize: 1})
	require.NoError(t, err)
	r := tbl.runs[0]
	h := r.index[0]
	require.NoError(t, tbl.Close())
	require.NoError(t, f.Close())
	rng := rand.New(rand.NewPCG(4, 4))
	for range 40 {
		off := int64(h.off) + rng.Int64N(int64(h.length))
		bit := byte(1) << rng.IntN(8)
		flip := func() { require.NoError(t, mem.XorByte(name, off, bit)) }
		flip()
		tbl, err := Open(context.Background(), statetest.Schema, Options{FS: mem, DisableAutoCompaction: true, CacheSize: 1})
		require.NoError(t, err)
		_, err = tbl.Get(context.Background(), [][]byte{keys.Int64Key(rng.Int64N(10))})
		require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err), "bit %x at %d: %v", bit, off, err)
		require.NoError(t, tbl.Close())
		flip()
	}
}
