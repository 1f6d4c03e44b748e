package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/exec/streamplan"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/columnar"
	"github.com/sabotsql/sabotsql/storage/memtable"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/backends"
)

// DefaultBarrierInterval is the default time between injected barriers.
const DefaultBarrierInterval = 100 * time.Millisecond

// streams is the engine's streaming side: the epoch coordinator, the
// running materialized views and the barrier clock.
type streams struct {
	coord *stream.Coordinator
	// ticks is a changelog without rows whose barriers drive views over
	// constant inputs.
	ticks *stream.Changelog

	mu    sync.RWMutex
	views map[catalog.ObjectID]*mview

	cancel context.CancelFunc
	done   chan struct{}

	// states opens the views' state tables.
	states *backends.Factory
	// backend is the server's default state backend.
	backend state.BackendKind

	// published counts the rows published since the last barrier of the
	// barrier loop; past a slice (backfillSliceRows) publish kicks the loop
	// into an early barrier, so an epoch holds about a slice of changes
	// plus one statement (a view's epoch is written to its state tables
	// before it commits, so it must fit the state budget).
	published atomic.Int64
	kick      chan struct{}
}

// mview is one running materialized view.
type mview struct {
	def     *catalog.View
	mat     *stream.Materialize
	out     *stream.Changelog // the view's changes, for views over it
	cancel  context.CancelFunc
	done    chan struct{}
	late    *atomic.Int64
	backend state.BackendKind
	dlq     *deadLetter
	// stateName prefixes the names of the view's state tables.
	stateName string
	// spilling are the view's aggregates with a spill table, spillingJoins
	// its joins with spill tables.
	spilling      []*stream.HashAggregate
	spillingJoins []*stream.HashJoin
	// spillingParts are its group top-N and OVER-window operators with
	// spill tables.
	spillingParts []partSpiller
	// spillTables are the state tables the view's operators spill to
	// (owned and closed by those operators); their sizes count in the
	// view's state size. Guarded by mu: a failed view drops them.
	spillTables []state.Table
	// subs are the dataflow's changelog subscriptions; a failed view
	// closes them so it no longer holds back truncation (and the writers
	// ingest backpressure throttles).
	subs []*stream.Subscription
	// opMem is the view's share of the streaming memory budget: the bytes
	// its operators hold in memory (join sides, aggregate tables, windows).
	opMem *stream.MemLimit

	mu  sync.Mutex
	err error // the dataflow's failure, if it stopped with one
}

func (v *mview) failure() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

func (e *Engine) startStreams(interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultBarrierInterval
	}
	kind := state.DefaultBackend
	if e.opts.StateBackend != "" {
		k, err := state.ParseBackend(e.opts.StateBackend)
		if err != nil {
			return err
		}
		kind = k
	}
	st := &streams{
		coord:   stream.NewCoordinator(),
		ticks:   stream.NewChangelog(arrow.NewSchema(nil, nil)),
		views:   map[catalog.ObjectID]*mview{},
		done:    make(chan struct{}),
		backend: kind,
		kick:    make(chan struct{}, 1),
		states:  &backends.Factory{Budget: columnar.NewBudget(e.shares.state), Logger: e.log},
	}
	e.tcharge = newTableCharge(st.states.Budget, tableChargeCap(e.shares.state))
	if e.opts.DataDir != "" {
		// Views are rebuilt from their base tables at start (see
		// ARCHITECTURE.md), so state files of an earlier run are garbage.
		dir := filepath.Join(e.opts.DataDir, "state")
		if err := os.RemoveAll(dir); err != nil {
			return pgerror.Wrap(err, pgerror.IOError, "could not clear the state directory")
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return pgerror.Wrap(err, pgerror.IOError, "could not create the state directory")
		}
		st.states.Dir = dir
	}
	st.coord.AddChangelog(st.ticks)
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	e.st = st
	go e.barrierLoop(ctx, interval)
	return nil
}

// barrierLoop injects a barrier every interval while views exist, and
// trims the changelogs behind their slowest reader.
func (e *Engine) barrierLoop(ctx context.Context, interval time.Duration) {
	defer close(e.st.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.st.kick:
		}
		// Base tables' growth shrinks what state may cache (tablecharge.go).
		e.tcharge.settle()
		e.st.mu.RLock()
		n := len(e.st.views)
		e.st.mu.RUnlock()
		if n == 0 && !e.logsRetain() {
			// Without views, barriers only serve to trim what tables
			// logged while their last view was being dropped.
			continue
		}
		e.writeMu.Lock()
		ep, err := e.st.coord.InjectBarrier(false)
		e.st.published.Store(0)
		if err == nil {
			// Under writeMu: table changelogs are created and dropped by
			// statements holding it.
			e.truncateLogs(ep)
		}
		e.writeMu.Unlock()
		if err != nil {
			e.log.Error("barrier injection failed", "err", err)
			continue
		}
	}
}

// logsRetain reports whether a table's changelog holds entries.
func (e *Engine) logsRetain() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, ts := range e.tables {
		if ts.log != nil && ts.log.RetainedBytes() > 0 {
			return true
		}
	}
	return false
}

// truncateLogs drops changelog entries every reader has passed (writeMu held).
func (e *Engine) truncateLogs(ep uint64) {
	e.st.ticks.Truncate(ep)
	e.mu.RLock()
	for _, ts := range e.tables {
		if ts.log != nil {
			ts.log.Truncate(ep)
		}
	}
	e.mu.RUnlock()
	e.st.mu.RLock()
	for _, v := range e.st.views {
		v.out.Truncate(ep)
	}
	e.st.mu.RUnlock()
}

func (e *Engine) stopStreams() {
	if e.st == nil {
		return
	}
	e.st.cancel()
	<-e.st.done
	e.st.mu.Lock()
	views := e.st.views
	e.st.views = map[catalog.ObjectID]*mview{}
	e.st.mu.Unlock()
	for _, v := range views {
		v.stop(e.log)
	}
}

// Flush injects a barrier and waits until every view has committed it:
// afterwards every change made before the call is visible in every view.
func (e *Engine) Flush(ctx context.Context) error {
	e.writeMu.Lock()
	ep, err := e.st.coord.InjectBarrier(false)
	e.writeMu.Unlock()
	if err != nil {
		return err
	}
	if err := e.st.coord.WaitCommitted(ctx, ep); err != nil {
		return pgerror.Wrap(err, pgerror.QueryCanceled, "canceling FLUSH")
	}
	// Late rows routed to dead-letter tables are written too.
	e.st.mu.RLock()
	var dlqs []*deadLetter
	for _, v := range e.st.views {
		if v.dlq != nil {
			dlqs = append(dlqs, v.dlq)
		}
	}
	e.st.mu.RUnlock()
	for _, d := range dlqs {
		d.drain()
	}
	return nil
}

// publish appends a table's changed rows to its changelog (when a view
// reads the table). Called with writeMu held, so a statement's changes
// never straddle a barrier.
func (e *Engine) publish(ts *tableState, op stream.Op, rows arrow.RecordBatch) {
	if ts.log == nil || rows == nil || rows.NumRows() == 0 {
		return
	}
	b := rows
	if !rows.Schema().Equal(ts.schema) {
		b = array.NewRecordBatch(ts.schema, rows.Columns(), rows.NumRows())
		defer b.Release()
	}
	ops := make([]stream.Op, b.NumRows())
	for i := range ops {
		ops[i] = op
	}
	if err := ts.log.Append(&stream.Chunk{Batch: b, Ops: ops}); err != nil {
		e.log.Error("changelog append failed", "table", ts.def.Name, "err", err)
	}
	if e.st.published.Add(b.NumRows()) >= e.backfillSliceRows() {
		select {
		case e.st.kick <- struct{}{}:
		default:
		}
	}
}

// publishIDs publishes rows by id (before a delete, or after an insert by
// undo); must be called while the rows are still fetchable.
func (e *Engine) publishIDs(ts *tableState, op stream.Op, ids []int64) {
	if ts.log == nil || len(ids) == 0 {
		return
	}
	b := ts.store.Fetch(ids)
	defer b.Release()
	e.publish(ts, op, b)
}

// ensureLog gives a table a changelog that receives barriers.
func (e *Engine) ensureLog(ts *tableState) {
	if ts.log != nil {
		return
	}
	ts.log = stream.NewChangelog(ts.schema)
	e.st.coord.AddChangelog(ts.log)
}

// dropLog detaches a dropped table's changelog.
func (e *Engine) dropLog(ts *tableState) {
	if ts.log == nil {
		return
	}
	e.st.coord.RemoveChangelog(ts.log)
	ts.log.Close()
}

func (e *Engine) view(id catalog.ObjectID) *mview {
	e.st.mu.RLock()
	defer e.st.mu.RUnlock()
	return e.st.views[id]
}

// mvScanNode is the planner hook reading a materialized view's contents.
func mvScanNode(v *catalog.View) planner.Node {
	t := &catalog.Table{ID: v.ID, Schema: v.Schema, Name: v.Name, Columns: v.Columns}
	s := &planner.Scan{Table: t, Alias: v.Name}
	for i, c := range v.Columns {
		s.Cols = append(s.Cols, i)
		s.Out = append(s.Out, planner.Column{Name: c.Name, T: c.T, Table: v.Name})
	}
	return s
}

// viewIDs lists the materialized views a plan reads (subquery plans included).
func (e *Engine) viewIDs(n planner.Node, out map[catalog.ObjectID]bool) {
	if s, ok := n.(*planner.Scan); ok && e.view(s.Table.ID) != nil {
		out[s.Table.ID] = true
	}
	for _, x := range planner.NodeExprs(n) {
		planner.WalkExpr(x, func(y planner.Expr) bool {
			if sq, ok := y.(*planner.Subquery); ok {
				e.viewIDs(sq.Plan, out)
			}
			return true
		})
	}
	for _, c := range n.Children() {
		e.viewIDs(c, out)
	}
}

// attachViewReads pins every materialized view the plan uses at one
// committed epoch (a consistent cut across views) in the statement's table
// reader, which scans them page by page (stream.ViewSnapshot.Scan) and
// unpins them when the statement ends (tableReader.release): a SELECT of a
// view larger than memory holds one page at a time.
func (e *Engine) attachViewReads(ctx context.Context, env *exec.Env, plan planner.Node) error {
	ids := map[catalog.ObjectID]bool{}
	e.viewIDs(plan, ids)
	if len(ids) == 0 {
		return nil
	}
	var views []*mview
	var mats []*stream.Materialize
	for id := range ids {
		v := e.view(id)
		if err := v.failure(); err != nil {
			return viewFailed(v, err)
		}
		views = append(views, v)
		mats = append(mats, v.mat)
	}
	tr, ok := env.Tables.(*tableReader)
	if !ok {
		return pgerror.Internal("materialized view read without the engine's table reader")
	}
	_, snaps, err := e.st.coord.PinViews(mats...)
	if err != nil {
		return fmt.Errorf("reading materialized views: %w", err)
	}
	if tr.views == nil {
		tr.views = map[catalog.ObjectID]*stream.ViewSnapshot{}
	}
	for i, v := range views {
		if old := tr.views[v.def.ID]; old != nil {
			old.Release()
		}
		tr.views[v.def.ID] = snaps[i]
	}
	return nil
}

func viewFailed(v *mview, err error) error {
	code := pgerror.CodeOf(err)
	if code == "" || code == pgerror.QueryCanceled {
		code = pgerror.InternalError
	}
	return pgerror.New(code, "materialized view %q stopped after an error: %v", v.def.Name, err)
}

// createMaterializedView plans the query, builds its dataflow, backfills it
// from the current contents of its inputs and starts it.
func (s *Session) createMaterializedView(ctx context.Context, c *pg_query.CreateTableAsStmt, st *parser.Statement) (api.Result, error) {
	if s.txn != nil {
		return api.Result{}, pgerror.New(pgerror.ActiveSQLTransaction, "CREATE MATERIALIZED VIEW cannot run inside a transaction block")
	}
	into := c.Into
	schema, err := schemaOf(into.Rel)
	if err != nil {
		return api.Result{}, err
	}
	name := into.Rel.Relname
	q, err := s.planMaterializedView(c)
	if err != nil {
		return api.Result{}, err
	}
	if n := len(into.ColNames); n > 0 && n != len(q.Cols) {
		// RisingWave's rule (PostgreSQL accepts fewer names).
		return api.Result{}, pgerror.New(pgerror.SyntaxError, "CREATE MATERIALIZED VIEW specifies %d column names, but the query has %d columns", n, len(q.Cols))
	}
	sql, err := deparseStmt(c.Query)
	if err != nil {
		return api.Result{}, err
	}
	def := &catalog.View{Schema: schema, Name: name, SQL: sql, Kind: catalog.KindMaterializedView,
		EmitOnWindowClose: st.Stream.EmitOnWindowClose, Options: map[string]string{}}
	for i, oc := range q.Cols {
		cn := oc.Name
		if i < len(into.ColNames) {
			cn = strVal(into.ColNames[i])
		}
		def.Columns = append(def.Columns, catalog.Column{Name: cn, T: oc.T})
	}
	for _, o := range into.Options {
		if d := o.GetDefElem(); d != nil {
			def.Options[d.Defname] = defElemString(d)
		}
	}

	s.e.writeMu.Lock()
	locked := true
	defer func() {
		if locked {
			s.e.writeMu.Unlock()
		}
	}()
	if _, ok := s.e.cat.Lookup(schema, name); ok {
		if c.IfNotExists {
			return api.Result{Tag: "CREATE MATERIALIZED VIEW", Notices: []string{fmt.Sprintf("relation %q already exists, skipping", name)}}, nil
		}
		return api.Result{}, pgerror.New(pgerror.DuplicateTable, "relation %q already exists", name)
	}
	// Inputs: tables get changelogs before the start barrier, so every
	// input log holds it.
	rels := map[catalog.ObjectID]bool{}
	collectScans(q.Plan, rels)
	upstream := false
	for id := range rels {
		if ts := s.e.table(id); ts != nil {
			s.e.ensureLog(ts)
		} else if v := s.e.view(id); v != nil {
			if err := v.failure(); err != nil {
				return api.Result{}, viewFailed(v, err)
			}
			upstream = true
		}
	}
	start, err := s.e.st.coord.InjectBarrier(false)
	if err != nil {
		return api.Result{}, err
	}
	if upstream {
		// Views read here must have passed the start barrier, so their
		// output logs hold it and their contents at it are pinned.
		if err := s.e.st.coord.WaitCommitted(ctx, start); err != nil {
			return api.Result{}, pgerror.Wrap(err, pgerror.QueryCanceled, "canceling CREATE MATERIALIZED VIEW")
		}
	}
	def.ID = s.e.cat.NextID()
	env := s.mvEnv()
	in := &mvInputs{s: s, start: start, late: new(atomic.Int64)}
	if name, ok := def.Options["late_rows_table"]; ok {
		dlq, err := s.e.newDeadLetter(ctx, s, name)
		if err != nil {
			return api.Result{}, err
		}
		in.dlq = dlq
		started := false
		defer func() {
			if !started {
				dlq.close()
			}
		}()
		defer func() { started = s.e.view(def.ID) != nil }()
	}
	backend := s.e.st.backend
	if o, ok := def.Options["state_backend"]; ok {
		if backend, err = state.ParseBackend(o); err != nil {
			return api.Result{}, err
		}
	}
	// Every state table of the view is named after it and the moment it was
	// created, so a re-created view never meets an old one's files.
	stateName := fmt.Sprintf("mv_%d_%d", def.ID, time.Now().UnixNano())
	var spillTables []state.Table
	opMem := stream.NewMemLimit(fmt.Sprintf("materialized view %q", def.Name), 0, s.e.streamMem)
	b := &streamplan.Builder{Env: env, Reg: s.e.reg, In: in, MemBudget: opMem, Clock: s.e.opts.Clock}
	if s.e.opts.DataDir != "" && backend != state.BackendMemory {
		// Aggregates spill to a table of the view's backend. Not with the
		// memory backend, nor without a data directory, where every table
		// is in memory anyway.
		b.States = func(ctx context.Context, role string, vs *arrow.Schema) (state.Table, error) {
			t, err := s.e.st.states.Open(ctx, backend, stateName+"_"+role, vs)
			if err == nil {
				spillTables = append(spillTables, t)
			}
			return t, err
		}
		b.SpillBytes = s.e.aggSpillBytes()
	}
	res, err := b.Build(ctx, q.Plan)
	if err != nil {
		in.closeAll()
		return api.Result{}, err
	}
	root := res.Root
	if def.EmitOnWindowClose {
		wcol := -1
		for i := range res.Types {
			if res.WatermarkCols[i] {
				wcol = i
				break
			}
		}
		if wcol < 0 {
			root.Close()
			return api.Result{}, pgerror.Unsupported("EMIT ON WINDOW CLOSE needs a GROUP BY on a window column derived from a watermarked time column")
		}
		keyCols := make([]int, len(res.Types))
		for i := range keyCols {
			keyCols[i] = i
		}
		eowc, err := stream.NewEOWC(root, res.Types, keyCols, wcol)
		if err != nil {
			root.Close()
			return api.Result{}, err
		}
		root = eowc.WithMemBudget(b.MemBudget)
	}
	out := stream.NewChangelog(root.Schema())
	tee := stream.NewTee(root, out)
	committer, err := s.e.st.coord.RegisterView(coordName(def.ID), start)
	if err != nil {
		tee.Close()
		return api.Result{}, err
	}
	// The epochs the backfill spreads over (see pacedBackfill); writeMu
	// keeps changes out of them.
	for range s.e.backfillBarriers(in.rows) {
		if _, err := s.e.st.coord.InjectBarrier(false); err != nil {
			s.e.st.coord.DropView(coordName(def.ID))
			tee.Close()
			return api.Result{}, err
		}
	}
	// Views with a known unique key (an aggregate's groups) store one row
	// per key; others store rows with their multiplicity.
	var key []int
	if !def.EmitOnWindowClose {
		key = res.Key
	}
	table, err := s.e.st.states.Open(ctx, backend, stateName, stream.MaterializeValueSchema(tee.Schema(), key))
	if err != nil {
		s.e.st.coord.DropView(coordName(def.ID))
		tee.Close()
		return api.Result{}, err
	}
	mat, err := stream.NewMaterialize(tee, res.Types, key, table, committer)
	if err != nil {
		s.e.st.coord.DropView(coordName(def.ID))
		tee.Close()
		return api.Result{}, err
	}
	if err := s.e.cat.Add(def, s.referencedRelations(c.Query)); err != nil {
		s.e.st.coord.DropView(coordName(def.ID))
		mat.Close()
		return api.Result{}, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	v := &mview{def: def, mat: mat, out: out, cancel: cancel, done: make(chan struct{}), backend: backend, late: in.late, dlq: in.dlq, spilling: b.Spilling,
		spillingJoins: b.SpillingJoins, spillingParts: partSpillers(b), spillTables: spillTables, stateName: stateName, subs: in.subs, opMem: opMem}
	s.e.st.mu.Lock()
	s.e.st.views[def.ID] = v
	s.e.st.mu.Unlock()
	go s.e.runView(rctx, v)
	s.e.writeMu.Unlock()
	locked = false
	// The view answers queries once its backfill is committed.
	if err := s.e.Flush(ctx); err != nil {
		return api.Result{}, err
	}
	if err := v.failure(); err != nil {
		return api.Result{}, viewFailed(v, err)
	}
	return api.Result{Tag: "CREATE MATERIALIZED VIEW"}, nil
}

func defElemString(d *pg_query.DefElem) string {
	if d.Arg == nil {
		return "true"
	}
	if s := d.Arg.GetString_(); s != nil {
		return s.Sval
	}
	if c := d.Arg.GetAConst(); c != nil {
		if c.GetSval() != nil {
			return c.GetSval().Sval
		}
		if c.GetIval() != nil {
			return strconv.Itoa(int(c.GetIval().Ival))
		}
	}
	if tn := d.Arg.GetTypeName(); tn != nil && len(tn.Names) > 0 {
		return strVal(tn.Names[len(tn.Names)-1])
	}
	return ""
}

// collectScans lists the relations a plan scans (subquery plans included).
func collectScans(n planner.Node, out map[catalog.ObjectID]bool) {
	if s, ok := n.(*planner.Scan); ok {
		out[s.Table.ID] = true
	}
	for _, x := range planner.NodeExprs(n) {
		planner.WalkExpr(x, func(y planner.Expr) bool {
			if sq, ok := y.(*planner.Subquery); ok {
				collectScans(sq.Plan, out)
			}
			return true
		})
	}
	for _, c := range n.Children() {
		collectScans(c, out)
	}
}

// runView drives a view's dataflow until it is dropped or fails.
func (e *Engine) runView(ctx context.Context, v *mview) {
	defer close(v.done)
	err := runGuarded(ctx, v.mat)
	if err == nil || ctx.Err() != nil {
		return
	}
	e.log.Error("materialized view stopped", "view", v.def.Name, "err", err)
	v.mu.Lock()
	v.err = err
	v.mu.Unlock()
	// Other views keep committing; this one stays readable at its last epoch.
	e.st.coord.DropView(coordName(v.def.ID))
	v.out.Close()
	// Its inputs' changelogs must not keep what it will never read (nor
	// throttle their writers for it). The dataflow has returned: nothing
	// reads the subscriptions any more.
	for _, sub := range v.subs {
		sub.Close()
	}
	// Nor keep its operators' state: an aggregate or join that failed with
	// 53200 would otherwise hold its share until DROP and fail the next
	// view that needs memory. The view's own table stays (its size shows in
	// the system views).
	v.mu.Lock()
	v.spillTables = nil // closed by their operators below
	v.mu.Unlock()
	if err := v.mat.CloseInput(); err != nil {
		e.log.Warn("closing a failed view's operators", "view", v.def.Name, "err", err)
	}
}

// stop ends the view's dataflow and releases its state.
func (v *mview) stop(log *slog.Logger) {
	v.cancel()
	<-v.done
	// The dataflow has stopped: its aggregates' counters are stable.
	for i, h := range v.spilling {
		if st := h.SpillStats(); st.Active {
			log.Info("materialized view aggregate spill", "view", v.def.Name, "aggregate", i+1,
				"spills", st.Spills, "spilled_groups", st.SpilledGroups, "loaded_groups", st.LoadedGroups)
		}
	}
	for i, j := range v.spillingJoins {
		if st := j.SpillStats(); st.Active {
			log.Info("materialized view join spill", "view", v.def.Name, "join", i+1,
				"spills", st.Spills, "spilled_buckets", st.SpilledBuckets, "loaded_buckets", st.LoadedBuckets)
		}
	}
	for i, p := range v.spillingParts {
		if st := p.SpillStats(); st.Active {
			log.Info("materialized view partition spill", "view", v.def.Name, "operator", i+1,
				"spills", st.Spills, "spilled_partitions", st.SpilledPartitions, "loaded_partitions", st.LoadedPartitions)
		}
	}
	if v.dlq != nil {
		v.dlq.close()
	}
	v.mat.Close()
	v.out.Release()
}

// dropView stops a dropped materialized view (writeMu held).
func (e *Engine) dropView(id catalog.ObjectID) {
	e.st.mu.Lock()
	v := e.st.views[id]
	delete(e.st.views, id)
	e.st.mu.Unlock()
	if v == nil {
		return
	}
	e.st.coord.DropView(coordName(id))
	v.stop(e.log)
	// Its state tables are closed: their files (the view's contents and
	// spilled aggregate state, possibly far larger than memory) go now
	// rather than at the next start.
	// Without a data directory the same goes for their in-memory files.
	if v.stateName != "" {
		if err := e.st.states.Remove(v.stateName); err != nil {
			e.log.Warn("removing a dropped view's state files", "view", v.def.Name, "err", err)
		}
	}
}

// mvInputs supplies a new view's dataflow leaves: each input's contents at
// the start barrier as inserts, then its changelog after it.
type mvInputs struct {
	s     *Session
	start uint64
	srcs  []stream.Executor
	late  *atomic.Int64 // late rows dropped by watermarked sources
	rows  int64         // backfill rows of every input
	dlq   *deadLetter   // receives late rows (WITH (late_rows_table = …))
	subs  []*stream.Subscription
}

func (in *mvInputs) closeAll() {
	for _, s := range in.srcs {
		s.Close()
	}
}

func (in *mvInputs) Ticks(ctx context.Context) (stream.Executor, error) {
	sub, err := in.s.e.st.ticks.Subscribe(in.start)
	if err != nil {
		return nil, err
	}
	in.subs = append(in.subs, sub)
	src := stream.NewSource(sub)
	in.srcs = append(in.srcs, src)
	return src, nil
}

func (in *mvInputs) Relation(ctx context.Context, id catalog.ObjectID) (stream.Executor, streamplan.RelInfo, error) {
	e := in.s.e
	info := streamplan.RelInfo{WatermarkCol: -1}
	if ts := e.table(id); ts != nil {
		if ts.log == nil {
			return nil, info, pgerror.Internal("table %q has no changelog", ts.def.Name)
		}
		sub, err := ts.log.Subscribe(in.start)
		if err != nil {
			return nil, info, err
		}
		in.subs = append(in.subs, sub)
		snap := ts.store.Snapshot()
		in.rows += ts.store.Rows()
		var src stream.Executor = in.paced(ts.schema, tableBackfill(snap, e.mem), stream.NewSource(sub))
		info.AppendOnly = ts.def.AppendOnly
		if ts.def.WatermarkColumn != "" {
			wsrc, col, err := in.watermark(ts, src)
			if err != nil {
				src.Close()
				return nil, info, err
			}
			src, info.WatermarkCol = wsrc, col
		}
		in.srcs = append(in.srcs, src)
		return src, info, nil
	}
	v := e.view(id)
	if v == nil {
		return nil, info, pgerror.New(pgerror.UndefinedTable, "relation %d does not exist", id)
	}
	sub, err := v.out.Subscribe(in.start)
	if err != nil {
		return nil, info, err
	}
	in.subs = append(in.subs, sub)
	_, snaps, err := e.st.coord.PinViews(v.mat)
	if err != nil {
		sub.Close()
		return nil, info, err
	}
	rows, err := viewBackfill(ctx, snaps[0], v.mat.AllColumns())
	if err != nil {
		sub.Close()
		return nil, info, err
	}
	in.rows += v.mat.StateStats().Keys
	src := in.paced(v.out.Schema(), rows, stream.NewSource(sub))
	in.srcs = append(in.srcs, src)
	return src, info, nil
}

// paced returns the backfill executor of one input (see pacedBackfill).
func (in *mvInputs) paced(schema *arrow.Schema, rows backfillRows, next stream.Executor) *pacedBackfill {
	return &pacedBackfill{schema: schema, rows: rows, next: next, slice: in.s.e.backfillSliceRows(), chunk: backfillChunkRows}
}

// backfillChunkRows bounds the rows of one backfill chunk: table chunks
// hold 8Ki-16Ki rows (the store merges small appends), view pages more. A
// spilling aggregate looks up each chunk's new groups in its spill table
// with one batched Get, and a columnar Get keeps every block it read until
// its result is built: with random keys that is one block (~40 KB) per
// key, so an 8Ki-row chunk pinned ~350 MB at once in the 20M-key bigagg
// backfill (heap profiles, issue #6). 2Ki rows bound it to ~90 MB. Fewer
// keys per Get share fewer block reads where keys are dense: at 5M keys
// 2Ki-row chunks cost the backfill ~13% of its rows per CPU-second, 1Ki
// rows ~45% (same machine, loaded).
const backfillChunkRows = 2048

// backfillSliceRows is how many backfill rows of one input a new view takes
// per epoch: about one byte of the aggregate memory share per 256, so the
// groups an epoch adds to a spilling aggregate stay a fraction of its
// share (between 16Ki and 1Mi rows).
func (e *Engine) backfillSliceRows() int64 {
	return min(max(e.shares.aggregate/256, 16<<10), 1<<20)
}

// aggSpillBytes is the memory one grouped aggregate of a view may hold
// before it spills: a quarter of the aggregate share (at least 4 MiB), so a
// few large aggregates fill the share. It is not a shared account: many
// views with large aggregates together can hold more (the Go runtime's
// soft limit then makes the collector work harder).
func (e *Engine) aggSpillBytes() int64 {
	return max(e.shares.aggregate/4, 4<<20)
}

// backfillBarriers is how many barriers a new view's backfill of rows input
// rows spreads over (beyond the start barrier).
func (e *Engine) backfillBarriers(rows int64) int {
	return int(min(rows/e.backfillSliceRows(), 100_000))
}

// backfillRows yields a view input's contents at its start barrier: the
// next batch (owned by the caller), nil at the end. release drops what is
// left.
type backfillRows struct {
	next    func(ctx context.Context) (arrow.RecordBatch, error)
	release func()
}

// tableBackfill reads a table snapshot chunk by chunk (the chunks share the
// table's buffers), so a backfill holds no copy of the table.
func tableBackfill(snap *memtable.Snapshot, mem memory.Allocator) backfillRows {
	i := 0
	return backfillRows{
		next: func(context.Context) (arrow.RecordBatch, error) {
			for snap != nil && i < snap.NumChunks() {
				b, ok := snap.Chunk(i, nil, false, mem)
				i++
				if ok {
					return b, nil
				}
			}
			return nil, nil
		},
		release: func() {
			if snap != nil {
				snap.Release()
				snap = nil
			}
		},
	}
}

// viewBackfill reads a pinned view page by page; it owns snap.
func viewBackfill(ctx context.Context, snap *stream.ViewSnapshot, cols []int) (backfillRows, error) {
	r := snap.Scan(cols)
	// The view's dataflow reads it after the statement has returned (its
	// context bounds only the statement).
	if err := r.Init(context.WithoutCancel(ctx)); err != nil {
		r.Close()
		snap.Release()
		return backfillRows{}, err
	}
	return backfillRows{
		next: func(context.Context) (arrow.RecordBatch, error) {
			b, err := r.Next()
			if b != nil {
				b.Retain()
			}
			return b, err
		},
		release: func() {
			if r != nil {
				r.Close()
				snap.Release()
				r = nil
			}
		},
	}, nil
}

// pacedBackfill emits an input's contents at the view's start barrier as
// inserts, then the input's changes; it spreads the contents over epochs,
// at most slice rows (rounded up to whole batches) before each barrier of
// the changes, so a spilling aggregate downstream can move its groups to
// disk between them instead of holding a whole table's groups in one
// epoch. createMaterializedView injects the barriers the backfill needs
// before any statement can change the inputs, so those epochs carry no
// changes; a change that arrives while backfill rows remain is held until
// every backfill row has gone out (the contents precede the changes). A
// view is readable once its backfill is committed: CREATE MATERIALIZED
// VIEW waits for that.
type pacedBackfill struct {
	schema *arrow.Schema
	rows   backfillRows
	next   stream.Executor
	slice  int64
	chunk  int64             // at most this many rows per chunk (≤ 0: as read)
	pend   arrow.RecordBatch // the rest of a read batch not yet sent
	sent   int64             // rows sent since the last barrier
	done   bool              // every backfill row sent
	drain  bool              // a change arrived: send the remaining rows at once
	held   stream.Message
}

// Schema implements stream.Executor.
func (p *pacedBackfill) Schema() *arrow.Schema { return p.schema }

// Next implements stream.Executor.
func (p *pacedBackfill) Next(ctx context.Context) (stream.Message, error) {
	for !p.done {
		if p.drain || p.sent < p.slice {
			b := p.pend
			p.pend = nil
			if b == nil {
				var err error
				if b, err = p.rows.next(ctx); err != nil {
					return nil, err
				}
			}
			if b == nil {
				p.done = true
				p.rows.release()
				break
			}
			if b.NumRows() == 0 {
				b.Release()
				continue
			}
			if n := b.NumRows(); p.chunk > 0 && n > p.chunk {
				// Send the first p.chunk rows; keep the rest (zero-copy
				// slices of the same buffers).
				p.pend = b.NewSlice(p.chunk, n)
				head := b.NewSlice(0, p.chunk)
				b.Release()
				b = head
			}
			rb := array.NewRecordBatch(p.schema, b.Columns(), b.NumRows())
			b.Release()
			p.sent += rb.NumRows()
			return &stream.Chunk{Batch: rb, Ops: make([]stream.Op, rb.NumRows())}, nil
		}
		m, err := p.next.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		if _, ok := m.(stream.Barrier); ok {
			p.sent = 0
			return m, nil
		}
		p.held, p.drain = m, true
	}
	if m := p.held; m != nil {
		p.held = nil
		return m, nil
	}
	return p.next.Next(ctx)
}

// Close implements stream.Executor.
func (p *pacedBackfill) Close() error {
	if p.pend != nil {
		p.pend.Release()
		p.pend = nil
	}
	if !p.done {
		p.done = true
		p.rows.release()
	}
	if p.held != nil {
		stream.ReleaseMessage(p.held)
		p.held = nil
	}
	return p.next.Close()
}

// watermark wraps a table source in the table's WATERMARK FOR col AS expr.
func (in *mvInputs) watermark(ts *tableState, src stream.Executor) (stream.Executor, int, error) {
	col := -1
	for i, c := range ts.def.Columns {
		if c.Name == ts.def.WatermarkColumn {
			col = i
		}
	}
	if col < 0 {
		return nil, -1, pgerror.New(pgerror.UndefinedColumn, "watermark column %q does not exist", ts.def.WatermarkColumn)
	}
	pl := in.s.newPlanner(nil)
	q, err := pl.ParseQuery(fmt.Sprintf("SELECT %s FROM %s.%s", ts.def.WatermarkExpr, quoteIdent(ts.def.Schema), quoteIdent(ts.def.Name)))
	if err != nil {
		return nil, -1, fmt.Errorf("watermark expression: %w", err)
	}
	ev := &planEval{e: in.s.e, plan: q.Plan, ec: &kernels.EvalContext{Ctx: in.s.tctx, Mem: in.s.e.mem}}
	idle := time.Duration(0)
	if d, err := parseDurationMS(in.s.settings["watermark_idle_timeout"]); err == nil && d > 0 {
		idle = d
	}
	opts := stream.WatermarkOptions{IdleTimeout: idle, LateRows: in.late}
	if in.dlq != nil {
		if in.dlq.width != ts.schema.NumFields() {
			return nil, -1, pgerror.New(pgerror.DatatypeMismatch, "late_rows_table %q must have the columns of table %q", in.dlq.name, ts.def.Name)
		}
		opts.Late = in.dlq.add
	}
	return stream.NewWatermarkFilter(src, col, ev, opts), col, nil
}

// planEval evaluates a one-column plan over a table's full rows (the
// table scan inside the plan reads the batch).
type planEval struct {
	e    *Engine
	plan planner.Node
	ec   *kernels.EvalContext
}

func (p *planEval) Eval(ctx context.Context, b arrow.RecordBatch) (arrow.Array, error) {
	env := &exec.Env{Eval: p.ec, Tables: &oneBatchReader{b: b}, Mem: exec.NewMemAccount(p.e.opts.MemoryLimit)}
	out, err := exec.Run(ctx, env, p.plan)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, o := range out {
			o.Release()
		}
	}()
	parts := make([]arrow.Array, 0, len(out))
	for _, o := range out {
		parts = append(parts, o.Column(0))
	}
	if len(parts) == 0 {
		bld := array.NewBuilder(p.e.mem, types.ArrowType(p.plan.Schema()[0].T))
		defer bld.Release()
		return bld.NewArray(), nil
	}
	a, err := array.Concatenate(parts, p.e.mem)
	if err != nil {
		return nil, err
	}
	if a.Len() != int(b.NumRows()) {
		a.Release()
		return nil, pgerror.Internal("watermark expression returned %d rows for %d", a.Len(), b.NumRows())
	}
	return a, nil
}

// oneBatchReader serves one full-row batch as the scanned table.
type oneBatchReader struct{ b arrow.RecordBatch }

func (r *oneBatchReader) ScanTable(_ context.Context, _ *catalog.Table, cols []int, _ bool) (exec.Operator, error) {
	return &batchScan{batches: []arrow.RecordBatch{r.b}, cols: cols}, nil
}

// runGuarded runs a view's dataflow, turning a panic (a bug) into the
// view's error so one broken view cannot take the server down.
func runGuarded(ctx context.Context, m *stream.Materialize) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = pgerror.Internal("materialized view dataflow panicked: %v", r)
		}
	}()
	return m.Run(ctx)
}

// coordName is a view's name in the coordinator.
func coordName(id catalog.ObjectID) string { return strconv.FormatInt(int64(id), 10) }

// stateStats is the size of all of the view's state: its contents and
// what its aggregates and joins spilled.
func (v *mview) stateStats() state.Stats {
	st := v.mat.StateStats()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, t := range v.spillTables {
		x := t.Stats()
		st.Keys += x.Keys
		st.MemBytes += x.MemBytes
		st.DiskBytes += x.DiskBytes
	}
	return st
}

// partSpiller is a spilling operator keyed by partition (group top-N,
// OVER window).
type partSpiller interface {
	SpillStats() stream.PartitionSpillStats
}

func partSpillers(b *streamplan.Builder) []partSpiller {
	var ps []partSpiller
	for _, g := range b.SpillingTopN {
		ps = append(ps, g)
	}
	for _, w := range b.SpillingWindows {
		ps = append(ps, w)
	}
	return ps
}
