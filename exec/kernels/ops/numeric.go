package ops

import (
	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// PostgreSQL's numeric display limits used by the scale rules.
const (
	numMinSigDigits = 16
	numMaxDisplay   = 1000
	numMaxPrecision = 131072 + 16383 + 8
)

// exactCtx computes sums, differences, products and remainders exactly
// (its precision covers every numeric value).
func exactCtx() *apd.Context {
	return &apd.Context{
		Precision:   numMaxPrecision,
		MaxExponent: apd.MaxExponent,
		MinExponent: apd.MinExponent,
		Traps:       apd.DefaultTraps,
		Rounding:    apd.RoundHalfUp,
	}
}

// precCtx is a context with the given precision and rounding.
func precCtx(p int, r apd.Rounder) *apd.Context {
	if p < 1 {
		p = 1
	}
	return &apd.Context{
		Precision:   uint32(p),
		MaxExponent: apd.MaxExponent,
		MinExponent: apd.MinExponent,
		Traps:       apd.DefaultTraps,
		Rounding:    r,
	}
}

// numErr reports an apd failure (exponent or precision exhausted) as
// PostgreSQL's numeric overflow.
func numErr(error) error {
	return pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
}

// dscale is the display scale of a finite numeric (digits after the point).
func dscale(d *apd.Decimal) int {
	if d.Form != apd.Finite || d.Exponent >= 0 {
		return 0
	}
	return int(-d.Exponent)
}

// msdPos is the decimal position of the most significant digit (10^p); 0 for zero.
func msdPos(d *apd.Decimal) int {
	if d.Coeff.Sign() == 0 {
		return 0
	}
	return int(d.NumDigits()) - 1 + int(d.Exponent)
}

// roundTo rounds a finite d half away from zero to scale s (s may be
// negative), returning a new decimal with exponent -max(s,0).
func roundTo(d *apd.Decimal, s int, r apd.Rounder) (*apd.Decimal, error) {
	out := new(apd.Decimal)
	if d.Form != apd.Finite {
		out.Set(d)
		return out, nil
	}
	c := exactCtx()
	c.Rounding = r
	if _, err := c.Quantize(out, d, int32(-s)); err != nil {
		return nil, numErr(err)
	}
	if s < 0 {
		if _, err := c.Quantize(out, out, 0); err != nil {
			return nil, numErr(err)
		}
	}
	if out.IsZero() {
		out.Negative = false
	}
	return checkNumRange(out)
}

// normalize gives a finite result a non-positive exponent (PostgreSQL
// never shows numerics in exponent form) and a positive zero.
func normalize(d *apd.Decimal) (*apd.Decimal, error) {
	if d.Form != apd.Finite {
		return d, nil
	}
	if d.Exponent > 0 {
		if _, err := exactCtx().Quantize(d, d, 0); err != nil {
			return nil, numErr(err)
		}
	}
	if d.IsZero() {
		d.Negative = false
	}
	return checkNumRange(d)
}

// checkNumRange rejects values with more integer digits than numeric holds.
func checkNumRange(d *apd.Decimal) (*apd.Decimal, error) {
	if d.Form == apd.Finite && !d.IsZero() && msdPos(d) >= 131072 {
		return nil, pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
	}
	return d, nil
}

func nan() *apd.Decimal { return &apd.Decimal{Form: apd.NaN} }

func inf(neg bool) *apd.Decimal { return &apd.Decimal{Form: apd.Infinite, Negative: neg} }

// sign returns -1, 0, 1 for finite or infinite values (NaN: 0).
func sign(d *apd.Decimal) int {
	switch {
	case d.Form == apd.NaN || d.Form == apd.NaNSignaling:
		return 0
	case d.Form == apd.Infinite:
		if d.Negative {
			return -1
		}
		return 1
	}
	return d.Sign()
}

func isNaNDec(d *apd.Decimal) bool { return d.Form == apd.NaN || d.Form == apd.NaNSignaling }

func numAdd(a, b *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(a) || isNaNDec(b) {
		return nan(), nil
	}
	if a.Form == apd.Infinite || b.Form == apd.Infinite {
		if a.Form == apd.Infinite && b.Form == apd.Infinite && a.Negative != b.Negative {
			return nan(), nil
		}
		if a.Form == apd.Infinite {
			return inf(a.Negative), nil
		}
		return inf(b.Negative), nil
	}
	out := new(apd.Decimal)
	if _, err := exactCtx().Add(out, a, b); err != nil {
		return nil, numErr(err)
	}
	return normalize(out)
}

func numNeg(a *apd.Decimal) *apd.Decimal {
	out := new(apd.Decimal)
	out.Set(a)
	if !isNaNDec(a) && !(a.Form == apd.Finite && a.IsZero()) {
		out.Negative = !a.Negative
	}
	return out
}

func numSub(a, b *apd.Decimal) (*apd.Decimal, error) { return numAdd(a, numNeg(b)) }

func numMul(a, b *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(a) || isNaNDec(b) {
		return nan(), nil
	}
	if a.Form == apd.Infinite || b.Form == apd.Infinite {
		sa, sb := sign(a), sign(b)
		if sa == 0 || sb == 0 {
			return nan(), nil
		}
		return inf(sa*sb < 0), nil
	}
	out := new(apd.Decimal)
	if _, err := exactCtx().Mul(out, a, b); err != nil {
		return nil, numErr(err)
	}
	return normalize(out)
}

// nbase returns the base-10000 weight and the first base-10000 digit of a
// finite nonzero value, as PostgreSQL's NumericVar stores it.
func nbase(d *apd.Decimal) (weight, first int) {
	if d.Form != apd.Finite || d.IsZero() {
		return 0, 0
	}
	p := msdPos(d)
	w, _ := floorDiv(int64(p), 4)
	count := p - int(w)*4 + 1
	digits := d.Coeff.String()
	v := 0
	for i := 0; i < count; i++ {
		v *= 10
		if i < len(digits) {
			v += int(digits[i] - '0')
		}
	}
	return int(w), v
}

// divScale is PostgreSQL's select_div_scale: at least 16 significant
// digits, and never less than either input's scale.
func divScale(a, b *apd.Decimal) int {
	w1, f1 := nbase(a)
	w2, f2 := nbase(b)
	qweight := w1 - w2
	if f1 <= f2 {
		qweight--
	}
	rs := numMinSigDigits - qweight*4
	rs = max(rs, dscale(a), dscale(b), 0)
	return min(rs, numMaxDisplay)
}

// divRound computes a/b rounded half away from zero to scale rs
// (truncating to rs+2 digits first so the final rounding is exact).
func divRound(a, b *apd.Decimal, rs int) (*apd.Decimal, error) {
	p := msdPos(a) - msdPos(b) + rs + 3
	out := new(apd.Decimal)
	if _, err := precCtx(max(p, 1), apd.RoundDown).Quo(out, a, b); err != nil {
		return nil, numErr(err)
	}
	return roundTo(out, rs, apd.RoundHalfUp)
}

func numDiv(a, b *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(a) || isNaNDec(b) {
		return nan(), nil
	}
	if a.Form == apd.Infinite {
		if b.Form == apd.Infinite {
			return nan(), nil
		}
		switch sign(b) {
		case 0:
			return nil, errDivByZero()
		case 1:
			return inf(a.Negative), nil
		}
		return inf(!a.Negative), nil
	}
	if b.Form == apd.Infinite {
		return new(apd.Decimal), nil
	}
	if b.IsZero() {
		return nil, errDivByZero()
	}
	return divRound(a, b, divScale(a, b))
}

// numDivTrunc is div(a, b): the quotient truncated toward zero.
func numDivTrunc(a, b *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(a) || isNaNDec(b) {
		return nan(), nil
	}
	if a.Form == apd.Infinite {
		if b.Form == apd.Infinite {
			return nan(), nil
		}
		switch sign(b) {
		case 0:
			return nil, errDivByZero()
		case 1:
			return inf(a.Negative), nil
		}
		return inf(!a.Negative), nil
	}
	if b.Form == apd.Infinite {
		return new(apd.Decimal), nil
	}
	if b.IsZero() {
		return nil, errDivByZero()
	}
	out := new(apd.Decimal)
	if _, err := exactCtx().QuoInteger(out, a, b); err != nil {
		return nil, numErr(err)
	}
	return normalize(out)
}

func numMod(a, b *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(a) || isNaNDec(b) {
		return nan(), nil
	}
	if a.Form == apd.Infinite {
		if b.Form == apd.Finite && b.IsZero() {
			return nil, errDivByZero()
		}
		return nan(), nil
	}
	if b.Form == apd.Infinite {
		out := new(apd.Decimal)
		out.Set(a)
		return out, nil
	}
	if b.IsZero() {
		return nil, errDivByZero()
	}
	out := new(apd.Decimal)
	if _, err := exactCtx().Rem(out, a, b); err != nil {
		return nil, numErr(err)
	}
	return normalize(out)
}

func numArgs(args []types.Datum) (*apd.Decimal, *apd.Decimal, error) {
	if len(args) != 2 {
		return nil, nil, internalArg("numeric operator", args)
	}
	a, ok1 := args[0].(*apd.Decimal)
	b, ok2 := args[1].(*apd.Decimal)
	if !ok1 || !ok2 {
		return nil, nil, pgerror.Internal("numeric operator: unexpected arguments %T, %T", args[0], args[1])
	}
	return a, b, nil
}

func numEval2(f func(a, b *apd.Decimal) (*apd.Decimal, error)) evalFn {
	return func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		a, b, err := numArgs(args)
		if err != nil {
			return nil, err
		}
		v, err := f(a, b)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

func numEval1(f func(a *apd.Decimal) (*apd.Decimal, error)) evalFn {
	return func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		if len(args) != 1 {
			return nil, internalArg("numeric function", args)
		}
		a, ok := args[0].(*apd.Decimal)
		if !ok {
			return nil, internalArg("numeric function", args[0])
		}
		v, err := f(a)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

func registerNumericArith(r *kernels.Registry) {
	N := types.NumericT
	add(r, "+", targs(N, N), N, numEval2(numAdd), nil)
	add(r, "-", targs(N, N), N, numEval2(numSub), nil)
	add(r, "*", targs(N, N), N, numEval2(numMul), nil)
	add(r, "/", targs(N, N), N, numEval2(numDiv), nil)
	add(r, "%", targs(N, N), N, numEval2(numMod), nil)
	add(r, "u-", targs(N), N, numEval1(func(a *apd.Decimal) (*apd.Decimal, error) { return numNeg(a), nil }), nil)
	add(r, "u+", targs(N), N, identity, nil)
}
