package state_test

import (
	"context"
	"flag"
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
	seedFlag = flag.Uint64("seed", 0, "run the metamorphic test with this seed only")
	opsFlag  = flag.Int("ops", 3000, "operations per metamorphic run")
)

func memBackend() statetest.Backend {
	return statetest.Backend{Open: func(t testing.TB) state.Table {
		tbl, err := state.NewMemoryTable(statetest.Schema, memory.NewGoAllocator())
		require.NoError(t, err)
		return tbl
	}}
}

func TestMemoryMetamorphic(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	if *seedFlag != 0 {
		seeds = []uint64{*seedFlag}
	}
	for _, s := range seeds {
		statetest.Run(t, memBackend(), statetest.Config{Seed: s, Ops: *opsFlag})
		statetest.Run(t, memBackend(), statetest.Config{Seed: s, Ops: *opsFlag, KeySpace: 20, MaxBatch: 5})
	}
}

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
