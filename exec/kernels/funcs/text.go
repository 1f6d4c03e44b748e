package funcs

import (
	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// datumType infers the SQL type of a Datum from its Go representation. It
// is used only by the "any"-typed variadic functions (concat, format), whose
// Eval receives no argument types: real is indistinguishable from double
// precision and integer widths from bigint, which does not change their
// text form except for real (see the package report).
func datumType(d types.Datum) types.T {
	switch v := d.(type) {
	case string:
		return types.TextT
	case int64:
		return types.Int8T
	case float64:
		return types.Float8T
	case bool:
		return types.BoolT
	case *apd.Decimal:
		return types.NumericT
	case []byte:
		return types.ByteaT
	case types.Date:
		return types.DateT
	case types.TimeOfDay:
		return types.TimeT
	case types.Timestamp:
		return types.TimestampT
	case types.TimestampTZ:
		return types.TimestampTZT
	case types.Interval:
		return types.IntervalT
	case *types.Array:
		return types.ArrayOf(v.Elem)
	}
	return types.TextT
}

// datumText renders a non-nil Datum as PostgreSQL's text output would.
func datumText(ctx *kernels.EvalContext, d types.Datum) string {
	if s, ok := d.(string); ok {
		return s
	}
	return types.FormatText(evalTypesCtx(ctx), d, datumType(d))
}

func evalTypesCtx(ctx *kernels.EvalContext) *types.Ctx {
	if ctx == nil {
		return nil
	}
	return &ctx.Ctx
}
