package fin

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// TestAlphasValid compares alphasValid with a plain loop over slices of
// every length up to 40 (blocks of eight and tails), constant or with one
// differing alpha at each position, in and out of (0, 1].
func TestAlphasValid(t *testing.T) {
	ref := func(as []float64) (bool, bool) {
		valid, same := true, true
		for _, a := range as {
			valid = valid && a > 0 && a <= 1
			same = same && math.Float64bits(a) == math.Float64bits(as[0])
		}
		return valid, same
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 40; n++ {
		for _, base := range []float64{0.06, 1, 0, 1.5, math.NaN()} {
			as := make([]float64, n)
			for i := range as {
				as[i] = base
			}
			v, s := alphasValid(as)
			rv, rs := ref(as)
			require.Equal(t, [2]bool{rv, rs}, [2]bool{v, s}, "n %d base %v", n, base)
			for p := range n {
				for _, other := range []float64{0.5, math.Copysign(0, -1), 2, math.NaN(), base + rng.Float64()} {
					old := as[p]
					as[p] = other
					v, s := alphasValid(as)
					rv, rs := ref(as)
					require.Equal(t, [2]bool{rv, rs}, [2]bool{v, s}, "n %d base %v: %v at %d", n, base, other, p)
					as[p] = old
				}
			}
		}
	}
}

// TestEWMAConstAlphaMemo feeds one ewma accumulator chunks whose alpha
// column is one shared array (as the planner's literal alpha is), prefix
// slices and offset slices of it, and other arrays: results match a plain
// fold, the shared column is scanned once, and out-of-range alphas fail
// with 22023 on every chunk, memo or not.
func TestEWMAConstAlphaMemo(t *testing.T) {
	const n = 64
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	f64 := func(vs ...float64) arrow.Array {
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.AppendValues(vs, nil)
		return b.NewArray()
	}
	fill := func(v float64, k int) []float64 {
		vs := make([]float64, k)
		for i := range vs {
			vs[i] = v
		}
		return vs
	}
	rng := rand.New(rand.NewPCG(3, 4))
	shared := f64(fill(0.25, n)...)
	defer shared.Release()
	acc := &ewmaAcc{}
	acc.Grow(4)
	want := make([]ewmaState, 4)
	// feed folds one chunk of n rows (alphas al) into acc, through Update
	// or FoldTouch, and into want by ewmaStep.
	feed := func(al arrow.Array, fused bool) error {
		k := al.Len()
		groups := make([]uint32, k)
		xs := make([]float64, k)
		for i := range groups {
			groups[i], xs[i] = uint32(rng.IntN(4)), rng.NormFloat64()
		}
		x := f64(xs...)
		defer x.Release()
		args := []arrow.Array{x, al}
		if fused {
			tc := &kernels.Touch{Book: make([]kernels.GroupBook, 4), Stamp: 1}
			ok, err := acc.FoldTouch(nil, groups, args, tc)
			if err != nil || ok {
				if err == nil {
					for i, g := range groups {
						ewmaStep(&want[g], xs[i], al.(*array.Float64).Value(i))
					}
				}
				return err
			}
		}
		if err := acc.Update(nil, groups, args); err != nil {
			return err
		}
		for i, g := range groups {
			ewmaStep(&want[g], xs[i], al.(*array.Float64).Value(i))
		}
		return nil
	}
	check := func(msg string) {
		t.Helper()
		require.Equal(t, want, acc.st[:4], msg)
	}

	for _, fused := range []bool{false, true} {
		require.NoError(t, feed(shared, fused))
		require.Same(t, shared.Data().Buffers()[1], acc.alpha.buf, "the shared column is remembered")
		p := acc.alpha.p
		require.NoError(t, feed(shared, fused))
		require.Equal(t, p, acc.alpha.p, "the shared column is not rescanned")
		check("shared column")
	}
	prefix := array.NewSlice(shared, 0, n/2)
	require.NoError(t, feed(prefix, true))
	require.Equal(t, n, acc.alpha.n, "a prefix of the shared column is the shared column")
	prefix.Release()
	offset := array.NewSlice(shared, 1, n)
	require.NoError(t, feed(offset, false))
	offset.Release()
	check("slices of the shared column")

	// Per-row alphas, one out of range: 22023 whatever was remembered.
	for _, bad := range []float64{0, 1.5, math.NaN(), -0.5} {
		vs := fill(0.25, n)
		vs[rng.IntN(n)] = bad
		al := f64(vs...)
		for _, fused := range []bool{false, true} {
			err := feed(al, fused)
			require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err), "alpha %v: %v", bad, err)
		}
		al.Release()
	}
	// Slices of one buffer (a window's frames): the remembered in-range
	// half does not vouch for the other half.
	halves := f64(append(fill(0.25, n/2), fill(1.5, n/2)...)...)
	lo, hi := array.NewSlice(halves, 0, n/2), array.NewSlice(halves, n/2, n)
	require.NoError(t, feed(lo, false))
	require.Same(t, halves.Data().Buffers()[1], acc.alpha.buf)
	for _, fused := range []bool{false, true} {
		err := feed(hi, fused)
		require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err), "%v", err)
	}
	for _, a := range []arrow.Array{lo, hi, halves} {
		a.Release()
	}
	// A constant out-of-range column fails on every chunk and is never
	// remembered.
	badConst := f64(fill(1.5, n)...)
	for range 3 {
		for _, fused := range []bool{false, true} {
			err := feed(badConst, fused)
			require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err), "%v", err)
			require.NotSame(t, badConst.Data().Buffers()[1], acc.alpha.buf)
		}
	}
	badConst.Release()
	// Valid per-row alphas (and a constant 1) fold as before.
	mixed := make([]float64, n)
	for i := range mixed {
		mixed[i] = 0.1 + 0.9*rng.Float64()
	}
	for _, vs := range [][]float64{mixed, fill(1, n)} {
		al := f64(vs...)
		require.NoError(t, feed(al, true))
		require.NoError(t, feed(al, false))
		al.Release()
	}
	check("per-row and unit alphas")
	require.NoError(t, feed(shared, true))
	check("shared column again")
}
