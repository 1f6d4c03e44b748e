package ops

import (
	"math"
	"math/rand/v2"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// SQLSTATEs of the math functions that pgerror does not name.
const (
	codeInvalidLogArg      = "2201E" // invalid_argument_for_logarithm
	codeInvalidPowerArg    = "2201F" // invalid_argument_for_power_function
	codeInvalidWidthBucket = "2201G" // invalid_argument_for_width_bucket_function
)

// radiansPerDegree is the constant PostgreSQL's degrees()/radians() use.
const radiansPerDegree = 0.0174532925199432957692

func errInputRange() error {
	return pgerror.New(pgerror.NumericValueOutOfRange, "input is out of range")
}

// checkFloat applies PostgreSQL's check_float8_val: an infinite result from
// finite inputs overflows; a zero result from nonzero inputs underflows.
func checkFloat(r float64, infOK, zeroOK bool) (float64, error) {
	if math.IsInf(r, 0) && !infOK {
		return 0, errFloatOverflow()
	}
	if r == 0 && !zeroOK {
		return 0, errFloatUnderflow()
	}
	return r, nil
}

func fSqrt(x float64) (float64, error) {
	if x < 0 {
		return 0, pgerror.New(codeInvalidPowerArg, "cannot take square root of a negative number")
	}
	return math.Sqrt(x), nil
}

func fLogCheck(x float64) error {
	if x == 0 {
		return pgerror.New(codeInvalidLogArg, "cannot take logarithm of zero")
	}
	if x < 0 {
		return pgerror.New(codeInvalidLogArg, "cannot take logarithm of a negative number")
	}
	return nil
}

func fLn(x float64) (float64, error) {
	if err := fLogCheck(x); err != nil {
		return 0, err
	}
	return checkFloat(math.Log(x), math.IsInf(x, 0), x == 1)
}

func fLog10(x float64) (float64, error) {
	if err := fLogCheck(x); err != nil {
		return 0, err
	}
	return checkFloat(math.Log10(x), math.IsInf(x, 0), x == 1)
}

func fExp(x float64) (float64, error) {
	if math.IsNaN(x) {
		return x, nil
	}
	if math.IsInf(x, 0) {
		if x > 0 {
			return x, nil
		}
		return 0, nil
	}
	r := math.Exp(x)
	if math.IsInf(r, 0) {
		return 0, errFloatOverflow()
	}
	if r == 0 {
		return 0, errFloatUnderflow()
	}
	return r, nil
}

func fPow(x, y float64) (float64, error) {
	if math.IsNaN(x) {
		if math.IsNaN(y) || y != 0 {
			return math.NaN(), nil
		}
		return 1, nil
	}
	if math.IsNaN(y) {
		if x != 1 {
			return math.NaN(), nil
		}
		return 1, nil
	}
	if x == 0 && y < 0 {
		return 0, pgerror.New(codeInvalidPowerArg, "zero raised to a negative power is undefined")
	}
	if x < 0 && math.Floor(y) != y {
		return 0, pgerror.New(codeInvalidPowerArg, "a negative number raised to a non-integer power yields a complex result")
	}
	r := math.Pow(x, y)
	return checkFloat(r, math.IsInf(x, 0) || math.IsInf(y, 0), x == 0 || math.IsInf(y, 0) || math.IsInf(x, 0))
}

// trig functions reject infinite inputs (and asin/acos |x| > 1) as
// "input is out of range".
func fTrig(f func(float64) float64) func(float64) (float64, error) {
	return func(x float64) (float64, error) {
		if math.IsNaN(x) {
			return x, nil
		}
		if math.IsInf(x, 0) {
			return 0, errInputRange()
		}
		return checkFloat(f(x), false, true)
	}
}

func fArc(f func(float64) float64) func(float64) (float64, error) {
	return func(x float64) (float64, error) {
		if math.IsNaN(x) {
			return x, nil
		}
		if x < -1 || x > 1 {
			return 0, errInputRange()
		}
		return f(x), nil
	}
}

func fCot(x float64) (float64, error) {
	if math.IsNaN(x) {
		return x, nil
	}
	if math.IsInf(x, 0) {
		return 0, errInputRange()
	}
	return 1 / math.Tan(x), nil
}

func fSign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// widthBucket is width_bucket(operand, low, high, count) on floats.
func widthBucket(op, b1, b2 float64, count int64) (int64, error) {
	if count <= 0 {
		return 0, pgerror.New(codeInvalidWidthBucket, "count must be greater than zero")
	}
	if math.IsNaN(op) || math.IsNaN(b1) || math.IsNaN(b2) {
		return 0, pgerror.New(codeInvalidWidthBucket, "operand, lower bound, and upper bound cannot be NaN")
	}
	if math.IsInf(b1, 0) || math.IsInf(b2, 0) {
		return 0, pgerror.New(codeInvalidWidthBucket, "lower and upper bounds must be finite")
	}
	c := float64(count)
	switch {
	case b1 < b2:
		if op < b1 {
			return 0, nil
		}
		if op >= b2 {
			if count == math.MaxInt32 {
				return 0, errIntRange[int32]()
			}
			return count + 1, nil
		}
		return int64(c*(op-b1)/(b2-b1)) + 1, nil
	case b1 > b2:
		if op > b1 {
			return 0, nil
		}
		if op <= b2 {
			if count == math.MaxInt32 {
				return 0, errIntRange[int32]()
			}
			return count + 1, nil
		}
		return int64(c*(b1-op)/(b1-b2)) + 1, nil
	}
	return 0, pgerror.New(codeInvalidWidthBucket, "lower bound cannot equal upper bound")
}

func f1(f func(float64) (float64, error)) evalFn {
	return func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		if len(args) != 1 {
			return nil, internalArg("function", args)
		}
		x, err := dFloat(args[0])
		if err != nil {
			return nil, err
		}
		v, err := f(x)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

func f2(f func(x, y float64) (float64, error)) evalFn {
	return func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		x, y, err := dFloats(args)
		if err != nil {
			return nil, err
		}
		v, err := f(x, y)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

func pure(f func(float64) float64) func(float64) (float64, error) {
	return func(x float64) (float64, error) { return f(x), nil }
}

func registerFloatMath(r *kernels.Registry) {
	F8 := types.Float8T
	one := func(name string, f func(float64) (float64, error)) {
		add(r, name, targs(F8), F8, f1(f), nil)
	}
	one("abs", pure(math.Abs))
	add(r, "abs", targs(types.Float4T), types.Float4T, f1(pure(math.Abs)), nil)
	one("ceil", pure(math.Ceil))
	one("ceiling", pure(math.Ceil))
	one("floor", pure(math.Floor))
	one("round", pure(math.RoundToEven))
	one("trunc", pure(math.Trunc))
	one("sign", pure(fSign))
	one("sqrt", fSqrt)
	one("cbrt", pure(math.Cbrt))
	one("exp", fExp)
	one("ln", fLn)
	one("log", fLog10)
	one("log10", fLog10)
	one("degrees", func(x float64) (float64, error) { return fDiv(x, radiansPerDegree) })
	one("radians", func(x float64) (float64, error) { return fMul(x, radiansPerDegree) })
	one("sin", fTrig(math.Sin))
	one("cos", fTrig(math.Cos))
	one("tan", func(x float64) (float64, error) {
		if math.IsNaN(x) {
			return x, nil
		}
		if math.IsInf(x, 0) {
			return 0, errInputRange()
		}
		return math.Tan(x), nil
	})
	one("cot", fCot)
	one("asin", fArc(math.Asin))
	one("acos", fArc(math.Acos))
	one("atan", pure(math.Atan))
	one("sinh", pure(math.Sinh))
	one("cosh", pure(math.Cosh))
	one("tanh", pure(math.Tanh))
	add(r, "atan2", targs(F8, F8), F8, f2(func(y, x float64) (float64, error) { return math.Atan2(y, x), nil }), nil)
	for _, name := range []string{"power", "pow"} {
		add(r, name, targs(F8, F8), F8, f2(fPow), nil)
	}
	add(r, "pi", nil, F8, func(*kernels.EvalContext, []types.Datum) (types.Datum, error) { return math.Pi, nil }, nil)
	// random() draws from math/rand/v2's goroutine-safe global source.
	rf := add(r, "random", nil, F8, func(*kernels.EvalContext, []types.Datum) (types.Datum, error) { return rand.Float64(), nil }, nil)
	rf.Volatility = kernels.Volatile
	rf.Strict = false
	add(r, "width_bucket", targs(F8, F8, F8, types.Int4T), types.Int4T, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		if len(args) != 4 {
			return nil, internalArg("width_bucket", args)
		}
		op, err1 := dFloat(args[0])
		b1, err2 := dFloat(args[1])
		b2, err3 := dFloat(args[2])
		c, err4 := dInt(args[3])
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				return nil, err
			}
		}
		v, err := widthBucket(op, b1, b2, c)
		if err != nil {
			return nil, err
		}
		return v, nil
	}, nil)
}
