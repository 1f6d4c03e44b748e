package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec/vectest"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TestRetractableMinMax inserts rows, deletes a random subset, and compares
// with min/max over the surviving rows.
func TestRetractableMinMax(t *testing.T) {
	r := newRand(t)
	mem := memory.NewGoAllocator()
	ctx := &kernels.EvalContext{Mem: mem}
	for _, typ := range vectest.TestTypes {
		if typ.Family == types.FamBool || typ.Family == types.FamBytea {
			continue
		}
		for _, isMax := range []bool{false, true} {
			n, ngroups := 1+r.IntN(200), 1+r.IntN(4)
			arr, ds := vectest.RandArray(r, mem, typ, n, 10)
			groups := make([]uint32, n)
			del := make([]uint32, n)
			for i := range groups {
				groups[i] = uint32(r.IntN(ngroups))
				del[i] = NoGroup
				if r.IntN(2) == 0 {
					del[i] = groups[i]
				}
			}
			acc := NewRetractableMinMax(typ, isMax)
			acc.Grow(ngroups)
			require.NoError(t, acc.Update(ctx, groups, []arrow.Array{arr}))
			require.NoError(t, acc.(kernels.Retractor).Retract(ctx, del, []arrow.Array{arr}))
			b := array.NewBuilder(mem, types.ArrowType(typ))
			require.NoError(t, acc.Finish(ctx, b))
			out := b.NewArray()
			for g := 0; g < ngroups; g++ {
				var want types.Datum
				for i := range ds {
					if groups[i] != uint32(g) || del[i] != NoGroup || ds[i] == nil {
						continue
					}
					c := 0
					if want != nil {
						c = vectest.NaiveCompare(ds[i], want, typ)
					}
					if want == nil || (isMax && c > 0) || (!isMax && c < 0) {
						want = ds[i]
					}
				}
				got := types.GetDatum(out, g, typ)
				if want == nil {
					require.Nil(t, got)
					continue
				}
				require.Equal(t, 0, vectest.NaiveCompare(want, got, typ), "%v max=%v group %d: want %v got %v", typ, isMax, g, want, got)
			}
			out.Release()
			b.Release()
			arr.Release()
		}
	}
}
