package planner

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// target is one select-list entry before binding.
type target struct {
	name string
	node *pg_query.Node // nil when expr is pre-bound (star expansion)
	expr Expr
	col  scopeCol // source column info for star expansion
}

// bindSelect binds a SELECT (or VALUES or set operation) at a new query
// level whose enclosing scope is outer. It returns the plan and a scope
// describing its output columns.
func (p *Planner) bindSelect(sel *pg_query.SelectStmt, outer *scope) (Node, *scope, error) {
	sc := &scope{parent: outer, ctes: map[string]*cteDef{}}
	if outer != nil && outer.sameLevel {
		// Derived tables and CTE bodies are their own query level for names.
		sc.parent = outer
	}
	if sel.WithClause != nil {
		if sel.WithClause.Recursive {
			return nil, nil, pgerror.Unsupported("WITH RECURSIVE is not supported")
		}
		for _, c := range sel.WithClause.Ctes {
			cte := c.GetCommonTableExpr()
			if cte.Ctequery.GetSelectStmt() == nil {
				return nil, nil, pgerror.Unsupported("data-modifying statements in WITH are not supported")
			}
			if _, dup := sc.ctes[cte.Ctename]; dup {
				return nil, nil, pgerror.New(pgerror.DuplicateAlias, "WITH query name %q specified more than once", cte.Ctename)
			}
			d := &cteDef{name: cte.Ctename, query: cte.Ctequery, scope: &scope{parent: outer, sameLevel: true, ctes: copyCTEs(sc.ctes)}}
			for _, a := range cte.Aliascolnames {
				d.colAlia = append(d.colAlia, strVal(a))
			}
			sc.ctes[cte.Ctename] = d
		}
	}
	if sel.Op != pg_query.SetOperation_SETOP_NONE {
		return p.bindSetOp(sel, sc)
	}
	if len(sel.ValuesLists) > 0 {
		return p.bindValues(sel, sc)
	}
	return p.bindSimpleSelect(sel, sc)
}

func copyCTEs(m map[string]*cteDef) map[string]*cteDef {
	out := make(map[string]*cteDef, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (p *Planner) bindValues(sel *pg_query.SelectStmt, sc *scope) (Node, *scope, error) {
	ec := &exprCtx{sc: &scope{parent: sc, sameLevel: true}, clause: "VALUES"}
	var rows [][]Expr
	width := -1
	for _, l := range sel.ValuesLists {
		items := l.GetList().GetItems()
		if width >= 0 && len(items) != width {
			return nil, nil, pgerror.New(pgerror.SyntaxError, "VALUES lists must all be the same length")
		}
		width = len(items)
		row, err := p.bindList(ec, items)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, row)
	}
	out := &Values{Rows: rows}
	for c := 0; c < width; c++ {
		col := make([]Expr, len(rows))
		for r := range rows {
			col[r] = rows[r][c]
		}
		t, col, err := p.unify(col, "VALUES")
		if err != nil {
			return nil, nil, err
		}
		for r := range rows {
			rows[r][c] = col[r]
		}
		out.Out = append(out.Out, Column{Name: "column" + itoa(c+1), T: t})
	}
	osc := &scope{}
	for _, c := range out.Out {
		osc.cols = append(osc.cols, scopeCol{name: c.Name, t: c.T})
	}
	node, err := p.bindOrderLimit(sel, out, osc, sc)
	return node, osc, err
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func (p *Planner) bindSetOp(sel *pg_query.SelectStmt, sc *scope) (Node, *scope, error) {
	inner := &scope{parent: sc, sameLevel: true}
	l, lsc, err := p.bindSelect(sel.Larg, inner)
	if err != nil {
		return nil, nil, err
	}
	r, _, err := p.bindSelect(sel.Rarg, inner)
	if err != nil {
		return nil, nil, err
	}
	kindName := map[pg_query.SetOperation]string{
		pg_query.SetOperation_SETOP_UNION: "UNION", pg_query.SetOperation_SETOP_INTERSECT: "INTERSECT", pg_query.SetOperation_SETOP_EXCEPT: "EXCEPT",
	}[sel.Op]
	ls, rs := l.Schema(), r.Schema()
	if len(ls) != len(rs) {
		return nil, nil, pgerror.New(pgerror.SyntaxError, "each %s query must have the same number of columns", kindName)
	}
	lex := make([]Expr, len(ls))
	rex := make([]Expr, len(rs))
	needL, needR := false, false
	out := make(Schema, len(ls))
	for i := range ls {
		t, err := commonType([]types.T{ls[i].T, rs[i].T}, kindName)
		if err != nil {
			return nil, nil, err
		}
		lex[i] = &ColRef{Idx: i, T: ls[i].T, Name: ls[i].Name}
		rex[i] = &ColRef{Idx: i, T: rs[i].T, Name: rs[i].Name}
		if ls[i].T != t {
			if lex[i], err = p.coerce(lex[i], t, kindName); err != nil {
				return nil, nil, err
			}
			needL = true
		}
		if rs[i].T != t {
			if rex[i], err = p.coerce(rex[i], t, kindName); err != nil {
				return nil, nil, err
			}
			needR = true
		}
		out[i] = Column{Name: ls[i].Name, T: t}
	}
	if needL {
		l = &Project{Input: l, Exprs: lex, Out: out}
	}
	if needR {
		rout := make(Schema, len(out))
		for i := range out {
			rout[i] = Column{Name: rs[i].Name, T: out[i].T}
		}
		r = &Project{Input: r, Exprs: rex, Out: rout}
	}
	kind := map[pg_query.SetOperation]SetOpKind{
		pg_query.SetOperation_SETOP_UNION: SetUnion, pg_query.SetOperation_SETOP_INTERSECT: SetIntersect, pg_query.SetOperation_SETOP_EXCEPT: SetExcept,
	}[sel.Op]
	node := Node(&SetOp{Kind: kind, All: sel.All, Left: l, Right: r, Out: out})
	osc := &scope{}
	for i, c := range out {
		col := scopeCol{name: c.Name, t: c.T}
		if i < len(lsc.cols) {
			col.tableOID, col.attNum = 0, 0
		}
		osc.cols = append(osc.cols, col)
	}
	node, err = p.bindOrderLimit(sel, node, osc, sc)
	return node, osc, err
}

// bindOrderLimit applies ORDER BY (output columns only), LIMIT and OFFSET to
// a VALUES or set-operation result.
func (p *Planner) bindOrderLimit(sel *pg_query.SelectStmt, node Node, osc *scope, sc *scope) (Node, error) {
	if len(sel.SortClause) > 0 {
		var keys []SortKey
		out := node.Schema()
		for _, s := range sel.SortClause {
			sb := s.GetSortBy()
			idx, err := outputRef(sb.Node, out)
			if err != nil {
				return nil, err
			}
			if idx < 0 {
				ec := &exprCtx{sc: &scope{cols: osc.cols, parent: sc, sameLevel: true}, clause: "ORDER BY"}
				e, err := p.bindExpr(ec, sb.Node)
				if err != nil {
					return nil, err
				}
				c, ok := e.(*ColRef)
				if !ok {
					return nil, pgerror.Unsupported("invalid UNION/INTERSECT/EXCEPT ORDER BY clause").
						WithDetail("Only result column names can be used, not expressions or functions.")
				}
				idx = c.Idx
			}
			keys = append(keys, sortKey(&ColRef{Idx: idx, T: out[idx].T, Name: out[idx].Name}, sb))
		}
		node = &Sort{Input: node, Keys: keys}
	}
	return p.bindLimit(sel, node, sc)
}

// outputRef resolves an ORDER BY/GROUP BY item that is an ordinal or a bare
// output column name. It returns -1 when the item is neither.
func outputRef(n *pg_query.Node, out Schema) (int, error) {
	if c := n.GetAConst(); c != nil {
		if iv := c.GetIval(); iv != nil {
			i := int(iv.Ival)
			if i < 1 || i > len(out) {
				return -1, pgerror.New(pgerror.InvalidColumnReference, "ORDER BY position %d is not in select list", i)
			}
			return i - 1, nil
		}
		// PostgreSQL rejects any other bare constant (5.0, 'a', NULL,
		// true) rather than sorting by a constant.
		return -1, pgerror.New(pgerror.SyntaxError, "non-integer constant in ORDER BY")
	}
	if cr := n.GetColumnRef(); cr != nil && len(cr.Fields) == 1 {
		name := strVal(cr.Fields[0])
		found := -1
		for i, c := range out {
			if c.Name == name {
				if found >= 0 {
					return -1, pgerror.New(pgerror.AmbiguousColumn, "ORDER BY %q is ambiguous", name)
				}
				found = i
			}
		}
		return found, nil
	}
	return -1, nil
}

func (p *Planner) bindLimit(sel *pg_query.SelectStmt, node Node, sc *scope) (Node, error) {
	if sel.LimitCount == nil && sel.LimitOffset == nil {
		return node, nil
	}
	lim := &Limit{Input: node, Count: -1}
	if sel.LimitOption == pg_query.LimitOption_LIMIT_OPTION_WITH_TIES {
		if _, sorted := node.(*Sort); !sorted {
			return nil, pgerror.New(pgerror.SyntaxError, "WITH TIES cannot be specified without ORDER BY clause")
		}
		lim.WithTies = true
	}
	ec := &exprCtx{sc: &scope{parent: sc, sameLevel: true, noColumns: true}, clause: "LIMIT"}
	bind := func(n *pg_query.Node, what string) (Expr, error) {
		if n == nil {
			return nil, nil
		}
		if c := n.GetAConst(); c != nil && c.Isnull {
			return nil, nil // LIMIT ALL / NULL
		}
		e, err := p.bindExpr(ec, n)
		if err != nil {
			return nil, err
		}
		return p.coerce(e, types.Int8T, "argument of "+what)
	}
	c, err := bind(sel.LimitCount, "LIMIT")
	if err != nil {
		return nil, err
	}
	o, err := bind(sel.LimitOffset, "OFFSET")
	if err != nil {
		return nil, err
	}
	if k, ok := c.(*Const); ok {
		if k.Val == nil {
			c = nil
		} else {
			lim.Count = k.Val.(int64)
			if lim.Count < 0 {
				return nil, pgerror.New(pgerror.InvalidRowCountInLimit, "LIMIT must not be negative")
			}
			c = nil
		}
	}
	if k, ok := o.(*Const); ok {
		if k.Val != nil {
			lim.Offset = k.Val.(int64)
			if lim.Offset < 0 {
				return nil, pgerror.New(pgerror.InvalidRowCountInOffset, "OFFSET must not be negative")
			}
		}
		o = nil
	}
	lim.CountExpr, lim.OffsetExpr = c, o
	return lim, nil
}

func (p *Planner) bindSimpleSelect(sel *pg_query.SelectStmt, sc *scope) (Node, *scope, error) {
	if sel.IntoClause != nil {
		return nil, nil, pgerror.Unsupported("SELECT INTO is not supported")
	}
	if len(sel.LockingClause) > 0 {
		return nil, nil, pgerror.Unsupported("SELECT FOR UPDATE/SHARE is not supported")
	}
	from, err := p.bindFrom(sc, sel.FromClause)
	if err != nil {
		return nil, nil, err
	}
	sc.cols = from.cols
	node := from.node
	// WHERE
	if sel.WhereClause != nil {
		ec := &exprCtx{sc: sc, clause: "WHERE"}
		cond, err := p.bindExpr(ec, sel.WhereClause)
		if err != nil {
			return nil, nil, err
		}
		if cond, err = p.coerce(cond, types.BoolT, "argument of WHERE"); err != nil {
			return nil, nil, err
		}
		node = &Filter{Input: node, Cond: cond}
	}
	// Window definitions.
	win := &winCollector{defs: map[string]*pg_query.WindowDef{}}
	for _, w := range sel.WindowClause {
		wd := w.GetWindowDef()
		win.defs[wd.Name] = wd
	}
	agg := &aggCollector{}
	// Select list: expand stars.
	var targets []target
	for _, t := range sel.TargetList {
		rt := t.GetResTarget()
		if cr := rt.Val.GetColumnRef(); cr != nil && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			var idxs []int
			if len(cr.Fields) == 1 {
				if len(sel.FromClause) == 0 {
					return nil, nil, pgerror.New(pgerror.SyntaxError, "SELECT * with no tables specified is not valid")
				}
				for i, c := range sc.cols {
					if !c.hidden {
						idxs = append(idxs, i)
					}
				}
			} else {
				tbl := strVal(cr.Fields[len(cr.Fields)-2])
				idxs = sc.tableCols(tbl)
				if len(idxs) == 0 && !sc.hasTable(tbl) {
					return nil, nil, pgerror.New(pgerror.UndefinedTable, "missing FROM-clause entry for table %q", tbl)
				}
			}
			except, err := p.starExcept(int(cr.Location), idxs, sc)
			if err != nil {
				return nil, nil, err
			}
			for _, i := range idxs {
				c := sc.cols[i]
				if except[c.name] {
					continue
				}
				targets = append(targets, target{name: c.name, expr: &ColRef{Idx: i, T: c.t, Name: c.name}, col: c})
			}
			continue
		}
		name := rt.Name
		if name == "" {
			name = figureColname(rt.Val)
		}
		tg := target{name: name, node: rt.Val}
		if cr := rt.Val.GetColumnRef(); cr != nil {
			// Remember the source column for RowDescription.
			if e, err := p.bindColumnRef(&exprCtx{sc: sc}, cr); err == nil {
				if c, ok := e.(*ColRef); ok {
					tg.col = sc.cols[c.Idx]
				}
			}
		}
		targets = append(targets, tg)
	}
	selCtx := &exprCtx{sc: sc, agg: agg, win: win, clause: "SELECT"}
	for i := range targets {
		if targets[i].expr != nil {
			continue
		}
		e, err := p.bindExpr(selCtx, targets[i].node)
		if err != nil {
			return nil, nil, err
		}
		targets[i].expr = e
	}
	outSchema := make(Schema, len(targets))
	for i, t := range targets {
		outSchema[i] = Column{Name: t.name, T: t.expr.Type()}
	}
	// GROUP BY
	var groups []Expr
	groupCtx := &exprCtx{sc: sc, clause: "GROUP BY"}
	for _, g := range sel.GroupClause {
		if g.GetGroupingSet() != nil {
			return nil, nil, pgerror.Unsupported("GROUPING SETS, ROLLUP and CUBE are not supported")
		}
		e, err := p.bindGroupItem(groupCtx, g, targets)
		if err != nil {
			return nil, nil, err
		}
		groups = append(groups, e)
	}
	// HAVING
	var having Expr
	if sel.HavingClause != nil {
		hc := &exprCtx{sc: sc, agg: agg, clause: "HAVING"}
		if having, err = p.bindExpr(hc, sel.HavingClause); err != nil {
			return nil, nil, err
		}
		if having, err = p.coerce(having, types.BoolT, "argument of HAVING"); err != nil {
			return nil, nil, err
		}
	}
	// DISTINCT
	distinct := len(sel.DistinctClause) > 0
	var distinctOn []*pg_query.Node
	if distinct && sel.DistinctClause[0] != nil && sel.DistinctClause[0].Node != nil {
		distinctOn = sel.DistinctClause
	}
	// ORDER BY: output names/ordinals first, else expressions.
	type orderItem struct {
		outIdx int // >= 0 when the key is a select-list column
		expr   Expr
		sb     *pg_query.SortBy
	}
	var orders []orderItem
	orderCtx := &exprCtx{sc: sc, agg: agg, win: win, clause: "ORDER BY"}
	for _, s := range sel.SortClause {
		sb := s.GetSortBy()
		idx, err := outputRef(sb.Node, outSchema)
		if err != nil {
			return nil, nil, err
		}
		if idx >= 0 {
			orders = append(orders, orderItem{outIdx: idx, sb: sb})
			continue
		}
		e, err := p.bindExpr(orderCtx, sb.Node)
		if err != nil {
			return nil, nil, err
		}
		orders = append(orders, orderItem{outIdx: -1, expr: e, sb: sb})
	}
	var onExprs []orderItem
	for _, d := range distinctOn {
		idx, err := outputRef(d, outSchema)
		if err != nil {
			return nil, nil, err
		}
		if idx >= 0 {
			onExprs = append(onExprs, orderItem{outIdx: idx})
			continue
		}
		e, err := p.bindExpr(orderCtx, d)
		if err != nil {
			return nil, nil, err
		}
		onExprs = append(onExprs, orderItem{outIdx: -1, expr: e})
	}
	// Aggregation.
	if len(groups) > 0 || len(agg.calls) > 0 || having != nil {
		a := &Aggregate{Input: node, GroupBy: groups, Aggs: agg.calls}
		for i, g := range groups {
			name := "?column?"
			if c, ok := g.(*ColRef); ok {
				name = c.Name
			}
			a.Out = append(a.Out, Column{Name: name, T: g.Type()})
			_ = i
		}
		for _, c := range agg.calls {
			a.Out = append(a.Out, Column{Name: c.Fn.Name, T: c.T})
		}
		node = a
		tr := newAggTransform(groups)
		for i := range targets {
			if targets[i].expr, err = tr.apply(targets[i].expr); err != nil {
				return nil, nil, err
			}
		}
		if having != nil {
			if having, err = tr.apply(having); err != nil {
				return nil, nil, err
			}
			node = &Filter{Input: node, Cond: having}
		}
		for i := range orders {
			if orders[i].expr != nil {
				if orders[i].expr, err = tr.apply(orders[i].expr); err != nil {
					return nil, nil, err
				}
			}
		}
		for i := range onExprs {
			if onExprs[i].expr != nil {
				if onExprs[i].expr, err = tr.apply(onExprs[i].expr); err != nil {
					return nil, nil, err
				}
			}
		}
		for i := range win.calls {
			if err := tr.applyWindow(&win.calls[i]); err != nil {
				return nil, nil, err
			}
		}
	}
	// Window functions.
	if len(win.calls) > 0 {
		in := node.Schema()
		w := &Window{Input: node, Calls: win.calls, Out: append(Schema{}, in...)}
		for _, c := range win.calls {
			w.Out = append(w.Out, Column{Name: c.Name, T: c.T})
		}
		node = w
		nIn := len(in)
		rw := func(e Expr) (Expr, error) {
			return rewriteExpr(e, func(x Expr) (Expr, error) {
				if r, ok := x.(*winRef); ok {
					return &ColRef{Idx: nIn + r.idx, T: r.t, Name: win.calls[r.idx].Name}, nil
				}
				return nil, nil
			})
		}
		for i := range targets {
			if targets[i].expr, err = rw(targets[i].expr); err != nil {
				return nil, nil, err
			}
		}
		for i := range orders {
			if orders[i].expr != nil {
				if orders[i].expr, err = rw(orders[i].expr); err != nil {
					return nil, nil, err
				}
			}
		}
		for i := range onExprs {
			if onExprs[i].expr != nil {
				if onExprs[i].expr, err = rw(onExprs[i].expr); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	// Projection with hidden sort/distinct-on columns.
	proj := &Project{Input: node}
	for _, t := range targets {
		proj.Exprs = append(proj.Exprs, t.expr)
		proj.Out = append(proj.Out, Column{Name: t.name, T: t.expr.Type(), Table: t.col.table})
	}
	nOut := len(targets)
	findOrAdd := func(e Expr, what string) (int, error) {
		k := exprKey(e)
		for i, x := range proj.Exprs {
			if exprKey(x) == k {
				return i, nil
			}
		}
		if distinct && distinctOn == nil {
			return -1, pgerror.New(pgerror.InvalidColumnReference, "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
		}
		proj.Exprs = append(proj.Exprs, e)
		proj.Out = append(proj.Out, Column{Name: "?" + what, T: e.Type()})
		return len(proj.Exprs) - 1, nil
	}
	var sortKeys []SortKey
	for _, o := range orders {
		idx := o.outIdx
		if idx < 0 {
			if idx, err = findOrAdd(o.expr, "order"); err != nil {
				return nil, nil, err
			}
		}
		sortKeys = append(sortKeys, sortKey(&ColRef{Idx: idx, T: proj.Out[idx].T, Name: proj.Out[idx].Name}, o.sb))
	}
	var onIdx []int
	for _, o := range onExprs {
		idx := o.outIdx
		if idx < 0 {
			if idx, err = findOrAdd(o.expr, "distinct_on"); err != nil {
				return nil, nil, err
			}
		}
		onIdx = append(onIdx, idx)
	}
	node = proj
	if distinct && distinctOn == nil {
		node = &Distinct{Input: node}
	}
	if len(onIdx) > 0 {
		// DISTINCT ON: ORDER BY must start with the DISTINCT ON expressions.
		for i := 0; i < len(sortKeys) && i < len(onIdx); i++ {
			if sortKeys[i].E.(*ColRef).Idx != onIdx[i] {
				return nil, nil, pgerror.New(pgerror.InvalidColumnReference, "SELECT DISTINCT ON expressions must match initial ORDER BY expressions")
			}
		}
		keys := append([]SortKey{}, sortKeys...)
		for i := len(sortKeys); i < len(onIdx); i++ {
			keys = append(keys, SortKey{E: &ColRef{Idx: onIdx[i], T: proj.Out[onIdx[i]].T}})
		}
		node = &Sort{Input: node, Keys: keys}
		on := make([]Expr, len(onIdx))
		for i, idx := range onIdx {
			on[i] = &ColRef{Idx: idx, T: proj.Out[idx].T}
		}
		node = &Distinct{Input: node, On: on}
	} else if len(sortKeys) > 0 {
		node = &Sort{Input: node, Keys: sortKeys}
	}
	if node, err = p.bindLimit(sel, node, sc); err != nil {
		return nil, nil, err
	}
	if len(proj.Exprs) > nOut {
		exprs := make([]Expr, nOut)
		for i := 0; i < nOut; i++ {
			exprs[i] = &ColRef{Idx: i, T: proj.Out[i].T, Name: proj.Out[i].Name}
		}
		node = &Project{Input: node, Exprs: exprs, Out: append(Schema{}, proj.Out[:nOut]...)}
	}
	osc := &scope{}
	for _, t := range targets {
		c := t.col
		c.name, c.t, c.hidden, c.merged = t.name, t.expr.Type(), false, false
		if _, ok := t.expr.(*ColRef); !ok {
			c.tableOID, c.attNum = 0, 0
		}
		osc.cols = append(osc.cols, c)
	}
	return node, osc, nil
}

// bindGroupItem binds a GROUP BY item: an input column/expression first,
// then an output column name, or an ordinal.
func (p *Planner) bindGroupItem(ec *exprCtx, g *pg_query.Node, targets []target) (Expr, error) {
	if c := g.GetAConst(); c != nil && c.GetIval() != nil {
		i := int(c.GetIval().Ival)
		if i < 1 || i > len(targets) {
			return nil, pgerror.New(pgerror.InvalidColumnReference, "GROUP BY position %d is not in select list", i)
		}
		return p.groupTargetExpr(ec, targets[i-1])
	}
	if g.GetAConst() != nil {
		return nil, pgerror.New(pgerror.SyntaxError, "non-integer constant in GROUP BY")
	}
	e, err := p.bindExpr(ec, g)
	if err == nil {
		return e, nil
	}
	if cr := g.GetColumnRef(); cr != nil && len(cr.Fields) == 1 && pgerror.CodeOf(err) == pgerror.UndefinedColumn {
		name := strVal(cr.Fields[0])
		for _, t := range targets {
			if t.name == name {
				return p.groupTargetExpr(ec, t)
			}
		}
	}
	return nil, err
}

func (p *Planner) groupTargetExpr(ec *exprCtx, t target) (Expr, error) {
	if t.node == nil {
		return t.expr, nil
	}
	return p.bindExpr(ec, t.node)
}

// aggTransform rewrites expressions bound over an Aggregate's input into
// expressions over its output (group columns, then aggregate results).
type aggTransform struct {
	groups []Expr
	keys   map[string]int
}

func newAggTransform(groups []Expr) *aggTransform {
	t := &aggTransform{groups: groups, keys: map[string]int{}}
	for i, g := range groups {
		k := exprKey(g)
		if _, dup := t.keys[k]; !dup {
			t.keys[k] = i
		}
	}
	return t
}

func (t *aggTransform) apply(e Expr) (Expr, error) {
	ng := len(t.groups)
	return rewriteExpr(e, func(x Expr) (Expr, error) {
		switch v := x.(type) {
		case *aggRef:
			return &ColRef{Idx: ng + v.idx, T: v.t}, nil
		case *winRef, *Const, *Param, *OuterRef:
			return x, nil
		}
		if i, ok := t.keys[exprKey(x)]; ok {
			return &ColRef{Idx: i, T: x.Type(), Name: colName(x)}, nil
		}
		switch v := x.(type) {
		case *ColRef:
			return nil, pgerror.New(pgerror.GroupingError, "column %q must appear in the GROUP BY clause or be used in an aggregate function", v.Name)
		case *Subquery:
			// Correlated references to this level must be grouped columns.
			c := *v
			left, err := t.apply(v.Left)
			if err != nil {
				return nil, err
			}
			c.Left = left
			err = walkPlanOuterRefs(c.Plan, 1, func(level int, r *OuterRef) (Expr, error) {
				if r.Depth != level {
					return r, nil
				}
				key := exprKey(&ColRef{Idx: r.Idx, T: r.T, Name: r.Name})
				i, ok := t.keys[key]
				if !ok {
					return nil, pgerror.New(pgerror.GroupingError, "subquery uses ungrouped column %q from outer query", r.Name)
				}
				return &OuterRef{Depth: r.Depth, Idx: i, T: r.T, Name: r.Name}, nil
			})
			return &c, err
		}
		return nil, nil
	})
}

func (t *aggTransform) applyWindow(c *WindowCall) error {
	var err error
	for i := range c.Args {
		if c.Args[i], err = t.apply(c.Args[i]); err != nil {
			return err
		}
	}
	for i := range c.PartitionBy {
		if c.PartitionBy[i], err = t.apply(c.PartitionBy[i]); err != nil {
			return err
		}
	}
	for i := range c.OrderBy {
		if c.OrderBy[i].E, err = t.apply(c.OrderBy[i].E); err != nil {
			return err
		}
	}
	if c.Filter != nil {
		c.Filter, err = t.apply(c.Filter)
	}
	return err
}

func colName(e Expr) string {
	if c, ok := e.(*ColRef); ok {
		return c.Name
	}
	return ""
}

// bindSubLink binds a subquery expression.
func (p *Planner) bindSubLink(ec *exprCtx, sl *pg_query.SubLink) (Expr, error) {
	sel := sl.Subselect.GetSelectStmt()
	node, _, err := p.bindSelect(sel, ec.sc)
	if err != nil {
		return nil, err
	}
	if node, err = p.optimize(node); err != nil {
		return nil, err
	}
	sq := &Subquery{Plan: node, Correlated: planIsCorrelated(node)}
	cols := node.Schema()
	switch sl.SubLinkType {
	case pg_query.SubLinkType_EXISTS_SUBLINK:
		sq.Kind, sq.T = SubExists, types.BoolT
		return sq, nil
	case pg_query.SubLinkType_EXPR_SUBLINK, pg_query.SubLinkType_ARRAY_SUBLINK:
		if len(cols) != 1 {
			return nil, pgerror.New(pgerror.SyntaxError, "subquery must return only one column")
		}
		t := cols[0].T
		if t.Family == types.FamUnknown {
			t = types.TextT
		}
		sq.Kind, sq.T = SubScalar, t
		if sl.SubLinkType == pg_query.SubLinkType_ARRAY_SUBLINK {
			sq.Kind, sq.T = SubArray, types.ArrayOf(t)
		}
		return sq, nil
	case pg_query.SubLinkType_ANY_SUBLINK, pg_query.SubLinkType_ALL_SUBLINK:
		if len(cols) != 1 {
			if len(cols) > 1 {
				return nil, pgerror.New(pgerror.SyntaxError, "subquery has too many columns")
			}
			return nil, pgerror.New(pgerror.SyntaxError, "subquery has too few columns")
		}
		left, err := p.bindExpr(ec, sl.Testexpr)
		if err != nil {
			return nil, err
		}
		op := "="
		if len(sl.OperName) > 0 {
			op = strVal(sl.OperName[len(sl.OperName)-1])
		}
		right := &ColRef{Idx: 0, T: cols[0].T, Name: cols[0].Name}
		c, err := p.bindOp(op, []Expr{left, right})
		if err != nil {
			return nil, err
		}
		call := c.(*Call)
		if call.Args[1].Type() != cols[0].T {
			sq.Plan = &Project{Input: node, Exprs: []Expr{call.Args[1]}, Out: Schema{{Name: cols[0].Name, T: call.Args[1].Type()}}}
		}
		sq.Left, sq.Op, sq.T = call.Args[0], call.Fn, types.BoolT
		sq.Kind = SubAny
		if sl.SubLinkType == pg_query.SubLinkType_ALL_SUBLINK {
			sq.Kind = SubAll
		}
		return sq, nil
	}
	return nil, pgerror.Unsupported("unsupported subquery kind")
}

// starExcept returns the column names excluded from the star at byte
// offset loc ("* EXCEPT (a, b)"), checking that each names a column.
func (p *Planner) starExcept(loc int, idxs []int, sc *scope) (map[string]bool, error) {
	best := -1
	for k := range p.StarExcept {
		if k >= loc && k <= loc+128 && (best < 0 || k < best) {
			best = k
		}
	}
	if best < 0 {
		return nil, nil
	}
	names := p.StarExcept[best]
	delete(p.StarExcept, best)
	out := map[string]bool{}
	for _, n := range names {
		found := false
		for _, i := range idxs {
			if sc.cols[i].name == n {
				found = true
			}
		}
		if !found {
			return nil, pgerror.New(pgerror.UndefinedColumn, "column %q in EXCEPT list does not exist", n)
		}
		out[n] = true
	}
	return out, nil
}
