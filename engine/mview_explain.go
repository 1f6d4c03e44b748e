package engine

import (
	"context"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/exec/streamplan"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
)

// explainMaterializedView answers EXPLAIN CREATE MATERIALIZED VIEW: the
// dataflow the view would run, a line per plan node with its operator, the
// columns carrying watermarks and what each stateful operator keeps (see
// streamplan.Explain). The dataflow is built over empty inputs and closed;
// nothing is created, subscribed or written.
func (s *Session) explainMaterializedView(ctx context.Context, c *pg_query.CreateTableAsStmt) (api.Result, error) {
	q, err := s.planMaterializedView(c)
	if err != nil {
		return api.Result{}, err
	}
	b := &streamplan.Builder{Env: s.mvEnv(), Reg: s.e.reg, In: &explainInputs{e: s.e}, Clock: s.e.opts.Clock, Explain: &streamplan.Explain{}}
	backend := s.e.st.backend
	for _, o := range c.Into.Options {
		if d := o.GetDefElem(); d != nil && d.Defname == "state_backend" {
			if backend, err = state.ParseBackend(defElemString(d)); err != nil {
				return api.Result{}, err
			}
		}
	}
	if s.e.opts.DataDir != "" && backend != state.BackendMemory {
		// As CREATE would: operators spill past their share (to throwaway
		// tables here, which the operators close).
		b.States = func(_ context.Context, _ string, vs *arrow.Schema) (state.Table, error) {
			return state.NewMemoryTable(vs, s.e.mem)
		}
		b.SpillBytes = s.e.aggSpillBytes()
	}
	res, err := b.Build(ctx, q.Plan)
	if err != nil {
		return api.Result{}, err
	}
	res.Root.Close()
	rows := [][]string{{"Materialize (state backend " + string(backend) + ")"}}
	for _, l := range b.Explain.Lines() {
		rows = append(rows, []string{"  " + l})
	}
	return api.Result{Rows: textRows("EXPLAIN", []string{"QUERY PLAN"}, rows)}, nil
}

// explainInputs supplies empty leaves with the inputs' schemas and
// properties (append-only, watermark column).
type explainInputs struct{ e *Engine }

func (in *explainInputs) Relation(_ context.Context, id catalog.ObjectID) (stream.Executor, streamplan.RelInfo, error) {
	info := streamplan.RelInfo{WatermarkCol: -1}
	if ts := in.e.table(id); ts != nil {
		info.AppendOnly = ts.def.AppendOnly
		for i, c := range ts.def.Columns {
			if ts.def.WatermarkColumn != "" && c.Name == ts.def.WatermarkColumn {
				info.WatermarkCol = i
			}
		}
		return emptyExec{ts.schema}, info, nil
	}
	if v := in.e.view(id); v != nil {
		return emptyExec{v.out.Schema()}, info, nil
	}
	return nil, info, pgerror.New(pgerror.UndefinedTable, "relation %d does not exist", id)
}

func (in *explainInputs) Ticks(context.Context) (stream.Executor, error) {
	return emptyExec{arrow.NewSchema(nil, nil)}, nil
}

// emptyExec is an input that ends at once.
type emptyExec struct{ schema *arrow.Schema }

func (x emptyExec) Schema() *arrow.Schema                        { return x.schema }
func (x emptyExec) Next(context.Context) (stream.Message, error) { return nil, nil }
func (x emptyExec) Close() error                                 { return nil }

// planMaterializedView plans a materialized view's query (no parameters;
// scans of other materialized views read their changelogs).
func (s *Session) planMaterializedView(c *pg_query.CreateTableAsStmt) (*planner.Query, error) {
	pl := s.newPlanner(nil)
	pl.MVScan = mvScanNode
	q, err := pl.PlanSelect(c.Query)
	if err != nil {
		return nil, err
	}
	if len(pl.Params) > 0 {
		return nil, pgerror.New(pgerror.UndefinedParameter, "there is no parameter $1")
	}
	return q, nil
}

// mvEnv is the environment a view's dataflow evaluates in: the creating
// session's settings, its statement time (the clock of temporal filters
// aside), the engine's tables.
func (s *Session) mvEnv() *exec.Env {
	ec := &kernels.EvalContext{Ctx: s.tctx, Mem: s.e.mem}
	now := types.TimestampTZ(time.Now().UnixMicro())
	ec.StmtTime, ec.TxnTime = now, now
	return &exec.Env{Eval: ec, Tables: &tableReader{e: s.e}, Mem: exec.NewMemAccount(s.e.opts.MemoryLimit)}
}
