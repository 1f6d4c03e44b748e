package fin

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

func TestTwapAgainstReference(t *testing.T) {
	for _, tt := range []types.T{types.TimestampTZT, types.TimestampT, types.Int8T} {
		for si, sc := range scenarios {
			seed := uint64(77 + si)
			rng := rand.New(rand.NewPCG(seed, 3))
			d := genData(seed, sc, 1)
			n := len(d.groups)
			// Increasing timestamps with repeats; some NULL.
			ts := make([]int64, n)
			tsNull := make([]bool, n)
			cur := int64(1_700_000_000_000_000)
			for i := range ts {
				if rng.IntN(4) != 0 {
					cur += int64(rng.IntN(5_000_000))
				}
				ts[i] = cur
				tsNull[i] = rng.Float64() < sc.nullFrq/2 && i != n-1
			}
			// One group whose rows all share one instant.
			d.groups = append(d.groups, uint32(d.ng))
			d.groups = append(d.groups, uint32(d.ng))
			d.cols[0].v = append(d.cols[0].v, 3, 4)
			d.cols[0].null = append(d.cols[0].null, false, false)
			ts = append(ts, cur, cur)
			tsNull = append(tsNull, false, false)
			d.ng++

			rows := d.rowsOf()
			want := make([]result, d.ng)
			scale := make([]float64, d.ng)
			for g, rs := range rows {
				var kept []int
				for _, i := range rs {
					if !d.cols[0].isNull(i) && !tsNull[i] {
						kept = append(kept, i)
						scale[g] = math.Max(scale[g], math.Abs(d.cols[0].v[i]))
					}
				}
				switch {
				case len(kept) == 0:
				case ts[kept[len(kept)-1]] == ts[kept[0]]:
					want[g] = result{d.cols[0].v[kept[len(kept)-1]], true}
				default:
					area := newBigSum()
					for k := 0; k+1 < len(kept); k++ {
						area.addProd(d.cols[0].v[kept[k]], float64(ts[kept[k+1]]-ts[kept[k]]))
					}
					span := bf(float64(ts[kept[len(kept)-1]] - ts[kept[0]]))
					want[g] = result{bfv(area.f.Quo(area.f, span)), true}
				}
			}
			require.Equal(t, result{4, true}, want[d.ng-1])
			pa := d.cols[0].array()
			tb := array.NewBuilder(memory.DefaultAllocator, types.ArrowType(tt))
			for i, v := range ts {
				switch {
				case tsNull[i]:
					tb.AppendNull()
				case tt.Family == types.FamInt8:
					tb.(*array.Int64Builder).Append(v)
				default:
					tb.(*array.TimestampBuilder).Append(arrow.Timestamp(v))
				}
			}
			ta := tb.NewArray()
			tb.Release()
			argT := []types.T{types.Float8T, tt}
			fn := aggOf(t, "twap", argT...)
			for _, bs := range batchSizes {
				msg := fmt.Sprintf("twap(%v)/%s/batch=%d", tt.Family, sc.name, bs)
				got, err := runAgg(t, fn, argT, d.groups, d.ng, []arrow.Array{pa, ta}, bs)
				require.NoError(t, err, msg)
				requireClose(t, want, got, 1e-14, scale, msg)
			}
			pa.Release()
			ta.Release()
		}
	}
}

func TestTwapOutOfOrder(t *testing.T) {
	p := fcol{v: []float64{1, 2}}.array()
	defer p.Release()
	ts := tsArray([]int64{10, 5}, types.TimestampTZT)
	defer ts.Release()
	argT := []types.T{types.Float8T, types.TimestampTZT}
	_, err := runAgg(t, aggOf(t, "twap", argT...), argT, []uint32{0, 0}, 1, []arrow.Array{p, ts}, 2)
	require.Equal(t, pgerror.DataException, pgerror.CodeOf(err))
	// Different groups may interleave freely.
	got, err := runAgg(t, aggOf(t, "twap", argT...), argT, []uint32{0, 1}, 2, []arrow.Array{p, ts}, 2)
	require.NoError(t, err)
	require.Equal(t, []result{{1, true}, {2, true}}, got)
}

func TestParameterRange(t *testing.T) {
	run := func(name string, vals ...float64) error {
		cols := make([]fcol, len(vals))
		for i, v := range vals {
			cols[i] = fcol{v: []float64{v, v}}
		}
		arrs := arrays(cols...)
		defer release(arrs)
		_, err := runAgg(t, aggOf(t, name, f8s(len(vals))...), f8s(len(vals)), []uint32{0, 0}, 1, arrs, 2)
		return err
	}
	for _, a := range []float64{0, -0.5, 1.0000001, math.NaN(), math.Inf(1)} {
		require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(run("ewma", 1, a)), "alpha %v", a)
	}
	require.NoError(t, run("ewma", 1, 1))
	require.NoError(t, run("ewma", 1, 1e-300))
	for _, name := range []string{"ewvar", "ewstd"} {
		for _, l := range []float64{1, -0.1, math.NaN()} {
			require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(run(name, 1, l)), "%s lambda %v", name, l)
		}
		require.NoError(t, run(name, 1, 0))
	}
	for _, name := range []string{"ewcov", "ewcorr"} {
		require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(run(name, 1, 1, 1)))
		require.NoError(t, run(name, 1, 1, 0.5))
	}
}

func TestNullParameterSkipsRow(t *testing.T) {
	x := fcol{v: []float64{1, 100, 3}}
	a := fcol{v: []float64{0.5, 0.5, 0.5}, null: []bool{false, true, false}}
	arrs := arrays(x, a)
	defer release(arrs)
	got, err := runAgg(t, aggOf(t, "ewma", f8s(2)...), f8s(2), []uint32{0, 0, 0}, 1, arrs, 3)
	require.NoError(t, err)
	require.Equal(t, []result{{2, true}}, got)
}

// TestAllNullArgument feeds an Arrow Null array (a literal NULL argument):
// every group stays empty.
func TestAllNullArgument(t *testing.T) {
	for _, name := range []string{"ewma", "ewvar", "vwap", "realized_var", "bipower_var", "zscore", "ofi", "ewcov", "first", "last"} {
		fn := newReg().Aggs(name)[0]
		argT := fn.Args
		if argT[0].Family == types.FamAny {
			argT = f8s(1)
		}
		arrs := make([]arrow.Array, len(argT))
		for i := range arrs {
			if i == 0 {
				arrs[i] = array.NewNull(2)
			} else {
				arrs[i] = konst(0.5, 2).array()
			}
		}
		got, err := runAgg(t, fn, argT, []uint32{0, 1}, 2, arrs, 2)
		require.NoError(t, err, name)
		require.Equal(t, []result{{}, {}}, got, name)
		release(arrs)
	}
}

func TestNoGroupRowsSkipped(t *testing.T) {
	x := fcol{v: []float64{1, 1000, 3}}
	arrs := arrays(x, konst(0.5, 3))
	defer release(arrs)
	got, err := runAgg(t, aggOf(t, "ewma", f8s(2)...), f8s(2), []uint32{0, kernels.NoGroup, 0}, 1, arrs, 3)
	require.NoError(t, err)
	require.Equal(t, []result{{2, true}}, got)
}

func TestArgumentCountIsInternalError(t *testing.T) {
	for _, name := range []string{"ewma", "ofi", "twap", "vwap", "first"} {
		fn := newReg().Aggs(name)[0]
		argT := fn.Args
		if argT[0].Family == types.FamAny {
			argT = f8s(1)
		}
		acc := fn.New(argT, fn.ResultType(argT))
		acc.Grow(1)
		err := acc.Update(&kernels.EvalContext{}, []uint32{0}, nil)
		require.Equal(t, pgerror.InternalError, pgerror.CodeOf(err), name)
	}
}

// TestRetract checks vwap and realized_var: Update everything, Retract a
// random subset (including rows of the 1e9 scale), compare with the
// reference over the remaining rows; retracting every row gives NULL.
func TestRetract(t *testing.T) {
	ctx := &kernels.EvalContext{}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, name := range []string{"vwap", "realized_var"} {
		nc := 1
		if name == "vwap" {
			nc = 2
		}
		const n, ng = 600, 5
		groups := make([]uint32, n)
		cols := make([]fcol, nc)
		for c := range cols {
			cols[c] = fcol{v: make([]float64, n), null: make([]bool, n)}
		}
		retract := make([]bool, n)
		for i := range groups {
			groups[i] = uint32(rng.IntN(ng))
			retract[i] = rng.IntN(3) != 0
			big := 1e9
			if !retract[i] {
				big = 1 // survivors are small: retraction must cancel the big ones exactly enough
			}
			cols[0].v[i] = big * (1 + rng.Float64())
			cols[0].null[i] = rng.IntN(10) == 0
			if nc == 2 {
				cols[1].v[i] = float64(1 + rng.IntN(100))
			}
		}
		// Group ng-1 is retracted completely.
		for i := range groups {
			if groups[i] == ng-1 {
				retract[i] = true
			}
		}
		fn := aggOf(t, name, f8s(nc)...)
		acc := fn.New(f8s(nc), types.Float8T)
		acc.Grow(ng)
		arrs := arrays(cols...)
		require.NoError(t, acc.Update(ctx, groups, arrs))
		rg := make([]uint32, n)
		for i, g := range groups {
			rg[i] = kernels.NoGroup
			if retract[i] {
				rg[i] = g
			}
		}
		require.NoError(t, acc.(kernels.Retractor).Retract(ctx, rg, arrs))
		release(arrs)
		got := finish(t, acc, types.Float8T)
		want := make([]result, ng)
		for g := range want {
			num, den := newBigSum(), newBigSum()
			k := 0
			for i := range groups {
				if int(groups[i]) != g || retract[i] || !complete(cols, i) {
					continue
				}
				k++
				if nc == 2 {
					num.addProd(cols[0].v[i], cols[1].v[i])
					den.add(cols[1].v[i])
				} else {
					num.addProd(cols[0].v[i], cols[0].v[i])
				}
			}
			if k == 0 {
				continue
			}
			if nc == 2 {
				want[g] = result{bfv(new(big.Float).SetPrec(512).Quo(num.f, den.f)), true}
			} else {
				want[g] = result{num.float(), true}
			}
		}
		require.False(t, want[ng-1].ok)
		requireClose(t, want, got, 1e-9, nil, name)
	}
}

func TestFirstLastTypes(t *testing.T) {
	mem := memory.DefaultAllocator
	dec := func(s string) *apd.Decimal {
		d, _, err := apd.NewFromString(s)
		require.NoError(t, err)
		return d
	}
	groups := []uint32{0, 1, 0, 1, 0}
	cases := []struct {
		t          types.T
		vals       []types.Datum
		first, lst []types.Datum
	}{
		{types.Int8T, []types.Datum{nil, int64(2), int64(3), nil, int64(5)}, []types.Datum{int64(3), int64(2)}, []types.Datum{int64(5), int64(2)}},
		{types.Int4T, []types.Datum{int64(1), int64(2), int64(3), int64(4), nil}, []types.Datum{int64(1), int64(2)}, []types.Datum{int64(3), int64(4)}},
		{types.TextT, []types.Datum{"a", nil, "b", "c", "d"}, []types.Datum{"a", "c"}, []types.Datum{"d", "c"}},
		{types.TimestampTZT, []types.Datum{types.TimestampTZ(9), nil, nil, nil, types.TimestampTZ(7)}, []types.Datum{types.TimestampTZ(9), nil}, []types.Datum{types.TimestampTZ(7), nil}},
		{types.BoolT, []types.Datum{true, false, false, nil, nil}, []types.Datum{true, false}, []types.Datum{false, false}},
		{types.NumericT, []types.Datum{nil, nil, nil, nil, nil}, []types.Datum{nil, nil}, []types.Datum{nil, nil}},
		{types.NumericT, []types.Datum{dec("1.50"), nil, dec("2"), dec("-0.001"), nil}, []types.Datum{dec("1.50"), dec("-0.001")}, []types.Datum{dec("2"), dec("-0.001")}},
		{types.Int2T, []types.Datum{int64(1), int64(2), int64(3), int64(4), int64(5)}, []types.Datum{int64(1), int64(2)}, []types.Datum{int64(5), int64(4)}},
		{types.Float4T, []types.Datum{float64(1.5), nil, nil, float64(2.5), float64(-1)}, []types.Datum{1.5, 2.5}, []types.Datum{-1.0, 2.5}},
		{types.DateT, []types.Datum{types.Date(3), types.Date(1), nil, nil, nil}, []types.Datum{types.Date(3), types.Date(1)}, []types.Datum{types.Date(3), types.Date(1)}},
	}
	for _, c := range cases {
		b := array.NewBuilder(mem, types.ArrowType(c.t))
		for _, v := range c.vals {
			types.AppendDatum(b, v, c.t)
		}
		arr := b.NewArray()
		b.Release()
		for _, last := range []bool{false, true} {
			name := "first"
			want := c.first
			if last {
				name, want = "last", c.lst
			}
			fn := aggOf(t, name, c.t)
			for _, bs := range batchSizes {
				acc := fn.New([]types.T{c.t}, fn.ResultType([]types.T{c.t}))
				acc.Grow(2)
				for lo := 0; lo < len(groups); lo += bs {
					hi := min(lo+bs, len(groups))
					sl := array.NewSlice(arr, int64(lo), int64(hi))
					require.NoError(t, acc.Update(&kernels.EvalContext{}, groups[lo:hi], []arrow.Array{sl}))
					sl.Release()
				}
				out := array.NewBuilder(mem, types.ArrowType(c.t))
				require.NoError(t, acc.Finish(&kernels.EvalContext{}, out))
				res := out.NewArray()
				out.Release()
				for g := range want {
					got := types.GetDatum(res, g, c.t)
					require.Equal(t, want[g], got, "%s(%v) batch %d group %d", name, c.t.Family, bs, g)
				}
				res.Release()
			}
		}
		arr.Release()
	}
}

// TestWelfordSliding checks the O(1) add/remove moments behind zscore
// against a two-pass reference over each window of a stream with a large
// offset.
func TestWelfordSliding(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, sc := range scenarios {
		const n, width = 3000, 10
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = sc.offset + sc.noise*rng.NormFloat64()
		}
		var w welford
		for i, x := range xs {
			w.add(x)
			if i >= width {
				w.remove(xs[i-width])
			}
			lo := max(0, i-width+1)
			win := xs[lo : i+1]
			sum := newBigSum()
			for _, v := range win {
				sum.add(v)
			}
			mean := new(big.Float).SetPrec(512).Quo(sum.f, bf(float64(len(win))))
			ss := newBigSum()
			for _, v := range win {
				d := new(big.Float).SetPrec(512).Sub(bf(v), mean)
				ss.f.Add(ss.f, d.Mul(d, d))
			}
			sd, ok := w.stddevSamp()
			require.Equal(t, len(win) >= 2, ok)
			if !ok {
				continue
			}
			want := bfv(new(big.Float).SetPrec(512).Sqrt(ss.f.Quo(ss.f, bf(float64(len(win)-1)))))
			require.InEpsilon(t, want, sd, 1e-6, "%s row %d", sc.name, i)
		}
		// Removing everything resets exactly.
		for i := n - width; i < n; i++ {
			w.remove(xs[i])
		}
		require.Equal(t, welford{}, w)
	}
}

// TestInfinities: non-finite inputs behave as the textbook recursion in
// float arithmetic (∞ stays ∞; ∞ and −∞ give NaN).
func TestInfinities(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		name string
		x    []float64
		p    float64
		want float64
	}{
		{"ewma", []float64{inf, inf}, 0.5, inf},
		{"ewma", []float64{1, inf}, 0.5, inf},
		{"ewma", []float64{inf, 1}, 0.5, inf},
		{"ewma", []float64{inf, -inf}, 0.5, math.NaN()},
		{"ewvar", []float64{inf, 1}, 0.5, inf},
		{"ewvar", []float64{1, inf}, 0.5, inf},
	} {
		arrs := arrays(fcol{v: c.x}, konst(c.p, len(c.x)))
		got, err := runAgg(t, aggOf(t, c.name, f8s(2)...), f8s(2), make([]uint32, len(c.x)), 1, arrs, 2)
		release(arrs)
		require.NoError(t, err)
		require.True(t, got[0].ok)
		if math.IsNaN(c.want) {
			require.True(t, math.IsNaN(got[0].v), "%s%v", c.name, c.x)
		} else {
			require.Equal(t, c.want, got[0].v, "%s%v", c.name, c.x)
		}
	}
}

// TestEWMAAppendGroupResults checks that ewma's batched results equal its
// one-group results (NULL groups, repeated and unordered ids included) and
// that an id beyond the groups is an internal error, not a panic.
func TestEWMAAppendGroupResults(t *testing.T) {
	reg := kernels.NewRegistry()
	Register(reg)
	f8 := []types.T{types.Float8T, types.Float8T}
	acc := reg.Aggs("ewma")[0].New(f8, types.Float8T)
	acc.Grow(5)
	x := fcol{v: []float64{1, 2, 3, 4, 5, 6}, null: []bool{false, false, true, false, false, false}}
	xa, aa := x.array(), konst(0.3, 6).array()
	defer xa.Release()
	defer aa.Release()
	require.NoError(t, acc.Update(nil, []uint32{0, 1, 2, 0, 3, 1}, []arrow.Array{xa, aa}))
	gs := []uint32{4, 1, 0, 2, 3, 1}
	one := array.NewFloat64Builder(memory.DefaultAllocator)
	defer one.Release()
	for _, g := range gs {
		require.NoError(t, acc.(kernels.GroupResulter).AppendResult(nil, g, one))
	}
	want := one.NewArray()
	defer want.Release()
	type batched interface {
		AppendGroupResults(*kernels.EvalContext, []uint32, array.Builder) error
	}
	ba, ok := acc.(batched)
	require.True(t, ok)
	many := array.NewFloat64Builder(memory.DefaultAllocator)
	defer many.Release()
	require.NoError(t, ba.AppendGroupResults(nil, gs, many))
	got := many.NewArray()
	defer got.Release()
	require.True(t, array.Equal(want, got), "want %v got %v", want, got)
	require.Equal(t, 2, got.NullN()) // groups 4 and 2 saw no value
	err := ba.AppendGroupResults(nil, []uint32{9}, many)
	require.Error(t, err)
	many.NewArray().Release()
}
