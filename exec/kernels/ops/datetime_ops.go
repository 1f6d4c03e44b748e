package ops

import (
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// ev2 adapts a typed binary function to an Eval.
func ev2[A, B any](f func(ctx *kernels.EvalContext, a A, b B) (types.Datum, error)) evalFn {
	return func(ctx *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		if len(args) != 2 {
			return nil, internalArg("binary operator", args)
		}
		a, ok1 := args[0].(A)
		b, ok2 := args[1].(B)
		if !ok1 || !ok2 {
			return nil, pgerror.Internal("operator: unexpected arguments %T, %T", args[0], args[1])
		}
		return f(ctx, a, b)
	}
}

// ev1 adapts a typed unary function to an Eval.
func ev1[A any](f func(ctx *kernels.EvalContext, a A) (types.Datum, error)) evalFn {
	return func(ctx *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		if len(args) != 1 {
			return nil, internalArg("unary function", args)
		}
		a, ok := args[0].(A)
		if !ok {
			return nil, pgerror.Internal("function: unexpected argument %T", args[0])
		}
		return f(ctx, a)
	}
}

func datePlusDays(d types.Date, n int64) (types.Datum, error) {
	if d == types.DateInfinity || d == types.DateNegInfinity {
		return d, nil
	}
	v := int64(d) + n
	if v < minDateDays || v >= maxDateDays {
		return nil, errDateRange()
	}
	return types.Date(v), nil
}

func registerDatetimeArith(r *kernels.Registry) {
	D, I4, TS, TZ, IV, TM, F8 := types.DateT, types.Int4T, types.TimestampT, types.TimestampTZT, types.IntervalT, types.TimeT, types.Float8T

	add(r, "+", targs(D, I4), D, ev2(func(_ *kernels.EvalContext, d types.Date, n int64) (types.Datum, error) {
		return datePlusDays(d, n)
	}), nil)
	add(r, "+", targs(I4, D), D, ev2(func(_ *kernels.EvalContext, n int64, d types.Date) (types.Datum, error) {
		return datePlusDays(d, n)
	}), nil)
	add(r, "-", targs(D, I4), D, ev2(func(_ *kernels.EvalContext, d types.Date, n int64) (types.Datum, error) {
		return datePlusDays(d, -n)
	}), nil)
	add(r, "-", targs(D, D), I4, ev2(func(_ *kernels.EvalContext, a, b types.Date) (types.Datum, error) {
		if a == types.DateInfinity || a == types.DateNegInfinity || b == types.DateInfinity || b == types.DateNegInfinity {
			return nil, pgerror.New(pgerror.DatetimeFieldOverflow, "cannot subtract infinite dates")
		}
		v := int64(a) - int64(b)
		if v != int64(int32(v)) {
			return nil, errIntRange[int32]()
		}
		return v, nil
	}), nil)

	// date ± interval → timestamp.
	add(r, "+", targs(D, IV), TS, ev2(func(_ *kernels.EvalContext, d types.Date, iv types.Interval) (types.Datum, error) {
		ts, err := dateToTS(d)
		if err != nil {
			return nil, err
		}
		return wrapTS(tsPlusInterval(ts, iv))
	}), nil)
	add(r, "+", targs(IV, D), TS, ev2(func(_ *kernels.EvalContext, iv types.Interval, d types.Date) (types.Datum, error) {
		ts, err := dateToTS(d)
		if err != nil {
			return nil, err
		}
		return wrapTS(tsPlusInterval(ts, iv))
	}), nil)
	add(r, "-", targs(D, IV), TS, ev2(func(_ *kernels.EvalContext, d types.Date, iv types.Interval) (types.Datum, error) {
		ts, err := dateToTS(d)
		if err != nil {
			return nil, err
		}
		neg, err := negInterval(iv)
		if err != nil {
			return nil, err
		}
		return wrapTS(tsPlusInterval(ts, neg))
	}), nil)

	// date + time → timestamp.
	dateTime := func(d types.Date, t types.TimeOfDay) (types.Datum, error) {
		ts, err := dateToTS(d)
		if err != nil {
			return nil, err
		}
		if isInfTS(int64(ts)) {
			return ts, nil
		}
		v := int64(ts) + int64(t)
		if !validTS(v) {
			return nil, errTimestampRange()
		}
		return types.Timestamp(v), nil
	}
	add(r, "+", targs(D, TM), TS, ev2(func(_ *kernels.EvalContext, d types.Date, t types.TimeOfDay) (types.Datum, error) {
		return dateTime(d, t)
	}), nil)
	add(r, "+", targs(TM, D), TS, ev2(func(_ *kernels.EvalContext, t types.TimeOfDay, d types.Date) (types.Datum, error) {
		return dateTime(d, t)
	}), nil)

	// timestamp ± interval.
	add(r, "+", targs(TS, IV), TS, ev2(func(_ *kernels.EvalContext, ts types.Timestamp, iv types.Interval) (types.Datum, error) {
		return wrapTS(tsPlusInterval(ts, iv))
	}), tsIntervalVec(false, false))
	add(r, "+", targs(IV, TS), TS, ev2(func(_ *kernels.EvalContext, iv types.Interval, ts types.Timestamp) (types.Datum, error) {
		return wrapTS(tsPlusInterval(ts, iv))
	}), nil)
	add(r, "-", targs(TS, IV), TS, ev2(func(_ *kernels.EvalContext, ts types.Timestamp, iv types.Interval) (types.Datum, error) {
		neg, err := negInterval(iv)
		if err != nil {
			return nil, err
		}
		return wrapTS(tsPlusInterval(ts, neg))
	}), tsIntervalVec(false, true))

	// timestamptz ± interval (session zone: Stable).
	add(r, "+", targs(TZ, IV), TZ, ev2(func(ctx *kernels.EvalContext, ts types.TimestampTZ, iv types.Interval) (types.Datum, error) {
		return wrapTZ(tstzPlusInterval(ctx, ts, iv))
	}), tsIntervalVec(true, false)).Volatility = kernels.Stable
	add(r, "+", targs(IV, TZ), TZ, ev2(func(ctx *kernels.EvalContext, iv types.Interval, ts types.TimestampTZ) (types.Datum, error) {
		return wrapTZ(tstzPlusInterval(ctx, ts, iv))
	}), nil).Volatility = kernels.Stable
	add(r, "-", targs(TZ, IV), TZ, ev2(func(ctx *kernels.EvalContext, ts types.TimestampTZ, iv types.Interval) (types.Datum, error) {
		neg, err := negInterval(iv)
		if err != nil {
			return nil, err
		}
		return wrapTZ(tstzPlusInterval(ctx, ts, neg))
	}), tsIntervalVec(true, true)).Volatility = kernels.Stable

	// timestamp - timestamp, timestamptz - timestamptz → interval.
	add(r, "-", targs(TS, TS), IV, ev2(func(_ *kernels.EvalContext, a, b types.Timestamp) (types.Datum, error) {
		return wrapIV(tsDiff(int64(a), int64(b)))
	}), nil)
	add(r, "-", targs(TZ, TZ), IV, ev2(func(_ *kernels.EvalContext, a, b types.TimestampTZ) (types.Datum, error) {
		return wrapIV(tsDiff(int64(a), int64(b)))
	}), nil)

	// time ± interval → time (wraps at midnight); time - time → interval.
	add(r, "+", targs(TM, IV), TM, ev2(func(_ *kernels.EvalContext, t types.TimeOfDay, iv types.Interval) (types.Datum, error) {
		return wrapTime(int64(t) + iv.Micros%types.MicrosPerDay), nil
	}), nil)
	add(r, "+", targs(IV, TM), TM, ev2(func(_ *kernels.EvalContext, iv types.Interval, t types.TimeOfDay) (types.Datum, error) {
		return wrapTime(int64(t) + iv.Micros%types.MicrosPerDay), nil
	}), nil)
	add(r, "-", targs(TM, IV), TM, ev2(func(_ *kernels.EvalContext, t types.TimeOfDay, iv types.Interval) (types.Datum, error) {
		return wrapTime(int64(t) - iv.Micros%types.MicrosPerDay), nil
	}), nil)
	add(r, "-", targs(TM, TM), IV, ev2(func(_ *kernels.EvalContext, a, b types.TimeOfDay) (types.Datum, error) {
		return types.Interval{Micros: int64(a) - int64(b)}, nil
	}), nil)

	// interval arithmetic.
	add(r, "+", targs(IV, IV), IV, ev2(func(_ *kernels.EvalContext, a, b types.Interval) (types.Datum, error) {
		return wrapIV(addInterval(a, b))
	}), nil)
	add(r, "-", targs(IV, IV), IV, ev2(func(_ *kernels.EvalContext, a, b types.Interval) (types.Datum, error) {
		nb, err := negInterval(b)
		if err != nil {
			return nil, err
		}
		return wrapIV(addInterval(a, nb))
	}), nil)
	add(r, "u-", targs(IV), IV, ev1(func(_ *kernels.EvalContext, a types.Interval) (types.Datum, error) {
		return wrapIV(negInterval(a))
	}), nil)
	add(r, "u+", targs(IV), IV, identity, nil)
	add(r, "*", targs(IV, F8), IV, ev2(func(_ *kernels.EvalContext, a types.Interval, f float64) (types.Datum, error) {
		return wrapIV(intervalScale(a, f, false))
	}), nil)
	add(r, "*", targs(F8, IV), IV, ev2(func(_ *kernels.EvalContext, f float64, a types.Interval) (types.Datum, error) {
		return wrapIV(intervalScale(a, f, false))
	}), nil)
	add(r, "/", targs(IV, F8), IV, ev2(func(_ *kernels.EvalContext, a types.Interval, f float64) (types.Datum, error) {
		return wrapIV(intervalScale(a, f, true))
	}), nil)
}

// wrap* turn (value, error) into (Datum, error) without boxing a zero value
// on error.
func wrapTS(v types.Timestamp, err error) (types.Datum, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

func wrapTZ(v types.TimestampTZ, err error) (types.Datum, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

func wrapIV(v types.Interval, err error) (types.Datum, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
