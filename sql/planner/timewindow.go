package planner

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TimeWindowKind is the table function that assigns rows to windows.
type TimeWindowKind uint8

// Time window kinds.
const (
	WindowTumble TimeWindowKind = iota
	WindowHop
	WindowSession
)

func (k TimeWindowKind) String() string {
	return [...]string{"tumble", "hop", "session"}[k]
}

// TimeWindow is tumble(t, col, size [, offset]), hop(t, col, slide, size
// [, offset]) or session(t, col, gap) in FROM. Output: the input columns,
// then window_start and window_end (of the time column's type). Tumble
// yields one row per input row, hop size/slide rows, session one row per
// input row (sessions over the whole input, ordered by the time column).
// Rows with a NULL time produce no output. Size holds the tumble size, the
// hop size or the session gap.
type TimeWindow struct {
	Kind    TimeWindowKind
	Input   Node
	TimeCol int
	Size    types.Interval
	Slide   types.Interval
	Offset  types.Interval
	Out     Schema
}

func (n *TimeWindow) Schema() Schema   { return n.Out }
func (n *TimeWindow) Children() []Node { return []Node{n.Input} }
func (n *TimeWindow) Op() string       { return "TimeWindow" }

// WalkExpr calls fn on every node of e in pre-order; fn returning false
// stops the descent below that node. Subquery plans are not entered.
func WalkExpr(e Expr, fn func(Expr) bool) { walkExpr(e, fn) }

// NodeExprs returns the expressions a node holds directly (not its children's).
func NodeExprs(n Node) []Expr {
	var out []Expr
	for _, s := range nodeExprs(n) {
		if *s != nil {
			out = append(out, *s)
		}
	}
	return out
}

func isTimeWindowFunc(name string) bool {
	return name == "tumble" || name == "hop" || name == "session"
}

// bindTimeWindow binds tumble/hop/session in FROM: the first argument names
// a relation, the second one of its columns, the rest are constant intervals.
func (p *Planner) bindTimeWindow(sc *scope, rf *pg_query.RangeFunction, fc *pg_query.FuncCall, name string) (*fromItem, error) {
	kind := map[string]TimeWindowKind{"tumble": WindowTumble, "hop": WindowHop, "session": WindowSession}[name]
	minArgs, maxArgs := 3, 4
	switch kind {
	case WindowHop:
		minArgs, maxArgs = 4, 5
	case WindowSession:
		minArgs, maxArgs = 3, 3
	}
	if len(fc.Args) < minArgs || len(fc.Args) > maxArgs {
		return nil, pgerror.New(pgerror.UndefinedFunction, "function %s with %d arguments does not exist", name, len(fc.Args))
	}
	relName := func(n *pg_query.Node) ([]string, bool) {
		cr := n.GetColumnRef()
		if cr == nil {
			return nil, false
		}
		var parts []string
		for _, f := range cr.Fields {
			s := f.GetString_()
			if s == nil {
				return nil, false
			}
			parts = append(parts, s.Sval)
		}
		return parts, true
	}
	rel, ok := relName(fc.Args[0])
	if !ok || len(rel) > 2 {
		return nil, pgerror.New(pgerror.SyntaxError, "the first argument of %s must name a table", name)
	}
	rv := &pg_query.RangeVar{Relname: rel[len(rel)-1], Inh: true, Location: fc.Location}
	if len(rel) == 2 {
		rv.Schemaname = rel[0]
	}
	item, err := p.bindRangeVar(sc, rv)
	if err != nil {
		return nil, err
	}
	col, ok := relName(fc.Args[1])
	if !ok || len(col) != 1 {
		return nil, pgerror.New(pgerror.SyntaxError, "the second argument of %s must name a column of %s", name, rv.Relname)
	}
	timeCol := -1
	for i, c := range item.cols {
		if c.name == col[0] {
			timeCol = i
		}
	}
	if timeCol < 0 {
		return nil, pgerror.New(pgerror.UndefinedColumn, "column %q does not exist", col[0])
	}
	tt := item.cols[timeCol].t
	if tt.Family != types.FamTimestamp && tt.Family != types.FamTimestampTZ {
		if tt.Family != types.FamDate {
			return nil, pgerror.New(pgerror.DatatypeMismatch, "the time column of %s must be a timestamp, not %s", name, tt)
		}
	}
	ec := &exprCtx{sc: &scope{parent: sc, sameLevel: true}, clause: "functions in FROM"}
	ivals := make([]types.Interval, 0, 3)
	for _, a := range fc.Args[2:] {
		e, err := p.bindExpr(ec, a)
		if err != nil {
			return nil, err
		}
		if e, err = p.coerce(e, types.IntervalT, name); err != nil {
			return nil, err
		}
		f := &folder{ec: p.foldContext()}
		if e, err = f.fold(e); err != nil {
			return nil, err
		}
		c, ok := e.(*Const)
		if !ok || c.Val == nil {
			return nil, pgerror.New(pgerror.FeatureNotSupported, "the interval arguments of %s must be non-NULL constants", name)
		}
		iv, ok := c.Val.(types.Interval)
		if !ok {
			return nil, pgerror.Internal("%s interval argument is %T", name, c.Val)
		}
		ivals = append(ivals, iv)
	}
	tw := &TimeWindow{Kind: kind, Input: item.node, TimeCol: timeCol}
	switch kind {
	case WindowTumble:
		tw.Size = ivals[0]
		if len(ivals) > 1 {
			tw.Offset = ivals[1]
		}
	case WindowHop:
		tw.Slide, tw.Size = ivals[0], ivals[1]
		if len(ivals) > 2 {
			tw.Offset = ivals[2]
		}
	case WindowSession:
		tw.Size = ivals[0]
	}
	if err := ValidateTimeWindow(tw); err != nil {
		return nil, err
	}
	alias, colNames := aliasNames(rf.Alias)
	if alias == "" {
		alias = strings.ToLower(rv.Relname)
	}
	outT := tt
	if tt.Family == types.FamDate {
		outT = types.TimestampT
	}
	cols := make([]scopeCol, 0, len(item.cols)+2)
	for _, c := range item.cols {
		c.table = alias
		cols = append(cols, c)
	}
	cols = append(cols, scopeCol{table: alias, name: "window_start", t: outT}, scopeCol{table: alias, name: "window_end", t: outT})
	cols, err = renameCols(cols, alias, colNames)
	if err != nil {
		return nil, err
	}
	if tt.Family == types.FamDate {
		// Windows over a date column work on the date as a timestamp.
		exprs := make([]Expr, len(item.cols))
		out := make(Schema, len(item.cols))
		for i, c := range item.cols {
			exprs[i] = &ColRef{Idx: i, T: c.t, Name: c.name}
			out[i] = Column{Name: c.name, T: c.t, Table: alias}
		}
		exprs = append(exprs, &Cast{E: &ColRef{Idx: timeCol, T: tt}, To: types.TimestampT})
		out = append(out, Column{Name: "_ts", T: types.TimestampT})
		tw.Input = &Project{Input: item.node, Exprs: exprs, Out: out}
		tw.TimeCol = len(item.cols)
		inner := schemaFromCols(cols)
		tw.Out = append(append(Schema{}, out...), inner[len(inner)-2:]...)
		// Drop the helper column again.
		keep := make([]Expr, 0, len(cols))
		for i := range item.cols {
			keep = append(keep, &ColRef{Idx: i, T: item.cols[i].t})
		}
		keep = append(keep, &ColRef{Idx: len(item.cols) + 1, T: outT}, &ColRef{Idx: len(item.cols) + 2, T: outT})
		return &fromItem{node: &Project{Input: tw, Exprs: keep, Out: schemaFromCols(cols)}, cols: cols}, nil
	}
	tw.Out = schemaFromCols(cols)
	return &fromItem{node: tw, cols: cols}, nil
}

// ValidateTimeWindow checks sizes: positive, without months (their length
// varies), and a hop size that is a multiple of its slide.
func ValidateTimeWindow(tw *TimeWindow) error {
	micros := func(iv types.Interval) int64 { return int64(iv.Days)*86_400_000_000 + iv.Micros }
	check := func(what string, iv types.Interval) error {
		if iv.Months != 0 {
			return pgerror.New(pgerror.FeatureNotSupported, "%s %s of %s must not contain months or years", tw.Kind, what, "a window")
		}
		if micros(iv) <= 0 {
			return pgerror.New(pgerror.InvalidParameterValue, "%s %s must be positive", tw.Kind, what)
		}
		return nil
	}
	switch tw.Kind {
	case WindowTumble:
		return check("size", tw.Size)
	case WindowSession:
		return check("gap", tw.Size)
	}
	if err := check("slide", tw.Slide); err != nil {
		return err
	}
	if err := check("size", tw.Size); err != nil {
		return err
	}
	if micros(tw.Size)%micros(tw.Slide) != 0 {
		return pgerror.New(pgerror.InvalidParameterValue, "hop size must be a multiple of its slide")
	}
	return nil
}
