package exec

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"

	_ "time/tzdata" // Europe/Berlin for the DST test

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// seeded returns a random source and logs its seed for reproduction.
func seeded(t *testing.T) *rand.Rand {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewSource(seed))
}

func genRows(rng *rand.Rand, n, ncols, max, nullPct int) []row {
	cols := make([][]types.Datum, ncols)
	for c := range cols {
		cols[c] = randInts(rng, n, max, nullPct)
	}
	out := make([]row, n)
	for i := range out {
		out[i] = make(row, ncols)
		for c := range cols {
			out[i][c] = cols[c][i]
		}
	}
	return out
}

func i64(d types.Datum) (int64, bool) {
	v, ok := d.(int64)
	return v, ok
}

func TestFilterProjectRandom(t *testing.T) {
	rng := seeded(t)
	data := genRows(rng, 300, 2, 10, 20)
	for _, bs := range batchSizes {
		f := newFixture(t, bs)
		scan := f.table("t", intCols("a", "b"), data)
		filt := &planner.Filter{Input: scan, Cond: call(fnLt, ci(0), ival(5))}
		got := f.mustRun(filt)
		var want []row
		for _, r := range data {
			if a, ok := i64(r[0]); ok && a < 5 {
				want = append(want, r)
			}
		}
		require.Equal(t, fmtRows(want), fmtRows(got), "bs=%d", bs)

		proj := &planner.Project{Input: scan, Exprs: []planner.Expr{call(fnAdd, ci(0), call(fnMul, ci(1), ival(2))), ci(1)},
			Out: schemaOf(icol("x"), icol("b"))}
		got = f.mustRun(proj)
		want = nil
		for _, r := range data {
			a, ok1 := i64(r[0])
			b, ok2 := i64(r[1])
			var x types.Datum
			if ok1 && ok2 {
				x = a + 2*b
			}
			want = append(want, row{x, r[1]})
		}
		require.Equal(t, fmtRows(want), fmtRows(got), "bs=%d", bs)
	}
}

func TestHashAggregateRandom(t *testing.T) {
	rng := seeded(t)
	data := genRows(rng, 500, 2, 12, 15)
	for _, bs := range batchSizes {
		f := newFixture(t, bs)
		scan := f.table("t", intCols("a", "b"), data)
		agg := &planner.Aggregate{Input: scan, GroupBy: []planner.Expr{ci(0)},
			Aggs: []planner.AggCall{
				{Fn: aggSum, Args: []planner.Expr{ci(1)}, T: types.Int8T},
				{Fn: aggCountStar, T: types.Int8T},
				{Fn: aggCount, Args: []planner.Expr{ci(1)}, T: types.Int8T},
				{Fn: aggMax, Args: []planner.Expr{ci(1)}, T: types.Int8T},
				{Fn: aggCount, Args: []planner.Expr{ci(1)}, Distinct: true, T: types.Int8T},
				{Fn: aggSum, Args: []planner.Expr{ci(1)}, Filter: call(fnGt, ci(1), ival(3)), T: types.Int8T},
				{Fn: aggList, Args: []planner.Expr{ci(1)}, OrderBy: []planner.SortKey{{E: ci(1), Desc: true, NullsFirst: true}}, T: types.TextT},
			},
			Out: schemaOf(icol("a"), icol("sum"), icol("cnt"), icol("cntb"), icol("max"), icol("cntd"), icol("sumf"), planner.Column{Name: "l", T: types.TextT}),
		}
		got := f.mustRun(agg)

		type acc struct {
			sum, cnt, cntb, sumf int64
			max                  types.Datum
			nb, nf               int
			distinct             map[int64]bool
			vals                 []types.Datum
		}
		groups := map[string]*acc{}
		var order []string
		keyOf := map[string]types.Datum{}
		for _, r := range data {
			k := fmt.Sprint(r[0])
			g := groups[k]
			if g == nil {
				g = &acc{distinct: map[int64]bool{}}
				groups[k] = g
				order = append(order, k)
				keyOf[k] = r[0]
			}
			g.cnt++
			g.vals = append(g.vals, r[1])
			if b, ok := i64(r[1]); ok {
				g.sum += b
				g.nb++
				g.cntb++
				g.distinct[b] = true
				if g.max == nil || b > g.max.(int64) {
					g.max = b
				}
				if b > 3 {
					g.sumf += b
					g.nf++
				}
			}
		}
		var want []row
		for _, k := range order {
			g := groups[k]
			var sum, sumf types.Datum
			if g.nb > 0 {
				sum = g.sum
			}
			if g.nf > 0 {
				sumf = g.sumf
			}
			vals := append([]types.Datum(nil), g.vals...)
			sort.SliceStable(vals, func(i, j int) bool {
				a, aok := i64(vals[i])
				b, bok := i64(vals[j])
				if !aok || !bok {
					return !aok && bok // NULLS FIRST
				}
				return a > b
			})
			l := ""
			for i, v := range vals {
				if i > 0 {
					l += ","
				}
				if v == nil {
					l += "N"
				} else {
					l += fmt.Sprint(v)
				}
			}
			want = append(want, row{keyOf[k], sum, g.cnt, g.cntb, g.max, int64(len(g.distinct)), sumf, l})
		}
		require.Equal(t, sortedRows(want), sortedRows(got), "bs=%d", bs)
	}
}

func TestAggregateWithoutGroupByOnEmptyInput(t *testing.T) {
	f := newFixture(t, 3)
	scan := f.table("t", intCols("a"), nil)
	agg := &planner.Aggregate{Input: scan,
		Aggs: []planner.AggCall{{Fn: aggSum, Args: []planner.Expr{ci(0)}, T: types.Int8T}, {Fn: aggCountStar, T: types.Int8T}},
		Out:  schemaOf(icol("s"), icol("c"))}
	require.Equal(t, []string{"NULL|0"}, fmtRows(f.mustRun(agg)))
	// with GROUP BY: no rows
	agg2 := &planner.Aggregate{Input: scan, GroupBy: []planner.Expr{ci(0)},
		Aggs: []planner.AggCall{{Fn: aggCountStar, T: types.Int8T}}, Out: schemaOf(icol("a"), icol("c"))}
	require.Empty(t, f.mustRun(agg2))
}

// refJoin is a naive nested-loop join over rows.
func refJoin(kind planner.JoinKind, l, r []row, match func(a, b row) types.Datum) []row {
	var out []row
	rmatched := make([]bool, len(r))
	nullsL := make(row, len(l[0]))
	nullsR := make(row, len(r[0]))
	for _, a := range l {
		m := false
		for j, b := range r {
			if match(a, b) == true {
				m = true
				rmatched[j] = true
				if kind != planner.JoinSemi && kind != planner.JoinAnti {
					out = append(out, append(append(row{}, a...), b...))
				}
			}
		}
		switch {
		case kind == planner.JoinSemi && m, kind == planner.JoinAnti && !m:
			out = append(out, a)
		case !m && (kind == planner.JoinLeft || kind == planner.JoinFull):
			out = append(out, append(append(row{}, a...), nullsR...))
		}
	}
	if kind == planner.JoinRight || kind == planner.JoinFull {
		for j, b := range r {
			if !rmatched[j] {
				out = append(out, append(append(row{}, nullsL...), b...))
			}
		}
	}
	return out
}

func TestJoinsRandom(t *testing.T) {
	rng := seeded(t)
	left := genRows(rng, 120, 2, 8, 20)
	right := genRows(rng, 90, 2, 8, 20)
	kinds := []planner.JoinKind{planner.JoinInner, planner.JoinLeft, planner.JoinRight, planner.JoinFull, planner.JoinSemi, planner.JoinAnti}
	eq := func(a, b types.Datum) types.Datum {
		x, ok1 := i64(a)
		y, ok2 := i64(b)
		if !ok1 || !ok2 {
			return nil
		}
		return x == y
	}
	lt := func(a, b types.Datum) types.Datum {
		x, ok1 := i64(a)
		y, ok2 := i64(b)
		if !ok1 || !ok2 {
			return nil
		}
		return x < y
	}
	and := func(a, b types.Datum) types.Datum {
		if a == false || b == false {
			return false
		}
		if a == nil || b == nil {
			return nil
		}
		return true
	}
	for _, bs := range batchSizes {
		for _, kind := range kinds {
			for _, variant := range []string{"hash", "hash+residual", "nested", "cross"} {
				f := newFixture(t, bs)
				ls := f.table("l", intCols("a", "b"), left)
				rs := f.table("r", intCols("c", "d"), right)
				out := append(append(planner.Schema{}, ls.Out...), rs.Out...)
				if kind == planner.JoinSemi || kind == planner.JoinAnti {
					out = ls.Out
				}
				j := &planner.Join{Kind: kind, Left: ls, Right: rs, Out: out}
				var match func(a, b row) types.Datum
				switch variant {
				case "hash":
					j.LeftKeys, j.RightKeys = []planner.Expr{ci(0)}, []planner.Expr{ci(0)}
					match = func(a, b row) types.Datum { return eq(a[0], b[0]) }
				case "hash+residual":
					j.LeftKeys, j.RightKeys = []planner.Expr{ci(0)}, []planner.Expr{ci(0)}
					j.Cond = call(fnLt, ci(1), ci(3))
					match = func(a, b row) types.Datum { return and(eq(a[0], b[0]), lt(a[1], b[1])) }
				case "nested":
					j.Cond = &planner.And{Args: []planner.Expr{call(fnEq, ci(0), ci(2)), call(fnLt, ci(1), ci(3))}}
					match = func(a, b row) types.Datum { return and(eq(a[0], b[0]), lt(a[1], b[1])) }
				case "cross":
					if kind != planner.JoinInner {
						continue
					}
					j.Kind = planner.JoinCross
					match = func(a, b row) types.Datum { return true }
				}
				got := f.mustRun(j)
				want := refJoin(kind, left, right, match)
				require.Equal(t, sortedRows(want), sortedRows(got), "bs=%d kind=%d %s", bs, kind, variant)
			}
		}
	}
}

func TestJoinTwoKeysAndEmptySides(t *testing.T) {
	f := newFixture(t, 2)
	l := []row{{int64(1), int64(1)}, {int64(1), nil}, {nil, int64(2)}, {int64(2), int64(2)}}
	r := []row{{int64(1), int64(1)}, {int64(1), nil}, {nil, int64(2)}, {int64(2), int64(2)}, {int64(2), int64(2)}}
	ls := f.table("l", intCols("a", "b"), l)
	rs := f.table("r", intCols("c", "d"), r)
	j := &planner.Join{Kind: planner.JoinFull, Left: ls, Right: rs,
		LeftKeys: []planner.Expr{ci(0), ci(1)}, RightKeys: []planner.Expr{ci(0), ci(1)},
		Out: append(append(planner.Schema{}, ls.Out...), rs.Out...)}
	got := f.mustRun(j)
	require.Equal(t, []string{
		"1|1|1|1", "1|NULL|NULL|NULL", "2|2|2|2", "2|2|2|2",
		"NULL|2|NULL|NULL", "NULL|NULL|1|NULL", "NULL|NULL|NULL|2",
	}, sortedRows(got))

	empty := f.table("e", intCols("x", "y"), nil)
	j2 := &planner.Join{Kind: planner.JoinLeft, Left: ls, Right: empty, LeftKeys: []planner.Expr{ci(0)}, RightKeys: []planner.Expr{ci(0)},
		Out: append(append(planner.Schema{}, ls.Out...), empty.Out...)}
	require.Len(t, f.mustRun(j2), 4)
	j3 := &planner.Join{Kind: planner.JoinAnti, Left: ls, Right: empty, Out: ls.Out}
	require.Len(t, f.mustRun(j3), 4)
}

func cmpNullable(a, b types.Datum, desc, nullsFirst bool) int {
	x, aok := i64(a)
	y, bok := i64(b)
	switch {
	case !aok && !bok:
		return 0
	case !aok:
		if nullsFirst {
			return -1
		}
		return 1
	case !bok:
		if nullsFirst {
			return 1
		}
		return -1
	}
	c := 0
	if x < y {
		c = -1
	} else if x > y {
		c = 1
	}
	if desc {
		c = -c
	}
	return c
}

func TestSortTopNLimitRandom(t *testing.T) {
	rng := seeded(t)
	data := genRows(rng, 400, 2, 6, 20)
	for i, r := range data {
		data[i] = append(r, int64(i)) // unique id to check stability
	}
	keys := []planner.SortKey{{E: ci(0)}, {E: call(fnMul, ci(1), ival(-1)), Desc: true, NullsFirst: true}}
	ref := append([]row(nil), data...)
	sort.SliceStable(ref, func(i, j int) bool {
		if c := cmpNullable(ref[i][0], ref[j][0], false, false); c != 0 {
			return c < 0
		}
		neg := func(d types.Datum) types.Datum {
			if v, ok := i64(d); ok {
				return -v
			}
			return nil
		}
		return cmpNullable(neg(ref[i][1]), neg(ref[j][1]), true, true) < 0
	})
	for _, bs := range batchSizes {
		f := newFixture(t, bs)
		scan := f.table("t", intCols("a", "b", "id"), data)
		srt := &planner.Sort{Input: scan, Keys: keys}
		require.Equal(t, fmtRows(ref), fmtRows(f.mustRun(srt)), "sort bs=%d", bs)

		for _, lim := range []struct{ count, offset int64 }{{7, 3}, {0, 0}, {1000, 0}, {5, 398}, {-1, 10}} {
			top := &planner.Limit{Input: srt, Count: lim.count, Offset: lim.offset}
			lo := min(int64(len(ref)), lim.offset)
			hi := int64(len(ref))
			if lim.count >= 0 {
				hi = min(hi, lo+lim.count)
			}
			require.Equal(t, fmtRows(ref[lo:hi]), fmtRows(f.mustRun(top)), "topn bs=%d %+v", bs, lim)

			plain := &planner.Limit{Input: scan, Count: lim.count, Offset: lim.offset}
			require.Equal(t, fmtRows(data[lo:hi]), fmtRows(f.mustRun(plain)), "limit bs=%d %+v", bs, lim)
		}
	}
}

func TestLimitStopsPullingAndValidatesBounds(t *testing.T) {
	f := newFixture(t, 10)
	data := genRows(rand.New(rand.NewSource(1)), 1000, 1, 100, 0)
	scan := f.table("t", intCols("a"), data)
	op, err := Build(f.env, &planner.Limit{Input: scan, Count: 15})
	require.NoError(t, err)
	require.NoError(t, op.Init(context.Background()))
	n := 0
	for {
		b, err := op.Next()
		require.NoError(t, err)
		if b == nil {
			break
		}
		n += int(b.NumRows())
	}
	require.Equal(t, 15, n)
	// The scan was asked for 2 batches of 10, not all 100.
	lim := op.(*Limit)
	require.Equal(t, 20, lim.input.(*Scan).inner.(*rowsOp).pos)
	require.NoError(t, op.Close())

	_, err = f.run(&planner.Limit{Input: scan, CountExpr: ival(-1)})
	require.Equal(t, pgerror.InvalidRowCountInLimit, pgerror.CodeOf(err))
	_, err = f.run(&planner.Limit{Input: scan, Count: -1, OffsetExpr: ival(-3)})
	require.Equal(t, pgerror.InvalidRowCountInOffset, pgerror.CodeOf(err))
	rows, err := f.run(&planner.Limit{Input: scan, CountExpr: &planner.Param{Idx: 0, T: types.Int8T}, Count: -1})
	require.Error(t, err) // no such parameter
	_ = rows
	f.env.Params = []types.Datum{int64(4)}
	rows, err = f.run(&planner.Limit{Input: scan, CountExpr: &planner.Param{Idx: 0, T: types.Int8T}, OffsetExpr: ival(2)})
	require.NoError(t, err)
	require.Equal(t, fmtRows(data[2:6]), fmtRows(rows))
}

func TestDistinctAndSetOpsRandom(t *testing.T) {
	rng := seeded(t)
	left := genRows(rng, 150, 2, 4, 20)
	right := genRows(rng, 130, 2, 4, 20)
	count := func(rs []row) map[string]int {
		m := map[string]int{}
		for _, r := range rs {
			m[fmtRow(r)]++
		}
		return m
	}
	firstSeen := func(rs []row, key func(row) string) []row {
		seen := map[string]bool{}
		var out []row
		for _, r := range rs {
			if k := key(r); !seen[k] {
				seen[k] = true
				out = append(out, r)
			}
		}
		return out
	}
	for _, bs := range batchSizes {
		f := newFixture(t, bs)
		ls := f.table("l", intCols("a", "b"), left)
		rs := f.table("r", intCols("a", "b"), right)
		require.Equal(t, fmtRows(firstSeen(left, fmtRow)), fmtRows(f.mustRun(&planner.Distinct{Input: ls})), "bs=%d", bs)
		on := &planner.Distinct{Input: ls, On: []planner.Expr{ci(0)}}
		require.Equal(t, fmtRows(firstSeen(left, func(r row) string { return fmt.Sprint(r[0]) })), fmtRows(f.mustRun(on)), "bs=%d", bs)

		lc, rc := count(left), count(right)
		for _, kind := range []planner.SetOpKind{planner.SetUnion, planner.SetIntersect, planner.SetExcept} {
			for _, all := range []bool{false, true} {
				want := []string{}
				keys := map[string]bool{}
				for k := range lc {
					keys[k] = true
				}
				for k := range rc {
					keys[k] = true
				}
				for k := range keys {
					m, n := lc[k], rc[k]
					var c int
					switch kind {
					case planner.SetUnion:
						c = m + n
					case planner.SetIntersect:
						c = min(m, n)
					case planner.SetExcept:
						c = max(m-n, 0)
						if !all && n > 0 {
							c = 0
						}
					}
					if !all && c > 0 {
						c = 1
					}
					for i := 0; i < c; i++ {
						want = append(want, k)
					}
				}
				sort.Strings(want)
				got := f.mustRun(&planner.SetOp{Kind: kind, All: all, Left: ls, Right: rs, Out: ls.Out})
				require.Equal(t, want, sortedRows(got), "bs=%d kind=%d all=%v", bs, kind, all)
			}
		}
	}
}

func TestValuesAndGenerateSeries(t *testing.T) {
	f := newFixture(t, 2)
	v := &planner.Values{Rows: [][]planner.Expr{{ival(1), inull()}, {ival(2), call(fnAdd, ival(2), ival(3))}, {inull(), ival(0)}},
		Out: schemaOf(icol("a"), icol("b"))}
	require.Equal(t, []string{"1|NULL", "2|5", "NULL|0"}, fmtRows(f.mustRun(v)))

	gs := func(args ...planner.Expr) *planner.TableFunc {
		return &planner.TableFunc{Name: "generate_series", Args: args, Out: schemaOf(planner.Column{Name: "g", T: args[0].Type()})}
	}
	require.Equal(t, []string{"1", "2", "3", "4", "5"}, fmtRows(f.mustRun(gs(ival(1), ival(5)))))
	require.Equal(t, []string{"10", "7", "4", "1"}, fmtRows(f.mustRun(gs(ival(10), ival(0), ival(-3)))))
	require.Empty(t, f.mustRun(gs(ival(5), ival(1))))
	require.Empty(t, f.mustRun(gs(ival(1), inull())))
	_, err := f.run(gs(ival(1), ival(5), ival(0)))
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err))
	// near the int8 limit the series stops instead of wrapping
	require.Equal(t, []string{"9223372036854775806", "9223372036854775807"},
		fmtRows(f.mustRun(gs(ival(9223372036854775806), ival(9223372036854775807)))))

	ts := func(s string) *planner.Const {
		tm, _ := time.Parse("2006-01-02 15:04", s)
		return &planner.Const{Val: types.Timestamp(tm.UnixMicro()), T: types.TimestampT}
	}
	iv := &planner.Const{Val: types.Interval{Months: 1}, T: types.IntervalT}
	got := f.mustRun(gs(ts("2024-01-31 10:00"), ts("2024-05-01 00:00"), iv))
	var days []string
	for _, r := range got {
		days = append(days, time.UnixMicro(int64(r[0].(types.Timestamp))).UTC().Format("2006-01-02 15:04"))
	}
	// PostgreSQL: 2024-01-31, 2024-02-29, 2024-03-29, 2024-04-29 (each step from the previous value)
	require.Equal(t, []string{"2024-01-31 10:00", "2024-02-29 10:00", "2024-03-29 10:00", "2024-04-29 10:00"}, days)

	arr := &planner.Const{Val: &types.Array{Elem: types.Int8T, Elems: []types.Datum{int64(3), nil, int64(1)}}, T: types.ArrayOf(types.Int8T)}
	un := &planner.TableFunc{Name: "unnest", Args: []planner.Expr{arr}, Out: schemaOf(icol("u"))}
	require.Equal(t, []string{"3", "NULL", "1"}, fmtRows(f.mustRun(un)))
}

func TestGenerateSeriesNumericAndTimestampTZ(t *testing.T) {
	f := newFixture(t, 2)
	num := func(s string) *planner.Const {
		d, _, err := apd.NewFromString(s)
		require.NoError(t, err)
		return &planner.Const{Val: d, T: types.NumericT}
	}
	gs := func(out types.T, args ...planner.Expr) []string {
		rows := f.mustRun(&planner.TableFunc{Name: "generate_series", Args: args, Out: schemaOf(planner.Column{Name: "g", T: out})})
		var s []string
		for _, r := range rows {
			switch v := r[0].(type) {
			case *apd.Decimal:
				s = append(s, v.String())
			case types.TimestampTZ:
				s = append(s, fmt.Sprint(int64(v)/1_000_000))
			default:
				s = append(s, fmt.Sprint(v))
			}
		}
		return s
	}
	// Values from PostgreSQL 15.
	require.Equal(t, []string{"1.5", "2.0", "2.5", "3.0"}, gs(types.NumericT, num("1.5"), num("3.25"), num("0.5")))
	require.Equal(t, []string{"0.10", "0.20", "0.30"}, gs(types.NumericT, num("0.10"), num("0.3"), num("0.1")))
	_, err := f.run(&planner.TableFunc{Name: "generate_series", Args: []planner.Expr{num("1"), num("2"), num("0")}, Out: schemaOf(planner.Column{Name: "g", T: types.NumericT})})
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err))

	// SET timezone = 'Europe/Berlin'; one day steps keep the local time across DST.
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	f.env.Eval = &kernels.EvalContext{Ctx: types.Ctx{Loc: loc}}
	tz := func(unix int64) *planner.Const {
		return &planner.Const{Val: types.TimestampTZ(unix * 1_000_000), T: types.TimestampTZT}
	}
	day := &planner.Const{Val: types.Interval{Days: 1}, T: types.IntervalT}
	require.Equal(t, []string{"1711796400", "1711879200", "1711965600"}, gs(types.TimestampTZT, tz(1711796400), tz(1711965600), day))
}

func TestGenerateSeriesMixedIntervalSteps(t *testing.T) {
	f := newFixture(t, 1024)
	ts := func(s string) *planner.Const {
		tm, err := time.Parse("2006-01-02", s)
		require.NoError(t, err)
		return &planner.Const{Val: types.Timestamp(tm.UnixMicro()), T: types.TimestampT}
	}
	gs := func(step types.Interval) *planner.TableFunc {
		return &planner.TableFunc{Name: "generate_series", Args: []planner.Expr{ts("2024-01-31"), ts("2024-06-01"), &planner.Const{Val: step, T: types.IntervalT}},
			Out: schemaOf(planner.Column{Name: "g", T: types.TimestampT})}
	}
	// A span of zero (1 month - 30 days) is rejected like a zero step.
	_, err := f.run(gs(types.Interval{Months: 1, Days: -30}))
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err))
	// 1 month - 29 days stalls at the end of February: the series ends
	// instead of looping forever.
	rows, err := f.run(gs(types.Interval{Months: 1, Days: -29}))
	require.NoError(t, err)
	require.Less(t, len(rows), 200)
}
