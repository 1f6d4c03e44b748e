package ops

import (
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// registerArrayOps adds PostgreSQL's array operators: concatenation (||)
// of two arrays or an array and an element, containment (@>, <@) and
// overlap (&&). Element equality is SQL equality of the element type.
func registerArrayOps(r *kernels.Registry) {
	arr := types.AnyArrayT
	elem := types.AnyT
	sameArr := func(args []types.T) types.T {
		for _, a := range args {
			if a.Family == types.FamArray {
				return a
			}
		}
		return types.ArrayOf(args[0])
	}
	r.AddScalar(&kernels.ScalarFunc{Name: "||", Args: []types.T{arr, arr}, RetFn: sameArr, Volatility: kernels.Immutable,
		Eval: func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			switch {
			case a[0] == nil:
				return a[1], nil
			case a[1] == nil:
				return a[0], nil
			}
			x, y := a[0].(*types.Array), a[1].(*types.Array)
			out := &types.Array{Elem: x.Elem, Elems: make([]types.Datum, 0, len(x.Elems)+len(y.Elems))}
			out.Elems = append(append(out.Elems, x.Elems...), y.Elems...)
			return out, nil
		}})
	r.AddScalar(&kernels.ScalarFunc{Name: "||", Args: []types.T{arr, elem}, RetFn: sameArr, Volatility: kernels.Immutable,
		Eval: func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			if a[0] == nil {
				return nil, nil
			}
			x := a[0].(*types.Array)
			out := &types.Array{Elem: x.Elem, Elems: append(append([]types.Datum{}, x.Elems...), a[1])}
			return out, nil
		}})
	r.AddScalar(&kernels.ScalarFunc{Name: "||", Args: []types.T{elem, arr}, RetFn: sameArr, Volatility: kernels.Immutable,
		Eval: func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			if a[1] == nil {
				return nil, nil
			}
			y := a[1].(*types.Array)
			out := &types.Array{Elem: y.Elem, Elems: append([]types.Datum{a[0]}, y.Elems...)}
			return out, nil
		}})
	contains := func(x, y *types.Array) bool {
		// Every non-NULL element of y is in x (NULL elements never match).
		for _, e := range y.Elems {
			if e == nil {
				return false
			}
			found := false
			for _, f := range x.Elems {
				if f != nil && types.Compare(e, f, y.Elem) == 0 {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	boolOp := func(name string, fn func(x, y *types.Array) bool) {
		r.AddScalar(&kernels.ScalarFunc{Name: name, Args: []types.T{arr, arr}, Ret: types.BoolT, Strict: true, Volatility: kernels.Immutable,
			Eval: func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
				return fn(a[0].(*types.Array), a[1].(*types.Array)), nil
			}})
	}
	boolOp("@>", contains)
	boolOp("<@", func(x, y *types.Array) bool { return contains(y, x) })
	boolOp("&&", func(x, y *types.Array) bool {
		for _, e := range x.Elems {
			if e == nil {
				continue
			}
			for _, f := range y.Elems {
				if f != nil && types.Compare(e, f, x.Elem) == 0 {
					return true
				}
			}
		}
		return false
	})
}
