package engine

import (
	"context"

	"fmt"
	"github.com/apache/arrow-go/v18/arrow/array"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/memtable"
)

// parseTreeVersion is the PostgreSQL version number pg_query stamps on parse
// trees; Deparse refuses trees with another.
var parseTreeVersion = func() int32 {
	t, err := pg_query.Parse("SELECT 1")
	if err != nil {
		return 0
	}
	return t.Version
}()

// deparseExpr renders an expression node back to SQL text.
func deparseExpr(n *pg_query.Node) (string, error) {
	tree := &pg_query.ParseResult{Version: parseTreeVersion, Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{
		SelectStmt: &pg_query.SelectStmt{TargetList: []*pg_query.Node{{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Val: n}}}}},
	}}}}}
	s, err := pg_query.Deparse(tree)
	if err != nil {
		return "", pgerror.Wrap(err, pgerror.InternalError, "deparse")
	}
	return strings.TrimPrefix(s, "SELECT "), nil
}

func deparseStmt(n *pg_query.Node) (string, error) {
	s, err := pg_query.Deparse(&pg_query.ParseResult{Version: parseTreeVersion, Stmts: []*pg_query.RawStmt{{Stmt: n}}})
	if err != nil {
		return "", pgerror.Wrap(err, pgerror.InternalError, "deparse")
	}
	return s, nil
}

func schemaOf(rv *pg_query.RangeVar) (string, error) {
	if rv.Schemaname == "" || rv.Schemaname == "public" {
		return "public", nil
	}
	if rv.Schemaname == "pg_catalog" || rv.Schemaname == "information_schema" {
		return "", pgerror.New(pgerror.InsufficientPrivilege, "permission denied to create %q", rv.Relname)
	}
	return rv.Schemaname, nil
}

func (s *Session) createTable(cs *pg_query.CreateStmt, st *parser.Statement) (api.Result, error) {
	if len(cs.InhRelations) > 0 || cs.Partspec != nil || cs.OfTypename != nil {
		return api.Result{}, pgerror.Unsupported("table inheritance and partitioning are not supported")
	}
	schema, err := schemaOf(cs.Relation)
	if err != nil {
		return api.Result{}, err
	}
	if cs.Relation.Relpersistence == "t" {
		// TEMP tables live as ordinary tables of the session's database.
	}
	name := cs.Relation.Relname
	s.e.writeMu.Lock()
	defer s.e.writeMu.Unlock()
	if _, ok := s.e.cat.Lookup(schema, name); ok {
		if cs.IfNotExists {
			return api.Result{Tag: "CREATE TABLE", Notices: []string{fmt.Sprintf("relation %q already exists, skipping", name)}}, nil
		}
		return api.Result{}, pgerror.New(pgerror.DuplicateTable, "relation %q already exists", name)
	}
	t := &catalog.Table{ID: s.e.cat.NextID(), Schema: schema, Name: name, AppendOnly: st.Stream.AppendOnly}
	type uniq struct {
		name    string
		cols    []string
		primary bool
	}
	var uniques []uniq
	var serials []string
	seen := map[string]bool{}
	for _, el := range cs.TableElts {
		switch x := el.Node.(type) {
		case *pg_query.Node_ColumnDef:
			cd := x.ColumnDef
			if seen[cd.Colname] {
				return api.Result{}, pgerror.New(pgerror.DuplicateColumn, "column %q specified more than once", cd.Colname)
			}
			seen[cd.Colname] = true
			col := catalog.Column{Name: cd.Colname}
			tn := strings.ToLower(strVal(cd.TypeName.Names[len(cd.TypeName.Names)-1]))
			serial := tn == "serial" || tn == "bigserial" || tn == "smallserial" || tn == "serial4" || tn == "serial8" || tn == "serial2"
			ct, err := planner.ResolveTypeName(cd.TypeName)
			if err != nil {
				return api.Result{}, err
			}
			col.T = ct
			if cd.IsNotNull {
				col.NotNull = true
			}
			if serial {
				seq := fmt.Sprintf("%s_%s_seq", name, cd.Colname)
				col.Default = fmt.Sprintf("nextval('%s')", seq)
				col.NotNull = true
				serials = append(serials, seq)
			}
			if cd.RawDefault != nil {
				if col.Default, err = deparseExpr(cd.RawDefault); err != nil {
					return api.Result{}, err
				}
			}
			for _, c := range cd.Constraints {
				con := c.GetConstraint()
				switch con.Contype {
				case pg_query.ConstrType_CONSTR_NOTNULL:
					col.NotNull = true
				case pg_query.ConstrType_CONSTR_NULL:
				case pg_query.ConstrType_CONSTR_DEFAULT:
					if col.Default, err = deparseExpr(con.RawExpr); err != nil {
						return api.Result{}, err
					}
				case pg_query.ConstrType_CONSTR_PRIMARY:
					col.NotNull = true
					uniques = append(uniques, uniq{name: con.Conname, cols: []string{cd.Colname}, primary: true})
				case pg_query.ConstrType_CONSTR_UNIQUE:
					uniques = append(uniques, uniq{name: con.Conname, cols: []string{cd.Colname}})
				case pg_query.ConstrType_CONSTR_IDENTITY:
					seq := fmt.Sprintf("%s_%s_seq", name, cd.Colname)
					col.Default = fmt.Sprintf("nextval('%s')", seq)
					col.NotNull = true
					serials = append(serials, seq)
				default:
					return api.Result{}, pgerror.Unsupported("%s constraints are not supported", constraintName(con.Contype))
				}
			}
			t.Columns = append(t.Columns, col)
		case *pg_query.Node_Constraint:
			con := x.Constraint
			var cols []string
			for _, k := range con.Keys {
				cols = append(cols, strVal(k))
			}
			switch con.Contype {
			case pg_query.ConstrType_CONSTR_PRIMARY:
				uniques = append(uniques, uniq{name: con.Conname, cols: cols, primary: true})
			case pg_query.ConstrType_CONSTR_UNIQUE:
				uniques = append(uniques, uniq{name: con.Conname, cols: cols})
			default:
				return api.Result{}, pgerror.Unsupported("%s constraints are not supported", constraintName(con.Contype))
			}
		default:
			return api.Result{}, pgerror.Unsupported("unsupported table element %T", el.Node)
		}
	}
	if len(t.Columns) == 0 {
		return api.Result{}, pgerror.Unsupported("tables without columns are not supported")
	}
	for _, w := range st.Stream.Watermarks {
		if t.ColumnIndex(w.Column) < 0 {
			return api.Result{}, pgerror.New(pgerror.UndefinedColumn, "column %q named in WATERMARK does not exist", w.Column)
		}
		t.WatermarkColumn, t.WatermarkExpr = w.Column, w.Expr
	}
	var idxs []*indexDef
	havePK := false
	for _, u := range uniques {
		if u.primary {
			if havePK {
				return api.Result{}, pgerror.New(pgerror.InvalidTableDefinition, "multiple primary keys for table %q are not allowed", name)
			}
			havePK = true
		}
		d := &indexDef{table: t.ID, unique: true, primary: u.primary, id: s.e.cat.NextID(), keys: map[string]int64{}, rowKeys: map[int64]string{}}
		for _, c := range u.cols {
			i := t.ColumnIndex(c)
			if i < 0 {
				return api.Result{}, pgerror.New(pgerror.UndefinedColumn, "column %q named in key does not exist", c)
			}
			if u.primary {
				t.Columns[i].NotNull = true
			}
			d.cols = append(d.cols, i)
		}
		d.name = u.name
		if d.name == "" {
			if u.primary {
				d.name = name + "_pkey"
			} else {
				d.name = name + "_" + strings.Join(u.cols, "_") + "_key"
			}
		}
		if u.primary {
			t.PrimaryKey = d.cols
			t.PKIndexName = d.name
		}
		idxs = append(idxs, d)
	}
	if err := s.e.cat.Add(t, nil); err != nil {
		return api.Result{}, err
	}
	ts := &tableState{def: t, schema: arrowSchemaOf(t), indexes: idxs}
	ts.store = memtable.NewTable(ts.schema, s.e.mem)
	s.e.mu.Lock()
	s.e.tables[t.ID] = ts
	for _, d := range idxs {
		s.e.indexes[d.name] = d
	}
	for _, q := range serials {
		s.e.seqs[q] = &sequence{next: 1, increment: 1}
	}
	s.e.mu.Unlock()
	s.recordUndo(undoEntry{kind: undoCreate, table: t.ID})
	return api.Result{Tag: "CREATE TABLE"}, nil
}

func constraintName(k pg_query.ConstrType) string {
	switch k {
	case pg_query.ConstrType_CONSTR_CHECK:
		return "CHECK"
	case pg_query.ConstrType_CONSTR_FOREIGN:
		return "FOREIGN KEY"
	case pg_query.ConstrType_CONSTR_EXCLUSION:
		return "EXCLUDE"
	case pg_query.ConstrType_CONSTR_GENERATED:
		return "GENERATED"
	}
	return strings.TrimPrefix(k.String(), "CONSTR_")
}

func strVal(n *pg_query.Node) string {
	if s := n.GetString_(); s != nil {
		return s.Sval
	}
	return ""
}

func (s *Session) createTableAs(ctx context.Context, c *pg_query.CreateTableAsStmt, st *parser.Statement) (api.Result, error) {
	if c.Objtype == pg_query.ObjectType_OBJECT_MATVIEW {
		return s.createMaterializedView(ctx, c, st)
	}
	into := c.Into
	pl := s.newPlanner(nil)
	q, err := pl.PlanSelect(c.Query)
	if err != nil {
		return api.Result{}, err
	}
	var cols []string
	for _, cn := range into.ColNames {
		cols = append(cols, strVal(cn))
	}
	// Create the table, then insert the query's rows through the normal path.
	var defs []string
	for i, oc := range q.Cols {
		name := oc.Name
		if i < len(cols) {
			name = cols[i]
		}
		defs = append(defs, fmt.Sprintf("%s %s", quoteIdent(name), oc.T.String()))
	}
	tname := quoteIdent(into.Rel.Relname)
	if into.Rel.Schemaname != "" {
		tname = quoteIdent(into.Rel.Schemaname) + "." + tname
	}
	ine := ""
	if c.IfNotExists {
		ine = "IF NOT EXISTS "
	}
	cst, err := parser.ParseOne(fmt.Sprintf("CREATE TABLE %s%s (%s)", ine, tname, strings.Join(defs, ", ")))
	if err != nil {
		return api.Result{}, err
	}
	if _, err := s.createTable(cst.AST.GetCreateStmt(), cst); err != nil {
		return api.Result{}, err
	}
	if into.SkipData {
		return api.Result{Tag: "CREATE TABLE AS"}, nil
	}
	query, err := deparseStmt(c.Query)
	if err != nil {
		return api.Result{}, err
	}
	ist, err := parser.ParseOne(fmt.Sprintf("INSERT INTO %s %s", tname, query))
	if err != nil {
		return api.Result{}, err
	}
	res, err := s.runDML(ctx, ist.AST, nil, nil)
	if err != nil {
		return api.Result{}, err
	}
	n := strings.TrimPrefix(res.Tag, "INSERT 0 ")
	return api.Result{Tag: "SELECT " + n}, nil
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func (s *Session) createView(v *pg_query.ViewStmt) (api.Result, error) {
	schema, err := schemaOf(v.View)
	if err != nil {
		return api.Result{}, err
	}
	pl := s.newPlanner(nil)
	q, err := pl.PlanSelect(v.Query)
	if err != nil {
		return api.Result{}, err
	}
	if len(pl.Params) > 0 {
		return api.Result{}, pgerror.New(pgerror.UndefinedParameter, "there is no parameter $1")
	}
	sql, err := deparseStmt(v.Query)
	if err != nil {
		return api.Result{}, err
	}
	view := &catalog.View{Schema: schema, Name: v.View.Relname, SQL: sql, Kind: catalog.KindView}
	if len(v.Aliases) > len(q.Cols) {
		return api.Result{}, pgerror.New(pgerror.SyntaxError, "CREATE VIEW specifies more column names than columns")
	}
	for i, c := range q.Cols {
		name := c.Name
		if i < len(v.Aliases) {
			name = strVal(v.Aliases[i])
		}
		view.Columns = append(view.Columns, catalog.Column{Name: name, T: c.T})
	}
	s.e.writeMu.Lock()
	defer s.e.writeMu.Unlock()
	if old, ok := s.e.cat.Lookup(schema, view.Name); ok {
		ov, isView := old.(*catalog.View)
		if !v.Replace || !isView || ov.Kind != catalog.KindView {
			return api.Result{}, pgerror.New(pgerror.DuplicateTable, "relation %q already exists", view.Name)
		}
		view.ID = ov.ID
		s.e.cat.Replace(view)
		return api.Result{Tag: "CREATE VIEW"}, nil
	}
	view.ID = s.e.cat.NextID()
	if err := s.e.cat.Add(view, s.referencedRelations(v.Query)); err != nil {
		return api.Result{}, err
	}
	s.recordUndo(undoEntry{kind: undoCreate, table: view.ID})
	return api.Result{Tag: "CREATE VIEW"}, nil
}

// referencedRelations lists the catalog relations a query names.
func (s *Session) referencedRelations(n *pg_query.Node) []catalog.ObjectID {
	var ids []catalog.ObjectID
	seen := map[catalog.ObjectID]bool{}
	var walk func(any)
	walk = func(x any) {
		switch v := x.(type) {
		case *pg_query.Node:
			if v == nil {
				return
			}
			if rv := v.GetRangeVar(); rv != nil {
				if r, ok := s.e.cat.Lookup(rv.Schemaname, rv.Relname); ok && !seen[r.ObjID()] {
					seen[r.ObjID()] = true
					ids = append(ids, r.ObjID())
				}
				return
			}
			walkProto(v, walk)
		}
	}
	walk(n)
	return append(ids, s.referencedFunctions(n)...)
}

func (s *Session) createSchema(c *pg_query.CreateSchemaStmt) (api.Result, error) {
	if len(c.SchemaElts) > 0 {
		return api.Result{}, pgerror.Unsupported("CREATE SCHEMA with elements is not supported")
	}
	if err := s.e.cat.CreateSchema(c.Schemaname, c.IfNotExists); err != nil {
		return api.Result{}, err
	}
	return api.Result{Tag: "CREATE SCHEMA"}, nil
}

func (s *Session) createSequence(c *pg_query.CreateSeqStmt) (api.Result, error) {
	seq := &sequence{next: 1, increment: 1}
	for _, o := range c.Options {
		d := o.GetDefElem()
		v := defElemInt(d)
		switch d.Defname {
		case "start":
			seq.next = v
		case "increment":
			if v == 0 {
				return api.Result{}, pgerror.New(pgerror.InvalidParameterValue, "INCREMENT must not be zero")
			}
			seq.increment = v
		}
	}
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	name := c.Sequence.Relname
	if _, ok := s.e.seqs[name]; ok {
		if c.IfNotExists {
			return api.Result{Tag: "CREATE SEQUENCE"}, nil
		}
		return api.Result{}, pgerror.New(pgerror.DuplicateTable, "relation %q already exists", name)
	}
	s.e.seqs[name] = seq
	return api.Result{Tag: "CREATE SEQUENCE"}, nil
}

func defElemInt(d *pg_query.DefElem) int64 {
	if d.Arg == nil {
		return 0
	}
	if i := d.Arg.GetInteger(); i != nil {
		return int64(i.Ival)
	}
	if f := d.Arg.GetFloat(); f != nil {
		var v int64
		fmt.Sscan(f.Fval, &v)
		return v
	}
	return 0
}

func (s *Session) createIndex(ix *pg_query.IndexStmt) (api.Result, error) {
	s.e.writeMu.Lock()
	defer s.e.writeMu.Unlock()
	rel, ok := s.e.cat.Lookup(ix.Relation.Schemaname, ix.Relation.Relname)
	if !ok {
		return api.Result{}, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", ix.Relation.Relname)
	}
	t, ok := rel.(*catalog.Table)
	if !ok {
		return api.Result{}, pgerror.New(pgerror.WrongObjectType, "%q is not a table", ix.Relation.Relname)
	}
	ts := s.e.table(t.ID)
	d := &indexDef{table: t.ID, unique: ix.Unique, primary: ix.Primary, id: s.e.cat.NextID(), name: ix.Idxname}
	var names []string
	for _, p := range ix.IndexParams {
		el := p.GetIndexElem()
		if el.Name == "" {
			return api.Result{}, pgerror.Unsupported("indexes on expressions are not supported")
		}
		i := t.ColumnIndex(el.Name)
		if i < 0 {
			return api.Result{}, pgerror.New(pgerror.UndefinedColumn, "column %q does not exist", el.Name)
		}
		d.cols = append(d.cols, i)
		names = append(names, el.Name)
	}
	if d.name == "" {
		d.name = t.Name + "_" + strings.Join(names, "_") + "_idx"
	}
	s.e.mu.Lock()
	_, exists := s.e.indexes[d.name]
	s.e.mu.Unlock()
	if exists {
		if ix.IfNotExists {
			return api.Result{Tag: "CREATE INDEX"}, nil
		}
		return api.Result{}, pgerror.New(pgerror.DuplicateTable, "relation %q already exists", d.name)
	}
	if d.unique {
		if err := s.buildUniqueIndex(ts, d); err != nil {
			return api.Result{}, err
		}
	}
	s.e.mu.Lock()
	s.e.indexes[d.name] = d
	ts.indexes = append(ts.indexes, d)
	s.e.mu.Unlock()
	return api.Result{Tag: "CREATE INDEX"}, nil
}

func (s *Session) drop(d *pg_query.DropStmt) (api.Result, error) {
	s.e.writeMu.Lock()
	defer s.e.writeMu.Unlock()
	cascade := d.Behavior == pg_query.DropBehavior_DROP_CASCADE
	var tag string
	var notices []string
	for _, o := range d.Objects {
		var names []string
		if l := o.GetList(); l != nil {
			for _, it := range l.Items {
				names = append(names, strVal(it))
			}
		} else {
			names = []string{strVal(o)}
		}
		schema, name := "", names[len(names)-1]
		if len(names) > 1 {
			schema = names[len(names)-2]
		}
		var err error
		var notice string
		switch d.RemoveType {
		case pg_query.ObjectType_OBJECT_TABLE:
			tag = "DROP TABLE"
			notice, err = s.dropRelation(schema, name, catalog.KindTable, d.MissingOk, cascade)
		case pg_query.ObjectType_OBJECT_VIEW:
			tag = "DROP VIEW"
			notice, err = s.dropRelation(schema, name, catalog.KindView, d.MissingOk, cascade)
		case pg_query.ObjectType_OBJECT_MATVIEW:
			tag = "DROP MATERIALIZED VIEW"
			notice, err = s.dropRelation(schema, name, catalog.KindMaterializedView, d.MissingOk, cascade)
		case pg_query.ObjectType_OBJECT_INDEX:
			tag = "DROP INDEX"
			notice, err = s.dropIndex(name, d.MissingOk)
		case pg_query.ObjectType_OBJECT_SEQUENCE:
			tag = "DROP SEQUENCE"
			s.e.mu.Lock()
			if _, ok := s.e.seqs[name]; !ok && !d.MissingOk {
				err = pgerror.New(pgerror.UndefinedTable, "sequence %q does not exist", name)
			} else if !ok {
				notice = fmt.Sprintf("sequence %q does not exist, skipping", name)
			}
			delete(s.e.seqs, name)
			s.e.mu.Unlock()
		case pg_query.ObjectType_OBJECT_SCHEMA:
			tag = "DROP SCHEMA"
			err = pgerror.Unsupported("DROP SCHEMA is not supported")
		default:
			return api.Result{}, pgerror.Unsupported("DROP %s is not supported", strings.TrimPrefix(d.RemoveType.String(), "OBJECT_"))
		}
		if err != nil {
			return api.Result{}, err
		}
		if notice != "" {
			notices = append(notices, notice)
		}
	}
	return api.Result{Tag: tag, Notices: notices}, nil
}

func (s *Session) dropRelation(schema, name string, kind catalog.ObjectKind, missingOK, cascade bool) (string, error) {
	rel, ok := s.e.cat.Lookup(schema, name)
	if !ok {
		if missingOK {
			return fmt.Sprintf("%s %q does not exist, skipping", kind, name), nil
		}
		return "", pgerror.New(pgerror.UndefinedTable, "%s %q does not exist", kind, name)
	}
	if rel.RelKind() != kind {
		return "", pgerror.New(pgerror.WrongObjectType, "%q is not a %s", name, kind).WithHint("Use DROP %s to remove a %s.", strings.ToUpper(rel.RelKind().String()), rel.RelKind())
	}
	deps := s.e.cat.Dependents(rel.ObjID())
	if len(deps) > 0 && !cascade {
		return "", pgerror.New(pgerror.DependentObjectsStillExist, "cannot drop %s %s because other objects depend on it", kind, name).
			WithDetail("%s %s depends on %s %s", deps[len(deps)-1].RelKind(), deps[len(deps)-1].RelName(), kind, name).
			WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	for _, d := range deps {
		s.removeRelation(d)
	}
	s.removeRelation(rel)
	return "", nil
}

func (s *Session) removeRelation(r catalog.Relation) {
	s.e.cat.Remove(r.ObjID())
	if r.RelKind() == catalog.KindMaterializedView {
		s.e.dropView(r.ObjID())
	}
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	if ts, ok := s.e.tables[r.ObjID()]; ok {
		s.e.dropLog(ts)
		for _, ix := range ts.indexes {
			delete(s.e.indexes, ix.name)
		}
		delete(s.e.tables, r.ObjID())
		s.e.tcharge.emptied(ts.store)
		// The store is released when the last snapshot referencing it is.
	}
}

func (s *Session) dropIndex(name string, missingOK bool) (string, error) {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	d, ok := s.e.indexes[name]
	if !ok {
		if missingOK {
			return fmt.Sprintf("index %q does not exist, skipping", name), nil
		}
		return "", pgerror.New(pgerror.UndefinedObject, "index %q does not exist", name)
	}
	if d.primary {
		return "", pgerror.New(pgerror.DependentObjectsStillExist, "cannot drop index %s because constraint %s on table requires it", name, name)
	}
	delete(s.e.indexes, name)
	if ts, ok := s.e.tables[d.table]; ok {
		for i, x := range ts.indexes {
			if x == d {
				ts.indexes = append(ts.indexes[:i:i], ts.indexes[i+1:]...)
				break
			}
		}
	}
	return "", nil
}

func (s *Session) truncate(t *pg_query.TruncateStmt) (api.Result, error) {
	s.e.writeMu.Lock()
	defer s.e.writeMu.Unlock()
	for _, r := range t.Relations {
		rv := r.GetRangeVar()
		rel, ok := s.e.cat.Lookup(rv.Schemaname, rv.Relname)
		if !ok {
			return api.Result{}, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", rv.Relname)
		}
		ts := s.e.table(rel.ObjID())
		if ts == nil {
			return api.Result{}, pgerror.New(pgerror.WrongObjectType, "%q is not a table", rv.Relname)
		}
		if s.txn != nil {
			// Inside a block TRUNCATE must be undoable: delete every live row.
			ids := liveRowIDs(ts, s.e)
			s.e.publishIDs(ts, stream.Delete, ids)
			s.removeIndexEntries(ts, ids)
			ts.store.Delete(ids)
			s.recordUndo(undoEntry{kind: undoDelete, table: ts.def.ID, rows: ids})
			s.e.walDelete(s, ts, ids)
			continue
		}
		if ts.log != nil {
			s.e.publishIDs(ts, stream.Delete, liveRowIDs(ts, s.e))
		}
		s.e.storeTruncate(ts.store)
		s.e.walTruncate(s, ts)
		for _, ix := range ts.indexes {
			if ix.unique {
				ix.keys, ix.rowKeys = map[string]int64{}, map[int64]string{}
			}
		}
	}
	return api.Result{Tag: "TRUNCATE TABLE"}, nil
}

func (s *Session) createRole(c *pg_query.CreateRoleStmt) (api.Result, error) {
	if _, ok := s.e.cat.Role(c.Role); ok {
		return api.Result{}, pgerror.New(pgerror.DuplicateObject, "role %q already exists", c.Role)
	}
	r := &catalog.Role{Name: c.Role}
	if err := s.applyRoleOptions(r, c.Options); err != nil {
		return api.Result{}, err
	}
	s.e.cat.PutRole(r)
	if c.StmtType == pg_query.RoleStmtType_ROLESTMT_USER {
		return api.Result{Tag: "CREATE ROLE"}, nil
	}
	return api.Result{Tag: "CREATE ROLE"}, nil
}

func (s *Session) applyRoleOptions(r *catalog.Role, opts []*pg_query.Node) error {
	for _, o := range opts {
		d := o.GetDefElem()
		switch d.Defname {
		case "password":
			if d.Arg == nil {
				r.Verifier = ""
				continue
			}
			pw := strVal(d.Arg)
			if s.e.opts.HashPassword == nil {
				return pgerror.Unsupported("passwords are not supported by this engine configuration")
			}
			v, err := s.e.opts.HashPassword(pw)
			if err != nil {
				return pgerror.Wrap(err, pgerror.InternalError, "hash password")
			}
			r.Verifier = v
		case "superuser":
			if b := d.Arg.GetBoolean(); b != nil {
				r.Superuser = b.Boolval
			} else if i := d.Arg.GetInteger(); i != nil {
				r.Superuser = i.Ival != 0
			}
		}
	}
	return nil
}

func (s *Session) alterRole(a *pg_query.AlterRoleStmt) (api.Result, error) {
	name := a.Role.Rolename
	r, ok := s.e.cat.Role(name)
	if !ok {
		return api.Result{}, pgerror.New(pgerror.UndefinedObject, "role %q does not exist", name)
	}
	cp := *r
	if err := s.applyRoleOptions(&cp, a.Options); err != nil {
		return api.Result{}, err
	}
	s.e.cat.PutRole(&cp)
	return api.Result{Tag: "ALTER ROLE"}, nil
}

func (s *Session) dropRole(d *pg_query.DropRoleStmt) (api.Result, error) {
	for _, r := range d.Roles {
		name := r.GetRoleSpec().Rolename
		if name == s.user {
			return api.Result{}, pgerror.New(pgerror.ObjectInUse, "current user cannot be dropped")
		}
		if !s.e.cat.DropRole(name) && !d.MissingOk {
			return api.Result{}, pgerror.New(pgerror.UndefinedObject, "role %q does not exist", name)
		}
	}
	return api.Result{Tag: "DROP ROLE"}, nil
}

var _ = types.TextT

// liveRowIDs lists the row ids of every live row of a table.
func liveRowIDs(ts *tableState, e *Engine) []int64 {
	snap := ts.store.Snapshot()
	defer snap.Release()
	var ids []int64
	for c := 0; c < snap.NumChunks(); c++ {
		b, ok := snap.Chunk(c, []int{0}, true, e.mem)
		if !ok {
			continue
		}
		ids = append(ids, b.Column(int(b.NumCols())-1).(*array.Int64).Int64Values()...)
		b.Release()
	}
	return ids
}
