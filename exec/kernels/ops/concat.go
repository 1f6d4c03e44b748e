package ops

import (
	"strings"

	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// datumType infers the SQL type of a Datum for text output where the
// overload does not know it (anynonarray arguments). Integers print alike
// whatever their width; float4 has its own overloads (see registerConcat).
func datumType(d types.Datum) (types.T, bool) {
	switch v := d.(type) {
	case bool:
		return types.BoolT, true
	case int64:
		return types.Int8T, true
	case float64:
		return types.Float8T, true
	case *apd.Decimal:
		return types.NumericT, true
	case string:
		return types.TextT, true
	case []byte:
		return types.ByteaT, true
	case types.Date:
		return types.DateT, true
	case types.TimeOfDay:
		return types.TimeT, true
	case types.Timestamp:
		return types.TimestampT, true
	case types.TimestampTZ:
		return types.TimestampTZT, true
	case types.Interval:
		return types.IntervalT, true
	case *types.Array:
		return types.ArrayOf(v.Elem), true
	}
	return types.UnknownT, false
}

// asText renders d as its type's text output; t is the static type or
// FamAny to infer it from the Datum.
func asText(ctx *kernels.EvalContext, d types.Datum, t types.T) (string, error) {
	if s, ok := d.(string); ok {
		if t.Family == types.FamBpchar {
			return strings.TrimRight(s, " "), nil
		}
		return s, nil
	}
	if b, ok := d.(bool); ok {
		// text || boolean goes through boolean's cast to text.
		if b {
			return "true", nil
		}
		return "false", nil
	}
	if t.Family == types.FamAny {
		var ok bool
		if t, ok = datumType(d); !ok {
			return "", internalArg("||", d)
		}
	}
	return types.FormatText(tctx(ctx), d, t), nil
}

// registerConcat adds text || text and the text || anynonarray forms.
func registerConcat(r *kernels.Registry) {
	T := types.TextT
	add(r, "||", targs(T, T), T, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
		if len(args) != 2 {
			return nil, internalArg("||", args)
		}
		a, ok1 := args[0].(string)
		b, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, pgerror.Internal("||: unexpected arguments %T, %T", args[0], args[1])
		}
		return a + b, nil
	}, nil)
	// Exact overloads come before the FamAny ones: the planner breaks ties
	// between equally good candidates by registration order. bpchar's cast
	// to text drops trailing spaces; float4's text output differs from
	// float8's for the same float64 Datum; FamAny covers everything else.
	for _, other := range []types.T{types.BpcharT, types.Float4T, types.AnyT} {
		other := other
		add(r, "||", targs(T, other), T, func(ctx *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			if len(args) != 2 {
				return nil, internalArg("||", args)
			}
			a, err := dText(args[0])
			if err != nil {
				return nil, err
			}
			b, err := asText(ctx, args[1], other)
			if err != nil {
				return nil, err
			}
			return a + b, nil
		}, nil).Volatility = kernels.Stable
		add(r, "||", targs(other, T), T, func(ctx *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			if len(args) != 2 {
				return nil, internalArg("||", args)
			}
			a, err := asText(ctx, args[0], other)
			if err != nil {
				return nil, err
			}
			b, err := dText(args[1])
			if err != nil {
				return nil, err
			}
			return a + b, nil
		}, nil).Volatility = kernels.Stable
	}
}
