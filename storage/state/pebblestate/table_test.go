package pebblestate_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/pebblestate"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "run the metamorphic test with this seed only")
	opsFlag   = flag.Int("ops", 2500, "operations per metamorphic run")
	seedsFlag = flag.Int("seeds", 0, "random seeds to run besides the fixed ones")
)

// randomOptions draws table options from the seed: memtables small enough
// that data reaches sstables (and checkpoints hard-link them), block caches
// from none-to-speak-of to roomy, and L0 compaction triggers low enough to
// compact often, and epochs committed as batches, as ingested sstables or
// both (by size), and row caches from none to one of a few rows to one
// holding every key.
func randomOptions(seed uint64, fs vfs.FS) (pebblestate.Options, string) {
	rng := rand.New(rand.NewPCG(seed, 91))
	o := pebblestate.Options{
		Dir:                   "tbl",
		FS:                    fs,
		MemTableSize:          []uint64{64 << 10, 256 << 10, 4 << 20, 64 << 20}[rng.IntN(4)],
		CacheSize:             []int64{1 << 10, 64 << 10, 8 << 20}[rng.IntN(3)],
		L0CompactionThreshold: []int{0, 1, 2, 4}[rng.IntN(4)],
		IngestMinKeys:         []int{-1, 1, 3, 0}[rng.IntN(4)],
		RowCacheSize:          []int64{-1, 0, 2 << 10, 64 << 10}[rng.IntN(4)],
	}
	return o, fmt.Sprintf("memtable=%d cache=%d l0trigger=%d ingest=%d rowcache=%d", o.MemTableSize, o.CacheSize, o.L0CompactionThreshold, o.IngestMinKeys, o.RowCacheSize)
}

func backend(opts pebblestate.Options) statetest.Backend {
	ctx := context.Background()
	open := func(tb testing.TB) state.Table {
		tbl, err := pebblestate.Open(ctx, statetest.Schema, opts)
		require.NoError(tb, err)
		return tbl
	}
	return statetest.Backend{
		Open: open,
		Checkpoint: func(tb testing.TB, tbl state.Table) state.Epoch {
			e, err := tbl.(*pebblestate.Table).Checkpoint(ctx)
			require.NoError(tb, err)
			return e
		},
		Reopen: func(tb testing.TB, tbl state.Table) state.Table {
			require.NoError(tb, tbl.Close())
			return open(tb)
		},
		Maintain: func(tb testing.TB, tbl state.Table, rng *rand.Rand) string {
			pt := tbl.(*pebblestate.Table)
			if rng.IntN(2) == 0 {
				require.NoError(tb, pt.Flush())
				return "flush"
			}
			require.NoError(tb, pt.Compact(ctx))
			return "compact"
		},
	}
}

// TestMetamorphic runs the shared random operation sequences (writes,
// deletes, range deletes, commits, snapshots, checkpoints, restarts)
// under random options against the map model. -seed replays one seed,
// -seeds adds random ones, -ops lengthens runs.
func TestMetamorphic(t *testing.T) {
	for _, s := range statetest.Seeds([]uint64{1, 2, 3, 4, 5, 6, 7, 8}, *seedFlag, *seedsFlag) {
		t.Run(fmt.Sprint("seed=", s), func(t *testing.T) {
			opts, desc := randomOptions(s, vfs.NewMem())
			t.Log(desc)
			cfg := statetest.Config{Seed: s, Ops: *opsFlag}
			if s%3 == 0 {
				cfg.KeySpace, cfg.MaxBatch = 30, 6
			}
			statetest.Run(t, backend(opts), cfg)
		})
	}
}

func TestConcurrentSnapshots(t *testing.T) {
	tbl, err := pebblestate.Open(context.Background(), statetest.Schema, pebblestate.Options{Dir: "tbl", FS: vfs.NewMem(), MemTableSize: 256 << 10})
	require.NoError(t, err)
	defer tbl.Close()
	n := 0
	statetest.RunConcurrent(t, tbl, 500, 100, 2, func(e state.Epoch) error {
		if n++; n%10 == 0 {
			_, err := tbl.Checkpoint(context.Background())
			return err
		}
		return nil
	})
}

func putN(t *testing.T, tbl state.Table, lo, hi int64, e state.Epoch) {
	t.Helper()
	ctx := context.Background()
	b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer b.Release()
	var ks [][]byte
	for k := lo; k < hi; k++ {
		ks = append(ks, keys.Int64Key(k))
		b.Field(0).(*array.Int64Builder).Append(k * 10)
		b.Field(1).(*array.StringBuilder).Append("payload")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	require.NoError(t, tbl.Write(ctx, ks, nil, rec))
	require.NoError(t, tbl.Commit(ctx, e))
}

// TestRestartOnDisk checkpoints on the real filesystem, commits more, and
// reopens: exactly the checkpointed epoch comes back, and Stats see it.
func TestRestartOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *pebblestate.Table {
		tbl, err := pebblestate.Open(ctx, statetest.Schema, pebblestate.Options{Dir: dir, MemTableSize: 64 << 10})
		require.NoError(t, err)
		return tbl
	}
	tbl := open()
	putN(t, tbl, 0, 5000, 1)
	e, err := tbl.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, state.Epoch(1), e)
	putN(t, tbl, 5000, 6000, 2)
	st := tbl.Stats()
	require.InDelta(t, 6000, st.Keys, 3000)
	require.Positive(t, st.DiskBytes)
	require.NoError(t, tbl.Close())

	tbl = open()
	defer tbl.Close()
	require.Equal(t, state.Epoch(1), tbl.CommittedEpoch())
	lk, err := tbl.Get(ctx, [][]byte{keys.Int64Key(4999), keys.Int64Key(5000)})
	require.NoError(t, err)
	defer lk.Values.Release()
	require.Equal(t, []bool{true, false}, lk.Found)
	require.Equal(t, int64(49990), lk.Values.Column(0).(*array.Int64).Value(0))
	// Epoch 2 may be committed again after the restart.
	putN(t, tbl, 5000, 5001, 2)
}

func TestSnapshotTooOldAndClosed(t *testing.T) {
	tbl, err := pebblestate.Open(context.Background(), statetest.Schema, pebblestate.Options{Dir: "tbl", FS: vfs.NewMem()})
	require.NoError(t, err)
	putN(t, tbl, 0, 10, 1)
	s1, err := tbl.Snapshot(1)
	require.NoError(t, err)
	putN(t, tbl, 0, 10, 2)
	s1b, err := tbl.Snapshot(1) // pinned by s1
	require.NoError(t, err)
	s1.Release()
	s1b.Release()
	_, err = tbl.Snapshot(1)
	require.Equal(t, state.SnapshotTooOld, pgerror.CodeOf(err))
	s2, err := tbl.Snapshot(2)
	require.NoError(t, err)
	require.NoError(t, tbl.Close())
	_, err = s2.Get(context.Background(), [][]byte{keys.Int64Key(1)})
	require.ErrorIs(t, err, state.ErrClosed)
	s2.Release()
	require.ErrorIs(t, tbl.Commit(context.Background(), 3), state.ErrClosed)
}

// TestCorruptSSTableIsXX001 flips a byte inside an sstable of the last
// checkpoint; reopening and reading reports data_corrupted, never a panic
// or wrong rows.
func TestCorruptSSTableIsXX001(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() (*pebblestate.Table, error) {
		return pebblestate.Open(ctx, statetest.Schema, pebblestate.Options{Dir: dir, MemTableSize: 64 << 10, CacheSize: 1 << 20})
	}
	tbl, err := open()
	require.NoError(t, err)
	for e := 0; e < 20; e++ {
		putN(t, tbl, int64(e*1000), int64(e*1000+1000), state.Epoch(e+1))
	}
	_, err = tbl.Checkpoint(ctx)
	require.NoError(t, err)
	require.NoError(t, tbl.Close())

	ssts, err := filepath.Glob(filepath.Join(dir, "ckpt-*", "*.sst"))
	require.NoError(t, err)
	require.NotEmpty(t, ssts)
	for _, f := range ssts {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		data[len(data)/3] ^= 0x5a
		require.NoError(t, os.WriteFile(f, data, 0o644))
	}
	tbl, err = open()
	if err == nil {
		defer tbl.Close()
		err = tbl.Scan(ctx, state.KeyRange{}, func([][]byte, arrow.RecordBatch) error { return nil })
	}
	require.Error(t, err)
	require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err), "%v", err)
}

// TestEmptyKey: the empty key (a zero-column state key) survives several
// versions, flushes and compactions, and a CleanBelow removes it. Pebble's
// columnar blocks mishandle a bare empty user key; the table stores every
// key behind a prefix byte.
func TestEmptyKey(t *testing.T) {
	ctx := context.Background()
	tbl, err := pebblestate.Open(ctx, statetest.Schema, pebblestate.Options{Dir: "tbl", FS: vfs.NewMem(), MemTableSize: 64 << 10})
	require.NoError(t, err)
	defer tbl.Close()
	empty := [][]byte{{}}
	for e := state.Epoch(1); e <= 5; e++ {
		b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
		b.Field(0).(*array.Int64Builder).Append(int64(e))
		b.Field(1).AppendNull()
		rec := b.NewRecordBatch()
		b.Release()
		require.NoError(t, tbl.Write(ctx, empty, nil, rec))
		rec.Release()
		require.NoError(t, tbl.Commit(ctx, e))
		require.NoError(t, tbl.Flush())
	}
	require.NoError(t, tbl.Compact(ctx))
	lk, err := tbl.Get(ctx, empty)
	require.NoError(t, err)
	require.True(t, lk.Found[0])
	require.Equal(t, int64(5), lk.Values.Column(0).(*array.Int64).Value(0))
	lk.Values.Release()
	n := 0
	require.NoError(t, tbl.Scan(ctx, state.KeyRange{}, func(ks [][]byte, _ arrow.RecordBatch) error {
		for _, k := range ks {
			require.Empty(t, k)
			n++
		}
		return nil
	}))
	require.Equal(t, 1, n)
	require.NoError(t, tbl.CleanBelow(ctx, []byte{0x01}))
	require.NoError(t, tbl.Commit(ctx, 6))
	lk, err = tbl.Get(ctx, empty)
	require.NoError(t, err)
	require.False(t, lk.Found[0])
	lk.Values.Release()
}

// TestReopenKeepsFormat: a table stamps its key format once and reopens
// under it.
func TestReopenKeepsFormat(t *testing.T) {
	fs := vfs.NewMem()
	tbl, err := pebblestate.Open(context.Background(), statetest.Schema, pebblestate.Options{Dir: "tbl", FS: fs})
	require.NoError(t, err)
	require.NoError(t, tbl.Close())
	tbl, err = pebblestate.Open(context.Background(), statetest.Schema, pebblestate.Options{Dir: "tbl", FS: fs})
	require.NoError(t, err)
	require.NoError(t, tbl.Close())
}
