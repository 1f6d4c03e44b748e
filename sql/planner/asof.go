package planner

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// ASOF joins (JoinAsOf, JoinAsOfLeft). For each left row the join picks,
// among the right rows with equal keys (LeftKeys = RightKeys, NULLs never
// match), the one nearest in "time" allowed by the single inequality held in
// Join.Cond, always normalised to  left-expr OP right-expr  with OP one of
// >=, >, <=, <:
//
//	l >= r, l > r   the right row with the greatest r (at or before l)
//	l <= r, l < r   the right row with the smallest r (at or after l)
//
// NULL left or right values never match. Ties (several right rows with the
// same r) are broken by a fixed total order over the whole right row: the
// one whose canonical key encoding (vec.AppendRowKey over all right columns)
// is smallest wins, so batch and streaming agree whatever the arrival order.
// Inner ASOF drops left rows without a match; ASOF LEFT keeps them with
// NULL right columns. The optimizer treats these kinds as opaque: filters
// are not pushed into them and they are not reordered.

// AsOfInequality splits an ASOF join's condition: left is an expression
// over the left input's schema, right one over the right input's schema, op
// one of ">=", ">", "<=", "<".
func AsOfInequality(j *Join) (left Expr, op string, right Expr, err error) {
	if j.Kind != JoinAsOf && j.Kind != JoinAsOfLeft {
		return nil, "", nil, pgerror.Internal("AsOfInequality on a join of kind %d", j.Kind)
	}
	c, ok := j.Cond.(*Call)
	if !ok || len(c.Args) != 2 || !isAsOfOp(c.Fn.Name) {
		return nil, "", nil, pgerror.Internal("ASOF join condition %v is not an inequality", j.Cond)
	}
	nl := len(j.Left.Schema())
	return c.Args[0], c.Fn.Name, shiftCols(c.Args[1], -nl), nil
}

func isAsOfOp(op string) bool {
	return op == ">=" || op == ">" || op == "<=" || op == "<"
}

var flippedOp = map[string]string{">=": "<=", ">": "<", "<=": ">=", "<": ">"}

// asOfCondition returns the real ON condition of a JoinExpr the parser
// marked as ASOF.
func asOfCondition(j *pg_query.JoinExpr) (*pg_query.Node, bool) {
	if j.Quals == nil {
		return nil, false
	}
	return parser.AsOfCondition(j.Quals)
}

// bindAsOfJoin binds an ASOF [LEFT] JOIN whose ON condition is quals.
func (p *Planner) bindAsOfJoin(sc *scope, j *pg_query.JoinExpr, l, r *fromItem, quals *pg_query.Node) (*fromItem, error) {
	kind := JoinAsOf
	switch j.Jointype {
	case pg_query.JoinType_JOIN_INNER:
	case pg_query.JoinType_JOIN_LEFT:
		kind = JoinAsOfLeft
	default:
		return nil, pgerror.Unsupported("ASOF join of type %s is not supported", j.Jointype)
	}
	all := append(append([]scopeCol{}, l.cols...), r.cols...)
	if err := checkDuplicateAliases(all); err != nil {
		return nil, err
	}
	join := &Join{Kind: kind, Left: l.node, Right: r.node, Out: schemaFromCols(all)}
	onScope := &scope{cols: all, parent: sc, sameLevel: true}
	ec := &exprCtx{sc: onScope, clause: "JOIN conditions"}
	cond, err := p.bindExpr(ec, quals)
	if err != nil {
		return nil, err
	}
	if cond, err = p.coerce(cond, types.BoolT, "argument of JOIN/ON"); err != nil {
		return nil, err
	}
	nl := len(l.cols)
	var ineq Expr
	for _, c := range Conjuncts(cond) {
		if lk, rk, fn, ok := equiKey(c, nl); ok {
			join.LeftKeys = append(join.LeftKeys, lk)
			join.RightKeys = append(join.RightKeys, rk)
			join.KeyFns = append(join.KeyFns, fn)
			continue
		}
		le, op, re, ok := asOfSides(c, nl)
		if !ok {
			return nil, pgerror.Unsupported("ASOF JOIN conditions must be equalities between the two sides and one inequality (>=, >, <=, <) between a left and a right expression; filter other conditions in WHERE or a subquery")
		}
		if ineq != nil {
			return nil, pgerror.Unsupported("ASOF JOIN takes exactly one inequality condition")
		}
		t, args, err := p.unify([]Expr{le, re}, "ASOF JOIN")
		if err != nil {
			return nil, err
		}
		if !orderable(t) {
			return nil, pgerror.Unsupported("ASOF JOIN inequality over type %s is not supported", t)
		}
		if ineq, err = p.bindOp(op, args); err != nil {
			return nil, err
		}
		call, ok := ineq.(*Call)
		if !ok || len(call.Args) != 2 || call.Args[0].Type().Family != call.Args[1].Type().Family {
			return nil, pgerror.Unsupported("ASOF JOIN inequality %s is not supported", c)
		}
	}
	if ineq == nil {
		return nil, pgerror.Unsupported("ASOF JOIN requires one inequality condition (>=, >, <=, <) between the two sides")
	}
	join.Cond = ineq
	item := &fromItem{node: join, cols: all}
	if j.Alias != nil {
		alias, names := aliasNames(j.Alias)
		cols, err := renameCols(all, alias, names)
		if err != nil {
			return nil, err
		}
		item.cols = cols
		item.node = renameSchema(join, cols)
	}
	return item, nil
}

// asOfSides recognises a comparison between an expression over the left
// input and one over the right, returning it as left OP right.
func asOfSides(c Expr, nl int) (Expr, string, Expr, bool) {
	call, ok := c.(*Call)
	if !ok || len(call.Args) != 2 || !isAsOfOp(call.Fn.Name) {
		return nil, "", nil, false
	}
	a, b := call.Args[0], call.Args[1]
	alo, ahi, apure := colSpan(a)
	blo, bhi, bpure := colSpan(b)
	if !apure || !bpure || ahi < 0 || bhi < 0 {
		return nil, "", nil, false
	}
	switch {
	case ahi < nl && blo >= nl:
		return a, call.Fn.Name, b, true
	case bhi < nl && alo >= nl:
		return b, flippedOp[call.Fn.Name], a, true
	}
	return nil, "", nil, false
}

func orderable(t types.T) bool {
	switch t.Family {
	case types.FamInt2, types.FamInt4, types.FamInt8, types.FamFloat4, types.FamFloat8, types.FamNumeric,
		types.FamDate, types.FamTime, types.FamTimestamp, types.FamTimestampTZ:
		return true
	}
	return t.IsString()
}
