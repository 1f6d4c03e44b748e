package streamplan

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TestRollingEligibility checks which window calls go to RollingWindow:
// input (sym int8, px float8, ts int8, name text) append-only, PARTITION
// BY sym ORDER BY ts.
func TestRollingEligibility(t *testing.T) {
	ts := []types.T{types.Int8T, types.Float8T, types.Int8T, types.TextT}
	col := func(i int) *planner.ColRef { return &planner.ColRef{Idx: i, T: ts[i]} }
	rows := func(n int64) planner.Frame {
		return planner.Frame{Mode: planner.FrameRows, Start: planner.FrameBound{Kind: planner.OffsetPreceding, Offset: &planner.Const{Val: n, T: types.Int8T}},
			End: planner.FrameBound{Kind: planner.CurrentRow}}
	}
	unbounded := func(m planner.FrameMode) planner.Frame {
		return planner.Frame{Mode: m, Start: planner.FrameBound{Kind: planner.UnboundedPreceding}, End: planner.FrameBound{Kind: planner.CurrentRow}}
	}
	call := func(name string, ret types.T, fr planner.Frame, args ...planner.Expr) planner.WindowCall {
		return planner.WindowCall{Name: name, Agg: &kernels.AggFunc{Name: name}, Args: args, Frame: fr, T: ret,
			PartitionBy: []planner.Expr{col(0)}, OrderBy: []planner.SortKey{{E: col(2)}}}
	}
	f8, i8 := types.Float8T, types.Int8T
	alpha := &planner.Const{Val: 0.94, T: f8}
	for _, c := range []struct {
		name   string
		call   planner.WindowCall
		append bool
		want   *stream.RollingCall
	}{
		{"stddev 20 rows", call("stddev_samp", f8, rows(19), col(1)), true, &stream.RollingCall{Kind: stream.RollStddevSamp, Arg: 1, Preceding: 19}},
		{"not append-only", call("stddev_samp", f8, rows(19), col(1)), false, nil},
		{"ewma running", call("ewma", f8, unbounded(planner.FrameRows), col(1), alpha), true, &stream.RollingCall{Kind: stream.RollEWMA, Arg: 1, Preceding: -1, Alpha: 0.94}},
		{"ewma column alpha", call("ewma", f8, unbounded(planner.FrameRows), col(1), col(1)), true, nil},
		{"default frame", call("sum", f8, unbounded(planner.FrameRange), col(1)), true, &stream.RollingCall{Kind: stream.RollSum, Arg: 1, Preceding: -1, Peers: true}},
		{"count text", call("count", i8, rows(3), col(3)), true, &stream.RollingCall{Kind: stream.RollCount, Arg: 3, Preceding: 3}},
		{"count star", call("count", i8, rows(0)), true, &stream.RollingCall{Kind: stream.RollCountStar}},
		{"sum of bigint", call("sum", types.NumericT, rows(3), col(2)), true, nil},
		{"following frame", call("sum", f8, planner.Frame{Mode: planner.FrameRows, Start: planner.FrameBound{Kind: planner.CurrentRow},
			End: planner.FrameBound{Kind: planner.UnboundedFollowing}}, col(1)), true, nil},
		{"huge frame", call("avg", f8, rows(5000), col(1)), true, nil},
		{"rank", planner.WindowCall{Name: "rank", T: i8}, true, nil},
	} {
		x := &planner.Window{Calls: []planner.WindowCall{c.call}}
		calls, orderCol, ok := rollingCalls(x, flow{ts: ts, appendOnly: c.append})
		if c.want == nil {
			require.False(t, ok, c.name)
			continue
		}
		require.True(t, ok, c.name)
		require.Equal(t, 2, orderCol, c.name)
		require.Equal(t, []stream.RollingCall{*c.want}, calls, c.name)
	}

	// ORDER BY ts DESC stays with the OverWindow.
	desc := call("sum", f8, rows(2), col(1))
	desc.OrderBy[0].Desc = true
	_, _, ok := rollingCalls(&planner.Window{Calls: []planner.WindowCall{desc}}, flow{ts: ts, appendOnly: true})
	require.False(t, ok)
}
