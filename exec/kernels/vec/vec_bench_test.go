package vec

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/types"
)

const benchRows = 1 << 20

func benchInt64(mem memory.Allocator) arrow.Array {
	r := rand.New(rand.NewPCG(1, 2))
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for i := 0; i < benchRows; i++ {
		if i%10 == 0 {
			b.AppendNull()
		} else {
			b.Append(r.Int64())
		}
	}
	return b.NewArray()
}

func benchStrings(mem memory.Allocator) arrow.Array {
	r := rand.New(rand.NewPCG(1, 2))
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for i := 0; i < benchRows; i++ {
		b.Append(fmt.Sprintf("value-%d", r.IntN(1_000_000)))
	}
	return b.NewArray()
}

func benchMask(mem memory.Allocator) *array.Boolean {
	r := rand.New(rand.NewPCG(3, 4))
	b := array.NewBooleanBuilder(mem)
	defer b.Release()
	for i := 0; i < benchRows; i++ {
		b.Append(r.IntN(2) == 0)
	}
	return b.NewBooleanArray()
}

func benchIdx() []int32 {
	r := rand.New(rand.NewPCG(5, 6))
	idx := make([]int32, benchRows)
	for i := range idx {
		idx[i] = int32(r.IntN(benchRows))
	}
	return idx
}

func BenchmarkFilter(b *testing.B) {
	mem := memory.NewGoAllocator()
	mask := benchMask(mem)
	for name, mk := range map[string]func(memory.Allocator) arrow.Array{"int64": benchInt64, "string": benchStrings} {
		b.Run(name, func(b *testing.B) {
			arr := mk(mem)
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				Filter(mem, arr, mask).Release()
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(benchRows)/float64(b.N), "cpu-ns/row")
		})
	}
}

func BenchmarkTake(b *testing.B) {
	mem := memory.NewGoAllocator()
	idx := benchIdx()
	for name, mk := range map[string]func(memory.Allocator) arrow.Array{"int64": benchInt64, "string": benchStrings} {
		b.Run(name, func(b *testing.B) {
			arr := mk(mem)
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				Take(mem, arr, idx).Release()
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(benchRows)/float64(b.N), "cpu-ns/row")
		})
	}
}

func BenchmarkSortIndices(b *testing.B) {
	mem := memory.NewGoAllocator()
	b.Run("int64", func(b *testing.B) {
		arr := benchInt64(mem)
		keys := []SortKey{{Col: 0, T: types.Int8T}}
		b.ResetTimer()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			SortIndices([]arrow.Array{arr}, keys)
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(benchRows)/float64(b.N), "cpu-ns/row")
	})
	b.Run("string", func(b *testing.B) {
		arr := benchStrings(mem)
		keys := []SortKey{{Col: 0, T: types.TextT}}
		b.ResetTimer()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			SortIndices([]arrow.Array{arr}, keys)
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(benchRows)/float64(b.N), "cpu-ns/row")
	})
}

func BenchmarkHashColumns(b *testing.B) {
	mem := memory.NewGoAllocator()
	cols := []arrow.Array{benchInt64(mem), benchStrings(mem)}
	out := make([]uint64, benchRows)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		HashColumns(cols, out)
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(benchRows)/float64(b.N), "cpu-ns/row")
}

// cpuTime returns the process's user+system CPU time in nanoseconds (steadier
// than wall time on a shared machine).
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
