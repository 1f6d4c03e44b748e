package fin

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Register adds the fintech aggregates and scalars to reg. Aggregates take
// float8 arguments: the binder casts numeric, integer and real arguments
// implicitly, as PostgreSQL does for float8 functions.
func Register(reg *kernels.Registry) {
	f8 := types.Float8T
	agg := func(name string, args []types.T, ordered bool, mk func(args []types.T) kernels.GroupedAcc) {
		reg.AddAgg(&kernels.AggFunc{Name: name, Args: args, Ret: f8, OrderSensitive: ordered,
			New: func(args []types.T, _ types.T) kernels.GroupedAcc { return mk(args) }})
	}
	agg("ewma", []types.T{f8, f8}, true, func([]types.T) kernels.GroupedAcc { return &ewmaAcc{} })
	for _, k := range []ewKind{ewVar, ewStd} {
		kind := k
		agg(kind.name(), []types.T{f8, f8}, true, func([]types.T) kernels.GroupedAcc { return &ewAcc{kind: kind} })
	}
	for _, k := range []ewKind{ewCov, ewCorr} {
		kind := k
		agg(kind.name(), []types.T{f8, f8, f8}, true, func([]types.T) kernels.GroupedAcc { return &ewAcc{kind: kind} })
	}
	agg("ofi", []types.T{f8, f8, f8, f8}, true, func([]types.T) kernels.GroupedAcc { return &ofiAcc{} })
	agg("vwap", []types.T{f8, f8}, false, func([]types.T) kernels.GroupedAcc { return &vwapAcc{} })
	agg("realized_var", []types.T{f8}, false, func([]types.T) kernels.GroupedAcc { return &realizedVarAcc{} })
	agg("bipower_var", []types.T{f8}, true, func([]types.T) kernels.GroupedAcc { return &bipowerAcc{} })
	agg("zscore", []types.T{f8}, true, func([]types.T) kernels.GroupedAcc { return &zscoreAcc{} })
	agg("twap", []types.T{f8, types.TimestampTZT}, true, func([]types.T) kernels.GroupedAcc {
		return &twapAcc[arrow.Timestamp, *array.Timestamp]{}
	})
	agg("twap", []types.T{f8, types.TimestampT}, true, func([]types.T) kernels.GroupedAcc {
		return &twapAcc[arrow.Timestamp, *array.Timestamp]{}
	})
	agg("twap", []types.T{f8, types.Int8T}, true, func([]types.T) kernels.GroupedAcc {
		return &twapAcc[int64, *array.Int64]{}
	})
	for _, last := range []bool{false, true} {
		name, l := "first", last
		if last {
			name = "last"
		}
		reg.AddAgg(&kernels.AggFunc{Name: name, Args: []types.T{types.AnyT}, OrderSensitive: true,
			RetFn: func(args []types.T) types.T { return args[0] },
			New: func(args []types.T, ret types.T) kernels.GroupedAcc {
				if len(args) > 0 {
					ret = args[0]
				}
				return newFirstLast(ret, l)
			}})
	}

	registerFirstValue(reg)

	reg.AddScalar(floatScalar("midprice", 2, fn2(midprice)))
	reg.AddScalar(&kernels.ScalarFunc{Name: "midprice", Args: []types.T{types.NumericT, types.NumericT},
		Ret: types.NumericT, Strict: true, Volatility: kernels.Immutable, Eval: midpriceNumeric})
	reg.AddScalar(floatScalar("microprice", 4, fn4(microprice)))
	reg.AddScalar(floatScalar("spread_bps", 2, fn2(spreadBps)))
	reg.AddScalar(floatScalar("l1_imbalance", 2, fn2(l1Imbalance)))
	reg.AddScalar(floatScalar("log_return", 2, fn2(logReturn)))
}
