package agg

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// benchRetractCols builds batches of random column values of ts.
func benchRetractCols(r *rand.Rand, mem memory.Allocator, ts []types.T, rows int) [][]arrow.Array {
	var out [][]arrow.Array
	for lo := 0; lo < rows; lo += benchBatch {
		batch := make([]arrow.Array, len(ts))
		for k, t := range ts {
			b := array.NewBuilder(mem, types.ArrowType(t))
			for i := 0; i < benchBatch; i++ {
				switch t.Family {
				case types.FamFloat8:
					b.(*array.Float64Builder).Append(r.NormFloat64() * 1000)
				case types.FamInt4:
					b.(*array.Int32Builder).Append(int32(r.IntN(1 << 20)))
				case types.FamInt8:
					b.(*array.Int64Builder).Append(r.Int64())
				case types.FamText:
					b.(*array.StringBuilder).Append(fmt.Sprintf("v%d", r.IntN(1000)))
				case types.FamNumeric:
					b.(*array.StringBuilder).Append(fmt.Sprintf("%d.%02d", r.IntN(100000), r.IntN(100)))
				}
			}
			batch[k] = b.NewArray()
			b.Release()
		}
		out = append(out, batch)
	}
	return out
}

// BenchmarkRetract feeds 256K rows into 1K groups and retracts them all
// again, per aggregate; rows/s counts both directions.
func BenchmarkRetract(b *testing.B) {
	const rows, ngroups = 1 << 18, 1000
	reg := registry()
	f8, i4, i8, txt, num := types.Float8T, types.Int4T, types.Int8T, types.TextT, types.NumericT
	reg1 := func(name string, ts ...types.T) func() kernels.GroupedAcc {
		f := lookup(b, reg, name, ts)
		ret := f.ResultType(ts)
		return func() kernels.GroupedAcc { return f.New(ts, ret) }
	}
	for _, c := range []struct {
		name string
		ts   []types.T
		mk   func() kernels.GroupedAcc
	}{
		{"sum_float8", []types.T{f8}, reg1("sum", f8)},
		{"avg_float8", []types.T{f8}, reg1("avg", f8)},
		{"stddev_float8", []types.T{f8}, reg1("stddev", f8)},
		{"sum_numeric", []types.T{num}, reg1("sum", num)},
		{"var_samp_int4", []types.T{i4}, reg1("var_samp", i4)},
		{"bit_or_int8", []types.T{i8}, reg1("bit_or", i8)},
		{"max_int4", []types.T{i4}, func() kernels.GroupedAcc { return NewRetractableMinMax(i4, true) }},
		{"string_agg", []types.T{txt, txt}, reg1("string_agg", txt, txt)},
		{"array_agg_int4", []types.T{i4}, reg1("array_agg", i4)},
		{"count_distinct_text", []types.T{txt}, func() kernels.GroupedAcc { return NewDistinct([]types.T{txt}, reg1("count", txt)()) }},
		{"string_agg_order_by_int4", []types.T{txt, txt, i4}, func() kernels.GroupedAcc {
			return NewOrdered([]types.T{txt, txt}, []types.T{i4}, []bool{false}, []bool{false}, reg1("string_agg", txt, txt))
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			mem := memory.NewGoAllocator()
			r := rand.New(rand.NewPCG(1, 2))
			batches := benchRetractCols(r, mem, c.ts, rows)
			groups := make([][]uint32, len(batches))
			for k := range groups {
				groups[k] = make([]uint32, benchBatch)
				for i := range groups[k] {
					groups[k][i] = uint32(r.IntN(ngroups))
				}
			}
			ctx := &kernels.EvalContext{Mem: mem}
			b.ResetTimer()
			cpu0 := cpuTime()
			for it := 0; it < b.N; it++ {
				acc := c.mk()
				acc.Grow(ngroups)
				for k, batch := range batches {
					if err := acc.Update(ctx, groups[k], batch); err != nil {
						b.Fatal(err)
					}
				}
				retr := acc.(kernels.Retractor)
				for k, batch := range batches {
					if err := retr.Retract(ctx, groups[k], batch); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(2*rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(2*rows)/float64(b.N), "cpu-ns/row")
		})
	}
}

// BenchmarkFloatSumUpdate is the batch (insert-only) cost of the exact
// float sum over 1M rows into 1K groups: the price of retractability.
func BenchmarkFloatSumUpdate(b *testing.B) {
	const rows, ngroups = 1 << 20, 1000
	mem := memory.NewGoAllocator()
	r := rand.New(rand.NewPCG(1, 2))
	batches := benchRetractCols(r, mem, []types.T{types.Float8T}, rows)
	groups := make([]uint32, benchBatch)
	for i := range groups {
		groups[i] = uint32(r.IntN(ngroups))
	}
	f := lookup(b, registry(), "sum", []types.T{types.Float8T})
	ctx := &kernels.EvalContext{Mem: mem}
	b.ResetTimer()
	cpu0 := cpuTime()
	for it := 0; it < b.N; it++ {
		acc := f.New([]types.T{types.Float8T}, types.Float8T)
		acc.Grow(ngroups)
		for _, batch := range batches {
			if err := acc.Update(ctx, groups, batch); err != nil {
				b.Fatal(err)
			}
		}
		bb := array.NewFloat64Builder(mem)
		if err := acc.Finish(ctx, bb); err != nil {
			b.Fatal(err)
		}
		bb.Release()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(rows)/float64(b.N), "cpu-ns/row")
}
