package ops

import (
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// shl and shr shift as PostgreSQL does on x86-64: the count is taken modulo
// the width of the promoted type (32 bits for int2/int4, 64 for int8), and
// an int2 result is truncated to 16 bits.
func shl[T intT](a T, s int64) T {
	var z T
	if unsafe.Sizeof(z) == 8 {
		return T(int64(a) << (uint64(s) & 63))
	}
	return T(int32(a) << (uint32(s) & 31))
}

func shr[T intT](a T, s int64) T {
	var z T
	if unsafe.Sizeof(z) == 8 {
		return T(int64(a) >> (uint64(s) & 63))
	}
	return T(int32(a) >> (uint32(s) & 31))
}

// registerBitwise adds & | # << >> and unary ~ on integers, plus the
// operator spellings of math functions: ^ (power), |/ (sqrt), ||/ (cbrt)
// and @ (abs). Prefix operators are registered as "u" + symbol.
func registerBitwise(r *kernels.Registry) {
	regIntBitwise[int16](r, types.Int2T)
	regIntBitwise[int32](r, types.Int4T)
	regIntBitwise[int64](r, types.Int8T)

	F8, N := types.Float8T, types.NumericT
	add(r, "^", targs(F8, F8), F8, f2(fPow), nil)
	add(r, "^", targs(N, N), N, numEval2(numPower), nil)
	add(r, "u|/", targs(F8), F8, f1(fSqrt), nil)
	add(r, "u||/", targs(F8), F8, f1(func(x float64) (float64, error) { return math.Cbrt(x), nil }), nil)
	add(r, "u@", targs(F8), F8, f1(func(x float64) (float64, error) { return math.Abs(x), nil }), nil)
	add(r, "u@", targs(types.Float4T), types.Float4T, f1(func(x float64) (float64, error) { return math.Abs(x), nil }), nil)
	add(r, "u@", targs(N), N, numEval1(func(x *apd.Decimal) (*apd.Decimal, error) {
		if isNaNDec(x) {
			return nan(), nil
		}
		return absDec(x), nil
	}), nil)
}

func regIntBitwise[T intT](r *kernels.Registry, t types.T) {
	dt := types.ArrowType(t)
	bin := func(name string, f func(a, b T) T) {
		add(r, name, targs(t, t), t,
			func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
				a, b, err := dInts(args)
				if err != nil {
					return nil, err
				}
				return int64(f(T(a), T(b))), nil
			},
			func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
				return binaryFixed[T, T, T](ctx, args, n, dt, func(a, b, r []T, _ []byte) error {
					a, b = a[:len(r)], b[:len(r)]
					for i := range r {
						r[i] = f(a[i], b[i])
					}
					return nil
				})
			})
	}
	bin("&", func(a, b T) T { return a & b })
	bin("|", func(a, b T) T { return a | b })
	bin("#", func(a, b T) T { return a ^ b })
	for _, name := range []string{"<<", ">>"} {
		f := shl[T]
		if name == ">>" {
			f = shr[T]
		}
		add(r, name, targs(t, types.Int4T), t, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			a, s, err := dInts(args)
			if err != nil {
				return nil, err
			}
			return int64(f(T(a), s)), nil
		}, nil)
	}
	add(r, "u~", targs(t), t, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		a, err := dInt(args[0])
		if err != nil {
			return nil, err
		}
		return int64(^T(a)), nil
	}, nil)
	add(r, "u@", targs(t), t, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
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
}
