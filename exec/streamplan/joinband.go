package streamplan

import (
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/internal/checked"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// joinBands finds the band conditions of an interval join among the
// top-level conjuncts of its condition cond (over the left columns, then
// the right): comparisons between a left and a right column of one
// integer-like family (integers, dates, timestamps), each plain or plus or
// minus a constant, whose columns both carry watermarks. The join cleans
// its state by them (stream.JoinBand). Offsets of timestamptz columns
// must be fixed (no days or months: a day is not always 24 hours there);
// offsets of timestamp columns may have days but no months.
//
// A band on an append-only side needs no watermark on that side's column
// (its rows are never retracted, see stream.JoinBand.AppendOnly): Nexmark's
// `b.date_time BETWEEN a.date_time AND a.expires` drops auctions once the
// bids' watermark passes their expiry.
func joinBands(cond planner.Expr, nl int, ls, rs planner.Schema, lwm, rwm map[int]bool, lappend, rappend bool) []stream.JoinBand {
	var bands []stream.JoinBand
	if cond == nil {
		return nil
	}
	for _, c := range planner.Conjuncts(cond) {
		call, ok := c.(*planner.Call)
		if !ok || call.Fn == nil || len(call.Args) != 2 {
			continue
		}
		op := call.Fn.Name
		if op != "<" && op != "<=" && op != ">" && op != ">=" {
			continue
		}
		a, okA := bandTerm(call.Args[0])
		b, okB := bandTerm(call.Args[1])
		if !okA || !okB || (a.col < nl) == (b.col < nl) {
			continue
		}
		// Make the comparison a <= b.
		if op == ">" || op == ">=" {
			a, b = b, a
		}
		// a.col + a.off <= b.col + b.off: a row of b's side joins only rows
		// of a's side with a.col <= b.col + (b.off - a.off).
		side, col, ocol := 0, b.col, a.col-nl
		if b.col >= nl {
			side, col, ocol = 1, b.col-nl, a.col
		}
		var st, ot types.T
		var swm, owm map[int]bool
		appendOnly := lappend
		if side == 0 {
			st, ot, swm, owm = ls[col].T, rs[ocol].T, lwm, rwm
		} else {
			st, ot, swm, owm, appendOnly = rs[col].T, ls[ocol].T, rwm, lwm, rappend
		}
		if st.Family != ot.Family || !owm[ocol] || (!swm[col] && !appendOnly) {
			continue
		}
		ka, ok1 := bandOffset(a.off, st)
		kb, ok2 := bandOffset(b.off, st)
		if !ok1 || !ok2 {
			continue
		}
		off, ok := checked.Sub(kb, ka)
		if !ok {
			continue
		}
		bands = append(bands, stream.JoinBand{Side: side, Col: col, OCol: ocol, Off: off, AppendOnly: appendOnly})
	}
	return bands
}

// bandTermT is a column plus a constant offset (nil: none; negated when
// neg).
type bandTermT struct {
	col int
	off bandOff
}

type bandOff struct {
	val types.Datum
	neg bool
}

// bandTerm matches col, col + k, k + col and col - k.
func bandTerm(e planner.Expr) (bandTermT, bool) {
	if c, ok := e.(*planner.ColRef); ok {
		return bandTermT{col: c.Idx}, true
	}
	call, ok := e.(*planner.Call)
	if !ok || call.Fn == nil || len(call.Args) != 2 || (call.Fn.Name != "+" && call.Fn.Name != "-") {
		return bandTermT{}, false
	}
	c, okC := call.Args[0].(*planner.ColRef)
	k, okK := call.Args[1].(*planner.Const)
	if !okC || !okK {
		if call.Fn.Name == "-" {
			return bandTermT{}, false
		}
		c, okC = call.Args[1].(*planner.ColRef)
		k, okK = call.Args[0].(*planner.Const)
		if !okC || !okK {
			return bandTermT{}, false
		}
	}
	if k.Val == nil || c.T.Family != call.T.Family {
		return bandTermT{}, false
	}
	return bandTermT{col: c.Idx, off: bandOff{val: k.Val, neg: call.Fn.Name == "-"}}, true
}

// bandOffset is offset o in the units of a column of type t.
func bandOffset(o bandOff, t types.T) (int64, bool) {
	if o.val == nil {
		return 0, true
	}
	var v int64
	switch t.Family {
	case types.FamInt2, types.FamInt4, types.FamInt8, types.FamDate:
		switch x := o.val.(type) {
		case int64:
			v = x
		case int32:
			v = int64(x)
		case int16:
			v = int64(x)
		default:
			return 0, false
		}
	case types.FamTimestamp, types.FamTimestampTZ:
		iv, ok := o.val.(types.Interval)
		if !ok || iv.Months != 0 || (iv.Days != 0 && t.Family == types.FamTimestampTZ) {
			return 0, false
		}
		d := int64(iv.Days)
		if d > 100_000_000 || d < -100_000_000 {
			return 0, false
		}
		var ok2 bool
		if v, ok2 = checked.Add(iv.Micros, d*types.MicrosPerDay); !ok2 {
			return 0, false
		}
	default:
		return 0, false
	}
	if o.neg {
		if v == -v && v != 0 {
			return 0, false
		}
		v = -v
	}
	return v, true
}
