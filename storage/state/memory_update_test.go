package state_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

// countStep is a read-modify-write of counters: each row adds one to its
// key's counter (a key repeated in the batch is counted by its last row,
// as in Write); a counter reaching 4 is deleted.
func countStep(ks [][]byte, cur state.Lookup) ([]state.Op, arrow.RecordBatch) {
	vals := cur.Values.Column(0).(*array.Int64)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer b.Release()
	ops := make([]state.Op, len(ks))
	for i := range ks {
		n := int64(1)
		if cur.Found[i] {
			n += vals.Value(i)
		}
		if n >= 4 {
			ops[i] = state.OpDelete
		}
		b.Field(0).(*array.Int64Builder).Append(n)
		b.Field(1).(*array.StringBuilder).Append("c")
	}
	return ops, b.NewRecordBatch()
}

// TestMemoryUpdate: Update does what Get then Write does, over batches with
// repeated and new keys, deletes, commits and a snapshot; an error from fn
// changes nothing.
func TestMemoryUpdate(t *testing.T) {
	ctx := context.Background()
	a, err := state.NewMemoryTable(statetest.Schema, nil)
	require.NoError(t, err)
	defer a.Close()
	b, err := state.NewMemoryTable(statetest.Schema, nil)
	require.NoError(t, err)
	defer b.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	for e := state.Epoch(1); e <= 40; e++ {
		for range 3 {
			ks := make([][]byte, 1+rng.IntN(50))
			for i := range ks {
				ks[i] = keys.Int64Key(rng.Int64N(30))
			}
			require.NoError(t, a.Update(ctx, ks, func(cur state.Lookup) ([]state.Op, arrow.RecordBatch, error) {
				ops, rec := countStep(ks, cur)
				t.Cleanup(rec.Release)
				return ops, rec, nil
			}))
			cur, err := b.Get(ctx, ks)
			require.NoError(t, err)
			ops, rec := countStep(ks, cur)
			cur.Values.Release()
			require.NoError(t, b.Write(ctx, ks, ops, rec))
			rec.Release()
		}
		require.Equal(t, dump(t, a), dump(t, b), "epoch %d", e)
		require.NoError(t, a.Commit(ctx, e))
		require.NoError(t, b.Commit(ctx, e))
	}
	before := dump(t, a)
	snap, err := a.Snapshot(a.CommittedEpoch())
	require.NoError(t, err)
	defer snap.Release()
	boom := errors.New("boom")
	err = a.Update(ctx, [][]byte{keys.Int64Key(1), keys.Int64Key(1000)}, func(state.Lookup) ([]state.Op, arrow.RecordBatch, error) {
		return nil, nil, boom
	})
	require.ErrorIs(t, err, boom)
	require.Equal(t, before, dump(t, a))
	require.NoError(t, a.Close())
	require.ErrorIs(t, a.Update(ctx, nil, nil), state.ErrClosed)
}

// dump is the writer view as key → counter text.
func dump(t *testing.T, tbl state.Table) map[string]int64 {
	out := map[string]int64{}
	require.NoError(t, tbl.Scan(context.Background(), state.KeyRange{}, func(ks [][]byte, v arrow.RecordBatch) error {
		for i, k := range ks {
			out[string(k)] = v.Column(0).(*array.Int64).Value(i)
		}
		return nil
	}))
	return out
}
