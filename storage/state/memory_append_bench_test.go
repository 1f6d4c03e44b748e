package state_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/storage/state"
)

// BenchmarkMemoryAppendRows writes rows of a rolling view's shape (four
// int8/float8 columns and a count) under fresh ascending row-id keys in
// 1024-row batches, a commit every 16, through Append and through Write
// (every key new): CPU ns per row, table grown to b.N rows.
func BenchmarkMemoryAppendRows(b *testing.B) {
	f := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	schema := arrow.NewSchema([]arrow.Field{f("sym", arrow.PrimitiveTypes.Int64), f("px", arrow.PrimitiveTypes.Float64),
		f("ts", arrow.PrimitiveTypes.Int64), f("sd", arrow.PrimitiveTypes.Float64), {Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	mem := memory.NewGoAllocator()
	bld := array.NewRecordBuilder(mem, schema)
	for i := range 1024 {
		bld.Field(0).(*array.Int64Builder).Append(int64(i))
		bld.Field(1).(*array.Float64Builder).Append(float64(i))
		bld.Field(2).(*array.Int64Builder).Append(int64(i))
		bld.Field(3).(*array.Float64Builder).Append(1.5)
		bld.Field(4).(*array.Int64Builder).Append(1)
	}
	rec := bld.NewRecordBatch()
	bld.Release()
	defer rec.Release()
	for _, path := range []string{"append", "write"} {
		b.Run("path="+path, func(b *testing.B) {
			ctx := context.Background()
			tbl, err := state.NewMemoryTable(schema, mem)
			require.NoError(b, err)
			defer tbl.Close()
			ks := make([][]byte, 1024)
			arena := make([]byte, 0, 1024*16)
			rows := 0
			b.ResetTimer()
			cpu0 := cpuTime()
			for c := 0; rows < b.N; c++ {
				arena = arena[:0]
				for i := range ks {
					start := len(arena)
					arena = append(arena, 1)
					arena = binary.BigEndian.AppendUint64(arena, uint64(rows+i))
					ks[i] = arena[start:]
				}
				if path == "append" {
					err = tbl.Append(ctx, ks, rec)
				} else {
					err = tbl.Write(ctx, ks, nil, rec)
				}
				if err != nil {
					b.Fatal(err)
				}
				rows += len(ks)
				if c%16 == 15 {
					require.NoError(b, tbl.Commit(ctx, state.Epoch(c/16+1)))
				}
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows), "cpu-ns/row")
			b.ReportMetric(float64(tbl.Stats().MemBytes)/float64(rows), "state-B/row")
		})
	}
}
