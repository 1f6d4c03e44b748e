package ops

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

const benchRows = 1 << 20

func benchVec(b *testing.B, name string, t types.T, a, c arrow.Array) {
	r := newRegistry()
	f := lookup(r, name, []types.T{t, t})
	if f == nil || f.Vec == nil {
		b.Fatalf("no vector kernel %s(%v)", name, t)
	}
	ctx := &kernels.EvalContext{Mem: memory.DefaultAllocator}
	args := []arrow.Array{a, c}
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := f.Vec(ctx, args, benchRows)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	rows := float64(b.N) * benchRows
	// CPU time is steadier than wall time on a shared machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/rows, "cpu-ns/row")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/rows, "ns/row")
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func int64Arrays(withNulls bool) (arrow.Array, arrow.Array) {
	ba := array.NewInt64Builder(memory.DefaultAllocator)
	bb := array.NewInt64Builder(memory.DefaultAllocator)
	for i := 0; i < benchRows; i++ {
		if withNulls && i%10 == 0 {
			ba.AppendNull()
		} else {
			ba.Append(int64(i))
		}
		bb.Append(int64(i%1000 - 500))
	}
	return ba.NewArray(), bb.NewArray()
}

func BenchmarkInt64Add(b *testing.B) {
	a, c := int64Arrays(false)
	defer a.Release()
	defer c.Release()
	benchVec(b, "+", types.Int8T, a, c)
}

func BenchmarkInt64AddNulls(b *testing.B) {
	a, c := int64Arrays(true)
	defer a.Release()
	defer c.Release()
	benchVec(b, "+", types.Int8T, a, c)
}

func BenchmarkFloat64Mul(b *testing.B) {
	ba := array.NewFloat64Builder(memory.DefaultAllocator)
	bb := array.NewFloat64Builder(memory.DefaultAllocator)
	for i := 0; i < benchRows; i++ {
		ba.Append(float64(i) * 0.5)
		bb.Append(1.0001)
	}
	a, c := ba.NewArray(), bb.NewArray()
	defer a.Release()
	defer c.Release()
	benchVec(b, "*", types.Float8T, a, c)
}

func BenchmarkInt64Less(b *testing.B) {
	a, c := int64Arrays(false)
	defer a.Release()
	defer c.Release()
	benchVec(b, "<", types.Int8T, a, c)
}

func BenchmarkTextEqual(b *testing.B) {
	ba := array.NewStringBuilder(memory.DefaultAllocator)
	bb := array.NewStringBuilder(memory.DefaultAllocator)
	for i := 0; i < benchRows; i++ {
		ba.Append("customer-" + strconv.Itoa(i%5000))
		bb.Append("customer-" + strconv.Itoa(i%7000))
	}
	a, c := ba.NewArray(), bb.NewArray()
	defer a.Release()
	defer c.Release()
	benchVec(b, "=", types.TextT, a, c)
}

func BenchmarkLikeContains(b *testing.B) {
	ba := array.NewStringBuilder(memory.DefaultAllocator)
	bb := array.NewStringBuilder(memory.DefaultAllocator)
	for i := 0; i < benchRows; i++ {
		ba.Append("customer-" + strconv.Itoa(i%5000) + "-name")
		bb.Append("%r-42%")
	}
	a, c := ba.NewArray(), bb.NewArray()
	defer a.Release()
	defer c.Release()
	benchVec(b, "~~", types.TextT, a, c)
}
