package funcs

import (
	"strings"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

func arrArg(d types.Datum) *types.Array { a, _ := d.(*types.Array); return a }

// arrayRet is the result type of functions returning their array argument's type.
func arrayRet(args []types.T) types.T {
	for _, t := range args {
		if t.Family == types.FamArray {
			return t
		}
	}
	for _, t := range args {
		if t.Family != types.FamUnknown && t.Family != types.FamInt4 {
			return types.ArrayOf(t)
		}
	}
	if len(args) > 0 {
		return types.ArrayOf(args[0])
	}
	return types.ArrayOf(types.TextT)
}

func (e *env) registerArray() {
	anyArr, anyT := types.AnyArrayT, types.AnyT
	e.strict("array_length", int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		arr := arrArg(a[0])
		if arr == nil || len(arr.Elems) == 0 || i64(a[1]) != 1 {
			return nil, nil
		}
		return int64(len(arr.Elems)), nil
	}, anyArr, int4T)
	e.strict("array_upper", int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		arr := arrArg(a[0])
		if arr == nil || len(arr.Elems) == 0 || i64(a[1]) != 1 {
			return nil, nil
		}
		return int64(len(arr.Elems)), nil
	}, anyArr, int4T)
	e.strict("array_lower", int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		arr := arrArg(a[0])
		if arr == nil || len(arr.Elems) == 0 || i64(a[1]) != 1 {
			return nil, nil
		}
		return int64(1), nil
	}, anyArr, int4T)
	e.strict("array_ndims", int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		arr := arrArg(a[0])
		if arr == nil || len(arr.Elems) == 0 {
			return nil, nil
		}
		return int64(1), nil
	}, anyArr)
	e.strict("cardinality", int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		arr := arrArg(a[0])
		if arr == nil {
			return int64(0), nil
		}
		return int64(len(arr.Elems)), nil
	}, anyArr)
	e.lax("array_append", types.T{}, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		arr := arrArg(a[0])
		out := &types.Array{}
		if arr != nil {
			out.Elem = arr.Elem
			out.Elems = append(make([]types.Datum, 0, len(arr.Elems)+1), arr.Elems...)
		} else if a[1] != nil {
			out.Elem = datumType(a[1])
		}
		out.Elems = append(out.Elems, a[1])
		return out, nil
	}, anyArr, anyT).RetFn = arrayRet
	e.lax("array_prepend", types.T{}, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		arr := arrArg(a[1])
		out := &types.Array{Elems: make([]types.Datum, 0, 1+lenElems(arr))}
		if arr != nil {
			out.Elem = arr.Elem
		} else if a[0] != nil {
			out.Elem = datumType(a[0])
		}
		out.Elems = append(out.Elems, a[0])
		if arr != nil {
			out.Elems = append(out.Elems, arr.Elems...)
		}
		return out, nil
	}, anyT, anyArr).RetFn = arrayRet
	e.lax("array_cat", types.T{}, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		x, y := arrArg(a[0]), arrArg(a[1])
		switch {
		case x == nil && y == nil:
			return nil, nil
		case x == nil:
			return y, nil
		case y == nil:
			return x, nil
		}
		out := &types.Array{Elem: x.Elem, Elems: make([]types.Datum, 0, len(x.Elems)+len(y.Elems))}
		out.Elems = append(append(out.Elems, x.Elems...), y.Elems...)
		return out, nil
	}, anyArr, anyArr).RetFn = arrayRet
	pos := func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		arr := arrArg(a[0])
		if arr == nil {
			return nil, nil
		}
		start := int64(1)
		if len(a) > 2 {
			if a[2] == nil {
				return nil, errf(pgerror.NullValueNotAllowed, "initial position must not be null")
			}
			start = i64(a[2])
		}
		if start < 1 {
			start = 1
		}
		for i := start - 1; i < int64(len(arr.Elems)); i++ {
			if notDistinct(arr.Elems[i], a[1], arr.Elem) {
				return i + 1, nil
			}
		}
		return nil, nil
	}
	e.lax("array_position", int4T, pos, anyArr, anyT)
	e.lax("array_position", int4T, pos, anyArr, anyT, int4T)
	e.lax("array_remove", types.T{}, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		arr := arrArg(a[0])
		if arr == nil {
			return nil, nil
		}
		out := &types.Array{Elem: arr.Elem, Elems: make([]types.Datum, 0, len(arr.Elems))}
		for _, el := range arr.Elems {
			if !notDistinct(el, a[1], arr.Elem) {
				out.Elems = append(out.Elems, el)
			}
		}
		return out, nil
	}, anyArr, anyT).RetFn = arrayRet

	e.strict("array_to_string", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return arrayToString(ctx, arrArg(a[0]), str(a[1]), nil), nil
	}, anyArr, textT).Volatility = kernels.Stable
	e.lax("array_to_string", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == nil || a[1] == nil {
			return nil, nil
		}
		var null *string
		if a[2] != nil {
			s := str(a[2])
			null = &s
		}
		return arrayToString(ctx, arrArg(a[0]), str(a[1]), null), nil
	}, anyArr, textT, textT).Volatility = kernels.Stable
	// array_join is RisingWave's name for array_to_string.
	e.strict("array_join", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return arrayToString(ctx, arrArg(a[0]), str(a[1]), nil), nil
	}, anyArr, textT).Volatility = kernels.Stable
	textArr := types.ArrayOf(types.TextT)
	split := func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == nil {
			return nil, nil
		}
		var null *string
		if len(a) > 2 && a[2] != nil {
			s := str(a[2])
			null = &s
		}
		return stringToArray(str(a[0]), a[1], null), nil
	}
	e.lax("string_to_array", textArr, split, textT, textT)
	e.lax("string_to_array", textArr, split, textT, textT, textT)
}

func lenElems(a *types.Array) int {
	if a == nil {
		return 0
	}
	return len(a.Elems)
}

// notDistinct is IS NOT DISTINCT FROM for two Datums of type t.
func notDistinct(a, b types.Datum, t types.T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if t.Family == types.FamUnknown || t.Family == types.FamAny {
		t = datumType(a)
	}
	return types.Compare(a, b, t) == 0
}

func arrayToString(ctx *kernels.EvalContext, arr *types.Array, delim string, null *string) string {
	if arr == nil {
		return ""
	}
	var b strings.Builder
	first := true
	for _, el := range arr.Elems {
		var s string
		if el == nil {
			if null == nil {
				continue
			}
			s = *null
		} else if v, ok := el.(string); ok {
			s = v
		} else {
			s = types.FormatText(evalTypesCtx(ctx), el, arr.Elem)
		}
		if !first {
			b.WriteString(delim)
		}
		first = false
		b.WriteString(s)
	}
	return b.String()
}

// stringToArray splits s on delim (a NULL delimiter splits into characters,
// an empty one yields s itself); fields equal to *null become NULL.
func stringToArray(s string, delim types.Datum, null *string) *types.Array {
	out := &types.Array{Elem: types.TextT}
	if s == "" {
		return out
	}
	var parts []string
	switch {
	case delim == nil:
		for _, r := range s {
			parts = append(parts, string(r))
		}
	case str(delim) == "":
		parts = []string{s}
	default:
		parts = strings.Split(s, str(delim))
	}
	out.Elems = make([]types.Datum, len(parts))
	for i, p := range parts {
		if null != nil && p == *null {
			continue
		}
		out.Elems[i] = p
	}
	return out
}
