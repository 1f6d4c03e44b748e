package ops

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// registerArith adds + - * / % and unary minus/plus for int2, int4, int8,
// float4 and float8 (same-type pairs; the planner casts mixed pairs, which
// gives PostgreSQL's results for these families).
func registerArith(r *kernels.Registry) {
	regIntArith[int16](r, types.Int2T)
	regIntArith[int32](r, types.Int4T)
	regIntArith[int64](r, types.Int8T)
	regFloatArith[float32](r, types.Float4T)
	regFloatArith[float64](r, types.Float8T)
}

func regIntArith[T intT](r *kernels.Registry, t types.T) {
	dt := types.ArrowType(t)
	bin := func(name string, f func(a, b T) (T, error), loop func(a, b, r []T, valid []byte) error) {
		add(r, name, targs(t, t), t,
			func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
				a, b, err := dInts(args)
				if err != nil {
					return nil, err
				}
				v, err := f(T(a), T(b))
				if err != nil {
					return nil, err
				}
				return int64(v), nil
			},
			func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
				return binaryFixed[T, T, T](ctx, args, n, dt, loop)
			})
	}
	bin("+", iAdd[T], vIntAdd[T])
	bin("-", iSub[T], vIntSub[T])
	bin("*", iMul[T], vIntMul[T])
	bin("/", iDiv[T], vIntDiv[T])
	bin("%", iMod[T], vIntMod[T])
	add(r, "u-", targs(t), t,
		func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			a, err := dInt(args[0])
			if err != nil {
				return nil, err
			}
			v, err := iNeg(T(a))
			if err != nil {
				return nil, err
			}
			return int64(v), nil
		},
		func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			return unaryFixed[T, T](ctx, args, n, dt, vIntNeg[T])
		})
	add(r, "u+", targs(t), t, identity, vecIdentity)
}

func regFloatArith[T floatT](r *kernels.Registry, t types.T) {
	dt := types.ArrowType(t)
	bin := func(name string, f func(a, b T) (T, error)) {
		loop := vFloat[T](name[0], f)
		add(r, name, targs(t, t), t,
			func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
				a, b, err := dFloats(args)
				if err != nil {
					return nil, err
				}
				v, err := f(T(a), T(b))
				if err != nil {
					return nil, err
				}
				return float64(v), nil
			},
			func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
				return binaryFixed[T, T, T](ctx, args, n, dt, loop)
			})
	}
	bin("+", fAdd[T])
	bin("-", fSub[T])
	bin("*", fMul[T])
	bin("/", fDiv[T])
	add(r, "u-", targs(t), t,
		func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			a, err := dFloat(args[0])
			if err != nil {
				return nil, err
			}
			return -a, nil
		},
		func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			return unaryFixed[T, T](ctx, args, n, dt, vFloatNeg[T])
		})
	add(r, "u+", targs(t), t, identity, vecIdentity)
}

func identity(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) { return args[0], nil }

func vecIdentity(_ *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
	if err := checkArgs(args, n, 1); err != nil {
		return nil, err
	}
	args[0].Retain()
	return args[0], nil
}
