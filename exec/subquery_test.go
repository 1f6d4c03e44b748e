package exec

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

func outer(depth, idx int) *planner.OuterRef {
	return &planner.OuterRef{Depth: depth, Idx: idx, T: types.Int8T}
}

func project(in planner.Node, es ...planner.Expr) *planner.Project {
	p := &planner.Project{Input: in, Exprs: es}
	for _, e := range es {
		p.Out = append(p.Out, planner.Column{Name: "x", T: e.Type()})
	}
	return p
}

func TestSubqueries(t *testing.T) {
	for _, bs := range batchSizes {
		f := newFixture(t, bs)
		l := f.table("l", intCols("a"), []row{{int64(1)}, {int64(2)}, {nil}, {int64(4)}, {int64(2)}, {int64(1)}})
		r := f.table("r", intCols("c", "d"), []row{{int64(1), int64(10)}, {int64(2), int64(20)}, {int64(2), int64(21)}, {nil, int64(30)}})
		rNoNull := &planner.Filter{Input: r, Cond: &planner.IsNull{E: ci(0), Negate: true}}

		// Uncorrelated scalar: a + (SELECT max(d) FROM r) runs the subplan once.
		maxD := &planner.Aggregate{Input: r, Aggs: []planner.AggCall{{Fn: aggMax, Args: []planner.Expr{ci(1)}, T: types.Int8T}}, Out: schemaOf(icol("m"))}
		before := f.tables.scans["r"]
		got := f.mustRun(project(l, call(fnAdd, ci(0), &planner.Subquery{Kind: planner.SubScalar, Plan: maxD, T: types.Int8T})))
		require.Equal(t, []string{"31", "32", "NULL", "34", "32", "31"}, fmtRows(got))
		require.Equal(t, 1, f.tables.scans["r"]-before)

		// Scalar subquery with more than one row → 21000; empty → NULL.
		_, err := f.run(project(l, &planner.Subquery{Kind: planner.SubScalar, Plan: project(r, ci(1)), T: types.Int8T}))
		require.Equal(t, pgerror.CardinalityViolation, pgerror.CodeOf(err))
		none := &planner.Filter{Input: r, Cond: bval(false)}
		got = f.mustRun(project(l, &planner.Subquery{Kind: planner.SubScalar, Plan: project(none, ci(1)), T: types.Int8T}))
		require.Equal(t, []string{"NULL", "NULL", "NULL", "NULL", "NULL", "NULL"}, fmtRows(got))

		// Correlated scalar: (SELECT max(d) FROM r WHERE r.c = l.a), memoized per distinct a.
		corr := &planner.Aggregate{Input: &planner.Filter{Input: r, Cond: call(fnEq, ci(0), outer(1, 0))},
			Aggs: []planner.AggCall{{Fn: aggMax, Args: []planner.Expr{ci(1)}, T: types.Int8T}}, Out: schemaOf(icol("m"))}
		before = f.tables.scans["r"]
		got = f.mustRun(project(l, ci(0), &planner.Subquery{Kind: planner.SubScalar, Plan: corr, Correlated: true, T: types.Int8T}))
		require.Equal(t, []string{"1|10", "2|21", "NULL|NULL", "4|NULL", "2|21", "1|10"}, fmtRows(got))
		require.Equal(t, 4, f.tables.scans["r"]-before, "one run per distinct outer value (1, 2, NULL, 4)")

		// EXISTS, correlated, as a filter.
		ex := &planner.Subquery{Kind: planner.SubExists, Plan: &planner.Filter{Input: r, Cond: call(fnEq, ci(0), outer(1, 0))}, Correlated: true, T: types.BoolT}
		got = f.mustRun(&planner.Filter{Input: l, Cond: ex})
		require.Equal(t, []string{"1", "2", "2", "1"}, fmtRows(got))
		got = f.mustRun(&planner.Filter{Input: l, Cond: &planner.Not{E: ex}})
		require.Equal(t, []string{"NULL", "4"}, fmtRows(got))

		// a IN (SELECT c FROM r): NULL when no match and r.c has a NULL.
		in := func(plan planner.Node, negate bool) planner.Expr {
			if negate {
				return &planner.Subquery{Kind: planner.SubAll, Plan: plan, Left: ci(0), Op: fnNe, T: types.BoolT}
			}
			return &planner.Subquery{Kind: planner.SubAny, Plan: plan, Left: ci(0), Op: fnEq, T: types.BoolT}
		}
		got = f.mustRun(project(l, in(project(r, ci(0)), false)))
		require.Equal(t, []string{"true", "true", "NULL", "NULL", "true", "true"}, fmtRows(got))
		got = f.mustRun(project(l, in(project(r, ci(0)), true)))
		require.Equal(t, []string{"false", "false", "NULL", "NULL", "false", "false"}, fmtRows(got))
		got = f.mustRun(project(l, in(project(rNoNull, ci(0)), false)))
		require.Equal(t, []string{"true", "true", "NULL", "false", "true", "true"}, fmtRows(got))
		got = f.mustRun(project(l, in(project(rNoNull, ci(0)), true)))
		require.Equal(t, []string{"false", "false", "NULL", "true", "false", "false"}, fmtRows(got))
		// empty subquery: IN is false, NOT IN is true, even for NULL
		got = f.mustRun(project(l, in(project(none, ci(0)), false), in(project(none, ci(0)), true)))
		require.Equal(t, "false|true", fmtRow(got[2]))

		// a < ANY (SELECT c ...) and a < ALL (...) through the generic path.
		anyLt := &planner.Subquery{Kind: planner.SubAny, Plan: project(rNoNull, ci(0)), Left: ci(0), Op: fnLt, T: types.BoolT}
		allLt := &planner.Subquery{Kind: planner.SubAll, Plan: project(r, ci(0)), Left: ci(0), Op: fnLt, T: types.BoolT}
		got = f.mustRun(project(l, anyLt, allLt))
		require.Equal(t, []string{"true|false", "false|false", "NULL|NULL", "false|false", "false|false", "true|false"}, fmtRows(got))

		// ARRAY(SELECT d FROM r WHERE c = a)
		arr := &planner.Subquery{Kind: planner.SubArray, Plan: project(&planner.Filter{Input: r, Cond: call(fnEq, ci(0), outer(1, 0))}, ci(1)),
			Correlated: true, T: types.ArrayOf(types.Int8T)}
		got = f.mustRun(project(l, arr))
		require.Equal(t, "&{bigint [20 21]}", fmtRow(got[1]))
		require.Equal(t, "&{bigint []}", fmtRow(got[3]))

		// Depth 2: SELECT (SELECT (SELECT count(*) FROM r r2 WHERE r2.c = l.a AND r2.d > r1.d) FROM r r1 WHERE r1.d = 10) FROM l
		inner := &planner.Aggregate{
			Input: &planner.Filter{Input: r, Cond: &planner.And{Args: []planner.Expr{call(fnEq, ci(0), outer(2, 0)), call(fnGt, ci(1), outer(1, 1))}}},
			Aggs:  []planner.AggCall{{Fn: aggCountStar, T: types.Int8T}}, Out: schemaOf(icol("n"))}
		mid := project(&planner.Filter{Input: r, Cond: call(fnEq, ci(1), ival(10))},
			&planner.Subquery{Kind: planner.SubScalar, Plan: inner, Correlated: true, T: types.Int8T})
		got = f.mustRun(project(l, ci(0), &planner.Subquery{Kind: planner.SubScalar, Plan: mid, Correlated: true, T: types.Int8T}))
		require.Equal(t, []string{"1|0", "2|2", "NULL|0", "4|0", "2|2", "1|0"}, fmtRows(got))
	}
}
