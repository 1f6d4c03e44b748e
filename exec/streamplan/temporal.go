package streamplan

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Temporal filters. In a batch query now() and its kin are the statement's
// start time. In a materialized view they would be evaluated once, at
// CREATE, and freeze the view: `WHERE ts > now() - INTERVAL '1 hour'` would
// keep the hour before the view was created forever. So a view accepts
// them only in a temporal filter, a WHERE conjunct comparing a column
// expression with an expression of the clock and constants, and there
// now() is the time of the view's epoch: a NowStream emits the clock
// expression's value at each barrier into a DynamicFilter, which moves the
// rows the change lets in or out. When the clock side only grows (now(),
// plus or minus a constant, or cast) and the column side must be greater,
// rows that fell behind never pass again and leave the filter's state.

// clockFuncs read the statement's start time.
var clockFuncs = map[string]bool{
	"now": true, "current_timestamp": true, "transaction_timestamp": true, "statement_timestamp": true,
	"current_date": true, "localtimestamp": true, "current_time": true, "localtime": true,
}

// readsClock reports whether e calls a clock function; hasColumns whether
// it reads a column or holds a subquery.
func readsClock(e planner.Expr) bool {
	found := false
	planner.WalkExpr(e, func(x planner.Expr) bool {
		if c, ok := x.(*planner.Call); ok && c.Fn != nil && clockFuncs[c.Fn.Name] {
			found = true
		}
		return !found
	})
	return found
}

func hasColumns(e planner.Expr) bool {
	found := false
	planner.WalkExpr(e, func(x planner.Expr) bool {
		switch x.(type) {
		case *planner.ColRef, *planner.OuterRef, *planner.Subquery, *planner.Param:
			found = true
		}
		return !found
	})
	return found
}

// isTemporal matches a comparison (<, <=, >, >=) of a column expression
// with a clock expression, either way round.
func isTemporal(c planner.Expr) bool {
	call, ok := c.(*planner.Call)
	if !ok || call.Fn == nil || len(call.Args) != 2 {
		return false
	}
	switch call.Fn.Name {
	case "<", "<=", ">", ">=":
	default:
		return false
	}
	clock := func(e planner.Expr) bool { return readsClock(e) && !hasColumns(e) }
	cols := func(e planner.Expr) bool { return hasColumns(e) && !readsClock(e) }
	a, b := call.Args[0], call.Args[1]
	return (cols(a) && clock(b)) || (clock(a) && cols(b))
}

// growsWithClock reports whether e never decreases as the clock moves on:
// a clock function, a cast of one, or one plus or minus a constant.
func growsWithClock(e planner.Expr) bool {
	switch x := e.(type) {
	case *planner.Call:
		if x.Fn == nil {
			return false
		}
		if clockFuncs[x.Fn.Name] {
			return x.Fn.Name != "current_time" && x.Fn.Name != "localtime" // times of day wrap
		}
		if (x.Fn.Name == "+" || x.Fn.Name == "-") && len(x.Args) == 2 {
			_, c1 := x.Args[1].(*planner.Const)
			_, c0 := x.Args[0].(*planner.Const)
			return (c1 && growsWithClock(x.Args[0])) || (x.Fn.Name == "+" && c0 && growsWithClock(x.Args[1]))
		}
	case *planner.Cast:
		switch x.To.Family {
		case types.FamTimestamp, types.FamTimestampTZ, types.FamDate:
			return growsWithClock(x.E)
		}
	}
	return false
}

// temporalFilter maintains lhs op clock(now) with a DynamicFilter fed by a
// NowStream (see "Temporal filters").
func (b *Builder) temporalFilter(ctx context.Context, in flow, schema planner.Schema, call *planner.Call) (flow, error) {
	op := call.Fn.Name
	lhs, rhs := call.Args[0], call.Args[1]
	if readsClock(lhs) {
		lhs, rhs = rhs, lhs
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
	}
	fail := func(err error) (flow, error) {
		in.ex.Close()
		return flow{}, err
	}
	if err := checkExprs(&planner.Project{Input: &planner.Values{}, Exprs: []planner.Expr{lhs}}); err != nil {
		return fail(err)
	}
	rt := rhs.Type()
	if lf := lhs.Type().Family; rt.Family == types.FamDate && (lf == types.FamTimestamp || lf == types.FamTimestampTZ) {
		// ts >= current_date - 1: the date's midnight, as PostgreSQL
		// compares them.
		rhs, rt = &planner.Cast{E: rhs, To: lhs.Type()}, lhs.Type()
	}
	isTS := func(f types.Family) bool { return f == types.FamTimestamp || f == types.FamTimestampTZ }
	if lf := lhs.Type().Family; lf != rt.Family && isTS(lf) && isTS(rt.Family) {
		// PostgreSQL compares timestamp with timestamptz as timestamptz
		// (the timestamp read in the session's zone).
		if lf == types.FamTimestamp {
			lhs = &planner.Cast{E: lhs, To: rt}
		} else {
			rhs, rt = &planner.Cast{E: rhs, To: lhs.Type()}, lhs.Type()
		}
	}
	if rt.Family != lhs.Type().Family {
		ct, err := commonKeyType(lhs.Type(), rt)
		if err != nil {
			return fail(pgerror.Unsupported("comparing %s with %s in a temporal filter is not supported in materialized views", lhs.Type(), rt))
		}
		if lhs.Type().Family != ct.Family {
			lhs = &planner.Cast{E: lhs, To: ct}
		}
		if rt.Family != ct.Family {
			rhs = &planner.Cast{E: rhs, To: ct}
		}
		rt = ct
	}
	value := func(t types.TimestampTZ) (types.Datum, error) {
		env := *b.Env
		ev := *env.Eval
		ev.StmtTime, ev.TxnTime = t, t
		env.Eval = &ev
		x, err := exec.Compile(&env, rhs, nil)
		if err != nil {
			return nil, err
		}
		one := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 1)
		defer one.Release()
		a, err := x.Eval(ctx, one)
		if err != nil {
			return nil, err
		}
		defer a.Release()
		return types.GetDatum(a, 0, rt), nil
	}
	ticks, err := b.In.Ticks(ctx)
	if err != nil {
		return fail(err)
	}
	clock := b.Clock
	if clock == nil {
		clock = time.Now
	}
	right := flow{ex: stream.NewNowStream(ticks, "now", rt, clock, value), ts: []types.T{rt}, wm: map[int]bool{}}
	return b.dynamicOver(in, schema, lhs, op, right, rt, growsWithClock(rhs))
}
