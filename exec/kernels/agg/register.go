package agg

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Register adds every aggregate of this package to r, with PostgreSQL 15's
// overloads and result types.
func Register(r *kernels.Registry) {
	add := func(name string, args []types.T, ret types.T, mk func(args []types.T, ret types.T) kernels.GroupedAcc) {
		r.AddAgg(&kernels.AggFunc{Name: name, Args: args, Ret: ret, New: mk})
	}
	one := func(t types.T) []types.T { return []types.T{t} }

	// count
	add("count", nil, types.Int8T, func([]types.T, types.T) kernels.GroupedAcc { return &countAcc{star: true} })
	add("count", one(types.AnyT), types.Int8T, func([]types.T, types.T) kernels.GroupedAcc { return &countAcc{} })

	// sum
	add("sum", one(types.Int2T), types.Int8T, func([]types.T, types.T) kernels.GroupedAcc { return &sumIntAcc[int16]{} })
	add("sum", one(types.Int4T), types.Int8T, func([]types.T, types.T) kernels.GroupedAcc { return &sumIntAcc[int32]{} })
	add("sum", one(types.Int8T), types.NumericT, func([]types.T, types.T) kernels.GroupedAcc { return &wideIntAcc[int64]{} })
	add("sum", one(types.Float4T), types.Float4T, func([]types.T, types.T) kernels.GroupedAcc { return &floatAcc[float32]{kind: statSum} })
	add("sum", one(types.Float8T), types.Float8T, func([]types.T, types.T) kernels.GroupedAcc { return &floatAcc[float64]{kind: statSum} })
	add("sum", one(types.NumericT), types.NumericT, func([]types.T, types.T) kernels.GroupedAcc { return &decAcc{kind: decSum} })
	add("sum", one(types.IntervalT), types.IntervalT, func([]types.T, types.T) kernels.GroupedAcc { return &intervalAcc{} })

	// avg
	add("avg", one(types.Int2T), types.NumericT, func([]types.T, types.T) kernels.GroupedAcc { return &wideIntAcc[int16]{avg: true} })
	add("avg", one(types.Int4T), types.NumericT, func([]types.T, types.T) kernels.GroupedAcc { return &wideIntAcc[int32]{avg: true} })
	add("avg", one(types.Int8T), types.NumericT, func([]types.T, types.T) kernels.GroupedAcc { return &wideIntAcc[int64]{avg: true} })
	add("avg", one(types.Float4T), types.Float8T, func([]types.T, types.T) kernels.GroupedAcc { return &floatAcc[float32]{kind: statAvg} })
	add("avg", one(types.Float8T), types.Float8T, func([]types.T, types.T) kernels.GroupedAcc { return &floatAcc[float64]{kind: statAvg} })
	add("avg", one(types.NumericT), types.NumericT, func([]types.T, types.T) kernels.GroupedAcc { return &decAcc{kind: decAvg} })
	add("avg", one(types.IntervalT), types.IntervalT, func([]types.T, types.T) kernels.GroupedAcc { return &intervalAcc{avg: true} })

	// min / max
	for _, isMax := range []bool{false, true} {
		name := "min"
		if isMax {
			name = "max"
		}
		m := isMax
		add(name, one(types.Int2T), types.Int2T, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxIntAcc[int16]{max: m} })
		add(name, one(types.Int4T), types.Int4T, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxIntAcc[int32]{max: m} })
		add(name, one(types.Int8T), types.Int8T, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxIntAcc[int64]{max: m} })
		add(name, one(types.OidT), types.OidT, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxIntAcc[int64]{max: m} })
		add(name, one(types.DateT), types.DateT, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxIntAcc[arrow.Date32]{max: m} })
		add(name, one(types.TimeT), types.TimeT, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxIntAcc[arrow.Time64]{max: m} })
		add(name, one(types.TimestampT), types.TimestampT, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxIntAcc[arrow.Timestamp]{max: m} })
		add(name, one(types.TimestampTZT), types.TimestampTZT, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxIntAcc[arrow.Timestamp]{max: m} })
		add(name, one(types.Float4T), types.Float4T, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxFloatAcc[float32]{max: m} })
		add(name, one(types.Float8T), types.Float8T, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxFloatAcc[float64]{max: m} })
		add(name, one(types.IntervalT), types.IntervalT, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxIntervalAcc{max: m} })
		for _, st := range []struct{ arg, ret types.T }{
			{types.NumericT, types.NumericT}, {types.TextT, types.TextT},
			{types.VarcharT, types.TextT}, {types.BpcharT, types.BpcharT},
		} {
			t := st.arg
			add(name, one(t), st.ret, func([]types.T, types.T) kernels.GroupedAcc { return &minMaxStringAcc{max: m, t: t} })
		}
		r.AddAgg(&kernels.AggFunc{Name: name, Args: one(types.AnyArrayT),
			RetFn: func(args []types.T) types.T { return args[0] },
			New: func(args []types.T, _ types.T) kernels.GroupedAcc {
				return &minMaxArrayAcc{max: m, t: args[0]}
			}})
	}

	// variance and standard deviation
	for _, v := range []struct {
		name string
		dk   decKind
		fk   floatStatKind
	}{
		{"variance", decVarSamp, statVarSamp}, {"var_samp", decVarSamp, statVarSamp}, {"var_pop", decVarPop, statVarPop},
		{"stddev", decStddevSamp, statStddevSamp}, {"stddev_samp", decStddevSamp, statStddevSamp}, {"stddev_pop", decStddevPop, statStddevPop},
	} {
		dk, fk := v.dk, v.fk
		for _, t := range []types.T{types.Int2T, types.Int4T, types.Int8T, types.NumericT} {
			add(v.name, one(t), types.NumericT, func([]types.T, types.T) kernels.GroupedAcc { return &decAcc{kind: dk, sq: true} })
		}
		add(v.name, one(types.Float4T), types.Float8T, func([]types.T, types.T) kernels.GroupedAcc { return &floatAcc[float32]{kind: fk} })
		add(v.name, one(types.Float8T), types.Float8T, func([]types.T, types.T) kernels.GroupedAcc { return &floatAcc[float64]{kind: fk} })
	}

	// boolean and bitwise
	add("bool_and", one(types.BoolT), types.BoolT, func([]types.T, types.T) kernels.GroupedAcc { return &boolAcc{and: true} })
	add("every", one(types.BoolT), types.BoolT, func([]types.T, types.T) kernels.GroupedAcc { return &boolAcc{and: true} })
	add("bool_or", one(types.BoolT), types.BoolT, func([]types.T, types.T) kernels.GroupedAcc { return &boolAcc{} })
	for _, and := range []bool{true, false} {
		name := "bit_or"
		if and {
			name = "bit_and"
		}
		a := and
		add(name, one(types.Int2T), types.Int2T, func([]types.T, types.T) kernels.GroupedAcc { return &bitAcc[int16]{and: a} })
		add(name, one(types.Int4T), types.Int4T, func([]types.T, types.T) kernels.GroupedAcc { return &bitAcc[int32]{and: a} })
		add(name, one(types.Int8T), types.Int8T, func([]types.T, types.T) kernels.GroupedAcc { return &bitAcc[int64]{and: a} })
	}

	// order-sensitive
	for _, t := range []types.T{types.TextT, types.ByteaT} {
		r.AddAgg(&kernels.AggFunc{Name: "string_agg", Args: []types.T{t, t}, Ret: t, OrderSensitive: true,
			New: func([]types.T, types.T) kernels.GroupedAcc { return &stringAggAcc{} }})
	}
	r.AddAgg(&kernels.AggFunc{Name: "array_agg", Args: one(types.AnyT), OrderSensitive: true,
		RetFn: func(args []types.T) types.T { return types.ArrayOf(args[0]) },
		New: func(args []types.T, _ types.T) kernels.GroupedAcc {
			return &arrayAggAcc{elem: args[0]}
		}})
}
