package engine

import (
	"context"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

func (s *Session) dispatch(ctx context.Context, st *parser.Statement, paramTypes []types.T, params []types.Datum) (api.Result, error) {
	switch n := st.AST.Node.(type) {
	case *pg_query.Node_SelectStmt:
		return s.runSelect(ctx, st.AST, paramTypes, params)
	case *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt:
		return s.runDML(ctx, st.AST, paramTypes, params)
	case *pg_query.Node_CreateStmt:
		return s.createTable(n.CreateStmt, st)
	case *pg_query.Node_CreateTableAsStmt:
		return s.createTableAs(ctx, n.CreateTableAsStmt, st)
	case *pg_query.Node_ViewStmt:
		return s.createView(n.ViewStmt)
	case *pg_query.Node_DropStmt:
		if n.DropStmt.RemoveType == pg_query.ObjectType_OBJECT_FUNCTION {
			return s.dropFunctions(n.DropStmt)
		}
		return s.drop(n.DropStmt)
	case *pg_query.Node_CreateFunctionStmt:
		return s.createFunction(n.CreateFunctionStmt)
	case *pg_query.Node_IndexStmt:
		return s.createIndex(n.IndexStmt)
	case *pg_query.Node_CreateSchemaStmt:
		return s.createSchema(n.CreateSchemaStmt)
	case *pg_query.Node_CreateSeqStmt:
		return s.createSequence(n.CreateSeqStmt)
	case *pg_query.Node_TruncateStmt:
		return s.truncate(n.TruncateStmt)
	case *pg_query.Node_VariableSetStmt:
		return s.setStmt(n.VariableSetStmt)
	case *pg_query.Node_VariableShowStmt:
		return s.showStmt(n.VariableShowStmt)
	case *pg_query.Node_TransactionStmt:
		return s.transaction(n.TransactionStmt)
	case *pg_query.Node_ExplainStmt:
		return s.explain(n.ExplainStmt, paramTypes)
	case *pg_query.Node_CopyStmt:
		return s.copy(ctx, n.CopyStmt)
	case *pg_query.Node_CreateRoleStmt:
		return s.createRole(n.CreateRoleStmt)
	case *pg_query.Node_AlterRoleStmt:
		return s.alterRole(n.AlterRoleStmt)
	case *pg_query.Node_DropRoleStmt:
		return s.dropRole(n.DropRoleStmt)
	case *pg_query.Node_PrepareStmt:
		return s.sqlPrepare(n.PrepareStmt, st)
	case *pg_query.Node_ExecuteStmt:
		return s.sqlExecute(ctx, n.ExecuteStmt)
	case *pg_query.Node_DeallocateStmt:
		if n.DeallocateStmt.Name == "" {
			s.sqlPrepared = map[string]*prepared{}
		} else {
			if _, ok := s.sqlPrepared[n.DeallocateStmt.Name]; !ok {
				return api.Result{}, pgerror.New(pgerror.InvalidSQLStatementName, "prepared statement %q does not exist", n.DeallocateStmt.Name)
			}
			delete(s.sqlPrepared, n.DeallocateStmt.Name)
		}
		return api.Result{Tag: "DEALLOCATE"}, nil
	case *pg_query.Node_DiscardStmt:
		s.sqlPrepared = map[string]*prepared{}
		return api.Result{Tag: "DISCARD ALL"}, nil
	case *pg_query.Node_VacuumStmt:
		// Nothing to reclaim in the in-memory table store.
		if n.VacuumStmt.IsVacuumcmd {
			return api.Result{Tag: "VACUUM"}, nil
		}
		return api.Result{Tag: "ANALYZE"}, nil
	case *pg_query.Node_CheckPointStmt:
		return api.Result{Tag: "CHECKPOINT"}, nil
	case *pg_query.Node_AlterTableStmt:
		return s.alterTable(n.AlterTableStmt)
	case *pg_query.Node_RenameStmt:
		return s.renameStmt(n.RenameStmt)
	}
	tag := commandVerb(st.SQL)
	return api.Result{}, pgerror.Unsupported("%s is not supported", tag)
}

func (s *Session) runSelect(ctx context.Context, ast *pg_query.Node, paramTypes []types.T, params []types.Datum) (api.Result, error) {
	pl := s.newPlanner(append([]types.T(nil), paramTypes...))
	q, err := pl.PlanSelect(ast)
	if err != nil {
		return api.Result{}, err
	}
	if len(pl.Params) > len(params) {
		return api.Result{}, pgerror.New(pgerror.UndefinedParameter, "there is no parameter $%d", len(params)+1)
	}
	cctx, cancel0 := s.stmtContext(ctx)
	env := s.env(s.evalContext(), params)
	cancel := func() {
		cancel0()
		env.Tables.(*tableReader).release()
	}
	if err := s.e.attachViewReads(cctx, env, q.Plan); err != nil {
		cancel()
		return api.Result{}, err
	}
	op, err := exec.Build(env, q.Plan)
	if err != nil {
		cancel()
		return api.Result{}, err
	}
	if err := op.Init(cctx); err != nil {
		op.Close()
		cancel()
		return api.Result{}, err
	}
	return api.Result{Rows: &opRows{cols: outputCols(q.Cols), op: op, cancel: cancel, verb: "SELECT"}}, nil
}

func (s *Session) explain(ex *pg_query.ExplainStmt, paramTypes []types.T) (api.Result, error) {
	pl := s.newPlanner(append([]types.T(nil), paramTypes...))
	var node planner.Node
	switch ex.Query.Node.(type) {
	case *pg_query.Node_SelectStmt:
		plan, err := pl.PlanSelect(ex.Query)
		if err != nil {
			return api.Result{}, err
		}
		node = plan.Plan
	case *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt:
		d, err := pl.PlanDML(ex.Query)
		if err != nil {
			return api.Result{}, err
		}
		node = d.Source
	case *pg_query.Node_CreateTableAsStmt:
		c := ex.Query.GetCreateTableAsStmt()
		if c.Objtype != pg_query.ObjectType_OBJECT_MATVIEW {
			return api.Result{}, pgerror.Unsupported("EXPLAIN of this statement is not supported")
		}
		return s.explainMaterializedView(context.Background(), c)
	default:
		return api.Result{}, pgerror.Unsupported("EXPLAIN of this statement is not supported")
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimRight(planner.Explain(node), "\n"), "\n") {
		rows = append(rows, []string{l})
	}
	return api.Result{Rows: textRows("EXPLAIN", []string{"QUERY PLAN"}, rows)}, nil
}

func (s *Session) setStmt(v *pg_query.VariableSetStmt) (api.Result, error) {
	name := normSetting(v.Name)
	switch v.Kind {
	case pg_query.VariableSetKind_VAR_RESET_ALL:
		for _, d := range settingList {
			if !d.readOnly {
				s.settings[strings.ToLower(d.name)] = d.def
			}
		}
		s.tctx.Loc, _ = parseZone(s.settings["timezone"])
		return api.Result{Tag: "RESET"}, nil
	case pg_query.VariableSetKind_VAR_RESET, pg_query.VariableSetKind_VAR_SET_DEFAULT:
		d, ok := settingDefs[name]
		if !ok {
			return api.Result{}, pgerror.New(pgerror.UndefinedObject, "unrecognized configuration parameter %q", v.Name)
		}
		if err := s.set(name, d.def); err != nil {
			return api.Result{}, err
		}
		if v.Kind == pg_query.VariableSetKind_VAR_RESET {
			return api.Result{Tag: "RESET"}, nil
		}
		return api.Result{Tag: "SET"}, nil
	case pg_query.VariableSetKind_VAR_SET_MULTI:
		// SET TRANSACTION …, SET SESSION CHARACTERISTICS …: accepted; we
		// have one isolation level (see ARCHITECTURE.md).
		return api.Result{Tag: "SET"}, nil
	case pg_query.VariableSetKind_VAR_SET_CURRENT:
		return api.Result{Tag: "SET"}, nil
	}
	var parts []string
	for _, a := range v.Args {
		c := a.GetAConst()
		if c == nil {
			if tc := a.GetTypeCast(); tc != nil && tc.Arg.GetAConst() != nil {
				c = tc.Arg.GetAConst()
			} else {
				return api.Result{}, pgerror.New(pgerror.SyntaxError, "SET %s requires constant arguments", v.Name)
			}
		}
		switch x := c.Val.(type) {
		case *pg_query.A_Const_Sval:
			parts = append(parts, x.Sval.Sval)
		case *pg_query.A_Const_Ival:
			parts = append(parts, itoa64(int64(x.Ival.Ival)))
		case *pg_query.A_Const_Fval:
			parts = append(parts, x.Fval.Fval)
		case *pg_query.A_Const_Boolval:
			if x.Boolval.Boolval {
				parts = append(parts, "on")
			} else {
				parts = append(parts, "off")
			}
		}
	}
	if err := s.set(name, strings.Join(parts, ", ")); err != nil {
		return api.Result{}, err
	}
	return api.Result{Tag: "SET"}, nil
}

func itoa64(i int64) string {
	neg := i < 0
	if neg {
		i = -i
	}
	var b [20]byte
	p := len(b)
	for {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	if neg {
		p--
		b[p] = '-'
	}
	return string(b[p:])
}

func (s *Session) showStmt(v *pg_query.VariableShowStmt) (api.Result, error) {
	if strings.EqualFold(v.Name, "all") {
		var rows [][]string
		for _, n := range sortedSettingNames() {
			d := settingDefs[strings.ToLower(n)]
			rows = append(rows, []string{d.name, s.settings[strings.ToLower(d.name)], d.desc})
		}
		return api.Result{Rows: textRows("SHOW", []string{"name", "setting", "description"}, rows)}, nil
	}
	name := normSetting(v.Name)
	val, ok := s.settings[name]
	if !ok {
		switch name {
		case "transaction isolation level":
			val, ok = "read committed", true
		}
	}
	if !ok {
		return api.Result{}, pgerror.New(pgerror.UndefinedObject, "unrecognized configuration parameter %q", v.Name)
	}
	return api.Result{Rows: textRows("SHOW", []string{showName(v.Name)}, [][]string{{val}})}, nil
}

func (s *Session) sqlPrepare(ps *pg_query.PrepareStmt, st *parser.Statement) (api.Result, error) {
	if _, ok := s.sqlPrepared[ps.Name]; ok {
		return api.Result{}, pgerror.New(pgerror.DuplicatePreparedStatement, "prepared statement %q already exists", ps.Name)
	}
	var pts []types.T
	for _, a := range ps.Argtypes {
		t, err := planner.ResolveTypeName(a.GetTypeName())
		if err != nil {
			return api.Result{}, err
		}
		pts = append(pts, t)
	}
	inner := &parser.Statement{Kind: parser.KindPG, AST: ps.Query, SQL: st.SQL}
	p, err := s.prepare(st.SQL, inner, pts)
	if err != nil {
		return api.Result{}, err
	}
	s.sqlPrepared[ps.Name] = p
	return api.Result{Tag: "PREPARE"}, nil
}

func (s *Session) sqlExecute(ctx context.Context, ex *pg_query.ExecuteStmt) (api.Result, error) {
	p, ok := s.sqlPrepared[ex.Name]
	if !ok {
		return api.Result{}, pgerror.New(pgerror.InvalidSQLStatementName, "prepared statement %q does not exist", ex.Name)
	}
	if len(ex.Params) != len(p.paramTypes) {
		return api.Result{}, pgerror.New(pgerror.SyntaxError, "wrong number of parameters for prepared statement %q", ex.Name)
	}
	pl := s.newPlanner(nil)
	params := make([]types.Datum, len(ex.Params))
	for i, pn := range ex.Params {
		e, err := pl.BindStandaloneExpr(pn, p.paramTypes[i])
		if err != nil {
			return api.Result{}, err
		}
		c, ok := e.(*planner.Const)
		if !ok {
			v, err := s.evalConst(ctx, e)
			if err != nil {
				return api.Result{}, err
			}
			params[i] = v
			continue
		}
		params[i] = c.Val
	}
	return s.run(ctx, p.stmt, p.paramTypes, params)
}

// evalConst evaluates a column-free expression.
func (s *Session) evalConst(ctx context.Context, e planner.Expr) (types.Datum, error) {
	node := &planner.Project{
		Input: &planner.Values{Rows: [][]planner.Expr{{}}, Out: planner.Schema{}},
		Exprs: []planner.Expr{e},
		Out:   planner.Schema{{Name: "v", T: e.Type()}},
	}
	bs, err := exec.Run(ctx, s.env(s.evalContext(), nil), node)
	if err != nil {
		return nil, err
	}
	defer releaseAll(bs)
	for _, b := range bs {
		if b.NumRows() > 0 {
			return types.GetDatum(b.Column(0), 0, e.Type()), nil
		}
	}
	return nil, nil
}
