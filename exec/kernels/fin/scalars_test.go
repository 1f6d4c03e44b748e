package fin

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

func scalarOf(t *testing.T, name string, argT ...types.T) *kernels.ScalarFunc {
	t.Helper()
	for _, f := range newReg().Scalars(name) {
		if len(f.Args) == len(argT) && f.Args[0].Family == argT[0].Family {
			return f
		}
	}
	t.Fatalf("no scalar %s%v", name, argT)
	return nil
}

// bigRef evaluates a reference formula in 512-bit floats; ok=false is NULL.
type bigRef func(x []*big.Float) (*big.Float, bool)

func nb() *big.Float { return new(big.Float).SetPrec(512) }

// sizeArgs are the arguments that are order sizes (kept non-negative:
// a negative size makes the formulas ill-conditioned, not wrong).
var sizeArgs = map[string][]int{"microprice": {1, 3}, "l1_imbalance": {0, 1}}

var scalarRefs = map[string]struct {
	arity int
	ref   bigRef
}{
	"midprice": {2, func(x []*big.Float) (*big.Float, bool) {
		s := nb().Add(x[0], x[1])
		return s.Quo(s, bf(2)), true
	}},
	"microprice": {4, func(x []*big.Float) (*big.Float, bool) {
		d := nb().Add(x[1], x[3])
		if d.Sign() == 0 {
			return nil, false
		}
		num := nb().Add(nb().Mul(x[0], x[3]), nb().Mul(x[2], x[1]))
		return num.Quo(num, d), true
	}},
	"spread_bps": {2, func(x []*big.Float) (*big.Float, bool) {
		mid := nb().Add(x[0], x[1])
		if mid.Sign() == 0 {
			return nil, false
		}
		mid.Quo(mid, bf(2))
		s := nb().Sub(x[1], x[0])
		s.Quo(s, mid)
		return s.Mul(s, bf(1e4)), true
	}},
	"l1_imbalance": {2, func(x []*big.Float) (*big.Float, bool) {
		d := nb().Add(x[0], x[1])
		if d.Sign() == 0 {
			return nil, false
		}
		n := nb().Sub(x[0], x[1])
		return n.Quo(n, d), true
	}},
	"log_return": {2, func(x []*big.Float) (*big.Float, bool) {
		if x[0].Sign() <= 0 || x[1].Sign() <= 0 {
			return nil, false
		}
		// ln(p/q) = log1p(p/q − 1) computed from the exact ratio.
		r := nb().Quo(x[0], x[1])
		rf, _ := r.Float64()
		if math.Abs(rf-1) < 0.5 {
			d, _ := nb().Sub(r, bf(1)).Float64()
			return bf(math.Log1p(d)), true
		}
		return bf(math.Log(rf)), true
	}},
}

// TestScalarsAgainstReference checks Vec and Eval on random quotes (with
// NULLs, zero sizes and equal prices) against the big.Float formulas.
func TestScalarsAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	const n = 2000
	for name, sr := range scalarRefs {
		for _, offset := range []float64{0, 100, 1e9} {
			cols := make([]fcol, sr.arity)
			for c := range cols {
				cols[c] = fcol{v: make([]float64, n), null: make([]bool, n)}
				for i := range cols[c].v {
					v := offset + rng.NormFloat64()
					switch rng.IntN(20) {
					case 0:
						v = 0
					case 1:
						v = -v
					}
					cols[c].v[i] = v
					cols[c].null[i] = rng.IntN(15) == 0
				}
			}
			for _, c := range sizeArgs[name] {
				for i, v := range cols[c].v {
					cols[c].v[i] = math.Abs(v)
				}
			}
			fn := scalarOf(t, name, f8s(sr.arity)...)
			arrs := arrays(cols...)
			out, err := fn.Vec(&kernels.EvalContext{}, arrs, n)
			require.NoError(t, err)
			fa := out.(*array.Float64)
			for i := 0; i < n; i++ {
				var want *big.Float
				ok := complete(cols, i)
				if ok {
					x := make([]*big.Float, sr.arity)
					for c := range x {
						x[c] = bf(cols[c].v[i])
					}
					want, ok = sr.ref(x)
				}
				require.Equal(t, ok, fa.IsValid(i), "%s row %d", name, i)
				// Eval agrees with Vec.
				args := make([]types.Datum, sr.arity)
				for c := range args {
					args[c] = types.GetDatum(arrs[c], i, types.Float8T)
				}
				ev, err := fn.Eval(&kernels.EvalContext{}, args)
				require.NoError(t, err)
				if !ok {
					require.Nil(t, ev, "%s row %d", name, i)
					continue
				}
				w := bfv(want)
				got := fa.Value(i)
				require.Equal(t, got, ev, "%s row %d: Eval vs Vec", name, i)
				require.InDelta(t, w, got, 1e-9*math.Max(1, math.Abs(w)), "%s row %d offset %v", name, i, offset)
			}
			out.Release()
			release(arrs)
		}
	}
}

func TestScalarEdges(t *testing.T) {
	call := func(name string, args ...float64) types.Datum {
		ds := make([]types.Datum, len(args))
		for i, a := range args {
			ds[i] = a
		}
		v, err := scalarOf(t, name, f8s(len(args))...).Eval(&kernels.EvalContext{}, ds)
		require.NoError(t, err)
		return v
	}
	require.Equal(t, 100.5, call("midprice", 100, 101))
	require.Equal(t, math.MaxFloat64, call("midprice", math.MaxFloat64, math.MaxFloat64), "no overflow")
	require.Equal(t, 100.25, call("microprice", 100, 1, 101, 3), "weights towards the thinner side")
	require.Nil(t, call("microprice", 100, 0, 101, 0))
	require.InDelta(t, 99.50248756, call("spread_bps", 100, 101), 1e-8)
	require.Nil(t, call("spread_bps", -1, 1))
	require.Equal(t, 0.5, call("l1_imbalance", 3, 1))
	require.Nil(t, call("l1_imbalance", 0, 0))
	require.Equal(t, 0.0, call("log_return", 5, 5))
	require.Nil(t, call("log_return", 5, 0))
	require.Nil(t, call("log_return", -5, 5))
	require.InDelta(t, math.Log(1e300)-math.Log(1e-300), call("log_return", 1e300, 1e-300), 1e-9, "ratio overflow")
	require.True(t, math.IsNaN(call("log_return", math.NaN(), 1).(float64)))
}

func TestScalarAllNullArgument(t *testing.T) {
	fn := scalarOf(t, "midprice", types.Float8T, types.Float8T)
	b := fcol{v: []float64{1, 2}}.array()
	defer b.Release()
	out, err := fn.Vec(&kernels.EvalContext{}, []arrow.Array{array.NewNull(2), b}, 2)
	require.NoError(t, err)
	require.Equal(t, 2, out.NullN())
	out.Release()
}

func TestMidpriceNumeric(t *testing.T) {
	fn := scalarOf(t, "midprice", types.NumericT, types.NumericT)
	require.Equal(t, types.NumericT.Family, fn.Ret.Family)
	dec := func(s string) *apd.Decimal {
		d, _, err := apd.NewFromString(s)
		require.NoError(t, err)
		return d
	}
	for _, c := range []struct{ a, b, want string }{
		{"100.10", "100.20", "100.150"},
		{"1", "2", "1.5"},
		{"100.1", "100.25", "100.175"},
		{"-3", "3", "0.0"},
		{"123456789012345678901234567890.123", "0.001", "61728394506172839450617283945.0620"},
		{"NaN", "1", "NaN"},
		{"Infinity", "1", "Infinity"},
		{"Infinity", "-Infinity", "NaN"},
		{"-Infinity", "-Infinity", "-Infinity"},
	} {
		v, err := fn.Eval(&kernels.EvalContext{}, []types.Datum{dec(c.a), dec(c.b)})
		require.NoError(t, err)
		require.Equal(t, c.want, v.(*apd.Decimal).String(), "midprice(%s, %s)", c.a, c.b)
	}
	v, err := fn.Eval(&kernels.EvalContext{}, []types.Datum{nil, dec("1")})
	require.NoError(t, err)
	require.Nil(t, v)
}
