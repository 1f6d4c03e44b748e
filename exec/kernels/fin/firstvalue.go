package fin

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// firstValueAcc is first_value(x ORDER BY …) / last_value(x ORDER BY …) as
// aggregates (RisingWave's extension): the value of the group's first (or
// last) row in the order the rows are fed, NULL values included — unlike
// first/last, which skip NULLs.
type firstValueAcc struct {
	t    types.T
	last bool
	vals []types.Datum
	has  []bool
}

func (a *firstValueAcc) Grow(n int) {
	for len(a.vals) < n {
		a.vals = append(a.vals, nil)
		a.has = append(a.has, false)
	}
}

func (a *firstValueAcc) MemoryBytes() int64 { return int64(len(a.vals)) * 24 }

func (a *firstValueAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	if len(args) != 1 || args[0].Len() < len(groups) || !arrow.TypeEqual(args[0].DataType(), types.ArrowType(a.t)) {
		return pgerror.Internal("%s: malformed arguments", map[bool]string{false: "first_value", true: "last_value"}[a.last])
	}
	x := args[0]
	for i, g := range groups {
		if g == kernels.NoGroup || (!a.last && a.has[g]) {
			continue
		}
		a.vals[g], a.has[g] = types.GetDatum(x, i, a.t), true
	}
	return nil
}

func (a *firstValueAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	var d types.Datum
	if int(g) < len(a.vals) {
		d = a.vals[g]
	}
	types.AppendDatum(b, d, a.t)
	return nil
}

func (a *firstValueAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	for g := range a.vals {
		if err := a.AppendResult(ctx, uint32(g), b); err != nil {
			return err
		}
	}
	return nil
}

func registerFirstValue(reg *kernels.Registry) {
	for _, last := range []bool{false, true} {
		name, l := "first_value", last
		if last {
			name = "last_value"
		}
		reg.AddAgg(&kernels.AggFunc{Name: name, Args: []types.T{types.AnyT}, OrderSensitive: true,
			RetFn: func(args []types.T) types.T { return args[0] },
			New: func(args []types.T, ret types.T) kernels.GroupedAcc {
				if len(args) > 0 {
					ret = args[0]
				}
				return &firstValueAcc{t: ret, last: l}
			}})
	}
}
