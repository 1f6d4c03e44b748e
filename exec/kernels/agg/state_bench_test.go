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

// BenchmarkGroupState saves and reloads every group of sum(int8),
// avg(float8) and count(*) accumulators (8 rows per group), reporting
// ns and encoded bytes per group.
func BenchmarkGroupState(b *testing.B) {
	const ngroups = 1 << 16
	for _, c := range []struct {
		name string
		arg  types.T
	}{{"sum", types.Int8T}, {"avg", types.Float8T}, {"count", types.Int8T}} {
		b.Run(fmt.Sprintf("%s(%v)", c.name, c.arg), func(b *testing.B) {
			mem := memory.NewGoAllocator()
			ctx := &kernels.EvalContext{Mem: mem}
			r := rand.New(rand.NewPCG(1, 2))
			ts := []types.T{c.arg}
			f := lookup(b, registry(), c.name, ts)
			mk := func() kernels.GroupedAcc {
				acc := f.New(ts, f.ResultType(ts))
				acc.Grow(ngroups)
				return acc
			}
			src, dst := mk(), mk()
			var arr arrow.Array
			if c.arg.Family == types.FamFloat8 {
				bb := array.NewFloat64Builder(mem)
				for i := 0; i < 8*ngroups; i++ {
					bb.Append(r.NormFloat64() * 1000)
				}
				arr = bb.NewArray()
				bb.Release()
			} else {
				vals := make([]int64, 8*ngroups)
				for i := range vals {
					vals[i] = r.Int64N(1_000_000)
				}
				arr = int64Array(mem, vals)
			}
			defer arr.Release()
			groups := make([]uint32, arr.Len())
			for i := range groups {
				groups[i] = uint32(i % ngroups)
			}
			if err := src.Update(ctx, groups, []arrow.Array{arr}); err != nil {
				b.Fatal(err)
			}
			save, load := src.(kernels.GroupStater), dst.(kernels.GroupStater)
			var buf []byte
			bytes := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bytes = 0
				for g := uint32(0); g < ngroups; g++ {
					buf = save.AppendGroupState(buf[:0], g)
					bytes += len(buf)
					if err := load.LoadGroupState(g, buf); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/ngroups, "ns/group")
			b.ReportMetric(float64(bytes)/ngroups, "bytes/group")
		})
	}
}
