package exec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/agg"
	"github.com/sabotsql/sabotsql/exec/kernels/ops"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// These tests run plans with the real operators and aggregates registered
// by exec/kernels/ops and exec/kernels/agg; expected values come from
// PostgreSQL 15.18 over the same rows.

func realRegistry() *kernels.Registry {
	r := kernels.NewRegistry()
	ops.Register(r)
	agg.Register(r)
	return r
}

func matches(decl []types.T, args []types.T) bool {
	if len(decl) != len(args) {
		return false
	}
	for i, d := range decl {
		if d.Family != types.FamAny && d.Family != args[i].Family {
			return false
		}
	}
	return true
}

func scalarFn(t *testing.T, r *kernels.Registry, name string, args ...types.T) *kernels.ScalarFunc {
	for _, f := range r.Scalars(name) {
		if matches(f.Args, args) {
			return f
		}
	}
	t.Fatalf("no scalar %s%v", name, args)
	return nil
}

func aggFn(t *testing.T, r *kernels.Registry, name string, args ...types.T) *kernels.AggFunc {
	for _, f := range r.Aggs(name) {
		if matches(f.Args, args) {
			return f
		}
	}
	t.Fatalf("no aggregate %s%v", name, args)
	return nil
}

func fmtPG(d types.Datum) string {
	switch v := d.(type) {
	case nil:
		return "N"
	case *apd.Decimal:
		return v.String()
	}
	return fmt.Sprint(d)
}

func fmtPGRows(rs []row) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		parts := make([]string, len(r))
		for j, d := range r {
			parts[j] = fmtPG(d)
		}
		out[i] = strings.Join(parts, "|")
	}
	return out
}

var tRows = []row{
	{int64(1), int64(10), "b"}, {int64(1), nil, "a"}, {int64(2), int64(5), "c"}, {int64(1), int64(10), nil},
	{int64(2), int64(7), "a"}, {nil, int64(3), "z"}, {int64(2), int64(5), "b"}, {nil, nil, nil}, {int64(3), int64(-4), "q"},
}

func tTable(f *fixture) *planner.Scan {
	return f.table("t", []catalog.Column{{Name: "g", T: types.Int8T}, {Name: "x", T: types.Int8T}, {Name: "s", T: types.TextT}}, tRows)
}

func TestRealAggregatesMatchPostgres(t *testing.T) {
	r := realRegistry()
	for _, bs := range batchSizes {
		f := newFixture(t, bs)
		scan := tTable(f)
		sum := aggFn(t, r, "sum", types.Int8T)
		avg := aggFn(t, r, "avg", types.Int8T)
		cnt := aggFn(t, r, "count", types.Int8T)
		sagg := aggFn(t, r, "string_agg", types.TextT, types.TextT)
		mn := aggFn(t, r, "min", types.Int8T)
		star := aggFn(t, r, "count")
		s := col(2, types.TextT)
		comma := &planner.Const{Val: ",", T: types.TextT}
		a := &planner.Aggregate{Input: scan, GroupBy: []planner.Expr{ci(0)},
			Aggs: []planner.AggCall{
				{Fn: sum, Args: []planner.Expr{ci(1)}, T: sum.ResultType([]types.T{types.Int8T})},
				{Fn: avg, Args: []planner.Expr{ci(1)}, T: avg.ResultType([]types.T{types.Int8T})},
				{Fn: cnt, Args: []planner.Expr{ci(1)}, Distinct: true, T: types.Int8T},
				{Fn: sagg, Args: []planner.Expr{s, comma}, OrderBy: []planner.SortKey{{E: s, Desc: true}}, T: types.TextT},
				{Fn: mn, Args: []planner.Expr{ci(1)}, T: types.Int8T},
				{Fn: star, T: types.Int8T},
			}}
		a.Out = schemaOf(icol("g"))
		for _, c := range a.Aggs {
			a.Out = append(a.Out, planner.Column{Name: c.Fn.Name, T: c.T})
		}
		sorted := &planner.Sort{Input: a, Keys: []planner.SortKey{{E: ci(0)}}}
		require.Equal(t, []string{
			"1|20|10.0000000000000000|1|b,a|10|3",
			"2|17|5.6666666666666667|2|c,b,a|5|3",
			"3|-4|-4.0000000000000000|1|q|-4|1",
			"N|3|3.0000000000000000|1|z|3|2",
		}, fmtPGRows(f.mustRun(sorted)), "bs=%d", bs)
	}
}

func TestRealWindowAggregatesMatchPostgres(t *testing.T) {
	r := realRegistry()
	for _, bs := range batchSizes {
		f := newFixture(t, bs)
		scan := tTable(f)
		s := col(2, types.TextT)
		order := []planner.SortKey{{E: ci(1)}, {E: s}}
		sum := aggFn(t, r, "sum", types.Int8T)
		avg := aggFn(t, r, "avg", types.Int8T)
		rows := planner.Frame{Mode: planner.FrameRows, Start: planner.FrameBound{Kind: planner.OffsetPreceding, Offset: ival(1)}, End: planner.FrameBound{Kind: planner.CurrentRow}}
		def := planner.Frame{Mode: planner.FrameRange, Start: planner.FrameBound{Kind: planner.UnboundedPreceding}, End: planner.FrameBound{Kind: planner.CurrentRow}}
		w := &planner.Window{Input: scan, Calls: []planner.WindowCall{
			{Agg: sum, Name: "sum", Args: []planner.Expr{ci(1)}, PartitionBy: []planner.Expr{ci(0)}, OrderBy: order, Frame: rows, T: types.NumericT},
			{Agg: avg, Name: "avg", Args: []planner.Expr{ci(1)}, PartitionBy: []planner.Expr{ci(0)}, OrderBy: order, Frame: def, T: types.NumericT},
		}}
		w.Out = append(append(planner.Schema{}, scan.Out...), planner.Column{Name: "s", T: types.NumericT}, planner.Column{Name: "a", T: types.NumericT})
		sorted := &planner.Sort{Input: w, Keys: []planner.SortKey{{E: ci(0)}, {E: ci(1)}, {E: s}}}
		require.Equal(t, strings.Fields(
			"1|10|b|10|10.0000000000000000 1|10|N|20|10.0000000000000000 1|N|a|10|10.0000000000000000 "+
				"2|5|b|5|5.0000000000000000 2|5|c|10|5.0000000000000000 2|7|a|12|5.6666666666666667 "+
				"3|-4|q|-4|-4.0000000000000000 N|3|z|3|3.0000000000000000 N|N|N|3|3.0000000000000000"),
			fmtPGRows(f.mustRun(sorted)), "bs=%d", bs)
	}
}

func TestRealOperatorsGuardedDivision(t *testing.T) {
	r := realRegistry()
	f := newFixture(t, 3)
	scan := f.table("d", intCols("a", "b"), []row{{int64(7), int64(2)}, {int64(1), int64(0)}, {nil, int64(0)}, {int64(-9), int64(3)}})
	div := scalarFn(t, r, "/", types.Int8T, types.Int8T)
	ne := scalarFn(t, r, "<>", types.Int8T, types.Int8T)
	gt := scalarFn(t, r, ">", types.Int8T, types.Int8T)
	q := call(div, ci(0), ci(1))
	guarded := &planner.Case{Whens: []planner.When{{Cond: call(ne, ci(1), ival(0)), Result: q}}, T: types.Int8T}
	got := f.mustRun(project(scan, guarded, &planner.And{Args: []planner.Expr{call(ne, ci(1), ival(0)), call(gt, q, ival(0))}}))
	require.Equal(t, []string{"3|true", "N|false", "N|false", "-3|false"}, fmtPGRows(got))
	_, err := f.run(project(scan, q))
	require.Equal(t, pgerror.DivisionByZero, pgerror.CodeOf(err))

	// text → integer casts go through types.Cast: bad input is 22P02.
	txt := f.table("s", []catalog.Column{{Name: "s", T: types.TextT}}, []row{{" 12 "}, {"x"}})
	_, err = f.run(project(txt, &planner.Cast{E: col(0, types.TextT), To: types.Int4T, Explicit: true}))
	require.Equal(t, pgerror.InvalidTextRepresentation, pgerror.CodeOf(err))
	ok := &planner.Filter{Input: txt, Cond: call(scalarFn(t, r, "=", types.TextT, types.TextT), col(0, types.TextT), &planner.Const{Val: " 12 ", T: types.TextT})}
	got = f.mustRun(project(ok, &planner.Cast{E: col(0, types.TextT), To: types.Int4T, Explicit: true}))
	require.Equal(t, []string{"12"}, fmtPGRows(got))
}
