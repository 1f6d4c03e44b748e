package fin

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Quote scalars. All are strict (a NULL argument gives NULL) and
// immutable. Where the formula is undefined for the inputs (a zero
// denominator, the logarithm of a non-positive ratio) the result is NULL
// rather than an error, so that one empty or crossed quote in a feed does
// not fail a continuous query; docs/functions-fintech.md lists each case.

// midprice(bid, ask) = (bid + ask) / 2.
func midprice(bid, ask float64) (float64, bool) {
	// Halve first when the sum would overflow.
	s := bid + ask
	if math.IsInf(s, 0) && !math.IsInf(bid, 0) && !math.IsInf(ask, 0) {
		return bid/2 + ask/2, true
	}
	return s / 2, true
}

// microprice(bid, bid_sz, ask, ask_sz) = (bid·ask_sz + ask·bid_sz) /
// (bid_sz + ask_sz): the mid weighted towards the side with less size.
// NULL when bid_sz + ask_sz = 0.
func microprice(bid, bidSz, ask, askSz float64) (float64, bool) {
	d := bidSz + askSz
	if d == 0 {
		return 0, false
	}
	// The numerator in double-double (exact products, compensated sum):
	// its two terms may nearly cancel.
	var num ksum
	num.addProd(bid, askSz)
	num.addProd(ask, bidSz)
	return num.value() / d, true
}

// spread_bps(bid, ask) = (ask − bid) / ((bid + ask)/2) · 10⁴. NULL when the
// mid is 0.
func spreadBps(bid, ask float64) (float64, bool) {
	mid, _ := midprice(bid, ask)
	if mid == 0 {
		return 0, false
	}
	return (ask - bid) / mid * 1e4, true
}

// l1_imbalance(bid_sz, ask_sz) = (bid_sz − ask_sz) / (bid_sz + ask_sz), in
// [−1, 1] for non-negative sizes. NULL when bid_sz + ask_sz = 0.
func l1Imbalance(b, a float64) (float64, bool) {
	d := b + a
	if d == 0 {
		return 0, false
	}
	return (b - a) / d, true
}

// log_return(p, p_prev) = ln(p / p_prev), computed as ln p − ln p_prev
// when the ratio would overflow or underflow. NULL unless both prices are
// positive (p_prev is NULL on a partition's first row when it comes from
// lag(p) OVER w).
func logReturn(p, prev float64) (float64, bool) {
	if !(p > 0 && prev > 0) {
		if math.IsNaN(p) || math.IsNaN(prev) {
			return math.NaN(), true
		}
		return 0, false
	}
	r := p / prev
	if r == 0 || math.IsInf(r, 0) {
		return math.Log(p) - math.Log(prev), true
	}
	return math.Log(r), true
}

// floatFn is a float8 scalar of fixed arity; ok=false yields NULL.
type floatFn func(x []float64) (float64, bool)

func fn2(f func(a, b float64) (float64, bool)) floatFn {
	return func(x []float64) (float64, bool) { return f(x[0], x[1]) }
}

func fn4(f func(a, b, c, d float64) (float64, bool)) floatFn {
	return func(x []float64) (float64, bool) { return f(x[0], x[1], x[2], x[3]) }
}

// floatScalar registers f as name(float8, …) → float8 with a row-wise
// Eval and a vectorized Vec.
func floatScalar(name string, arity int, f floatFn) *kernels.ScalarFunc {
	argT := make([]types.T, arity)
	for i := range argT {
		argT[i] = types.Float8T
	}
	return &kernels.ScalarFunc{
		Name: name, Args: argT, Ret: types.Float8T, Strict: true, Volatility: kernels.Immutable,
		Eval: func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			if len(args) != arity {
				return nil, pgerror.Internal("%s expects %d arguments, got %d", name, arity, len(args))
			}
			x := make([]float64, arity)
			for i, a := range args {
				v, ok := a.(float64)
				if !ok {
					if a == nil {
						return nil, nil
					}
					return nil, pgerror.Internal("%s: argument %d is %T, expected float64", name, i+1, a)
				}
				x[i] = v
			}
			if v, ok := f(x); ok {
				return v, nil
			}
			return nil, nil
		},
		Vec: func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			return floatVec(ctx, name, arity, f, args, n)
		},
	}
}

// floatVec evaluates f over n rows of float8 arrays.
func floatVec(ctx *kernels.EvalContext, name string, arity int, f floatFn, args []arrow.Array, n int) (arrow.Array, error) {
	if len(args) != arity {
		return nil, pgerror.Internal("%s expects %d arguments, got %d", name, arity, len(args))
	}
	cols := make([]col[float64], arity)
	allNull := false
	for k := range cols {
		var err error
		if cols[k], err = floatArg(name, args, k, n); err != nil {
			return nil, err
		}
		allNull = allNull || cols[k].allNull
	}
	var mem memory.Allocator = memory.DefaultAllocator
	if ctx != nil && ctx.Mem != nil {
		mem = ctx.Mem
	}
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	if allNull {
		b.AppendNulls(n)
		return b.NewArray(), nil
	}
	vals := make([]float64, n)
	valid := make([]bool, n)
	x := make([]float64, arity)
	for i := 0; i < n; i++ {
		ok := true
		for k := range cols {
			if !cols[k].valid(i) {
				ok = false
				break
			}
			x[k] = cols[k].vals[i]
		}
		if ok {
			vals[i], valid[i] = f(x)
		}
	}
	b.AppendValues(vals, valid)
	return b.NewArray(), nil
}

// midpriceNumeric is midprice(numeric, numeric) → numeric, exact: the
// result's scale is one more than the larger input scale (halving a
// decimal adds at most one digit). NaN in gives NaN; ±Infinity follows
// numeric addition (Infinity + -Infinity = NaN).
func midpriceNumeric(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
	if len(args) != 2 {
		return nil, pgerror.Internal("midprice expects 2 arguments, got %d", len(args))
	}
	if args[0] == nil || args[1] == nil {
		return nil, nil
	}
	a, ok1 := args[0].(*apd.Decimal)
	b, ok2 := args[1].(*apd.Decimal)
	if !ok1 || !ok2 {
		return nil, pgerror.Internal("midprice: arguments are %T, %T, expected numeric", args[0], args[1])
	}
	switch {
	case a.Form == apd.NaN || b.Form == apd.NaN ||
		(a.Form == apd.Infinite && b.Form == apd.Infinite && a.Negative != b.Negative):
		return &apd.Decimal{Form: apd.NaN}, nil
	case a.Form == apd.Infinite:
		return &apd.Decimal{Form: apd.Infinite, Negative: a.Negative}, nil
	case b.Form == apd.Infinite:
		return &apd.Decimal{Form: apd.Infinite, Negative: b.Negative}, nil
	}
	ctx := apd.BaseContext
	var sum, half apd.Decimal
	if _, err := ctx.Add(&sum, a, b); err != nil {
		return nil, pgerror.Wrap(err, pgerror.NumericValueOutOfRange, "midprice: value overflows numeric format")
	}
	out := new(apd.Decimal)
	half.SetFinite(5, -1)
	if _, err := ctx.Mul(out, &sum, &half); err != nil {
		return nil, pgerror.Wrap(err, pgerror.NumericValueOutOfRange, "midprice: value overflows numeric format")
	}
	if out.IsZero() {
		out.Negative = false
	}
	return out, nil
}
