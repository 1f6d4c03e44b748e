package fin

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// fcol is a float8 test column; null[i] marks NULL rows.
type fcol struct {
	v    []float64
	null []bool
}

func (c fcol) isNull(i int) bool { return c.null != nil && c.null[i] }

func (c fcol) array() arrow.Array {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i, v := range c.v {
		if c.isNull(i) {
			b.AppendNull()
		} else {
			b.Append(v)
		}
	}
	return b.NewArray()
}

// konst is a column of n copies of v.
func konst(v float64, n int) fcol {
	c := fcol{v: make([]float64, n)}
	for i := range c.v {
		c.v[i] = v
	}
	return c
}

func tsArray(ts []int64, t types.T) arrow.Array {
	b := array.NewBuilder(memory.DefaultAllocator, types.ArrowType(t))
	defer b.Release()
	for _, v := range ts {
		switch bb := b.(type) {
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(v))
		case *array.Int64Builder:
			bb.Append(v)
		}
	}
	return b.NewArray()
}

// newReg returns a registry holding only this package's functions.
func newReg() *kernels.Registry {
	r := kernels.NewRegistry()
	Register(r)
	return r
}

// aggOf finds the overload of name whose declared args equal argT by family.
func aggOf(t testing.TB, name string, argT ...types.T) *kernels.AggFunc {
	t.Helper()
	for _, f := range newReg().Aggs(name) {
		if len(f.Args) != len(argT) {
			continue
		}
		ok := true
		for i, a := range f.Args {
			if a.Family != types.FamAny && a.Family != argT[i].Family {
				ok = false
			}
		}
		if ok {
			return f
		}
	}
	t.Fatalf("no aggregate %s%v", name, argT)
	return nil
}

func f8s(n int) []types.T {
	out := make([]types.T, n)
	for i := range out {
		out[i] = types.Float8T
	}
	return out
}

// result is one group's output: ok=false is NULL.
type result struct {
	v  float64
	ok bool
}

// runAgg feeds rows to a fresh accumulator of fn in batches of batch rows
// (sliced, so array offsets are exercised) and returns every group's result.
func runAgg(t testing.TB, fn *kernels.AggFunc, argT []types.T, groups []uint32, ngroups int, cols []arrow.Array, batch int) ([]result, error) {
	t.Helper()
	acc := fn.New(argT, fn.ResultType(argT))
	acc.Grow(ngroups)
	ctx := &kernels.EvalContext{Mem: memory.DefaultAllocator}
	n := len(groups)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		sl := make([]arrow.Array, len(cols))
		for i, c := range cols {
			sl[i] = array.NewSlice(c, int64(lo), int64(hi))
		}
		err := acc.Update(ctx, groups[lo:hi], sl)
		for _, s := range sl {
			s.Release()
		}
		if err != nil {
			return nil, err
		}
	}
	return finish(t, acc, fn.ResultType(argT)), nil
}

// finish returns the float results of every group.
func finish(t testing.TB, acc kernels.GroupedAcc, ret types.T) []result {
	t.Helper()
	b := array.NewBuilder(memory.DefaultAllocator, types.ArrowType(ret))
	defer b.Release()
	require.NoError(t, acc.Finish(&kernels.EvalContext{}, b))
	arr := b.NewArray()
	defer arr.Release()
	out := make([]result, arr.Len())
	fa := arr.(*array.Float64)
	for i := range out {
		if fa.IsValid(i) {
			out[i] = result{fa.Value(i), true}
		}
	}
	return out
}

// requireClose compares results with a reference: same NULLs, values
// within tol·scale (scale ≥ 1e-300 avoids a zero tolerance).
func requireClose(t testing.TB, want, got []result, tol float64, scale []float64, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	for g := range want {
		require.Equal(t, want[g].ok, got[g].ok, "%s: group %d NULL-ness (want %v got %v)", msg, g, want[g], got[g])
		if !want[g].ok {
			continue
		}
		w, v := want[g].v, got[g].v
		if math.IsNaN(w) || math.IsInf(w, 0) {
			require.Equal(t, math.Float64bits(w), math.Float64bits(v), "%s: group %d", msg, g)
			continue
		}
		s := math.Abs(w)
		if scale != nil {
			s = math.Max(s, scale[g])
		}
		require.InDelta(t, w, v, tol*math.Max(s, 1e-300), "%s: group %d", msg, g)
	}
}

// bigSum is an exact-enough reference sum (512-bit mantissa).
type bigSum struct{ f *big.Float }

func newBigSum() bigSum { return bigSum{new(big.Float).SetPrec(512)} }

func (s bigSum) add(x float64) {
	s.f.Add(s.f, new(big.Float).SetPrec(512).SetFloat64(x))
}

func (s bigSum) addProd(a, b float64) {
	p := new(big.Float).SetPrec(512).SetFloat64(a)
	p.Mul(p, new(big.Float).SetPrec(512).SetFloat64(b))
	s.f.Add(s.f, p)
}

func (s bigSum) float() float64 { v, _ := s.f.Float64(); return v }

// randData returns n rows spread over ng groups, with a fraction of NULLs
// in each column, values = offset + noise·N(0,1).
func randData(rng *rand.Rand, n, ng, ncols int, nullFrac, offset, noise float64) ([]uint32, []fcol) {
	groups := make([]uint32, n)
	for i := range groups {
		groups[i] = uint32(rng.IntN(ng))
	}
	cols := make([]fcol, ncols)
	for c := range cols {
		cols[c] = fcol{v: make([]float64, n), null: make([]bool, n)}
		for i := range cols[c].v {
			cols[c].v[i] = offset + noise*rng.NormFloat64()
			cols[c].null[i] = rng.Float64() < nullFrac
		}
	}
	return groups, cols
}

func arrays(cols ...fcol) []arrow.Array {
	out := make([]arrow.Array, len(cols))
	for i, c := range cols {
		out[i] = c.array()
	}
	return out
}

func release(as []arrow.Array) {
	for _, a := range as {
		a.Release()
	}
}

// batchSizes are the batch splits every reference test runs under.
var batchSizes = []int{1, 3, 1024}
