package planner

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// DML is a planned INSERT, UPDATE or DELETE.
//
// Source produces the rows to apply:
//   - INSERT: one column per table column, in table order, already coerced
//     to the column types (defaults filled in);
//   - UPDATE: the row id, then the new value of every table column;
//   - DELETE: the row id, then every table column (the old row).
//
// Returning, when set, is evaluated over Source's rows without the row id
// (the new row for INSERT/UPDATE, the old row for DELETE).
type DML struct {
	Kind       DMLKind
	Table      *catalog.Table
	Source     Node
	Returning  []Expr
	ReturnCols []OutputCol
	// OnConflictDoNothing skips rows that violate a unique constraint.
	OnConflictDoNothing bool
}

// DMLKind is INSERT, UPDATE or DELETE.
type DMLKind uint8

// DML kinds.
const (
	DMLInsert DMLKind = iota
	DMLUpdate
	DMLDelete
)

func (p *Planner) dmlTable(rv *pg_query.RangeVar) (*catalog.Table, error) {
	rel, ok := p.Cat.Lookup(rv.Schemaname, rv.Relname)
	if !ok {
		return nil, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", rv.Relname)
	}
	t, ok := rel.(*catalog.Table)
	if !ok {
		return nil, pgerror.New(pgerror.WrongObjectType, "cannot change %s %q", rel.RelKind(), rv.Relname)
	}
	return t, nil
}

// defaultExpr binds a column's DEFAULT (NULL when none).
func (p *Planner) defaultExpr(c catalog.Column) (Expr, error) {
	if c.Default == "" {
		return constOf(c.T, nil), nil
	}
	st, err := parser.ParseOne("SELECT " + c.Default)
	if err != nil {
		return nil, err
	}
	rt := st.AST.GetSelectStmt().TargetList[0].GetResTarget()
	e, err := p.bindExpr(&exprCtx{sc: &scope{}, clause: "DEFAULT expressions"}, rt.Val)
	if err != nil {
		return nil, err
	}
	return p.coerceAssign(e, c.T, c.Name)
}

// PlanDML plans an INSERT, UPDATE or DELETE statement node.
func (p *Planner) PlanDML(n *pg_query.Node) (*DML, error) {
	switch x := n.Node.(type) {
	case *pg_query.Node_InsertStmt:
		return p.PlanInsert(x.InsertStmt)
	case *pg_query.Node_UpdateStmt:
		return p.PlanUpdate(x.UpdateStmt)
	case *pg_query.Node_DeleteStmt:
		return p.PlanDelete(x.DeleteStmt)
	}
	return nil, pgerror.Internal("PlanDML on %T", n.Node)
}

// PlanInsert plans INSERT.
func (p *Planner) PlanInsert(ins *pg_query.InsertStmt) (*DML, error) {
	if ins.WithClause != nil {
		return nil, pgerror.Unsupported("WITH in INSERT is not supported")
	}
	t, err := p.dmlTable(ins.Relation)
	if err != nil {
		return nil, err
	}
	if t.Schema == "pg_catalog" || t.Schema == "information_schema" {
		return nil, pgerror.New(pgerror.InsufficientPrivilege, "permission denied for table %s", t.Name)
	}
	// Target columns.
	var target []int
	if len(ins.Cols) == 0 {
		for i, c := range t.Columns {
			if !c.Hidden {
				target = append(target, i)
			}
		}
	} else {
		seen := map[int]bool{}
		for _, c := range ins.Cols {
			rt := c.GetResTarget()
			if len(rt.Indirection) > 0 {
				return nil, pgerror.Unsupported("INSERT into subfields is not supported")
			}
			i := t.ColumnIndex(rt.Name)
			if i < 0 || t.Columns[i].Hidden {
				return nil, pgerror.New(pgerror.UndefinedColumn, "column %q of relation %q does not exist", rt.Name, t.Name)
			}
			if seen[i] {
				return nil, pgerror.New(pgerror.DuplicateColumn, "column %q specified more than once", rt.Name)
			}
			seen[i] = true
			target = append(target, i)
		}
	}
	d := &DML{Kind: DMLInsert, Table: t}
	if oc := ins.OnConflictClause; oc != nil {
		if oc.Action != pg_query.OnConflictAction_ONCONFLICT_NOTHING {
			return nil, pgerror.Unsupported("ON CONFLICT DO UPDATE is not supported")
		}
		d.OnConflictDoNothing = true
	}
	out := make(Schema, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = Column{Name: c.Name, T: c.T}
	}
	sel := ins.SelectStmt.GetSelectStmt()
	switch {
	case sel == nil:
		// DEFAULT VALUES
		row := make([]Expr, len(t.Columns))
		for i, c := range t.Columns {
			if row[i], err = p.defaultExpr(c); err != nil {
				return nil, err
			}
		}
		d.Source = &Values{Rows: [][]Expr{row}, Out: out}
	case len(sel.ValuesLists) > 0 && sel.Op == pg_query.SetOperation_SETOP_NONE && len(sel.SortClause) == 0 && sel.LimitCount == nil && sel.WithClause == nil:
		ec := &exprCtx{sc: &scope{}, clause: "VALUES"}
		var rows [][]Expr
		for _, l := range sel.ValuesLists {
			items := l.GetList().GetItems()
			if len(items) > len(target) {
				return nil, pgerror.New(pgerror.SyntaxError, "INSERT has more expressions than target columns")
			}
			if len(items) < len(target) {
				return nil, pgerror.New(pgerror.SyntaxError, "INSERT has more target columns than expressions")
			}
			row := make([]Expr, len(t.Columns))
			for i, c := range t.Columns {
				if row[i], err = p.defaultExpr(c); err != nil {
					return nil, err
				}
			}
			for k, it := range items {
				ci := target[k]
				col := t.Columns[ci]
				if it.GetSetToDefault() != nil {
					continue
				}
				e, err := p.bindExpr(ec, it)
				if err != nil {
					return nil, err
				}
				if row[ci], err = p.coerceAssign(e, col.T, col.Name); err != nil {
					return nil, err
				}
			}
			rows = append(rows, row)
		}
		d.Source = &Values{Rows: rows, Out: out}
	default:
		q, err := p.PlanSelect(ins.SelectStmt)
		if err != nil {
			return nil, err
		}
		src := q.Plan.Schema()
		if len(src) > len(target) {
			return nil, pgerror.New(pgerror.SyntaxError, "INSERT has more expressions than target columns")
		}
		if len(src) < len(target) {
			return nil, pgerror.New(pgerror.SyntaxError, "INSERT has more target columns than expressions")
		}
		exprs := make([]Expr, len(t.Columns))
		for i, c := range t.Columns {
			if exprs[i], err = p.defaultExpr(c); err != nil {
				return nil, err
			}
		}
		for k, ci := range target {
			col := t.Columns[ci]
			ref := &ColRef{Idx: k, T: src[k].T, Name: src[k].Name}
			if exprs[ci], err = p.coerceAssign(ref, col.T, col.Name); err != nil {
				return nil, err
			}
		}
		d.Source = &Project{Input: q.Plan, Exprs: exprs, Out: out}
	}
	if err := p.bindReturning(d, ins.ReturningList, t, false); err != nil {
		return nil, err
	}
	return d, p.finishParams()
}

// tableScope returns a scope over a table's columns (plus, when rowID, a
// trailing hidden row-id column) and the scan producing them.
func tableScope(t *catalog.Table, alias string, rowID bool) (*Scan, *scope) {
	s := &Scan{Table: t, Alias: alias, RowID: rowID}
	sc := &scope{}
	for i, c := range t.Columns {
		s.Cols = append(s.Cols, i)
		s.Out = append(s.Out, Column{Name: c.Name, T: c.T, Table: alias})
		sc.cols = append(sc.cols, scopeCol{table: alias, name: c.Name, t: c.T, hidden: c.Hidden, tableOID: uint32(t.ID), attNum: int16(i + 1)})
	}
	if rowID {
		s.Out = append(s.Out, Column{Name: "_rowid", T: types.Int8T, Table: alias})
		sc.cols = append(sc.cols, scopeCol{table: alias, name: "_rowid", t: types.Int8T, hidden: true})
	}
	return s, sc
}

func (p *Planner) bindReturning(d *DML, list []*pg_query.Node, t *catalog.Table, _ bool) error {
	if len(list) == 0 {
		return nil
	}
	_, sc := tableScope(t, t.Name, false)
	ec := &exprCtx{sc: sc, clause: "RETURNING"}
	for _, n := range list {
		rt := n.GetResTarget()
		if cr := rt.Val.GetColumnRef(); cr != nil && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			for i, c := range sc.cols {
				if c.hidden {
					continue
				}
				d.Returning = append(d.Returning, &ColRef{Idx: i, T: c.t, Name: c.name})
				d.ReturnCols = append(d.ReturnCols, OutputCol{Name: c.name, T: c.t, TableOID: c.tableOID, AttNum: c.attNum})
			}
			continue
		}
		e, err := p.bindExpr(ec, rt.Val)
		if err != nil {
			return err
		}
		name := rt.Name
		if name == "" {
			name = figureColname(rt.Val)
		}
		t := e.Type()
		if t.Family == types.FamUnknown {
			if e, err = p.coerce(e, types.TextT, "RETURNING"); err != nil {
				return err
			}
			t = types.TextT
		}
		d.Returning = append(d.Returning, e)
		d.ReturnCols = append(d.ReturnCols, OutputCol{Name: name, T: t})
	}
	return nil
}

// PlanUpdate plans UPDATE.
func (p *Planner) PlanUpdate(up *pg_query.UpdateStmt) (*DML, error) {
	if up.WithClause != nil || len(up.FromClause) > 0 {
		return nil, pgerror.Unsupported("UPDATE … FROM and WITH are not supported")
	}
	t, err := p.dmlTable(up.Relation)
	if err != nil {
		return nil, err
	}
	if t.AppendOnly {
		return nil, pgerror.New(pgerror.FeatureNotSupported, "cannot update append-only table %q", t.Name)
	}
	alias := t.Name
	if up.Relation.Alias != nil {
		alias = up.Relation.Alias.Aliasname
	}
	scan, sc := tableScope(t, alias, true)
	node, err := p.bindWhere(scan, sc, up.WhereClause)
	if err != nil {
		return nil, err
	}
	ec := &exprCtx{sc: sc}
	n := len(t.Columns)
	exprs := make([]Expr, n+1)
	exprs[0] = &ColRef{Idx: n, T: types.Int8T, Name: "_rowid"}
	for i, c := range t.Columns {
		exprs[i+1] = &ColRef{Idx: i, T: c.T, Name: c.Name}
	}
	set := map[int]bool{}
	ec.clause = "UPDATE"
	for _, tl := range up.TargetList {
		rt := tl.GetResTarget()
		i := t.ColumnIndex(rt.Name)
		if i < 0 || t.Columns[i].Hidden {
			return nil, pgerror.New(pgerror.UndefinedColumn, "column %q of relation %q does not exist", rt.Name, t.Name)
		}
		if set[i] {
			return nil, pgerror.New(pgerror.SyntaxError, "multiple assignments to same column %q", rt.Name)
		}
		set[i] = true
		col := t.Columns[i]
		var e Expr
		if rt.Val.GetSetToDefault() != nil {
			if e, err = p.defaultExpr(col); err != nil {
				return nil, err
			}
		} else {
			if e, err = p.bindExpr(ec, rt.Val); err != nil {
				return nil, err
			}
			if e, err = p.coerceAssign(e, col.T, col.Name); err != nil {
				return nil, err
			}
		}
		exprs[i+1] = e
	}
	out := Schema{{Name: "_rowid", T: types.Int8T}}
	for _, c := range t.Columns {
		out = append(out, Column{Name: c.Name, T: c.T})
	}
	src, err := p.optimize(&Project{Input: node, Exprs: exprs, Out: out})
	if err != nil {
		return nil, err
	}
	d := &DML{Kind: DMLUpdate, Table: t, Source: src}
	if err := p.bindReturning(d, up.ReturningList, t, false); err != nil {
		return nil, err
	}
	return d, p.finishParams()
}

// PlanDelete plans DELETE.
func (p *Planner) PlanDelete(del *pg_query.DeleteStmt) (*DML, error) {
	if del.WithClause != nil || len(del.UsingClause) > 0 {
		return nil, pgerror.Unsupported("DELETE … USING and WITH are not supported")
	}
	t, err := p.dmlTable(del.Relation)
	if err != nil {
		return nil, err
	}
	if t.AppendOnly {
		return nil, pgerror.New(pgerror.FeatureNotSupported, "cannot delete from append-only table %q", t.Name)
	}
	alias := t.Name
	if del.Relation.Alias != nil {
		alias = del.Relation.Alias.Aliasname
	}
	scan, sc := tableScope(t, alias, true)
	node, err := p.bindWhere(scan, sc, del.WhereClause)
	if err != nil {
		return nil, err
	}
	n := len(t.Columns)
	exprs := []Expr{&ColRef{Idx: n, T: types.Int8T, Name: "_rowid"}}
	out := Schema{{Name: "_rowid", T: types.Int8T}}
	for i, c := range t.Columns {
		exprs = append(exprs, &ColRef{Idx: i, T: c.T, Name: c.Name})
		out = append(out, Column{Name: c.Name, T: c.T})
	}
	src, err := p.optimize(&Project{Input: node, Exprs: exprs, Out: out})
	if err != nil {
		return nil, err
	}
	d := &DML{Kind: DMLDelete, Table: t, Source: src}
	if err := p.bindReturning(d, del.ReturningList, t, false); err != nil {
		return nil, err
	}
	return d, p.finishParams()
}

// BindStandaloneExpr binds an expression with no columns in scope (DEFAULT
// values, SET arguments, CHECK-free literals) and coerces it to t when t is
// not unknown.
func (p *Planner) BindStandaloneExpr(n *pg_query.Node, t types.T) (Expr, error) {
	e, err := p.bindExpr(&exprCtx{sc: &scope{}, clause: "this context"}, n)
	if err != nil {
		return nil, err
	}
	if t.Family != types.FamUnknown {
		return p.coerceAssign(e, t, "value")
	}
	return e, nil
}

// bindWhere puts a Filter for an UPDATE/DELETE WHERE clause over the scan.
func (p *Planner) bindWhere(scan Node, sc *scope, where *pg_query.Node) (Node, error) {
	if where == nil {
		return scan, nil
	}
	cond, err := p.bindExpr(&exprCtx{sc: sc, clause: "WHERE"}, where)
	if err != nil {
		return nil, err
	}
	if cond, err = p.coerce(cond, types.BoolT, "argument of WHERE"); err != nil {
		return nil, err
	}
	return &Filter{Input: scan, Cond: cond}, nil
}
