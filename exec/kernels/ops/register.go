package ops

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

type evalFn = func(ctx *kernels.EvalContext, args []types.Datum) (types.Datum, error)
type vecFn = func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error)

// Register adds every operator and math function overload of this package
// to r. It builds fresh closures (and their pattern caches) on every call.
func Register(r *kernels.Registry) {
	registerArith(r)
	registerNumericArith(r)
	registerDatetimeArith(r)
	registerConcat(r)
	registerArrayOps(r)
	registerCompare(r)
	registerLike(r)
	registerRegex(r)
	registerMath(r)
	registerBitwise(r)
}

// add registers a strict, immutable overload and returns it for tweaks.
func add(r *kernels.Registry, name string, args []types.T, ret types.T, eval evalFn, vec vecFn) *kernels.ScalarFunc {
	f := &kernels.ScalarFunc{
		Name:       name,
		Args:       args,
		Ret:        ret,
		Strict:     true,
		Volatility: kernels.Immutable,
		Eval:       eval,
		Vec:        vec,
	}
	r.AddScalar(f)
	return f
}

func targs(ts ...types.T) []types.T { return ts }

// Datum accessors: a wrong Go type is an internal error, never a panic.

func dInt(d types.Datum) (int64, error) {
	v, ok := d.(int64)
	if !ok {
		return 0, internalArg("integer", d)
	}
	return v, nil
}

func dFloat(d types.Datum) (float64, error) {
	v, ok := d.(float64)
	if !ok {
		return 0, internalArg("float", d)
	}
	return v, nil
}

func dText(d types.Datum) (string, error) {
	v, ok := d.(string)
	if !ok {
		return "", internalArg("text", d)
	}
	return v, nil
}

func dInts(args []types.Datum) (int64, int64, error) {
	if len(args) != 2 {
		return 0, 0, internalArg("binary operator", args)
	}
	a, err := dInt(args[0])
	if err != nil {
		return 0, 0, err
	}
	b, err := dInt(args[1])
	return a, b, err
}

func dFloats(args []types.Datum) (float64, float64, error) {
	if len(args) != 2 {
		return 0, 0, internalArg("binary operator", args)
	}
	a, err := dFloat(args[0])
	if err != nil {
		return 0, 0, err
	}
	b, err := dFloat(args[1])
	return a, b, err
}
