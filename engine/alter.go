package engine

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/memtable"
)

// alterTable applies ALTER TABLE commands: ADD/DROP COLUMN, SET/DROP
// DEFAULT, SET/DROP NOT NULL, ADD PRIMARY KEY/UNIQUE, DROP CONSTRAINT.
// Commands that change the columns rewrite the table's rows into a new
// store; readers holding snapshots of the old one are unaffected. ALTER
// TABLE is refused inside a transaction block (its undo is not logged).
func (s *Session) alterTable(a *pg_query.AlterTableStmt) (api.Result, error) {
	if a.Objtype != pg_query.ObjectType_OBJECT_TABLE {
		return api.Result{}, pgerror.Unsupported("ALTER %s is not supported", a.Objtype)
	}
	if s.txn != nil {
		return api.Result{}, pgerror.Unsupported("ALTER TABLE inside a transaction block is not supported")
	}
	s.e.writeMu.Lock()
	defer s.e.writeMu.Unlock()
	rel, ok := s.e.cat.Lookup(a.Relation.Schemaname, a.Relation.Relname)
	if !ok {
		if a.MissingOk {
			return api.Result{Tag: "ALTER TABLE", Notices: []string{fmt.Sprintf("relation %q does not exist, skipping", a.Relation.Relname)}}, nil
		}
		return api.Result{}, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", a.Relation.Relname)
	}
	old, ok := rel.(*catalog.Table)
	if !ok {
		return api.Result{}, pgerror.New(pgerror.WrongObjectType, "%q is not a table", a.Relation.Relname)
	}
	ts := s.e.table(old.ID)
	// A materialized view reads the table's changelog in its row layout.
	if mv := s.e.dependentMV(old.ID, map[catalog.ObjectID]bool{}); mv != "" {
		return api.Result{}, pgerror.Unsupported("cannot alter table %q because materialized view %q depends on it", old.Name, mv)
	}
	if ts != nil && ts.log != nil {
		// No view reads it any more: the next view starts a fresh log.
		s.e.dropLog(ts)
		ts.log = nil
	}
	t := *old
	t.Columns = append([]catalog.Column(nil), old.Columns...)
	t.PrimaryKey = append([]int(nil), old.PrimaryKey...)
	// source[i] is the old position of new column i, or -1 for an added
	// column whose value is added[i].
	source := make([]int, len(t.Columns))
	for i := range source {
		source[i] = i
	}
	added := map[int]types.Datum{}
	indexes := append([]*indexDef(nil), ts.indexes...)
	var newIndexes []*indexDef
	var dropViews []catalog.Relation
	var notices []string
	rewrite := false
	for _, c := range a.Cmds {
		cmd := c.GetAlterTableCmd()
		switch cmd.Subtype {
		case pg_query.AlterTableType_AT_AddColumn:
			cd := cmd.Def.GetColumnDef()
			if t.ColumnIndex(cd.Colname) >= 0 {
				if cmd.MissingOk {
					notices = append(notices, fmt.Sprintf("column %q of relation %q already exists, skipping", cd.Colname, t.Name))
					continue
				}
				return api.Result{}, pgerror.New(pgerror.DuplicateColumn, "column %q of relation %q already exists", cd.Colname, t.Name)
			}
			col, err := s.columnFromDef(cd)
			if err != nil {
				return api.Result{}, err
			}
			var def types.Datum
			if col.Default != "" {
				if def, err = s.evalDefault(col); err != nil {
					return api.Result{}, err
				}
			}
			if col.NotNull && def == nil && ts.store.Rows() > 0 {
				return api.Result{}, pgerror.New(pgerror.NotNullViolation, "column %q of relation %q contains null values", col.Name, t.Name)
			}
			t.Columns = append(t.Columns, col)
			source = append(source, -1)
			added[len(t.Columns)-1] = def
			rewrite = true
		case pg_query.AlterTableType_AT_DropColumn:
			i := t.ColumnIndex(cmd.Name)
			if i < 0 {
				if cmd.MissingOk {
					notices = append(notices, fmt.Sprintf("column %q of relation %q does not exist, skipping", cmd.Name, t.Name))
					continue
				}
				return api.Result{}, pgerror.New(pgerror.UndefinedColumn, "column %q of relation %q does not exist", cmd.Name, t.Name)
			}
			if len(t.Columns) == 1 {
				return api.Result{}, pgerror.Unsupported("tables without columns are not supported")
			}
			if deps := s.e.cat.Dependents(t.ID); len(deps) > 0 {
				if cmd.Behavior != pg_query.DropBehavior_DROP_CASCADE {
					return api.Result{}, pgerror.New(pgerror.DependentObjectsStillExist, "cannot drop column %s of table %s because other objects depend on it", cmd.Name, t.Name).
						WithDetail("%s %s depends on table %s", deps[len(deps)-1].RelKind(), deps[len(deps)-1].RelName(), t.Name).
						WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
				}
				dropViews = append(dropViews, deps...)
			}
			t.Columns = append(t.Columns[:i:i], t.Columns[i+1:]...)
			source = append(source[:i:i], source[i+1:]...)
			shifted := map[int]types.Datum{}
			for k, v := range added {
				if k > i {
					k--
				}
				shifted[k] = v
			}
			added = shifted
			rewrite = true
		case pg_query.AlterTableType_AT_ColumnDefault:
			i, err := columnIndex(&t, cmd.Name)
			if err != nil {
				return api.Result{}, err
			}
			if cmd.Def == nil {
				t.Columns[i].Default = ""
				continue
			}
			d, err := deparseExpr(cmd.Def)
			if err != nil {
				return api.Result{}, err
			}
			t.Columns[i].Default = d
			if _, err := s.evalDefault(t.Columns[i]); err != nil {
				return api.Result{}, err
			}
		case pg_query.AlterTableType_AT_SetNotNull:
			i, err := columnIndex(&t, cmd.Name)
			if err != nil {
				return api.Result{}, err
			}
			if source[i] >= 0 && s.columnHasNulls(ts, source[i]) {
				return api.Result{}, pgerror.New(pgerror.NotNullViolation, "column %q of relation %q contains null values", cmd.Name, t.Name)
			}
			t.Columns[i].NotNull = true
		case pg_query.AlterTableType_AT_DropNotNull:
			i, err := columnIndex(&t, cmd.Name)
			if err != nil {
				return api.Result{}, err
			}
			for _, k := range t.PrimaryKey {
				if k == i {
					return api.Result{}, pgerror.New(pgerror.InvalidTableDefinition, "column %q is in a primary key", cmd.Name)
				}
			}
			t.Columns[i].NotNull = false
		case pg_query.AlterTableType_AT_AddConstraint:
			con := cmd.Def.GetConstraint()
			if con == nil || (con.Contype != pg_query.ConstrType_CONSTR_PRIMARY && con.Contype != pg_query.ConstrType_CONSTR_UNIQUE) {
				kind := pg_query.ConstrType_CONSTR_CHECK
				if con != nil {
					kind = con.Contype
				}
				return api.Result{}, pgerror.Unsupported("%s constraints are not supported", constraintName(kind))
			}
			primary := con.Contype == pg_query.ConstrType_CONSTR_PRIMARY
			if primary && len(t.PrimaryKey) > 0 {
				return api.Result{}, pgerror.New(pgerror.InvalidTableDefinition, "multiple primary keys for table %q are not allowed", t.Name)
			}
			ix := &indexDef{table: t.ID, unique: true, primary: primary, id: s.e.cat.NextID(), name: con.Conname}
			var names []string
			for _, k := range con.Keys {
				i, err := columnIndex(&t, strVal(k))
				if err != nil {
					return api.Result{}, err
				}
				if primary {
					if source[i] >= 0 && s.columnHasNulls(ts, source[i]) {
						return api.Result{}, pgerror.New(pgerror.NotNullViolation, "column %q of relation %q contains null values", t.Columns[i].Name, t.Name)
					}
					t.Columns[i].NotNull = true
				}
				ix.cols = append(ix.cols, i)
				names = append(names, strVal(k))
			}
			if ix.name == "" {
				if primary {
					ix.name = t.Name + "_pkey"
				} else {
					ix.name = t.Name + "_" + joinNames(names) + "_key"
				}
			}
			if _, exists := s.e.indexes[ix.name]; exists {
				return api.Result{}, pgerror.New(pgerror.DuplicateTable, "relation %q already exists", ix.name)
			}
			if primary {
				t.PrimaryKey, t.PKIndexName = ix.cols, ix.name
			}
			newIndexes = append(newIndexes, ix)
		case pg_query.AlterTableType_AT_DropConstraint:
			found := false
			for k, ix := range indexes {
				if ix.name == cmd.Name && ix.unique {
					indexes = append(indexes[:k:k], indexes[k+1:]...)
					if ix.primary {
						t.PrimaryKey, t.PKIndexName = nil, ""
					}
					found = true
					break
				}
			}
			if !found {
				if cmd.MissingOk {
					notices = append(notices, fmt.Sprintf("constraint %q of relation %q does not exist, skipping", cmd.Name, t.Name))
					continue
				}
				return api.Result{}, pgerror.New(pgerror.UndefinedObject, "constraint %q of relation %q does not exist", cmd.Name, t.Name)
			}
		default:
			return api.Result{}, pgerror.Unsupported("this form of ALTER TABLE is not supported")
		}
	}
	// Re-express surviving indexes in the new column positions.
	newPos := map[int]int{}
	for i, src := range source {
		if src >= 0 {
			newPos[src] = i
		}
	}
	var keep []*indexDef
	for _, ix := range indexes {
		cp := *ix
		cp.cols = nil
		ok := true
		for _, c := range ix.cols {
			p, live := newPos[c]
			if !live {
				ok = false
				break
			}
			cp.cols = append(cp.cols, p)
		}
		if !ok {
			if ix.primary {
				t.PrimaryKey, t.PKIndexName = nil, ""
			}
			continue // an index on a dropped column goes with it
		}
		if ix.primary {
			t.PrimaryKey = cp.cols
		}
		keep = append(keep, &cp)
	}
	keep = append(keep, newIndexes...)
	nts := &tableState{def: &t, schema: arrowSchemaOf(&t), indexes: keep, store: ts.store}
	if rewrite {
		store, err := s.rewriteRows(ts, nts.schema, &t, source, added)
		if err != nil {
			return api.Result{}, err
		}
		nts.store = store
	}
	for _, ix := range keep {
		if ix.unique {
			if err := s.buildUniqueIndex(nts, ix); err != nil {
				if nts.store != ts.store {
					s.e.storeTruncate(nts.store)
				}
				return api.Result{}, err
			}
		}
	}
	for _, v := range dropViews {
		s.removeRelation(v)
	}
	s.e.cat.Replace(&t)
	s.e.mu.Lock()
	for _, ix := range ts.indexes {
		delete(s.e.indexes, ix.name)
	}
	for _, ix := range keep {
		s.e.indexes[ix.name] = ix
	}
	s.e.tables[t.ID] = nts
	s.e.mu.Unlock()
	if nts.store != ts.store {
		// The rewritten rows replace the old store (released with its
		// last snapshot).
		s.e.tcharge.emptied(ts.store)
	}
	return api.Result{Tag: "ALTER TABLE", Notices: notices}, nil
}

func joinNames(ns []string) string {
	out := ""
	for i, n := range ns {
		if i > 0 {
			out += "_"
		}
		out += n
	}
	return out
}

func columnIndex(t *catalog.Table, name string) (int, error) {
	i := t.ColumnIndex(name)
	if i < 0 {
		return -1, pgerror.New(pgerror.UndefinedColumn, "column %q of relation %q does not exist", name, t.Name)
	}
	return i, nil
}

// columnFromDef builds a column for ALTER TABLE ADD COLUMN (type, NULL/NOT
// NULL, DEFAULT; key constraints must be added separately).
func (s *Session) columnFromDef(cd *pg_query.ColumnDef) (catalog.Column, error) {
	col := catalog.Column{Name: cd.Colname, NotNull: cd.IsNotNull}
	t, err := planner.ResolveTypeName(cd.TypeName)
	if err != nil {
		return col, err
	}
	col.T = t
	if cd.RawDefault != nil {
		if col.Default, err = deparseExpr(cd.RawDefault); err != nil {
			return col, err
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
				return col, err
			}
		default:
			return col, pgerror.Unsupported("%s in ALTER TABLE ADD COLUMN is not supported; add the constraint separately", constraintName(con.Contype))
		}
	}
	return col, nil
}

// evalDefault evaluates a column's DEFAULT once (volatile defaults are
// evaluated once for all existing rows, not per row).
func (s *Session) evalDefault(c catalog.Column) (types.Datum, error) {
	st, err := parser.ParseOne("SELECT " + c.Default)
	if err != nil {
		return nil, err
	}
	pl := s.newPlanner(nil)
	e, err := pl.BindStandaloneExpr(st.AST.GetSelectStmt().TargetList[0].GetResTarget().Val, c.T)
	if err != nil {
		return nil, err
	}
	return s.evalConst(context.Background(), e)
}

func (s *Session) columnHasNulls(ts *tableState, col int) bool {
	snap := ts.store.Snapshot()
	defer snap.Release()
	for c := 0; c < snap.NumChunks(); c++ {
		b, ok := snap.Chunk(c, []int{col}, false, s.e.mem)
		if !ok {
			continue
		}
		n := b.Column(0).NullN()
		b.Release()
		if n > 0 {
			return true
		}
	}
	return false
}

// rewriteRows copies a table's live rows into a new store with the new
// column layout: source[i] is the old column of new column i, or -1 for an
// added column filled with added[i].
func (s *Session) rewriteRows(ts *tableState, schema *arrow.Schema, t *catalog.Table, source []int, added map[int]types.Datum) (*memtable.Table, error) {
	store := memtable.NewTable(schema, s.e.mem)
	snap := ts.store.Snapshot()
	defer snap.Release()
	for c := 0; c < snap.NumChunks(); c++ {
		b, ok := snap.Chunk(c, nil, false, s.e.mem)
		if !ok {
			continue
		}
		n := int(b.NumRows())
		cols := make([]arrow.Array, len(source))
		var owned []arrow.Array
		for i, src := range source {
			if src >= 0 {
				cols[i] = b.Column(src)
				continue
			}
			a := vec.ConstArray(s.e.mem, added[i], t.Columns[i].T, n)
			owned = append(owned, a)
			cols[i] = a
		}
		nb := array.NewRecordBatch(schema, cols, int64(n))
		_, err := s.e.storeAppend(store, nb)
		nb.Release()
		for _, a := range owned {
			a.Release()
		}
		b.Release()
		if err != nil {
			s.e.storeTruncate(store)
			return nil, pgerror.Wrap(err, pgerror.InternalError, "rewrite table")
		}
	}
	return store, nil
}

// renameStmt handles ALTER TABLE … RENAME [COLUMN] … TO ….
func (s *Session) renameStmt(r *pg_query.RenameStmt) (api.Result, error) {
	if r.RenameType != pg_query.ObjectType_OBJECT_TABLE && r.RenameType != pg_query.ObjectType_OBJECT_COLUMN {
		return api.Result{}, pgerror.Unsupported("this form of RENAME is not supported")
	}
	if s.txn != nil {
		return api.Result{}, pgerror.Unsupported("ALTER TABLE inside a transaction block is not supported")
	}
	s.e.writeMu.Lock()
	defer s.e.writeMu.Unlock()
	rel, ok := s.e.cat.Lookup(r.Relation.Schemaname, r.Relation.Relname)
	if !ok {
		if r.MissingOk {
			return api.Result{Tag: "ALTER TABLE"}, nil
		}
		return api.Result{}, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", r.Relation.Relname)
	}
	old, ok := rel.(*catalog.Table)
	if !ok {
		return api.Result{}, pgerror.Unsupported("renaming a %s is not supported", rel.RelKind())
	}
	if len(s.e.cat.Dependents(old.ID)) > 0 {
		return api.Result{}, pgerror.Unsupported("renaming a table that views depend on is not supported yet")
	}
	t := *old
	t.Columns = append([]catalog.Column(nil), old.Columns...)
	if r.RenameType == pg_query.ObjectType_OBJECT_COLUMN {
		i, err := columnIndex(&t, r.Subname)
		if err != nil {
			return api.Result{}, err
		}
		if t.ColumnIndex(r.Newname) >= 0 {
			return api.Result{}, pgerror.New(pgerror.DuplicateColumn, "column %q of relation %q already exists", r.Newname, t.Name)
		}
		t.Columns[i].Name = r.Newname
		s.e.cat.Replace(&t)
	} else {
		if _, exists := s.e.cat.Lookup(t.Schema, r.Newname); exists {
			return api.Result{}, pgerror.New(pgerror.DuplicateTable, "relation %q already exists", r.Newname)
		}
		t.Name = r.Newname
		s.e.cat.Remove(old.ID)
		if err := s.e.cat.Add(&t, nil); err != nil {
			return api.Result{}, err
		}
	}
	ts := s.e.table(t.ID)
	s.e.mu.Lock()
	s.e.tables[t.ID] = &tableState{def: &t, schema: arrowSchemaOf(&t), indexes: ts.indexes, store: ts.store}
	s.e.mu.Unlock()
	return api.Result{Tag: "ALTER TABLE"}, nil
}

// dependentMV names a materialized view that reads id, directly or through
// views ("" when none).
func (e *Engine) dependentMV(id catalog.ObjectID, seen map[catalog.ObjectID]bool) string {
	for _, d := range e.cat.Dependents(id) {
		if seen[d.ObjID()] {
			continue
		}
		seen[d.ObjID()] = true
		if d.RelKind() == catalog.KindMaterializedView {
			return d.RelName()
		}
		if n := e.dependentMV(d.ObjID(), seen); n != "" {
			return n
		}
	}
	return ""
}
