package engine

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Session is one client's state. It implements api.Session. A session is
// used by one goroutine at a time.
type Session struct {
	e        *Engine
	user     string
	database string
	settings map[string]string
	tctx     types.Ctx

	txn      *txn // nil outside a transaction block
	txFailed bool

	// curStarExcept carries the running statement's "* EXCEPT" lists to
	// the planner.
	curStarExcept map[int][]string

	// sqlPrepared holds SQL-level PREPARE statements.
	sqlPrepared map[string]*prepared
	closed      bool
}

func newSession(e *Engine, user, database string) *Session {
	s := &Session{e: e, user: user, database: database, settings: map[string]string{}, sqlPrepared: map[string]*prepared{}}
	for _, d := range settingList {
		s.settings[strings.ToLower(d.name)] = d.def
	}
	s.settings["session_authorization"] = user
	s.tctx.Loc = time.UTC
	s.tctx.ObjectName = s.ObjectName
	return s
}

// Setting implements api.Session.
func (s *Session) Setting(name string) (string, bool) {
	n := normSetting(name)
	v, ok := s.settings[n]
	return v, ok
}

// CurrentUser implements kernels.SessionInfo.
func (s *Session) CurrentUser() string { return s.user }

// CurrentDatabase implements kernels.SessionInfo.
func (s *Session) CurrentDatabase() string { return s.database }

// ReportedSettings implements api.Session.
func (s *Session) ReportedSettings() map[string]string {
	out := map[string]string{}
	for _, d := range settingList {
		if d.reported {
			out[d.name] = s.settings[strings.ToLower(d.name)]
		}
	}
	return out
}

// TxStatus implements api.Session.
func (s *Session) TxStatus() byte {
	switch {
	case s.txn == nil:
		return 'I'
	case s.txFailed:
		return 'E'
	}
	return 'T'
}

// Close implements api.Session: an open transaction is rolled back.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.txn != nil {
		defer s.e.walLockShared()()
		s.rollback()
	}
	return nil
}

func (s *Session) set(name, value string) error {
	d, ok := settingDefs[name]
	if !ok {
		// Unknown settings with a dot are custom (extension) settings, as
		// PostgreSQL allows; others are errors.
		if strings.Contains(name, ".") {
			s.settings[name] = value
			return nil
		}
		return pgerror.New(pgerror.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	if d.readOnly {
		return pgerror.New(pgerror.CantChangeRuntimeParam, "parameter %q cannot be changed", d.name)
	}
	if d.check != nil {
		v, err := d.check(value)
		if err != nil {
			return err
		}
		value = v
	}
	key := strings.ToLower(d.name)
	s.settings[key] = value
	if key == "timezone" {
		loc, _ := parseZone(value)
		s.tctx.Loc = loc
	}
	return nil
}

func (s *Session) evalContext() *kernels.EvalContext {
	t := s.tctx.Now
	if t.IsZero() {
		t = time.Now()
	}
	now := types.TimestampTZ(t.UnixMicro())
	ec := &kernels.EvalContext{Ctx: s.tctx, StmtTime: now, TxnTime: now, Mem: s.e.mem, Session: s}
	if s.txn != nil {
		ec.TxnTime = s.txn.start
	}
	return ec
}

func (s *Session) newPlanner(params []types.T) *planner.Planner {
	p := &planner.Planner{Cat: s.e.cat, Reg: s.e.reg, Ctx: &s.tctx, Params: params, StarExcept: s.curStarExcept, MVScan: mvScanNode}
	if v := s.e.virtualTables(s); v != nil {
		p.Virtual = v
	}
	return p
}

func (s *Session) memLimit() int64 {
	if v := s.settings["query_memory_limit"]; v != "" {
		if n, err := parseBytes(v); err == nil && n > 0 {
			return n
		}
	}
	return s.e.opts.MemoryLimit
}

func (s *Session) env(ec *kernels.EvalContext, params []types.Datum) *exec.Env {
	return &exec.Env{
		Eval:   ec,
		Tables: &tableReader{e: s.e},
		Params: params,
		Mem:    exec.NewMemAccount(s.memLimit()),
	}
}

// stmtContext applies statement_timeout.
func (s *Session) stmtContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, err := parseDurationMS(s.settings["statement_timeout"]); err == nil && d > 0 {
		return context.WithTimeoutCause(ctx, d, errStatementTimeout)
	}
	return context.WithCancel(ctx)
}

var errStatementTimeout = pgerror.New(pgerror.QueryCanceled, "canceling statement due to statement timeout")

// prepared is a parsed statement with its parameter and result description.
type prepared struct {
	sql        string
	stmt       *parser.Statement
	paramTypes []types.T
	cols       []api.Column
}

func (p *prepared) ParamTypes() []types.T { return p.paramTypes }
func (p *prepared) Columns() []api.Column { return p.cols }
func (p *prepared) SQL() string           { return p.sql }

// Prepare implements api.Session.
func (s *Session) Prepare(ctx context.Context, sql string, paramTypes []types.T) (api.Prepared, error) {
	st, err := parser.ParseOne(sql)
	if err != nil {
		return nil, err
	}
	return s.prepare(sql, st, paramTypes)
}

func (s *Session) prepare(sql string, st *parser.Statement, paramTypes []types.T) (*prepared, error) {
	p := &prepared{sql: sql, stmt: st, paramTypes: append([]types.T(nil), paramTypes...)}
	if st == nil {
		return p, nil
	}
	if s.txFailed && !isTxnEnd(st) {
		return nil, errTxAborted
	}
	s.curStarExcept = copyStarExcept(st.Stream.StarExcept)
	defer func() { s.curStarExcept = nil }()
	pl := s.newPlanner(p.paramTypes)
	cols, err := s.describe(pl, st)
	if err != nil {
		return nil, err
	}
	p.paramTypes = pl.Params
	p.cols = cols
	return p, nil
}

// describe plans st far enough to know its parameters and result columns.
func (s *Session) describe(pl *planner.Planner, st *parser.Statement) ([]api.Column, error) {
	if st.Kind != parser.KindPG {
		return nil, nil
	}
	switch n := st.AST.Node.(type) {
	case *pg_query.Node_SelectStmt:
		q, err := pl.PlanSelect(st.AST)
		if err != nil {
			return nil, err
		}
		return outputCols(q.Cols), nil
	case *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt:
		d, err := pl.PlanDML(st.AST)
		if err != nil {
			return nil, err
		}
		return outputCols(d.ReturnCols), nil
	case *pg_query.Node_VariableShowStmt:
		name := n.VariableShowStmt.Name
		if strings.EqualFold(name, "all") {
			return []api.Column{{Name: "name", T: types.TextT}, {Name: "setting", T: types.TextT}, {Name: "description", T: types.TextT}}, nil
		}
		return []api.Column{{Name: showName(name), T: types.TextT}}, nil
	case *pg_query.Node_ExplainStmt:
		return []api.Column{{Name: "QUERY PLAN", T: types.TextT}}, nil
	case *pg_query.Node_CopyStmt:
		return nil, nil
	case *pg_query.Node_ExecuteStmt:
		ps, ok := s.sqlPrepared[n.ExecuteStmt.Name]
		if !ok {
			return nil, pgerror.New(pgerror.InvalidSQLStatementName, "prepared statement %q does not exist", n.ExecuteStmt.Name)
		}
		return ps.cols, nil
	}
	return nil, nil
}

func showName(name string) string {
	n := strings.ToLower(name)
	if n == "timezone" {
		return "TimeZone"
	}
	if d, ok := settingDefs[n]; ok {
		return d.name
	}
	return n
}

func outputCols(cols []planner.OutputCol) []api.Column {
	if cols == nil {
		return nil
	}
	out := make([]api.Column, len(cols))
	for i, c := range cols {
		out[i] = api.Column{Name: c.Name, T: c.T, TableOID: c.TableOID, AttrNum: c.AttNum}
	}
	return out
}

// Execute implements api.Session.
func (s *Session) Execute(ctx context.Context, ap api.Prepared, params []types.Datum) (api.Result, error) {
	p, ok := ap.(*prepared)
	if !ok {
		return api.Result{}, pgerror.Internal("foreign prepared statement")
	}
	if p.stmt == nil {
		return api.Result{EmptyQuery: true}, nil
	}
	if len(params) != len(p.paramTypes) {
		return api.Result{}, pgerror.New(pgerror.ProtocolViolation, "bind message supplies %d parameters, but prepared statement requires %d", len(params), len(p.paramTypes))
	}
	return s.run(ctx, p.stmt, p.paramTypes, params)
}

// ExecSimple implements api.Session.
func (s *Session) ExecSimple(ctx context.Context, sql string, fn func(api.Result) error) error {
	stmts, err := parser.Parse(sql)
	if err != nil {
		s.noteError()
		return err
	}
	if len(stmts) == 0 {
		return fn(api.Result{EmptyQuery: true})
	}
	// Several statements in one simple query run in an implicit transaction
	// block in PostgreSQL; we run them one after another and stop at the
	// first error.
	for i := range stmts {
		res, err := s.run(ctx, &stmts[i], nil, nil)
		if err != nil {
			return err
		}
		if err := fn(res); err != nil {
			if res.Rows != nil {
				res.Rows.Close()
			}
			return err
		}
	}
	return nil
}

// Exec runs sql and drains every result, returning the last statement's
// rows as Datums (embedded convenience for tests and tools).
func (s *Session) Exec(ctx context.Context, sql string) ([]api.Column, [][]types.Datum, string, error) {
	var cols []api.Column
	var rows [][]types.Datum
	var tag string
	err := s.ExecSimple(ctx, sql, func(r api.Result) error {
		cols, rows, tag = nil, nil, r.Tag
		if r.Rows == nil {
			return nil
		}
		defer r.Rows.Close()
		cols = r.Rows.Columns()
		for {
			b, err := r.Rows.Next(ctx)
			if err != nil {
				return err
			}
			if b == nil {
				break
			}
			rows = append(rows, batchRows(b, cols)...)
		}
		tag = r.Rows.Tag()
		return nil
	})
	return cols, rows, tag, err
}

func batchRows(b arrow.RecordBatch, cols []api.Column) [][]types.Datum {
	n := int(b.NumRows())
	out := make([][]types.Datum, n)
	for r := 0; r < n; r++ {
		row := make([]types.Datum, b.NumCols())
		for c := range row {
			row[c] = types.GetDatum(b.Column(c), r, cols[c].T)
		}
		out[r] = row
	}
	return out
}

var errTxAborted = pgerror.New(pgerror.InFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")

func isTxnEnd(st *parser.Statement) bool {
	if st.Kind != parser.KindPG {
		return false
	}
	ts := st.AST.GetTransactionStmt()
	if ts == nil {
		return false
	}
	switch ts.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK,
		pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return true
	}
	return false
}

// noteError marks an open transaction block failed.
func (s *Session) noteError() {
	if s.txn != nil {
		s.txFailed = true
	}
}

// run executes one statement.
func (s *Session) run(ctx context.Context, st *parser.Statement, paramTypes []types.T, params []types.Datum) (res api.Result, err error) {
	if s.txFailed && !isTxnEnd(st) {
		return api.Result{}, errTxAborted
	}
	defer func() {
		if err != nil {
			s.noteError()
			if pgerror.CodeOf(err) == pgerror.QueryCanceled && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				// The statement's own deadline (statement_timeout) fired.
				err = errStatementTimeout
			}
		}
	}()
	s.curStarExcept = copyStarExcept(st.Stream.StarExcept)
	defer func() { s.curStarExcept = nil }()
	s.tctx.Now = time.Now()
	if st.Kind == parser.KindFlush {
		if err := s.e.Flush(ctx); err != nil {
			return api.Result{}, err
		}
		return api.Result{Tag: "FLUSH"}, nil
	}
	walEnd := s.e.walBegin(s, st)
	res, err = s.dispatch(ctx, st, paramTypes, params)
	res, err = walEnd(ctx, res, err)
	if err == nil && s.implicitFlush() && isDML(st) {
		if ferr := s.e.Flush(ctx); ferr != nil {
			return api.Result{}, ferr
		}
	}
	return res, err
}

func copyStarExcept(m map[int][]string) map[int][]string {
	if m == nil {
		return nil
	}
	out := make(map[int][]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// implicitFlush reports SET implicit_flush = on.
func (s *Session) implicitFlush() bool { return s.settings["implicit_flush"] == "on" }

// isDML reports statements that change table rows.
func isDML(st *parser.Statement) bool {
	if st.AST == nil {
		return false
	}
	switch st.AST.Node.(type) {
	case *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt, *pg_query.Node_CopyStmt, *pg_query.Node_TruncateStmt:
		return true
	case *pg_query.Node_TransactionStmt:
		// ROLLBACK (also COMMIT of a failed block) publishes the undo.
		return true
	}
	return false
}
