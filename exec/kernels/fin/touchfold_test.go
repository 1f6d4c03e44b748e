package fin

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TestEWMAFoldTouchMatchesUpdate folds random batches through ewma's
// FoldTouch and, on a second accumulator, through kernels.TouchRows then
// Update: the same group states and the same bookkeeping (row counts,
// stamps, first-touch order and old existence) after every batch, over
// epochs; batches FoldTouch refuses (NULLs, per-row alphas, alpha 1, an
// alpha out of range) leave state and bookkeeping untouched and go the
// generic way on both.
func TestEWMAFoldTouchMatchesUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 4))
	fn := aggOf(t, "ewma", f8s(2)...)
	ctx := &kernels.EvalContext{}
	took := 0
	for iter := range 30 {
		ng := 1 + rng.IntN(300)
		fused := fn.New(f8s(2), types.Float8T)
		plain := fn.New(f8s(2), types.Float8T)
		fused.Grow(ng)
		plain.Grow(ng)
		tf := fused.(kernels.TouchFolder)
		tA := kernels.Touch{Book: make([]kernels.GroupBook, ng), Stamp: 1}
		tB := kernels.Touch{Book: make([]kernels.GroupBook, ng), Stamp: 1}
		for batch := range 40 {
			if rng.IntN(4) == 0 { // a new epoch
				tA.Stamp++
				tB.Stamp++
				tA.Dirty, tA.OldExists = tA.Dirty[:0], tA.OldExists[:0]
				tB.Dirty, tB.OldExists = tB.Dirty[:0], tB.OldExists[:0]
			}
			n := []int{1, 2, 7, 100, 1024}[rng.IntN(5)]
			groups := make([]uint32, n)
			for i := range groups {
				groups[i] = uint32(rng.IntN(ng))
			}
			x := fcol{v: make([]float64, n)}
			for i := range x.v {
				x.v[i] = 100 + rng.NormFloat64()
				if rng.IntN(80) == 0 {
					x.v[i] = []float64{math.Inf(1), math.Inf(-1), math.NaN()}[rng.IntN(3)]
				}
			}
			a := konst([]float64{0.06, 0.5, 0.94}[rng.IntN(3)], n)
			kind := rng.IntN(8)
			switch kind {
			case 0:
				x.null = make([]bool, n)
				x.null[rng.IntN(n)] = true
			case 1:
				a.v[rng.IntN(n)] = 0.3
			case 2:
				a = konst(1, n)
			case 3:
				a.v[rng.IntN(n)] = []float64{0, 1.5, -1, math.NaN()}[rng.IntN(4)]
			}
			args := arrays(x, a)
			bookBefore := append([]kernels.GroupBook(nil), tA.Book...)
			dirtyBefore := len(tA.Dirty)
			ok, err := tf.FoldTouch(ctx, groups, args, &tA)
			require.NoError(t, err)
			require.Equal(t, kind >= 4 || (kind == 1 && n == 1), ok, "iter %d batch %d kind %d", iter, batch, kind)
			var errA error
			if ok {
				took++
			} else {
				require.Equal(t, bookBefore, tA.Book, "a refused batch touched the book")
				require.Len(t, tA.Dirty, dirtyBefore)
				kernels.TouchRows(groups, &tA)
				errA = fused.Update(ctx, groups, args)
			}
			kernels.TouchRows(groups, &tB)
			errB := plain.Update(ctx, groups, args)
			release(args)
			require.Equal(t, errB != nil, errA != nil, "iter %d batch %d", iter, batch)
			if errB != nil {
				require.Equal(t, 3, kind)
				break
			}
			require.Equal(t, tB.Book, tA.Book, "iter %d batch %d", iter, batch)
			require.Equal(t, tB.Dirty, tA.Dirty, "iter %d batch %d", iter, batch)
			require.Equal(t, tB.OldExists, tA.OldExists, "iter %d batch %d", iter, batch)
			require.Equal(t, finishBits(t, plain), finishBits(t, fused), "iter %d batch %d", iter, batch)
		}
	}
	require.Positive(t, took)
}

// finishBits is every group's result as bits (NaN-safe comparison), NULL
// as a marker.
func finishBits(t *testing.T, acc kernels.GroupedAcc) []uint64 {
	rs := finish(t, acc, types.Float8T)
	out := make([]uint64, len(rs))
	for i, r := range rs {
		if !r.ok {
			out[i] = 1<<64 - 1
			continue
		}
		out[i] = math.Float64bits(r.v)
	}
	return out
}
