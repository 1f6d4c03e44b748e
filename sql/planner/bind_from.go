package planner

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// fromItem is a bound FROM entry: its plan and the columns it exposes.
type fromItem struct {
	node Node
	cols []scopeCol
}

// bindFrom binds the FROM list of a query level whose scope is sc (sc.cols
// is still empty); comma-separated items become cross joins.
func (p *Planner) bindFrom(sc *scope, from []*pg_query.Node) (*fromItem, error) {
	if len(from) == 0 {
		return &fromItem{node: &Values{Rows: [][]Expr{{}}, Out: Schema{}}}, nil
	}
	var acc *fromItem
	for _, f := range from {
		it, err := p.bindFromItem(sc, f)
		if err != nil {
			return nil, err
		}
		if acc == nil {
			acc = it
			continue
		}
		acc = crossJoin(acc, it)
	}
	if err := checkDuplicateAliases(acc.cols); err != nil {
		return nil, err
	}
	return acc, nil
}

func checkDuplicateAliases(cols []scopeCol) error {
	// Two different range entries with the same alias are an error; a range
	// entry is identified by the run of columns sharing its alias.
	seen := map[string]bool{}
	prev := "\x00"
	for _, c := range cols {
		if c.table == prev || c.table == "" {
			prev = c.table
			continue
		}
		if seen[c.table] {
			return pgerror.New(pgerror.DuplicateAlias, "table name %q specified more than once", c.table)
		}
		seen[c.table] = true
		prev = c.table
	}
	return nil
}

func crossJoin(l, r *fromItem) *fromItem {
	out := append(append(Schema{}, l.node.Schema()...), r.node.Schema()...)
	return &fromItem{
		node: &Join{Kind: JoinCross, Left: l.node, Right: r.node, Out: out},
		cols: append(append([]scopeCol{}, l.cols...), r.cols...),
	}
}

func schemaFromCols(cols []scopeCol) Schema {
	s := make(Schema, len(cols))
	for i, c := range cols {
		s[i] = Column{Name: c.name, T: c.t, Table: c.table}
	}
	return s
}

func aliasNames(a *pg_query.Alias) (string, []string) {
	if a == nil {
		return "", nil
	}
	var cols []string
	for _, c := range a.Colnames {
		cols = append(cols, strVal(c))
	}
	return a.Aliasname, cols
}

// renameCols applies an alias (table name and optional column names).
func renameCols(cols []scopeCol, table string, names []string) ([]scopeCol, error) {
	visible := 0
	for _, c := range cols {
		if !c.hidden {
			visible++
		}
	}
	if len(names) > visible {
		return nil, pgerror.New(pgerror.InvalidColumnReference, "table %q has %d columns available but %d columns specified", table, visible, len(names))
	}
	out := make([]scopeCol, len(cols))
	j := 0
	for i, c := range cols {
		c.table = table
		if !c.hidden && j < len(names) {
			c.name = names[j]
			j++
		}
		c.merged = false
		out[i] = c
	}
	return out, nil
}

func (p *Planner) bindFromItem(sc *scope, n *pg_query.Node) (*fromItem, error) {
	switch x := n.Node.(type) {
	case *pg_query.Node_RangeVar:
		return p.bindRangeVar(sc, x.RangeVar)
	case *pg_query.Node_JoinExpr:
		return p.bindJoin(sc, x.JoinExpr)
	case *pg_query.Node_RangeSubselect:
		if x.RangeSubselect.Lateral {
			return nil, pgerror.Unsupported("LATERAL subqueries are not supported")
		}
		sub := x.RangeSubselect.Subquery.GetSelectStmt()
		node, osc, err := p.bindSelect(sub, &scope{parent: sc, sameLevel: true})
		if err != nil {
			return nil, err
		}
		alias, names := aliasNames(x.RangeSubselect.Alias)
		cols, err := renameCols(osc.cols, alias, names)
		if err != nil {
			return nil, err
		}
		return &fromItem{node: renameSchema(node, cols), cols: cols}, nil
	case *pg_query.Node_RangeFunction:
		return p.bindRangeFunction(sc, x.RangeFunction)
	}
	return nil, pgerror.Unsupported("unsupported FROM item %T", n.Node)
}

// renameSchema wraps node in a Project that renames its columns, when needed.
func renameSchema(node Node, cols []scopeCol) Node {
	s := node.Schema()
	same := len(s) == len(cols)
	for i := 0; same && i < len(s); i++ {
		same = s[i].Name == cols[i].name && s[i].Table == cols[i].table
	}
	if same {
		return node
	}
	exprs := make([]Expr, len(s))
	for i, c := range s {
		exprs[i] = &ColRef{Idx: i, T: c.T, Name: c.Name}
	}
	return &Project{Input: node, Exprs: exprs, Out: schemaFromCols(cols)}
}

func (p *Planner) bindRangeVar(sc *scope, rv *pg_query.RangeVar) (*fromItem, error) {
	name, schema := rv.Relname, rv.Schemaname
	alias, colNames := aliasNames(rv.Alias)
	if alias == "" {
		alias = name
	}
	if schema == "" {
		if d := sc.lookupCTE(name); d != nil {
			return p.bindCTERef(sc, d, alias, colNames)
		}
	}
	if p.Virtual != nil && (schema == "pg_catalog" || schema == "information_schema" || schema == "") {
		if node, ok := p.Virtual.Resolve(schema, name); ok {
			cols := make([]scopeCol, len(node.Schema()))
			for i, c := range node.Schema() {
				cols[i] = scopeCol{table: alias, name: c.Name, t: c.T}
			}
			cols, err := renameCols(cols, alias, colNames)
			if err != nil {
				return nil, err
			}
			return &fromItem{node: renameSchema(node, cols), cols: cols}, nil
		}
	}
	rel, ok := p.Cat.Lookup(schema, name)
	if !ok {
		qual := name
		if schema != "" {
			qual = schema + "." + name
		}
		return nil, pgerror.WithPosition(pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", qual), int(rv.Location)+1)
	}
	switch r := rel.(type) {
	case *catalog.Table:
		return p.scanTable(r, alias, colNames)
	case *catalog.View:
		if r.Kind == catalog.KindMaterializedView && p.MVScan != nil {
			node := p.MVScan(r)
			cols := make([]scopeCol, len(r.Columns))
			for i, c := range r.Columns {
				cols[i] = scopeCol{table: alias, name: c.Name, t: c.T, tableOID: uint32(r.ID), attNum: int16(i + 1)}
			}
			cols, err := renameCols(cols, alias, colNames)
			if err != nil {
				return nil, err
			}
			return &fromItem{node: renameSchema(node, cols), cols: cols}, nil
		}
		return p.expandView(sc, r, alias, colNames)
	}
	return nil, pgerror.Unsupported("cannot select from %s %q", rel.RelKind(), name)
}

func (p *Planner) scanTable(t *catalog.Table, alias string, colNames []string) (*fromItem, error) {
	s := &Scan{Table: t, Alias: alias}
	var cols []scopeCol
	for i, c := range t.Columns {
		s.Cols = append(s.Cols, i)
		s.Out = append(s.Out, Column{Name: c.Name, T: c.T, Table: alias})
		cols = append(cols, scopeCol{table: alias, name: c.Name, t: c.T, hidden: c.Hidden, tableOID: uint32(t.ID), attNum: int16(i + 1)})
	}
	cols, err := renameCols(cols, alias, colNames)
	if err != nil {
		return nil, err
	}
	for i := range cols {
		cols[i].tableOID, cols[i].attNum = uint32(t.ID), int16(i+1)
	}
	return &fromItem{node: renameSchema(s, cols), cols: cols}, nil
}

func (p *Planner) expandView(sc *scope, v *catalog.View, alias string, colNames []string) (*fromItem, error) {
	if p.viewDepth > 32 {
		return nil, pgerror.New(pgerror.InvalidRecursion, "infinite recursion detected in rules for relation %q", v.Name)
	}
	p.viewDepth++
	defer func() { p.viewDepth-- }()
	sub := &Planner{Cat: p.Cat, Reg: p.Reg, Ctx: p.Ctx, Virtual: p.Virtual, MVScan: p.MVScan, viewDepth: p.viewDepth}
	q, err := sub.ParseQuery(v.SQL)
	if err != nil {
		return nil, pgerror.Wrap(err, pgerror.CodeOf(err), "view "+v.Name)
	}
	cols := make([]scopeCol, len(q.Cols))
	for i, c := range q.Cols {
		name := c.Name
		if i < len(v.Columns) {
			name = v.Columns[i].Name
		}
		cols[i] = scopeCol{table: alias, name: name, t: c.T}
	}
	cols, err = renameCols(cols, alias, colNames)
	if err != nil {
		return nil, err
	}
	return &fromItem{node: renameSchema(q.Plan, cols), cols: cols}, nil
}

func (p *Planner) bindCTERef(sc *scope, d *cteDef, alias string, colNames []string) (*fromItem, error) {
	sel := d.query.(*pg_query.Node).GetSelectStmt()
	node, osc, err := p.bindSelect(sel, &scope{parent: d.scope, sameLevel: true, ctes: map[string]*cteDef{}})
	if err != nil {
		return nil, err
	}
	cols, err := renameCols(osc.cols, d.name, d.colAlia)
	if err != nil {
		return nil, err
	}
	cols, err = renameCols(cols, alias, colNames)
	if err != nil {
		return nil, err
	}
	for i := range cols {
		cols[i].tableOID, cols[i].attNum = 0, 0
	}
	return &fromItem{node: renameSchema(node, cols), cols: cols}, nil
}

func (p *Planner) bindRangeFunction(sc *scope, rf *pg_query.RangeFunction) (*fromItem, error) {
	if rf.Lateral || rf.IsRowsfrom || len(rf.Functions) != 1 || rf.Ordinality {
		return nil, pgerror.Unsupported("unsupported function in FROM")
	}
	items := rf.Functions[0].GetList().GetItems()
	fc := items[0].GetFuncCall()
	if fc == nil {
		return nil, pgerror.Unsupported("unsupported function in FROM")
	}
	name := strings.ToLower(strVal(fc.Funcname[len(fc.Funcname)-1]))
	if len(fc.Funcname) == 1 && isTimeWindowFunc(name) {
		return p.bindTimeWindow(sc, rf, fc, name)
	}
	ec := &exprCtx{sc: &scope{parent: sc, sameLevel: true}, clause: "functions in FROM"}
	args, err := p.bindList(ec, fc.Args)
	if err != nil {
		return nil, err
	}
	alias, colNames := aliasNames(rf.Alias)
	if alias == "" {
		alias = name
	}
	var out types.T
	switch name {
	case "generate_series":
		if len(args) < 2 || len(args) > 3 {
			return nil, pgerror.New(pgerror.UndefinedFunction, "function generate_series(%s) does not exist", exprTypes(args))
		}
		ts := make([]types.T, 2)
		ts[0], ts[1] = args[0].Type(), args[1].Type()
		t, err := commonType(ts, "generate_series")
		if err != nil {
			return nil, err
		}
		switch {
		case t.Family == types.FamInt2 || t.Family == types.FamInt4 || t.Family == types.FamUnknown:
			t = types.Int4T
		case t.Family == types.FamInt8 || t.Family == types.FamNumeric:
		case t.Family == types.FamFloat4 || t.Family == types.FamFloat8:
			t = types.NumericT
		case t.Family == types.FamTimestamp || t.Family == types.FamTimestampTZ:
		case t.Family == types.FamDate:
			t = types.TimestampT
		case t.IsString():
			t = types.TimestampTZT
		default:
			return nil, pgerror.New(pgerror.UndefinedFunction, "function generate_series(%s) does not exist", exprTypes(args))
		}
		for i := 0; i < 2; i++ {
			if args[i], err = p.coerce(args[i], t, "generate_series"); err != nil {
				return nil, err
			}
		}
		if len(args) == 3 {
			st := t
			if t.Family == types.FamTimestamp || t.Family == types.FamTimestampTZ {
				st = types.IntervalT
			}
			if args[2], err = p.coerce(args[2], st, "generate_series"); err != nil {
				return nil, err
			}
		}
		out = t
	case "unnest":
		if len(args) != 1 {
			return nil, pgerror.Unsupported("unnest with several arguments is not supported")
		}
		if args[0].Type().Family != types.FamArray {
			return nil, pgerror.New(pgerror.UndefinedFunction, "function unnest(%s) does not exist", exprTypes(args))
		}
		out = args[0].Type().ElemType()
	default:
		// A scalar function in FROM yields one row.
		e, err := p.bindFuncCall(ec, fc)
		if err != nil {
			return nil, err
		}
		colName := name
		if len(colNames) > 0 {
			colName = colNames[0]
		} else if rf.Alias != nil {
			colName = alias
		}
		cols := []scopeCol{{table: alias, name: colName, t: e.Type()}}
		return &fromItem{node: &Values{Rows: [][]Expr{{e}}, Out: schemaFromCols(cols)}, cols: cols}, nil
	}
	colName := name
	if len(colNames) > 0 {
		colName = colNames[0]
	} else if rf.Alias != nil {
		colName = alias
	}
	cols := []scopeCol{{table: alias, name: colName, t: out}}
	return &fromItem{node: &TableFunc{Name: name, Args: args, Out: schemaFromCols(cols)}, cols: cols}, nil
}

func (p *Planner) bindJoin(sc *scope, j *pg_query.JoinExpr) (*fromItem, error) {
	l, err := p.bindFromItem(sc, j.Larg)
	if err != nil {
		return nil, err
	}
	r, err := p.bindFromItem(sc, j.Rarg)
	if err != nil {
		return nil, err
	}
	if quals, ok := asOfCondition(j); ok {
		return p.bindAsOfJoin(sc, j, l, r, quals)
	}
	kind := map[pg_query.JoinType]JoinKind{
		pg_query.JoinType_JOIN_INNER: JoinInner, pg_query.JoinType_JOIN_LEFT: JoinLeft,
		pg_query.JoinType_JOIN_RIGHT: JoinRight, pg_query.JoinType_JOIN_FULL: JoinFull,
	}[j.Jointype]
	all := append(append([]scopeCol{}, l.cols...), r.cols...)
	if err := checkDuplicateAliases(all); err != nil {
		return nil, err
	}
	join := &Join{Kind: kind, Left: l.node, Right: r.node, Out: schemaFromCols(all)}
	var using []string
	if j.IsNatural {
		for _, lc := range l.cols {
			if lc.hidden || lc.merged {
				continue
			}
			for _, rc := range r.cols {
				if !rc.hidden && !rc.merged && rc.name == lc.name {
					using = append(using, lc.name)
				}
			}
		}
	}
	for _, u := range j.UsingClause {
		using = append(using, strVal(u))
	}
	item := &fromItem{node: join, cols: all}
	if j.Quals == nil && len(using) == 0 {
		if kind == JoinInner && !j.IsNatural {
			join.Kind = JoinCross
		} else if j.IsNatural {
			join.Kind = map[JoinKind]JoinKind{JoinInner: JoinCross}[kind]
			if kind != JoinInner {
				join.Kind = kind
				join.Cond = constOf(types.BoolT, true)
			}
		}
		return item, nil
	}
	onScope := &scope{cols: all, parent: sc, sameLevel: true}
	if len(using) > 0 {
		return p.bindUsing(onScope, item, l, r, using, kind, j.Alias)
	}
	ec := &exprCtx{sc: onScope, clause: "JOIN conditions"}
	cond, err := p.bindExpr(ec, j.Quals)
	if err != nil {
		return nil, err
	}
	if cond, err = p.coerce(cond, types.BoolT, "argument of JOIN/ON"); err != nil {
		return nil, err
	}
	join.Cond = cond
	splitJoinCond(join)
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

func (p *Planner) bindUsing(onScope *scope, item *fromItem, l, r *fromItem, using []string, kind JoinKind, alias *pg_query.Alias) (*fromItem, error) {
	join := item.node.(*Join)
	nl := len(l.cols)
	var conds []Expr
	var merged []scopeCol
	var mergedExprs []Expr
	lUsed, rUsed := map[int]bool{}, map[int]bool{}
	for _, u := range using {
		li, ri := -1, -1
		for i, c := range l.cols {
			if c.name == u && !c.hidden && (c.table != "" || true) {
				if li >= 0 && !c.merged {
					return nil, pgerror.New(pgerror.AmbiguousColumn, "common column name %q appears more than once in left table", u)
				}
				if li < 0 || !c.merged {
					li = i
				}
			}
		}
		for i, c := range r.cols {
			if c.name == u && !c.hidden {
				if ri >= 0 {
					return nil, pgerror.New(pgerror.AmbiguousColumn, "common column name %q appears more than once in right table", u)
				}
				ri = i
			}
		}
		if li < 0 {
			return nil, pgerror.New(pgerror.UndefinedColumn, "column %q specified in USING clause does not exist in left table", u)
		}
		if ri < 0 {
			return nil, pgerror.New(pgerror.UndefinedColumn, "column %q specified in USING clause does not exist in right table", u)
		}
		lref := &ColRef{Idx: li, T: l.cols[li].t, Name: u}
		rref := &ColRef{Idx: nl + ri, T: r.cols[ri].t, Name: u}
		eq, err := p.bindOp("=", []Expr{lref, rref})
		if err != nil {
			return nil, err
		}
		conds = append(conds, eq)
		lUsed[li], rUsed[ri] = true, true
		c := eq.(*Call)
		var m Expr
		switch kind {
		case JoinRight:
			m = c.Args[1]
		case JoinFull:
			t, args, err := p.unify([]Expr{lref, rref}, "JOIN/USING")
			if err != nil {
				return nil, err
			}
			m = &Coalesce{Args: args, T: t}
		default:
			m = c.Args[0]
		}
		mergedExprs = append(mergedExprs, m)
		merged = append(merged, scopeCol{name: u, t: m.Type()})
	}
	if len(conds) == 1 {
		join.Cond = conds[0]
	} else {
		join.Cond = &And{Args: conds}
	}
	splitJoinCond(join)
	// Output: merged columns, then the rest of left, then the rest of right;
	// the USING columns of each side stay reachable qualified only.
	exprs := append([]Expr{}, mergedExprs...)
	cols := append([]scopeCol{}, merged...)
	for i, c := range l.cols {
		exprs = append(exprs, &ColRef{Idx: i, T: c.t, Name: c.name})
		if lUsed[i] {
			c.merged, c.hidden = true, true
		}
		cols = append(cols, c)
	}
	for i, c := range r.cols {
		exprs = append(exprs, &ColRef{Idx: nl + i, T: c.t, Name: c.name})
		if rUsed[i] {
			c.merged, c.hidden = true, true
		}
		cols = append(cols, c)
	}
	if alias != nil {
		a, names := aliasNames(alias)
		var err error
		if cols, err = renameCols(cols, a, names); err != nil {
			return nil, err
		}
	}
	return &fromItem{node: &Project{Input: join, Exprs: exprs, Out: schemaFromCols(cols)}, cols: cols}, nil
}

// splitJoinCond moves equality conjuncts between the two sides of j into
// LeftKeys/RightKeys, leaving the rest in Cond.
func splitJoinCond(j *Join) {
	if j.Cond == nil {
		return
	}
	nl := len(j.Left.Schema())
	var rest []Expr
	for _, c := range Conjuncts(j.Cond) {
		if l, r, fn, ok := equiKey(c, nl); ok {
			j.LeftKeys = append(j.LeftKeys, l)
			j.RightKeys = append(j.RightKeys, r)
			j.KeyFns = append(j.KeyFns, fn)
			continue
		}
		rest = append(rest, c)
	}
	j.Cond = andOf(rest)
	if j.Kind == JoinCross && len(j.LeftKeys) > 0 {
		j.Kind = JoinInner
	}
}

// Conjuncts flattens the top-level ANDs of e.
func Conjuncts(e Expr) []Expr {
	if a, ok := e.(*And); ok {
		var out []Expr
		for _, x := range a.Args {
			out = append(out, Conjuncts(x)...)
		}
		return out
	}
	return []Expr{e}
}

func andOf(es []Expr) Expr {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	return &And{Args: es}
}

// colSpan reports which input columns e reads (min and max ColRef index)
// and whether it is free of outer references, subqueries and volatile calls.
func colSpan(e Expr) (lo, hi int, pure bool) {
	lo, hi, pure = 1<<30, -1, true
	walkExpr(e, func(x Expr) bool {
		switch v := x.(type) {
		case *ColRef:
			if v.Idx < lo {
				lo = v.Idx
			}
			if v.Idx > hi {
				hi = v.Idx
			}
		case *Subquery, *OuterRef, *Param:
			pure = false
		case *Call:
			if v.Fn.Volatility == 2 {
				pure = false
			}
		}
		return true
	})
	return lo, hi, pure
}

// equiKey recognises left = right with each side reading one join input.
func equiKey(c Expr, nl int) (Expr, Expr, *kernels.ScalarFunc, bool) {
	call, ok := c.(*Call)
	if !ok || call.Fn.Name != "=" || len(call.Args) != 2 {
		return nil, nil, nil, false
	}
	a, b := call.Args[0], call.Args[1]
	alo, ahi, apure := colSpan(a)
	blo, bhi, bpure := colSpan(b)
	if !apure || !bpure || ahi < 0 || bhi < 0 {
		return nil, nil, nil, false
	}
	if a.Type().Family != b.Type().Family {
		// Cross-type equality (int8 = int4, int = numeric) hashes in the
		// wider type, where the comparison is exact.
		var ok bool
		if a, b, ok = widenKeys(a, b); !ok {
			return nil, nil, nil, false
		}
	}
	switch {
	case ahi < nl && blo >= nl:
		return a, shiftCols(b, -nl), call.Fn, true
	case bhi < nl && alo >= nl:
		return b, shiftCols(a, -nl), call.Fn, true
	}
	return nil, nil, nil, false
}

// widenKeys casts the narrower of two integer/numeric key expressions to the
// other's type; ok is false for other type pairs.
func widenKeys(a, b Expr) (Expr, Expr, bool) {
	rank := func(t types.T) int {
		switch t.Family {
		case types.FamInt2:
			return 1
		case types.FamInt4:
			return 2
		case types.FamInt8:
			return 3
		case types.FamNumeric:
			return 4
		}
		return 0
	}
	ra, rb := rank(a.Type()), rank(b.Type())
	switch {
	case ra == 0 || rb == 0:
		return nil, nil, false
	case ra < rb:
		return &Cast{E: a, To: b.Type()}, b, true
	default:
		return a, &Cast{E: b, To: a.Type()}, true
	}
}

// shiftCols adds delta to every ColRef index in e.
func shiftCols(e Expr, delta int) Expr {
	out, _ := rewriteExpr(e, func(x Expr) (Expr, error) {
		if c, ok := x.(*ColRef); ok {
			return &ColRef{Idx: c.Idx + delta, T: c.T, Name: c.Name}, nil
		}
		return nil, nil
	})
	return out
}
