package ops

import (
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

func registerMath(r *kernels.Registry) {
	registerFloatMath(r)
	registerNumericMath(r)
	regIntMath[int16](r, types.Int2T)
	regIntMath[int32](r, types.Int4T)
	regIntMath[int64](r, types.Int8T)
}

// iGcd is gcd with a non-negative result; gcd(MIN, 0) and gcd(MIN, MIN)
// overflow as in PostgreSQL.
func iGcd[T intT](a, b T) (T, error) {
	ua, ub := uabs(a), uabs(b)
	for ub != 0 {
		ua, ub = ub, ua%ub
	}
	if ua > uint64(-(minOf[T]() + 1)) {
		return 0, errIntRange[T]()
	}
	return T(ua), nil
}

func uabs[T intT](a T) uint64 {
	if a < 0 {
		return uint64(-int64(a)) // int64(MinInt64) negation wraps to itself: as uint64 it is 2^63
	}
	return uint64(a)
}

func iLcm[T intT](a, b T) (T, error) {
	if a == 0 || b == 0 {
		return 0, nil
	}
	g, err := iGcd(a, b)
	if err != nil {
		return 0, err
	}
	q := a / g
	v, err := iMul(q, b)
	if err != nil {
		return 0, err
	}
	return iAbs(v)
}

func regIntMath[T intT](r *kernels.Registry, t types.T) {
	add(r, "abs", targs(t), t, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		a, err := dInt(args[0])
		if err != nil {
			return nil, err
		}
		v, err := iAbs(T(a))
		if err != nil {
			return nil, err
		}
		return int64(v), nil
	}, nil)
	two := func(name string, f func(a, b T) (T, error)) {
		add(r, name, targs(t, t), t, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			a, b, err := dInts(args)
			if err != nil {
				return nil, err
			}
			v, err := f(T(a), T(b))
			if err != nil {
				return nil, err
			}
			return int64(v), nil
		}, nil)
	}
	two("mod", iMod[T])
	if t.Family != types.FamInt2 {
		two("gcd", iGcd[T])
		two("lcm", iLcm[T])
	}
}
