package ops

import (
	"math"
	"strconv"

	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// numMaxResultScale bounds scale arguments of round/trunc (PostgreSQL's
// NUMERIC_MAX_RESULT_SCALE).
const numMaxResultScale = 2000

func clampScale(s int64) int {
	return int(max(min(s, numMaxResultScale), -numMaxResultScale))
}

func finishScale(rs int, minScales ...int) int {
	for _, s := range minScales {
		rs = max(rs, s)
	}
	return min(max(rs, 0), numMaxDisplay)
}

// toFloat approximates a finite decimal (saturating to ±Inf).
func toFloat(d *apd.Decimal) float64 {
	f, err := strconv.ParseFloat(d.Text('e'), 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0
	}
	return f
}

// lnDWeight estimates the decimal weight of ln(d) for d > 0, as PostgreSQL's
// estimate_ln_dweight: near 1 from d-1, otherwise from the first two
// base-10000 digits.
func lnDWeight(d *apd.Decimal) int {
	if d.Sign() <= 0 {
		return 0
	}
	lo, hi := apd.New(9, -1), apd.New(11, -1)
	if d.Cmp(lo) >= 0 && d.Cmp(hi) <= 0 {
		x := new(apd.Decimal)
		if _, err := exactCtx().Sub(x, d, apd.New(1, 0)); err != nil || x.IsZero() {
			return 0
		}
		return msdPos(x)
	}
	w, first := nbase(d)
	digits := float64(first)
	dweight := w * 4
	// A second base-10000 digit, if any nonzero digit follows the first group.
	p := msdPos(d)
	count := p - w*4 + 1
	coeff := d.Coeff.String()
	if len(coeff) > count {
		second := 0
		for i := count; i < count+4; i++ {
			second *= 10
			if i < len(coeff) {
				second += int(coeff[i] - '0')
			}
		}
		// Only if some nonzero digit exists beyond the first group.
		rest := false
		for i := count; i < len(coeff); i++ {
			if coeff[i] != '0' {
				rest = true
				break
			}
		}
		if rest {
			digits = digits*10000 + float64(second)
			dweight -= 4
		}
	}
	lnv := math.Log(digits) + float64(dweight)*2.302585092994046
	return int(math.Log10(math.Abs(lnv)))
}

// lnDec computes ln(x) for a finite x > 0 to prec significant digits as
// ln(m) + k·ln(10) with x = m·10^k, 1 <= m < 10: apd's Ln is slow on
// values with large exponents, this form is not.
func lnDec(x *apd.Decimal, prec int) (*apd.Decimal, error) {
	k := msdPos(x)
	m := new(apd.Decimal).Set(x)
	m.Exponent -= int32(k)
	// ln(10)·k carries its integer digits on top of prec.
	kDigits := len(strconv.Itoa(max(k, -k))) + 1
	c := precCtx(prec+kDigits+4, apd.RoundHalfUp)
	out := new(apd.Decimal)
	if _, err := c.Ln(out, m); err != nil {
		return nil, err
	}
	if k != 0 {
		ln10 := new(apd.Decimal)
		if _, err := c.Ln(ln10, apd.New(10, 0)); err != nil {
			return nil, err
		}
		if _, err := c.Mul(ln10, ln10, apd.New(int64(k), 0)); err != nil {
			return nil, err
		}
		if _, err := c.Add(out, out, ln10); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// withPrec runs f in a context of precision p (half-up) and rounds the
// result to scale rs.
func withPrec(p, rs int, f func(c *apd.Context, out *apd.Decimal) error) (*apd.Decimal, error) {
	out := new(apd.Decimal)
	if err := f(precCtx(max(p, 1), apd.RoundHalfUp), out); err != nil {
		return nil, numErr(err)
	}
	return roundTo(out, rs, apd.RoundHalfUp)
}

func numSqrt(x *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(x) {
		return nan(), nil
	}
	if sign(x) < 0 {
		return nil, pgerror.New(codeInvalidPowerArg, "cannot take square root of a negative number")
	}
	if x.Form == apd.Infinite {
		return inf(false), nil
	}
	w, _ := nbase(x)
	sweight := (w+1)*4/2 - 1
	rs := finishScale(numMinSigDigits-sweight, dscale(x))
	p := msdPos(x)/2 + rs + 8
	return withPrec(p, rs, func(c *apd.Context, out *apd.Decimal) error {
		_, err := c.Sqrt(out, x)
		return err
	})
}

func numExp(x *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(x) {
		return nan(), nil
	}
	if x.Form == apd.Infinite {
		if x.Negative {
			return new(apd.Decimal), nil
		}
		return inf(false), nil
	}
	xf := toFloat(x)
	val := xf * 0.434294481903252
	val = max(min(val, numMaxResultScale), -numMaxResultScale)
	rs := finishScale(numMinSigDigits-int(val), dscale(x))
	// Beyond |x| = 3 × 2000 the result overflows or rounds to zero.
	if math.Abs(xf) >= 3*numMaxResultScale {
		if xf > 0 {
			return nil, pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
		}
		return roundTo(new(apd.Decimal), rs, apd.RoundHalfUp)
	}
	return withPrec(int(max(xf*0.434294481903252, 0))+rs+8, rs, func(c *apd.Context, out *apd.Decimal) error {
		_, err := c.Exp(out, x)
		return err
	})
}

func numLogCheck(x *apd.Decimal) error {
	if x.Form == apd.Finite && x.IsZero() {
		return pgerror.New(codeInvalidLogArg, "cannot take logarithm of zero")
	}
	if sign(x) < 0 {
		return pgerror.New(codeInvalidLogArg, "cannot take logarithm of a negative number")
	}
	return nil
}

func numLn(x *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(x) {
		return nan(), nil
	}
	if err := numLogCheck(x); err != nil {
		return nil, err
	}
	if x.Form == apd.Infinite {
		return inf(false), nil
	}
	dw := lnDWeight(x)
	rs := finishScale(numMinSigDigits-dw, dscale(x))
	return withPrec(dw+rs+8, rs, func(c *apd.Context, out *apd.Decimal) error {
		v, err := lnDec(x, int(c.Precision))
		if err != nil {
			return err
		}
		out.Set(v)
		return nil
	})
}

// numLog is log(base, x) = ln(x) / ln(base).
func numLog(b, x *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(b) || isNaNDec(x) {
		return nan(), nil
	}
	if err := numLogCheck(b); err != nil {
		return nil, err
	}
	if err := numLogCheck(x); err != nil {
		return nil, err
	}
	if b.Form == apd.Infinite || x.Form == apd.Infinite {
		if b.Form == apd.Infinite && x.Form == apd.Infinite {
			return nan(), nil
		}
		if b.Form == apd.Infinite {
			return new(apd.Decimal), nil
		}
		return inf(b.Cmp(apd.New(1, 0)) < 0), nil
	}
	if b.Cmp(apd.New(1, 0)) == 0 {
		return nil, errDivByZero()
	}
	dwB, dwX := lnDWeight(b), lnDWeight(x)
	rs := finishScale(numMinSigDigits-(dwX-dwB), dscale(b), dscale(x))
	p := max(dwX, dwB) + rs + 10 + max(0, -(dwX-dwB))
	return withPrec(p+(dwX-dwB), rs, func(c *apd.Context, out *apd.Decimal) error {
		lx, err := lnDec(x, p+8)
		if err != nil {
			return err
		}
		lb, err := lnDec(b, p+8)
		if err != nil {
			return err
		}
		_, err = c.Quo(out, lx, lb)
		return err
	})
}

// numIntegral reports whether a finite decimal is an integer, and its
// int64 value when it fits.
func numIntegral(d *apd.Decimal) (int64, bool, bool) {
	if d.Form != apd.Finite {
		return 0, false, false
	}
	i := new(apd.Decimal)
	if _, err := exactCtx().RoundToIntegralExact(i, d); err != nil || i.Cmp(d) != 0 {
		return 0, false, false
	}
	v, err := i.Int64()
	return v, true, err == nil
}

func numPower(b, e *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(b) {
		if !isNaNDec(e) && e.Form == apd.Finite && e.IsZero() {
			return apd.New(1, 0), nil
		}
		return nan(), nil
	}
	if isNaNDec(e) {
		if b.Form == apd.Finite && b.Cmp(apd.New(1, 0)) == 0 {
			return apd.New(1, 0), nil
		}
		return nan(), nil
	}
	if b.Form != apd.Finite || e.Form != apd.Finite {
		return numPowerInf(b, e)
	}
	if b.IsZero() && e.Sign() < 0 {
		return nil, pgerror.New(codeInvalidPowerArg, "zero raised to a negative power is undefined")
	}
	ev, integral, fits := numIntegral(e)
	if b.Sign() < 0 && !integral {
		return nil, pgerror.New(codeInvalidPowerArg, "a negative number raised to a non-integer power yields a complex result")
	}
	if e.IsZero() {
		return roundTo(apd.New(1, 0), finishScale(numMinSigDigits, dscale(b)), apd.RoundHalfUp)
	}
	if b.IsZero() {
		return roundTo(new(apd.Decimal), finishScale(numMinSigDigits, dscale(b), dscale(e)), apd.RoundHalfUp)
	}
	if integral && fits && ev >= math.MinInt32 && ev <= math.MaxInt32 {
		rs := finishScale(numMinSigDigits, dscale(b))
		// Estimated decimal weight of the result.
		dw := math.Log10(math.Abs(toFloat(b))) * float64(ev)
		if dw > 131072 {
			return nil, pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
		}
		if ev > 0 {
			// Exact integer power, then rounded.
			out := new(apd.Decimal)
			c := precCtx(int(max(dw, 0))+rs+8, apd.RoundHalfUp)
			if _, err := c.Pow(out, b, e); err != nil {
				return nil, numErr(err)
			}
			return roundTo(out, rs, apd.RoundHalfUp)
		}
		return withPrec(int(max(dw, 0))+rs+8, rs, func(c *apd.Context, out *apd.Decimal) error {
			_, err := c.Pow(out, b, e)
			return err
		})
	}
	// Non-integer exponent: exp(e * ln|b|) (b > 0 here, or an integral e
	// too large for the integer path); scale from the result's weight.
	lb, err := lnDec(absDec(b), 20)
	if err != nil {
		return nil, numErr(err)
	}
	if lb.IsZero() { // b = 1
		return roundTo(apd.New(1, 0), finishScale(numMinSigDigits, dscale(b), dscale(e)), apd.RoundHalfUp)
	}
	lnNum := toFloat(e) * toFloat(lb)
	if math.Abs(lnNum) > 3.01*numMaxResultScale || math.IsNaN(lnNum) {
		if lnNum > 0 {
			return nil, pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
		}
		return roundTo(new(apd.Decimal), numMaxDisplay, apd.RoundHalfUp)
	}
	weight := lnNum * 0.434294481903252
	val := max(min(weight, numMaxResultScale), -numMaxResultScale)
	rs := finishScale(numMinSigDigits-int(val), dscale(b), dscale(e))
	p := int(max(weight, 0)) + rs + 8
	// e·ln|b| needs absolute accuracy 10^-(p+2): ln|b| gets extra digits
	// for e's magnitude and its own integer digits.
	lb, err = lnDec(absDec(b), p+4+max(msdPos(e), 0)+8)
	if err != nil {
		return nil, numErr(err)
	}
	return withPrec(p, rs, func(c *apd.Context, out *apd.Decimal) error {
		prod := new(apd.Decimal)
		if _, err := precCtx(p+12, apd.RoundHalfUp).Mul(prod, lb, e); err != nil {
			return err
		}
		if _, err := precCtx(p+4, apd.RoundHalfUp).Exp(out, prod); err != nil {
			return err
		}
		if b.Negative {
			// Integral e here: the sign follows e's parity.
			rem := new(apd.Decimal)
			if _, err := exactCtx().Rem(rem, e, apd.New(2, 0)); err != nil {
				return err
			}
			if !rem.IsZero() {
				out.Negative = true
			}
		}
		return nil
	})
}

// numPowerInf is power() with an infinite base or exponent, following
// POSIX pow() as PostgreSQL does.
func numPowerInf(b, e *apd.Decimal) (*apd.Decimal, error) {
	one := apd.New(1, 0)
	if e.Form == apd.Finite && e.IsZero() {
		return one, nil
	}
	if b.Form == apd.Finite && b.Cmp(one) == 0 {
		return one, nil
	}
	if e.Form == apd.Infinite {
		if b.Form == apd.Finite && b.IsZero() && e.Negative {
			return nil, pgerror.New(codeInvalidPowerArg, "zero raised to a negative power is undefined")
		}
		c := absDec(b).Cmp(one) // ±Inf base compares as > 1
		if b.Form == apd.Infinite {
			c = 1
		}
		switch {
		case c == 0:
			return one, nil
		case (c > 0) != e.Negative:
			return inf(false), nil
		}
		return new(apd.Decimal), nil
	}
	// Infinite base, finite nonzero exponent.
	if !b.Negative {
		if e.Negative {
			return new(apd.Decimal), nil
		}
		return inf(false), nil
	}
	if _, integral, _ := numIntegral(e); !integral {
		return nil, pgerror.New(codeInvalidPowerArg, "a negative number raised to a non-integer power yields a complex result")
	}
	rem := new(apd.Decimal)
	if _, err := exactCtx().Rem(rem, e, apd.New(2, 0)); err != nil {
		return nil, numErr(err)
	}
	odd := !rem.IsZero()
	if e.Negative {
		return new(apd.Decimal), nil
	}
	return inf(odd), nil
}

func absDec(d *apd.Decimal) *apd.Decimal {
	out := new(apd.Decimal)
	out.Abs(d)
	return out
}

func numRound(x *apd.Decimal, s int64) (*apd.Decimal, error) {
	if x.Form != apd.Finite {
		return x, nil
	}
	return roundTo(x, clampScale(s), apd.RoundHalfUp)
}

func numTrunc(x *apd.Decimal, s int64) (*apd.Decimal, error) {
	if x.Form != apd.Finite {
		return x, nil
	}
	return roundTo(x, clampScale(s), apd.RoundDown)
}

func numCeilFloor(x *apd.Decimal, ceil bool) (*apd.Decimal, error) {
	if x.Form != apd.Finite {
		return x, nil
	}
	r := apd.RoundFloor
	if ceil {
		r = apd.RoundCeiling
	}
	return roundTo(x, 0, r)
}

func numSign(x *apd.Decimal) (*apd.Decimal, error) {
	if isNaNDec(x) {
		return nan(), nil
	}
	return apd.New(int64(sign(x)), 0), nil
}

// numGcd is gcd on decimals scaled to integers by their common scale.
func numGcdLcm(a, b *apd.Decimal, lcm bool) (*apd.Decimal, error) {
	if a.Form != apd.Finite || b.Form != apd.Finite {
		return nan(), nil
	}
	s := max(dscale(a), dscale(b))
	ia, ib := scaledInt(a, s), scaledInt(b, s)
	ia.Abs(ia)
	ib.Abs(ib)
	g := new(apd.BigInt)
	g.GCD(nil, nil, ia, ib)
	if lcm {
		if ia.Sign() == 0 || ib.Sign() == 0 {
			return apd.NewWithBigInt(new(apd.BigInt), int32(-s)), nil
		}
		q := new(apd.BigInt).Quo(ia, g)
		g = q.Mul(q, ib)
	}
	return apd.NewWithBigInt(g, int32(-s)), nil
}

// scaledInt returns d * 10^s as an integer (s ≥ dscale(d)).
func scaledInt(d *apd.Decimal, s int) *apd.BigInt {
	out := new(apd.BigInt).Set(&d.Coeff)
	shift := int(d.Exponent) + s
	if shift > 0 {
		p := new(apd.BigInt).Exp(apd.NewBigInt(10), apd.NewBigInt(int64(shift)), nil)
		out.Mul(out, p)
	}
	if d.Negative {
		out.Neg(out)
	}
	return out
}

func numFactorial(n int64) (*apd.Decimal, error) {
	if n < 0 {
		return nil, pgerror.New(pgerror.NumericValueOutOfRange, "factorial of a negative number is undefined")
	}
	if n > 32177 {
		return nil, pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
	}
	r := apd.NewBigInt(1)
	for i := int64(2); i <= n; i++ {
		r.Mul(r, apd.NewBigInt(i))
	}
	return apd.NewWithBigInt(r, 0), nil
}

func numWidthBucket(op, b1, b2 *apd.Decimal, count int64) (int64, error) {
	if count <= 0 {
		return 0, pgerror.New(codeInvalidWidthBucket, "count must be greater than zero")
	}
	if isNaNDec(op) || isNaNDec(b1) || isNaNDec(b2) {
		return 0, pgerror.New(codeInvalidWidthBucket, "operand, lower bound, and upper bound cannot be NaN")
	}
	if b1.Form != apd.Finite || b2.Form != apd.Finite {
		return 0, pgerror.New(codeInvalidWidthBucket, "lower and upper bounds must be finite")
	}
	c := b1.Cmp(b2)
	if c == 0 {
		return 0, pgerror.New(codeInvalidWidthBucket, "lower bound cannot equal upper bound")
	}
	lo, hi := b1, b2
	below, above := op.Cmp(b1) < 0, op.Cmp(b2) >= 0
	if c > 0 {
		below, above = op.Cmp(b1) > 0, op.Cmp(b2) <= 0
	}
	if below {
		return 0, nil
	}
	if above {
		if count == math.MaxInt32 {
			return 0, errIntRange[int32]()
		}
		return count + 1, nil
	}
	num, den := new(apd.Decimal), new(apd.Decimal)
	ec := exactCtx()
	if c < 0 {
		ec.Sub(num, op, lo)
		ec.Sub(den, hi, lo)
	} else {
		ec.Sub(num, lo, op)
		ec.Sub(den, lo, hi)
	}
	ec.Mul(num, num, apd.New(count, 0))
	q := new(apd.Decimal)
	if _, err := ec.QuoInteger(q, num, den); err != nil {
		return 0, numErr(err)
	}
	v, err := q.Int64()
	if err != nil {
		return 0, numErr(err)
	}
	return min(v, count-1) + 1, nil
}

func registerNumericMath(r *kernels.Registry) {
	N, I4 := types.NumericT, types.Int4T
	one := func(name string, f func(*apd.Decimal) (*apd.Decimal, error)) {
		add(r, name, targs(N), N, numEval1(f), nil)
	}
	one("abs", func(x *apd.Decimal) (*apd.Decimal, error) {
		if isNaNDec(x) {
			return nan(), nil
		}
		return absDec(x), nil
	})
	one("ceil", func(x *apd.Decimal) (*apd.Decimal, error) { return numCeilFloor(x, true) })
	one("ceiling", func(x *apd.Decimal) (*apd.Decimal, error) { return numCeilFloor(x, true) })
	one("floor", func(x *apd.Decimal) (*apd.Decimal, error) { return numCeilFloor(x, false) })
	one("round", func(x *apd.Decimal) (*apd.Decimal, error) { return numRound(x, 0) })
	one("trunc", func(x *apd.Decimal) (*apd.Decimal, error) { return numTrunc(x, 0) })
	one("sign", numSign)
	one("sqrt", numSqrt)
	one("exp", numExp)
	one("ln", numLn)
	log10 := func(x *apd.Decimal) (*apd.Decimal, error) { return numLog(apd.New(10, 0), x) }
	one("log", log10)
	one("log10", log10)
	scaled := func(name string, f func(*apd.Decimal, int64) (*apd.Decimal, error)) {
		add(r, name, targs(N, I4), N, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			if len(args) != 2 {
				return nil, internalArg(name, args)
			}
			x, ok := args[0].(*apd.Decimal)
			if !ok {
				return nil, internalArg(name, args[0])
			}
			s, err := dInt(args[1])
			if err != nil {
				return nil, err
			}
			v, err := f(x, s)
			if err != nil {
				return nil, err
			}
			return v, nil
		}, nil)
	}
	scaled("round", numRound)
	scaled("trunc", numTrunc)
	two := func(name string, f func(a, b *apd.Decimal) (*apd.Decimal, error)) {
		add(r, name, targs(N, N), N, numEval2(f), nil)
	}
	two("log", numLog)
	two("power", numPower)
	two("pow", numPower)
	two("mod", numMod)
	two("div", numDivTrunc)
	two("gcd", func(a, b *apd.Decimal) (*apd.Decimal, error) { return numGcdLcm(a, b, false) })
	two("lcm", func(a, b *apd.Decimal) (*apd.Decimal, error) { return numGcdLcm(a, b, true) })
	add(r, "factorial", targs(types.Int8T), N, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		n, err := dInt(args[0])
		if err != nil {
			return nil, err
		}
		v, err := numFactorial(n)
		if err != nil {
			return nil, err
		}
		return v, nil
	}, nil)
	add(r, "width_bucket", targs(N, N, N, I4), I4, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		if len(args) != 4 {
			return nil, internalArg("width_bucket", args)
		}
		op, ok1 := args[0].(*apd.Decimal)
		b1, ok2 := args[1].(*apd.Decimal)
		b2, ok3 := args[2].(*apd.Decimal)
		c, err := dInt(args[3])
		if !ok1 || !ok2 || !ok3 || err != nil {
			return nil, pgerror.Internal("width_bucket: unexpected arguments")
		}
		v, err := numWidthBucket(op, b1, b2, c)
		if err != nil {
			return nil, err
		}
		return v, nil
	}, nil)
}
