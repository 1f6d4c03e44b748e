package state_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/stretchr/testify/require"
)

// allTypesBatch is n random rows (a quarter of the values NULL) of every
// column kind the memory table stores differently: fixed-width slices of
// each width, booleans, string arenas and RowCodec-encoded fallbacks.
func allTypesBatch(mem memory.Allocator, rng *rand.Rand, n int) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "ls", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "iv", Type: arrow.FixedWidthTypes.MonthDayNanoInterval, Nullable: true},
		{Name: "ai", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	}, nil)
	bld := array.NewRecordBuilder(mem, schema)
	defer bld.Release()
	for i := 0; i < n; i++ {
		for _, f := range bld.Fields() {
			if rng.IntN(4) == 0 {
				f.AppendNull()
				continue
			}
			switch fb := f.(type) {
			case *array.BooleanBuilder:
				fb.Append(rng.IntN(2) == 0)
			case *array.Int8Builder:
				fb.Append(int8(rng.Int()))
			case *array.Uint16Builder:
				fb.Append(uint16(rng.Int()))
			case *array.Int32Builder:
				fb.Append(rng.Int32())
			case *array.Float64Builder:
				fb.Append(rng.NormFloat64())
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(rng.Int64()))
			case *array.StringBuilder:
				fb.Append(fmt.Sprint("s", rng.IntN(1<<rng.IntN(20))))
			case *array.BinaryBuilder:
				fb.Append([]byte{byte(i), 0, 255})
			case *array.LargeStringBuilder:
				fb.Append(string(make([]byte, rng.IntN(50))))
			case *array.MonthDayNanoIntervalBuilder:
				fb.Append(arrow.MonthDayNanoInterval{Months: rng.Int32N(100), Days: -rng.Int32N(9), Nanoseconds: rng.Int64()})
			case *array.ListBuilder:
				fb.Append(true)
				for range rng.IntN(4) {
					fb.ValueBuilder().(*array.Int32Builder).Append(rng.Int32())
				}
			}
		}
	}
	return bld.NewRecordBatch()
}

// requireRow checks that row i of got equals row j of want in every column.
func requireRow(t *testing.T, got arrow.RecordBatch, i int, want arrow.RecordBatch, j int) {
	t.Helper()
	for c := range got.Columns() {
		require.True(t, array.SliceEqual(got.Column(c), int64(i), int64(i+1), want.Column(c), int64(j), int64(j+1)),
			"column %s: got %v, want %v", got.Schema().Field(c).Name, got.Column(c).ValueStr(i), want.Column(c).ValueStr(j))
	}
}

// TestMemoryAllTypes: values of every column kind come back unchanged from
// sliced batches, through overwrites, for the writer view, a snapshot and a
// scan, with no leaked Arrow memory.
func TestMemoryAllTypes(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 400
	v1 := allTypesBatch(mem, rng, n+10)
	defer v1.Release()
	v2 := allTypesBatch(mem, rng, n)
	defer v2.Release()
	tbl, err := state.NewMemoryTable(v1.Schema(), mem)
	require.NoError(t, err)
	defer tbl.Close()
	ks := make([][]byte, n)
	for i := range ks {
		ks[i] = keys.Int64Key(int64(i))
	}
	// Epoch 1: v1 rows 10.. through a sliced batch.
	sl := v1.NewSlice(10, n+10)
	require.NoError(t, tbl.Write(ctx, ks, nil, sl))
	sl.Release()
	require.NoError(t, tbl.Commit(ctx, 1))
	snap, err := tbl.Snapshot(1)
	require.NoError(t, err)
	defer snap.Release()
	// Epoch 2: even keys take v2's rows; odd keys are deleted then rewritten
	// with v2's rows in the same epoch.
	ops := make([]state.Op, n)
	for i := range ops {
		if i%2 == 1 {
			ops[i] = state.OpDelete
		}
	}
	require.NoError(t, tbl.Write(ctx, ks, ops, v2))
	odd := make([][]byte, 0, n/2)
	for i := 1; i < n; i += 2 {
		odd = append(odd, ks[i])
	}
	oddRows := make([]int, len(odd))
	for i := range oddRows {
		oddRows[i] = 2*i + 1
	}
	// Rewrite odd keys with their own v2 rows, one row at a time.
	for i, k := range odd {
		row := v2.NewSlice(int64(oddRows[i]), int64(oddRows[i]+1))
		require.NoError(t, tbl.Write(ctx, [][]byte{k}, nil, row))
		row.Release()
	}
	require.NoError(t, tbl.Commit(ctx, 2))
	// Shuffled lookups with absent keys and repeats.
	order := rng.Perm(n)
	look := make([][]byte, 0, n+2)
	for _, i := range order {
		look = append(look, ks[i])
	}
	look = append(look, keys.Int64Key(-1), ks[order[0]])
	for _, r := range []struct {
		name string
		rd   state.Reader
		want arrow.RecordBatch
		off  int
	}{{"writer", tbl, v2, 0}, {"snapshot", snap, v1, 10}} {
		lk, err := r.rd.Get(ctx, look)
		require.NoError(t, err, r.name)
		for j, i := range order {
			require.True(t, lk.Found[j], r.name)
			requireRow(t, lk.Values, j, r.want, i+r.off)
		}
		require.False(t, lk.Found[n], r.name)
		for c := range lk.Values.Columns() {
			require.True(t, lk.Values.Column(c).IsNull(n), r.name)
		}
		requireRow(t, lk.Values, n+1, r.want, order[0]+r.off)
		lk.Values.Release()
		seen := 0
		require.NoError(t, r.rd.Scan(ctx, state.KeyRange{}, func(sk [][]byte, vals arrow.RecordBatch) error {
			for j := range sk {
				requireRow(t, vals, j, r.want, seen+r.off)
				seen++
			}
			return nil
		}), r.name)
		require.Equal(t, n, seen, r.name)
	}
}
