package agg

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

const benchBatch = 4096

// BenchmarkGroupBySumInt64 runs GroupTable.Insert + sum(int8) over 10M rows
// in executor-sized batches.
func BenchmarkGroupBySumInt64(b *testing.B) {
	const rows = 10_000_000
	for _, distinct := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", distinct), func(b *testing.B) {
			mem := memory.NewGoAllocator()
			r := rand.New(rand.NewPCG(1, 2))
			keys := make([]int64, 1<<21)
			for i := range keys {
				keys[i] = int64(r.IntN(distinct)) * 2654435761
			}
			var kb, vb []arrow.Array
			for lo := 0; lo < len(keys); lo += benchBatch {
				kb = append(kb, int64Array(mem, keys[lo:lo+benchBatch]))
				vb = append(vb, int64Array(mem, keys[lo:lo+benchBatch]))
			}
			f := lookup(b, registry(), "sum", []types.T{types.Int8T})
			ctx := &kernels.EvalContext{Mem: mem}
			groups := make([]uint32, benchBatch)
			b.ResetTimer()
			cpu0 := cpuTime()
			for it := 0; it < b.N; it++ {
				gt := NewGroupTable([]types.T{types.Int8T}, mem)
				acc := f.New([]types.T{types.Int8T}, types.NumericT)
				for done, k := 0, 0; done < rows; done, k = done+benchBatch, (k+1)%len(kb) {
					gt.Insert(kb[k:k+1], groups)
					acc.Grow(gt.Len())
					if err := acc.Update(ctx, groups, vb[k:k+1]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			// CPU time per row is steadier than wall time on a shared machine.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(rows)/float64(b.N), "cpu-ns/row")
		})
	}
}

// cpuTime returns the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkGroupTableString inserts 1M rows with 10K distinct string keys.
func BenchmarkGroupTableString(b *testing.B) {
	const rows = 1 << 20
	mem := memory.NewGoAllocator()
	r := rand.New(rand.NewPCG(1, 2))
	var batches []arrow.Array
	for lo := 0; lo < rows; lo += benchBatch {
		sb := array.NewStringBuilder(mem)
		for i := 0; i < benchBatch; i++ {
			sb.Append(fmt.Sprintf("customer-%06d", r.IntN(10_000)))
		}
		batches = append(batches, sb.NewArray())
		sb.Release()
	}
	groups := make([]uint32, benchBatch)
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		gt := NewGroupTable([]types.T{types.TextT}, mem)
		for _, k := range batches {
			gt.Insert([]arrow.Array{k}, groups)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGroupTableMultiKey inserts 1M rows keyed by (int4, text).
func BenchmarkGroupTableMultiKey(b *testing.B) {
	const rows = 1 << 20
	mem := memory.NewGoAllocator()
	r := rand.New(rand.NewPCG(1, 2))
	var batches [][]arrow.Array
	for lo := 0; lo < rows; lo += benchBatch {
		ib := array.NewInt32Builder(mem)
		sb := array.NewStringBuilder(mem)
		for i := 0; i < benchBatch; i++ {
			ib.Append(int32(r.IntN(100)))
			sb.Append(fmt.Sprintf("k%d", r.IntN(100)))
		}
		batches = append(batches, []arrow.Array{ib.NewArray(), sb.NewArray()})
		ib.Release()
		sb.Release()
	}
	groups := make([]uint32, benchBatch)
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		gt := NewGroupTable([]types.T{types.Int4T, types.TextT}, mem)
		for _, k := range batches {
			gt.Insert(k, groups)
		}
		gt.Release()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGroupTableInt64 is GroupTable.Insert alone over 10M int8 keys
// drawn from [0, 1K) (the direct-window mode) and [0, 1M) (hashed).
func BenchmarkGroupTableInt64(b *testing.B) {
	const rows = 10_000_000
	for _, distinct := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", distinct), func(b *testing.B) {
			mem := memory.NewGoAllocator()
			r := rand.New(rand.NewPCG(1, 2))
			keys := make([]int64, 1<<21)
			for i := range keys {
				keys[i] = int64(r.IntN(distinct))
			}
			var kb []arrow.Array
			for lo := 0; lo < len(keys); lo += benchBatch {
				kb = append(kb, int64Array(mem, keys[lo:lo+benchBatch]))
			}
			groups := make([]uint32, benchBatch)
			b.ResetTimer()
			cpu0 := cpuTime()
			for it := 0; it < b.N; it++ {
				gt := NewGroupTable([]types.T{types.Int8T}, mem)
				for done, k := 0, 0; done < rows; done, k = done+benchBatch, (k+1)%len(kb) {
					gt.Insert(kb[k:k+1], groups)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(rows)/float64(b.N), "cpu-ns/row")
		})
	}
}
