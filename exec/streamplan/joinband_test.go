package streamplan

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// joinBands reads band conditions off comparisons of a left and a right
// column, plain or plus/minus a constant, when both columns carry
// watermarks, and leaves everything else alone.
func TestJoinBands(t *testing.T) {
	ls := planner.Schema{{Name: "ts", T: types.TimestampT}, {Name: "n", T: types.Int8T}, {Name: "tz", T: types.TimestampTZT}}
	rs := planner.Schema{{Name: "ts", T: types.TimestampT}, {Name: "n", T: types.Int8T}, {Name: "tz", T: types.TimestampTZT}}
	col := func(i int, s planner.Schema, off int) *planner.ColRef {
		return &planner.ColRef{Idx: off + i, T: s[i].T}
	}
	l := func(i int) planner.Expr { return col(i, ls, 0) }
	r := func(i int) planner.Expr { return col(i, rs, len(ls)) }
	call := func(op string, t types.T, a, b planner.Expr) planner.Expr {
		return &planner.Call{Fn: &kernels.ScalarFunc{Name: op}, Args: []planner.Expr{a, b}, T: t}
	}
	cmp := func(op string, a, b planner.Expr) planner.Expr { return call(op, types.BoolT, a, b) }
	iv := func(days int32, micros int64) planner.Expr {
		return &planner.Const{Val: types.Interval{Days: days, Micros: micros}, T: types.IntervalT}
	}
	k := func(v int64) planner.Expr { return &planner.Const{Val: v, T: types.Int8T} }
	all := map[int]bool{0: true, 1: true, 2: true}
	sec := types.MicrosPerSecond
	for _, c := range []struct {
		name     string
		cond     planner.Expr
		lwm, rwm map[int]bool
		lappend  bool
		want     []stream.JoinBand
	}{
		{"between", &planner.And{Args: []planner.Expr{
			cmp(">=", r(0), call("-", types.TimestampT, l(0), iv(0, 5*sec))),
			cmp("<=", r(0), l(0)),
		}}, all, all, false, []stream.JoinBand{{Side: 1, Col: 0, OCol: 0, Off: 5 * sec}, {Side: 0, Col: 0, OCol: 0, Off: 0}}},
		{"ints, constant first", cmp("<", l(1), call("+", types.Int8T, k(3), r(1))), all, all, false,
			[]stream.JoinBand{{Side: 1, Col: 1, OCol: 1, Off: 3}}},
		{"days on timestamp", cmp(">", l(0), call("+", types.TimestampT, r(0), iv(1, 0))), all, all, false,
			[]stream.JoinBand{{Side: 0, Col: 0, OCol: 0, Off: -types.MicrosPerDay}}},
		{"days on timestamptz", cmp(">", l(2), call("+", types.TimestampTZT, r(2), iv(1, 0))), all, all, false, nil},
		{"hours on timestamptz", cmp(">", l(2), call("+", types.TimestampTZT, r(2), iv(0, 3600*sec))), all, all, false,
			[]stream.JoinBand{{Side: 0, Col: 2, OCol: 2, Off: -3600 * sec}}},
		{"no watermark on the other side", cmp("<=", r(0), l(0)), all, map[int]bool{1: true}, false, nil},
		// Nexmark q4's b.ts <= a.expires: the left side is append-only, so
		// its rows go without a watermark on their column.
		{"append-only side", cmp("<=", r(0), l(0)), map[int]bool{}, all, true,
			[]stream.JoinBand{{Side: 0, Col: 0, OCol: 0, Off: 0, AppendOnly: true}}},
		{"not append-only, no watermark", cmp("<=", r(0), l(0)), map[int]bool{}, all, false, nil},
		{"one side only", cmp("<=", l(0), call("+", types.TimestampT, l(0), iv(0, sec))), all, all, false, nil},
		{"equality", cmp("=", l(1), r(1)), all, all, false, nil},
		{"constant minus column", cmp("<=", l(1), call("-", types.Int8T, k(3), r(1))), all, all, false, nil},
		{"under OR", &planner.Or{Args: []planner.Expr{cmp("<=", r(0), l(0)), cmp("<=", r(1), l(1))}}, all, all, false, nil},
		{"nil", nil, all, all, false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, joinBands(c.cond, len(ls), ls, rs, c.lwm, c.rwm, c.lappend, false))
		})
	}
}
