package streamplan

import (
	"strings"

	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// rollingWindow builds a stream.RollingWindow for x when every call fits
// it: the input is append-only, one ascending (NULLS LAST) ORDER BY column
// of an integer, time or float8 type, and each call is sum, avg, min, max,
// count, var_samp/variance, var_pop, stddev_samp/stddev, stddev_pop (float8
// arguments; count of any) or ewma(float8, constant alpha) over a ROWS
// frame from n or UNBOUNDED PRECEDING to CURRENT ROW, or over RANGE
// UNBOUNDED PRECEDING to CURRENT ROW (the default frame with ORDER BY;
// a tie then recomputes the partition), without FILTER.
// ok is false when x does not fit (the caller builds an OverWindow);
// compute is the OverWindow's recomputation, used for partitions that
// receive rows out of order. The operator charges its state to budget
// (the Builder's MemBudget) when one is given.
func rollingWindow(x *planner.Window, in flow, part []int, compute stream.WindowFunc, budget ...stream.MemBudget) (_ flow, ok bool, _ error) {
	calls, orderCol, ok := rollingCalls(x, in)
	if !ok {
		return flow{}, false, nil
	}
	rw, err := stream.NewRollingWindow(in.ex, in.ts, arrowSchema(x.Out), part, orderCol, calls, compute)
	if err != nil {
		return flow{}, false, err
	}
	if len(budget) > 0 && budget[0] != nil {
		rw.WithMemBudget(budget[0])
	}
	return flow{ex: rw, ts: x.Out.Types(), wm: map[int]bool{}, insertMostly: true}, true, nil
}

// rollingCalls translates x's calls, or reports that they do not fit.
func rollingCalls(x *planner.Window, in flow) ([]stream.RollingCall, int, bool) {
	if !in.appendOnly || len(x.Calls) == 0 {
		return nil, 0, false
	}
	first := x.Calls[0]
	if len(first.OrderBy) != 1 {
		return nil, 0, false
	}
	ok := first.OrderBy[0]
	oc, isCol := ok.E.(*planner.ColRef)
	if !isCol || ok.Desc || ok.NullsFirst || oc.Idx < 0 || oc.Idx >= len(in.ts) || !stream.RollingOrderType(in.ts[oc.Idx]) {
		return nil, 0, false
	}
	var out []stream.RollingCall
	for _, c := range x.Calls {
		rc, fits := rollingCall(c, in.ts)
		if !fits {
			return nil, 0, false
		}
		out = append(out, rc)
	}
	return out, oc.Idx, true
}

// maxRollingFrame bounds the frames RollingWindow takes: it keeps a ring
// of the frame's length for every partition from its first row (8 bytes a
// slot), so longer frames over many short partitions stay with the
// OverWindow, which keeps only the rows that exist.
const maxRollingFrame = 1024

var rollingKinds = map[string]stream.RollingKind{
	"sum": stream.RollSum, "avg": stream.RollAvg, "min": stream.RollMin, "max": stream.RollMax,
	"count": stream.RollCount, "var_samp": stream.RollVarSamp, "variance": stream.RollVarSamp,
	"var_pop": stream.RollVarPop, "stddev_samp": stream.RollStddevSamp, "stddev": stream.RollStddevSamp,
	"stddev_pop": stream.RollStddevPop, "ewma": stream.RollEWMA,
}

func rollingCall(c planner.WindowCall, ts []types.T) (stream.RollingCall, bool) {
	if c.Agg == nil || c.Filter != nil {
		return stream.RollingCall{}, false
	}
	kind, known := rollingKinds[strings.ToLower(c.Agg.Name)]
	if !known {
		return stream.RollingCall{}, false
	}
	f := c.Frame
	if f.End.Kind != planner.CurrentRow {
		return stream.RollingCall{}, false
	}
	rc := stream.RollingCall{Kind: kind}
	switch {
	case f.Mode == planner.FrameRows:
	case f.Mode == planner.FrameRange && f.Start.Kind == planner.UnboundedPreceding:
		// The default frame with ORDER BY: peers included.
		rc.Peers = true
	default:
		return stream.RollingCall{}, false
	}
	switch f.Start.Kind {
	case planner.UnboundedPreceding:
		rc.Preceding = -1
	case planner.CurrentRow:
	case planner.OffsetPreceding:
		n, isInt := constInt(f.Start.Offset)
		if !isInt || n < 0 || n >= maxRollingFrame {
			return stream.RollingCall{}, false
		}
		rc.Preceding = int(n)
	default:
		return stream.RollingCall{}, false
	}
	wantRet := types.FamFloat8
	switch {
	case kind == stream.RollCount && len(c.Args) == 0:
		rc.Kind = stream.RollCountStar
		return rc, c.T.Family == types.FamInt8
	case kind == stream.RollCount:
		wantRet = types.FamInt8
	case kind == stream.RollEWMA:
		if len(c.Args) != 2 {
			return stream.RollingCall{}, false
		}
		a, isConst := constFloat(c.Args[1])
		if !isConst || !(a > 0 && a <= 1) {
			return stream.RollingCall{}, false
		}
		rc.Alpha = a
	default:
		if len(c.Args) != 1 {
			return stream.RollingCall{}, false
		}
	}
	if len(c.Args) == 0 || c.T.Family != wantRet {
		return stream.RollingCall{}, false
	}
	col, isCol := c.Args[0].(*planner.ColRef)
	if !isCol || col.Idx < 0 || col.Idx >= len(ts) {
		return stream.RollingCall{}, false
	}
	if kind != stream.RollCount && ts[col.Idx].Family != types.FamFloat8 {
		return stream.RollingCall{}, false
	}
	rc.Arg = col.Idx
	return rc, true
}

// constFloat reads a float8 or numeric constant.
func constFloat(e planner.Expr) (float64, bool) {
	k, ok := e.(*planner.Const)
	if !ok {
		return 0, false
	}
	switch v := k.Val.(type) {
	case float64:
		return v, true
	case *apd.Decimal:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}
