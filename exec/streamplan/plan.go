package streamplan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/agg"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
)

// RelInfo describes a streaming input.
type RelInfo struct {
	// AppendOnly inputs never delete or update rows.
	AppendOnly bool
	// WatermarkCol is the column carrying watermarks (-1: none).
	WatermarkCol int
}

// Inputs supplies the leaves of a dataflow.
type Inputs interface {
	// Relation returns an executor of the changes of a table or
	// materialized view (its full row in catalog column order), starting
	// with its current contents as inserts.
	Relation(ctx context.Context, id catalog.ObjectID) (stream.Executor, RelInfo, error)
	// Ticks returns an executor that emits only barriers (the clock of
	// inputs that never change).
	Ticks(ctx context.Context) (stream.Executor, error)
}

// Builder turns one optimized query plan into a dataflow.
type Builder struct {
	// Env compiles expressions (its Tables are unused: constant subplans
	// are evaluated through it once, so it needs a reader only for them).
	Env *exec.Env
	Reg *kernels.Registry
	In  Inputs

	// States, when set, opens an empty state table for one operator of the
	// dataflow; role names the operator uniquely within the dataflow
	// ("agg1", …). Grouped aggregates get one and spill their groups to it
	// beyond SpillBytes (stream.HashAggregate.WithSpill), which owns and
	// closes it; equi-joins get two ("join2_left", "join2_right") and spill
	// their sides' buckets likewise (stream.HashJoin.WithSpill, spillJoin);
	// group top-N ("topn3") and window operators ("window4") get one each
	// for their partitions (spillTopN, spillWindow).
	// nil: operators keep all their state in memory.
	States func(ctx context.Context, role string, valueSchema *arrow.Schema) (state.Table, error)
	// SpillBytes is the memory each grouped aggregate, join, group top-N
	// and window operator may hold before it spills (with States).
	SpillBytes int64
	// Clock is the time source of temporal filters' now() (nil: the wall
	// clock).
	Clock func() time.Time
	// Explain, when set, records the dataflow Build makes (EXPLAIN).
	Explain *Explain
	// MemBudget, when set, is charged with the state of the dataflow's
	// joins, top-N, window, set-operation, session and dynamic-filter
	// operators; one that is refused fails the view with 53200.
	MemBudget stream.MemBudget
	// Spilling lists the aggregates Build gave a state table (for their
	// SpillStats once the dataflow has stopped).
	Spilling []*stream.HashAggregate
	// SpillingJoins lists the joins Build gave state tables (for their
	// SpillStats once the dataflow has stopped).
	SpillingJoins []*stream.HashJoin
	// SpillingTopN lists the group top-N operators Build gave a state
	// table ("topn<n>", spillTopN; for their SpillStats once the dataflow
	// has stopped).
	SpillingTopN []*stream.GroupTopN
	// SpillingWindows lists the window operators (stream.OverWindow) Build
	// gave a state table ("window<n>", spillWindow).
	SpillingWindows []*stream.OverWindow

	// nstates numbers the States roles.
	nstates int

	// topN marks Window nodes whose ranking column a filter bounds
	// (rank <= N): they are maintained as group top-N.
	topN map[*planner.Window]int64
}

// Result is a built dataflow.
type Result struct {
	Root       stream.Executor
	Types      []types.T
	AppendOnly bool
	// WatermarkCols are the output columns carrying watermarks.
	WatermarkCols map[int]bool
	// Key lists output columns whose values are unique per row (the group
	// columns of an aggregate at the root; empty for a global aggregate,
	// which has one row); nil when no key is known.
	Key []int
}

// flow is a partially built dataflow.
type flow struct {
	ex         stream.Executor
	ts         []types.T
	appendOnly bool
	wm         map[int]bool
	key        []int // unique key columns, nil when unknown
	// insertMostly: deletes are rare (a rolling window's retractions)
	insertMostly bool
}

// Build builds the dataflow for plan n. On error the executors built so far
// are closed.
func (b *Builder) Build(ctx context.Context, n planner.Node) (*Result, error) {
	f, err := b.build(ctx, n)
	if err != nil {
		return nil, err
	}
	// The view's Materialize stores rows without a key blindly when they
	// are never or rarely deleted (stream.BagMode).
	root := f.ex
	switch {
	case f.appendOnly:
		root = stream.HintBagMode(root, stream.BagAppendOnly)
	case f.insertMostly:
		root = stream.HintBagMode(root, stream.BagInsertMostly)
	}
	return &Result{Root: root, Types: f.ts, AppendOnly: f.appendOnly, WatermarkCols: f.wm, Key: f.key}, nil
}

// hasStreamingInput reports whether n reads a table or view.
func hasStreamingInput(n planner.Node) bool {
	if _, ok := n.(*planner.Scan); ok {
		return true
	}
	for _, c := range n.Children() {
		if hasStreamingInput(c) {
			return true
		}
	}
	return false
}

func (b *Builder) build(ctx context.Context, n planner.Node) (flow, error) {
	return b.traced(ctx, n, func() (flow, error) { return b.buildNode(ctx, n) })
}

func (b *Builder) buildNode(ctx context.Context, n planner.Node) (flow, error) {
	if !hasStreamingInput(n) {
		return b.constant(ctx, n)
	}
	if _, isFilter := n.(*planner.Filter); !isFilter {
		if err := checkExprs(n); err != nil {
			return flow{}, err
		}
	}
	switch x := n.(type) {
	case *planner.Scan:
		return b.scan(ctx, x)
	case *planner.Filter:
		return b.filter(ctx, x)
	case *planner.Project:
		in, err := b.build(ctx, x.Input)
		if err != nil {
			return flow{}, err
		}
		return b.project(in, x.Exprs, x.Input.Schema(), x.Out)
	case *planner.Aggregate:
		return b.aggregate(ctx, x)
	case *planner.Join:
		return b.join(ctx, x)
	case *planner.Sort:
		// A view is a set: ordering matters only under a LIMIT.
		return b.build(ctx, x.Input)
	case *planner.Limit:
		return b.limit(ctx, x)
	case *planner.Distinct:
		return b.distinct(ctx, x)
	case *planner.SetOp:
		return b.setOp(ctx, x)
	case *planner.Window:
		return b.window(ctx, x)
	case *planner.TimeWindow:
		return b.timeWindow(ctx, x)
	}
	return flow{}, pgerror.Unsupported("%s is not supported in materialized views", strings.ToLower(n.Op()))
}

// checkExprs refuses expressions a dataflow cannot maintain: volatile
// functions (a retraction would not cancel its insertion) and subqueries
// (handled only as dynamic filters, before this check).
func checkExprs(n planner.Node) error {
	var err error
	for _, e := range planner.NodeExprs(n) {
		planner.WalkExpr(e, func(x planner.Expr) bool {
			if err != nil {
				return false
			}
			switch y := x.(type) {
			case *planner.Call:
				if y.Fn != nil && y.Fn.Volatility == kernels.Volatile {
					err = pgerror.Unsupported("volatile function %s is not supported in materialized views over tables", y.Fn.Name)
				}
				if y.Fn != nil && clockFuncs[y.Fn.Name] {
					// Evaluated once, it would freeze the view at CREATE.
					err = pgerror.Unsupported("%s() in a materialized view is supported only in a temporal filter: a WHERE condition comparing a column with it, as ts > now() - INTERVAL '1 hour'", y.Fn.Name)
				}
			case *planner.Subquery:
				err = pgerror.Unsupported("subqueries in expressions are not supported in materialized views (except a comparison with a scalar subquery in WHERE)")
			case *planner.Param:
				err = pgerror.New(pgerror.UndefinedParameter, "there is no parameter $%d", y.Idx+1)
			}
			return err == nil
		})
	}
	return err
}

func (b *Builder) scan(ctx context.Context, s *planner.Scan) (flow, error) {
	if s.RowID {
		return flow{}, pgerror.Internal("streamplan: scan with row ids")
	}
	ex, info, err := b.In.Relation(ctx, s.Table.ID)
	if err != nil {
		return flow{}, err
	}
	all := make([]types.T, len(s.Table.Columns))
	for i, c := range s.Table.Columns {
		all[i] = c.T
	}
	f := flow{ex: ex, ts: all, appendOnly: info.AppendOnly, wm: map[int]bool{}}
	if info.WatermarkCol >= 0 {
		f.wm[info.WatermarkCol] = true
	}
	identity := len(s.Cols) == len(all)
	for i, c := range s.Cols {
		identity = identity && c == i
	}
	if identity {
		return f, nil
	}
	exprs := make([]planner.Expr, len(s.Cols))
	in := make(planner.Schema, len(all))
	for i, c := range s.Table.Columns {
		in[i] = planner.Column{Name: c.Name, T: c.T}
	}
	for i, c := range s.Cols {
		exprs[i] = &planner.ColRef{Idx: c, T: all[c]}
	}
	return b.project(f, exprs, in, s.Out)
}

// project evaluates exprs over f (whose schema is in) into out.
func (b *Builder) project(f flow, exprs []planner.Expr, in planner.Schema, out planner.Schema) (flow, error) {
	evs := make([]stream.Evaluator, len(exprs))
	wm := map[int]int{}
	outWM := map[int]bool{}
	for i, e := range exprs {
		ev, err := exec.Compile(b.Env, e, in)
		if err != nil {
			f.ex.Close()
			return flow{}, err
		}
		evs[i] = &nullOnError{ev: ev, t: e.Type(), mem: b.Env.Eval.Mem}
		if c, ok := e.(*planner.ColRef); ok && f.wm[c.Idx] {
			if _, dup := wm[c.Idx]; !dup {
				wm[c.Idx] = i
				outWM[i] = true
			}
		}
	}
	p, err := stream.NewProject(f.ex, evs, arrowSchema(out))
	if err != nil {
		f.ex.Close()
		return flow{}, err
	}
	return flow{ex: p.WithWatermarks(wm), ts: out.Types(), appendOnly: f.appendOnly, wm: outWM, key: mapKey(f.key, exprs), insertMostly: f.insertMostly}, nil
}

// extend appends computed columns to f: the result has f's columns then
// one per expr; positions of the new columns are returned.
func (b *Builder) extend(f flow, in planner.Schema, exprs []planner.Expr) (flow, planner.Schema, []int, error) {
	if len(exprs) == 0 {
		return f, in, nil, nil
	}
	all := make([]planner.Expr, 0, len(in)+len(exprs))
	out := make(planner.Schema, 0, len(in)+len(exprs))
	for i, c := range in {
		all = append(all, &planner.ColRef{Idx: i, T: c.T})
		out = append(out, planner.Column{Name: c.Name, T: c.T})
	}
	pos := make([]int, len(exprs))
	for i, e := range exprs {
		if c, ok := e.(*planner.ColRef); ok {
			pos[i] = c.Idx
			continue
		}
		pos[i] = len(all)
		all = append(all, e)
		out = append(out, planner.Column{Name: fmt.Sprintf("_x%d", i), T: e.Type()})
	}
	if len(all) == len(in) {
		return f, in, pos, nil
	}
	nf, err := b.project(f, all, in, out)
	return nf, out, pos, err
}

// narrow keeps the first n columns of f (whose schema is in).
func (b *Builder) narrow(f flow, in planner.Schema, n int) (flow, error) {
	if n == len(in) {
		return f, nil
	}
	exprs := make([]planner.Expr, n)
	for i := range exprs {
		exprs[i] = &planner.ColRef{Idx: i, T: in[i].T}
	}
	return b.project(f, exprs, in, in[:n])
}

func (b *Builder) filter(ctx context.Context, x *planner.Filter) (flow, error) {
	var conj []planner.Expr
	var split func(e planner.Expr)
	split = func(e planner.Expr) {
		if a, ok := e.(*planner.And); ok {
			for _, c := range a.Args {
				split(c)
			}
			return
		}
		conj = append(conj, e)
	}
	split(x.Cond)
	b.markTopN(x.Input, conj)
	// IN / NOT IN (uncorrelated subquery) become semi and anti joins, and a
	// comparison with a scalar subquery a dynamic filter; the rest is a
	// plain filter on top.
	var rest []planner.Expr
	var special []planner.Expr
	for _, c := range conj {
		if isSemiAnti(c) || isDynamic(c) || isTemporal(c) {
			special = append(special, c)
		} else {
			rest = append(rest, c)
		}
	}
	if len(special) == 0 {
		if err := checkExprs(x); err != nil {
			return flow{}, err
		}
	}
	in, err := b.build(ctx, x.Input)
	if err != nil {
		return flow{}, err
	}
	schema := x.Input.Schema()
	for _, c := range special {
		if in, err = b.specialFilter(ctx, in, schema, c); err != nil {
			return flow{}, err
		}
	}
	if len(rest) == 0 {
		return in, nil
	}
	cond := rest[0]
	if len(rest) > 1 {
		cond = &planner.And{Args: rest}
	}
	if err := checkExprs(&planner.Filter{Input: x.Input, Cond: cond}); err != nil {
		in.ex.Close()
		return flow{}, err
	}
	ev, err := exec.Compile(b.Env, cond, schema)
	if err != nil {
		in.ex.Close()
		return flow{}, err
	}
	in.ex = stream.NewFilter(in.ex, &nullOnError{ev: ev, t: types.BoolT, mem: b.Env.Eval.Mem})
	return in, nil
}

// constant evaluates a plan without streaming inputs once (VALUES,
// generate_series, SELECT random()) and emits its rows as inserts in the
// view's first epoch.
func (b *Builder) constant(ctx context.Context, n planner.Node) (flow, error) {
	rows, err := exec.Run(ctx, b.Env, n)
	if err != nil {
		return flow{}, err
	}
	ticks, err := b.In.Ticks(ctx)
	if err != nil {
		for _, r := range rows {
			r.Release()
		}
		return flow{}, err
	}
	return flow{ex: stream.NewPrefixed(arrowSchema(n.Schema()), rows, ticks), ts: n.Schema().Types(), appendOnly: true, wm: map[int]bool{}}, nil
}

func arrowSchema(s planner.Schema) *arrow.Schema {
	fs := make([]arrow.Field, len(s))
	for i, c := range s {
		fs[i] = types.ArrowField(c.Name, c.T)
	}
	return arrow.NewSchema(fs, nil)
}

// aggregate builds a HashAggregate over a projection of the group keys and
// the aggregate arguments.
func (b *Builder) aggregate(ctx context.Context, x *planner.Aggregate) (flow, error) {
	in, err := b.build(ctx, x.Input)
	if err != nil {
		return flow{}, err
	}
	inSchema := x.Input.Schema()
	var exprs []planner.Expr
	exprs = append(exprs, x.GroupBy...)
	type argPos struct{ args []int }
	calls := make([]stream.AggCall, 0, len(x.Aggs))
	for i, a := range x.Aggs {
		if a.Distinct || len(a.OrderBy) > 0 {
			if err := distinctOrderedSupported(a); err != nil {
				in.ex.Close()
				return flow{}, err
			}
		}
		var cols []int
		var argTypes []types.T
		for _, e := range a.Args {
			cols = append(cols, len(exprs))
			exprs = append(exprs, e)
			argTypes = append(argTypes, e.Type())
		}
		var orderCols []int
		for _, k := range a.OrderBy {
			orderCols = append(orderCols, len(exprs))
			exprs = append(exprs, k.E)
		}
		filterCol := -1
		if a.Filter != nil {
			filterCol = len(exprs)
			exprs = append(exprs, a.Filter)
		}
		call, err := aggCall(fmt.Sprintf("_a%d", i), a, argTypes, in.appendOnly)
		if err != nil {
			in.ex.Close()
			return flow{}, err
		}
		call.Args = append(cols, orderCols...)
		if filterCol >= 0 {
			inner := call.New
			call.New = func() kernels.GroupedAcc { return withState(newFilterAcc(inner())) }
			call.Args = append(call.Args, filterCol)
		}
		calls = append(calls, call)
	}
	pre := make(planner.Schema, len(exprs))
	for i, e := range exprs {
		pre[i] = planner.Column{Name: fmt.Sprintf("_g%d", i), T: e.Type()}
		if i < len(x.GroupBy) && i < len(x.Out) {
			pre[i].Name = x.Out[i].Name
		}
	}
	pf, err := b.project(in, exprs, inSchema, pre)
	if err != nil {
		return flow{}, err
	}
	groupCols := make([]int, len(x.GroupBy))
	for i := range groupCols {
		groupCols[i] = i
	}
	for i := range calls {
		calls[i].Name = x.Out[len(x.GroupBy)+i].Name
	}
	h, err := stream.NewHashAggregate(pf.ex, pre.Types(), groupCols, calls, b.Env.Eval)
	if err != nil {
		pf.ex.Close()
		return flow{}, err
	}
	if b.States != nil && len(groupCols) > 0 {
		b.nstates++
		t, err := b.States(ctx, fmt.Sprintf("agg%d", b.nstates), stream.AggSpillSchema())
		if err != nil {
			h.Close()
			return flow{}, err
		}
		h.WithSpill(t, b.SpillBytes)
		b.Spilling = append(b.Spilling, h)
	}
	outWM := map[int]bool{}
	for i := range x.GroupBy {
		if pf.wm[i] {
			outWM[i] = true
		}
	}
	key := make([]int, len(x.GroupBy))
	for i := range key {
		key[i] = i
	}
	return flow{ex: h, ts: x.Out.Types(), wm: outWM, key: key}, nil
}

// mapKey carries a unique key through a projection that outputs every key
// column unchanged; otherwise the key is lost.
func mapKey(key []int, exprs []planner.Expr) []int {
	if key == nil {
		return nil
	}
	out := make([]int, 0, len(key))
	for _, k := range key {
		found := -1
		for i, e := range exprs {
			if c, ok := e.(*planner.ColRef); ok && c.Idx == k {
				found = i
				break
			}
		}
		if found < 0 {
			return nil
		}
		out = append(out, found)
	}
	return out
}

// aggCall resolves one planner aggregate to a retractable stream aggregate.
//
// Over an append-only input nothing is ever retracted, so aggregates
// without Retract (the order-dependent fintech aggregates such as ewma,
// folded in arrival order) are allowed there; over inputs with updates or
// deletes they need an ORDER BY inside the call (the group's rows are then
// kept and refolded) or are refused.
func aggCall(name string, a planner.AggCall, argTypes []types.T, appendOnly bool) (stream.AggCall, error) {
	fn := a.Fn
	ret := a.T
	fname := strings.ToLower(fn.Name)
	mk := func() kernels.GroupedAcc { return fn.New(argTypes, ret) }
	if (fname == "min" || fname == "max") && len(argTypes) == 1 {
		t, isMax := argTypes[0], fname == "max"
		mk = func() kernels.GroupedAcc { return agg.NewRetractableMinMax(t, isMax) }
	}
	if len(a.OrderBy) > 0 || a.Distinct {
		var err error
		if mk, err = wrapDistinctOrdered(a, argTypes, mk); err != nil {
			return stream.AggCall{}, err
		}
	}
	acc := mk()
	_, r1 := acc.(kernels.Retractor)
	_, r2 := acc.(kernels.GroupResulter)
	if !r2 {
		return stream.AggCall{}, pgerror.Unsupported("aggregate %s(%s) is not supported in materialized views (it cannot report a running result)", fn.Name, typeNames(argTypes))
	}
	if !r1 {
		if !appendOnly {
			if fn.OrderSensitive {
				return stream.AggCall{}, pgerror.Unsupported("aggregate %s(%s) depends on row order: over an input with updates or deletes, give it an ORDER BY inside the call (or make the table APPEND ONLY)", fn.Name, typeNames(argTypes))
			}
			return stream.AggCall{}, pgerror.Unsupported("aggregate %s(%s) is not supported in materialized views over inputs with updates or deletes (it cannot retract rows)", fn.Name, typeNames(argTypes))
		}
		inner := mk
		mk = func() kernels.GroupedAcc { return withState(appendOnlyAcc{inner()}) }
	}
	return stream.AggCall{Name: name, New: mk, Type: ret}, nil
}

// appendOnlyAcc lets a non-retractable accumulator run over an append-only
// input; a retraction there is a bug, reported as an internal error.
type appendOnlyAcc struct{ kernels.GroupedAcc }

func (a appendOnlyAcc) Retract(*kernels.EvalContext, []uint32, []arrow.Array) error {
	return pgerror.Internal("streamplan: retraction reached an aggregate over an append-only input")
}

func (a appendOnlyAcc) AppendResult(ctx *kernels.EvalContext, g uint32, b array.Builder) error {
	return a.GroupedAcc.(kernels.GroupResulter).AppendResult(ctx, g, b)
}

func typeNames(ts []types.T) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, ", ")
}

// filterAcc applies FILTER (WHERE …): its last argument is the condition;
// rows where it is not true are skipped.
type filterAcc struct {
	inner kernels.GroupedAcc
	buf   []uint32
}

func newFilterAcc(inner kernels.GroupedAcc) *filterAcc { return &filterAcc{inner: inner} }

func (f *filterAcc) wrapped() kernels.GroupedAcc { return f.inner }

func (a appendOnlyAcc) wrapped() kernels.GroupedAcc { return a.GroupedAcc }

// stateWrapper is an accumulator wrapping another (FILTER, append-only).
type stateWrapper interface {
	kernels.GroupedAcc
	kernels.Retractor
	kernels.GroupResulter
	wrapped() kernels.GroupedAcc
	// updatesAsInner reports whether the wrapper's Update is its inner
	// accumulator's Update of the same rows (append-only: it only adds a
	// Retract that refuses; FILTER: no, it masks rows). Only then may the
	// inner accumulator's fused fold (kernels.TouchFolder) stand for it.
	updatesAsInner() bool
}

func (a appendOnlyAcc) updatesAsInner() bool { return true }
func (f *filterAcc) updatesAsInner() bool    { return false }

// statefulAcc is a wrapper whose inner accumulator can save and restore
// group state: the wrappers keep no per-group state of their own, so the
// inner accumulator's state is the whole state, and the aggregate can
// spill.
type statefulAcc struct {
	stateWrapper
	kernels.GroupStater
}

// batchedAcc is a wrapper forwarding its inner accumulator's batched
// results (stream.GroupResultsAppender): the wrappers do not change a
// group's result, so the inner accumulator's results are the wrapper's.
type batchedAcc struct {
	stateWrapper
	stream.GroupResultsAppender
}

// statefulBatchedAcc is statefulAcc forwarding the batched results too.
type statefulBatchedAcc struct {
	stateWrapper
	kernels.GroupStater
	stream.GroupResultsAppender
}

// The *FolderAcc variants also forward the inner accumulator's fused fold
// (kernels.TouchFolder), for wrappers whose Update is the inner one's
// (updatesAsInner). The aggregate calls FoldTouch only for chunks without
// retractions, so an append-only wrapper's refusing Retract still sees
// every retraction.
type (
	folderAcc struct {
		stateWrapper
		kernels.TouchFolder
	}
	statefulFolderAcc struct {
		stateWrapper
		kernels.GroupStater
		kernels.TouchFolder
	}
	batchedFolderAcc struct {
		stateWrapper
		stream.GroupResultsAppender
		kernels.TouchFolder
	}
	statefulBatchedFolderAcc struct {
		stateWrapper
		kernels.GroupStater
		stream.GroupResultsAppender
		kernels.TouchFolder
	}
)

// withState returns w, made a kernels.GroupStater and a
// stream.GroupResultsAppender when its inner accumulator is one, and a
// kernels.TouchFolder when its inner accumulator is one and w updates as
// it does.
func withState(w stateWrapper) kernels.GroupedAcc {
	st, isSt := w.wrapped().(kernels.GroupStater)
	ga, isGA := w.wrapped().(stream.GroupResultsAppender)
	if tf, isTF := w.wrapped().(kernels.TouchFolder); isTF && w.updatesAsInner() {
		switch {
		case isSt && isGA:
			return statefulBatchedFolderAcc{w, st, ga, tf}
		case isSt:
			return statefulFolderAcc{w, st, tf}
		case isGA:
			return batchedFolderAcc{w, ga, tf}
		}
		return folderAcc{w, tf}
	}
	switch {
	case isSt && isGA:
		return statefulBatchedAcc{w, st, ga}
	case isSt:
		return statefulAcc{w, st}
	case isGA:
		return batchedAcc{w, ga}
	}
	return w
}

func (f *filterAcc) Grow(n int)         { f.inner.Grow(n) }
func (f *filterAcc) MemoryBytes() int64 { return f.inner.MemoryBytes() }

func (f *filterAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return f.inner.Finish(ctx, b)
}

func (f *filterAcc) mask(groups []uint32, args []arrow.Array) ([]uint32, []arrow.Array) {
	cond := args[len(args)-1].(*array.Boolean)
	f.buf = append(f.buf[:0], groups...)
	for i := range f.buf {
		if !cond.IsValid(i) || !cond.Value(i) {
			f.buf[i] = kernels.NoGroup
		}
	}
	return f.buf, args[:len(args)-1]
}

func (f *filterAcc) Update(ctx *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	g, a := f.mask(groups, args)
	return f.inner.Update(ctx, g, a)
}

func (f *filterAcc) Retract(ctx *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	r, ok := f.inner.(kernels.Retractor)
	if !ok {
		return pgerror.Internal("streamplan: filtered aggregate cannot retract")
	}
	g, a := f.mask(groups, args)
	return r.Retract(ctx, g, a)
}

func (f *filterAcc) AppendResult(ctx *kernels.EvalContext, g uint32, b array.Builder) error {
	r, ok := f.inner.(kernels.GroupResulter)
	if !ok {
		return pgerror.Internal("streamplan: filtered aggregate cannot report results")
	}
	return r.AppendResult(ctx, g, b)
}

// join builds a hash join; key expressions that are not plain columns are
// computed into extra columns first, and a constant key stands in for
// joins without equality conditions.
func (b *Builder) join(ctx context.Context, x *planner.Join) (flow, error) {
	if x.Kind == planner.JoinAsOf || x.Kind == planner.JoinAsOfLeft {
		return b.asofJoin(ctx, x)
	}
	var jt stream.JoinType
	switch x.Kind {
	case planner.JoinInner, planner.JoinCross:
		jt = stream.InnerJoin
	case planner.JoinLeft:
		jt = stream.LeftJoin
	case planner.JoinRight:
		jt = stream.RightJoin
	case planner.JoinFull:
		jt = stream.FullJoin
	default:
		return flow{}, pgerror.Unsupported("semi and anti joins are not supported in materialized views")
	}
	lk, rk := x.LeftKeys, x.RightKeys
	if len(lk) == 0 {
		one := &planner.Const{Val: int64(1), T: types.Int4T}
		lk, rk = []planner.Expr{one}, []planner.Expr{one}
	}
	// Keys of different families meet in a common type.
	lk, rk = append([]planner.Expr(nil), lk...), append([]planner.Expr(nil), rk...)
	for i := range lk {
		lt, rt := lk[i].Type(), rk[i].Type()
		if lt.Family != rt.Family {
			ct, err := commonKeyType(lt, rt)
			if err != nil {
				return flow{}, err
			}
			if lt.Family != ct.Family {
				lk[i] = &planner.Cast{E: lk[i], To: ct}
			}
			if rt.Family != ct.Family {
				rk[i] = &planner.Cast{E: rk[i], To: ct}
			}
		}
	}
	left, err := b.build(ctx, x.Left)
	if err != nil {
		return flow{}, err
	}
	right, err := b.build(ctx, x.Right)
	if err != nil {
		left.ex.Close()
		return flow{}, err
	}
	// A key both of whose columns carry watermarks goes first: the join
	// cleans its state below them, its spill tables by range on the first
	// key (see stream.HashJoin's watermarks).
	for i := range lk {
		lc, lok := lk[i].(*planner.ColRef)
		rc, rok := rk[i].(*planner.ColRef)
		if lok && rok && left.wm[lc.Idx] && right.wm[rc.Idx] {
			lk[0], lk[i] = lk[i], lk[0]
			rk[0], rk[i] = rk[i], rk[0]
			break
		}
	}
	ls, rs := x.Left.Schema(), x.Right.Schema()
	left, ls2, lpos, err := b.extend(left, ls, lk)
	if err != nil {
		right.ex.Close()
		return flow{}, err
	}
	right, rs2, rpos, err := b.extend(right, rs, rk)
	if err != nil {
		left.ex.Close()
		return flow{}, err
	}
	hj, err := stream.NewHashJoin(left.ex, right.ex, ls2.Types(), rs2.Types(), lpos, rpos, jt)
	if err != nil {
		left.ex.Close()
		right.ex.Close()
		return flow{}, err
	}
	hj.WithMemBudget(b.MemBudget)
	bands := joinBands(x.Cond, len(ls), ls, rs, left.wm, right.wm, left.appendOnly, right.appendOnly)
	hj.WithBands(bands)
	residual := x.Cond != nil && jt != stream.InnerJoin
	if residual {
		cond, err := b.pairCond(x.Cond, ls, rs)
		if err != nil {
			hj.Close()
			return flow{}, err
		}
		hj = hj.WithCondition(cond)
	}
	// A cross join keeps its sides in one bucket: spilling would rewrite
	// and reread the whole side, so it stays in memory.
	if len(x.LeftKeys) > 0 {
		if err := b.spillJoin(ctx, hj); err != nil {
			hj.Close()
			return flow{}, err
		}
	}
	joined := append(append(planner.Schema{}, ls2...), rs2...)
	f := flow{ex: hj, ts: joined.Types(), wm: map[int]bool{}}
	// The join forwards the smaller of its inputs' watermarks on a key's
	// two columns, on both output copies.
	for i := range lpos {
		if left.wm[lpos[i]] && right.wm[rpos[i]] {
			f.wm[lpos[i]], f.wm[len(ls2)+rpos[i]] = true, true
		}
	}
	// An interval join forwards each band's bound on its column when that
	// column has watermarks of its own and is not a join key.
	for _, bd := range bands {
		if bd.Side == 0 && left.wm[bd.Col] && !slices.Contains(lpos, bd.Col) {
			f.wm[bd.Col] = true
		}
		if bd.Side == 1 && right.wm[bd.Col] && !slices.Contains(rpos, bd.Col) {
			f.wm[len(ls2)+bd.Col] = true
		}
	}
	if jt == stream.InnerJoin {
		f.appendOnly = left.appendOnly && right.appendOnly
	}
	// Back to left columns + right columns.
	if len(ls2) != len(ls) || len(rs2) != len(rs) {
		exprs := make([]planner.Expr, 0, len(ls)+len(rs))
		for i, c := range ls {
			exprs = append(exprs, &planner.ColRef{Idx: i, T: c.T})
		}
		for i, c := range rs {
			exprs = append(exprs, &planner.ColRef{Idx: len(ls2) + i, T: c.T})
		}
		out := append(append(planner.Schema{}, ls...), rs...)
		if f, err = b.project(f, exprs, joined, out); err != nil {
			return flow{}, err
		}
	}
	if x.Cond != nil && !residual {
		ev, err := exec.Compile(b.Env, x.Cond, append(append(planner.Schema{}, ls...), rs...))
		if err != nil {
			f.ex.Close()
			return flow{}, err
		}
		f.ex = stream.NewFilter(f.ex, ev)
	}
	return f, nil
}

func commonKeyType(a, b types.T) (types.T, error) {
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
		case types.FamFloat4:
			return 5
		case types.FamFloat8:
			return 6
		}
		return 0
	}
	ra, rb := rank(a), rank(b)
	if ra == 0 || rb == 0 {
		if a.IsString() && b.IsString() {
			return types.TextT, nil
		}
		return types.T{}, pgerror.Unsupported("join keys of types %s and %s are not supported in materialized views", a, b)
	}
	if ra >= rb {
		return a, nil
	}
	return b, nil
}

func sortCols(keys []planner.SortKey, pos []int) []stream.SortCol {
	out := make([]stream.SortCol, len(keys))
	for i, k := range keys {
		out[i] = stream.SortCol{Col: pos[i], Desc: k.Desc, NullsFirst: k.NullsFirst}
	}
	return out
}

func sortExprs(keys []planner.SortKey) []planner.Expr {
	out := make([]planner.Expr, len(keys))
	for i, k := range keys {
		out[i] = k.E
	}
	return out
}

// limit maintains ORDER BY … LIMIT n [OFFSET m] as a top-N.
func (b *Builder) limit(ctx context.Context, x *planner.Limit) (flow, error) {
	if x.CountExpr != nil || x.OffsetExpr != nil {
		return flow{}, pgerror.Unsupported("LIMIT and OFFSET in materialized views must be constants")
	}
	s, ok := x.Input.(*planner.Sort)
	if !ok {
		if x.Count < 0 && x.Offset == 0 {
			return b.build(ctx, x.Input)
		}
		return flow{}, pgerror.Unsupported("LIMIT without ORDER BY is not supported in materialized views")
	}
	in, err := b.build(ctx, s.Input)
	if err != nil {
		return flow{}, err
	}
	schema := s.Input.Schema()
	in, ext, pos, err := b.extend(in, schema, sortExprs(s.Keys))
	if err != nil {
		return flow{}, err
	}
	count := x.Count
	if count < 0 {
		count = 1 << 62
	}
	tn, err := stream.NewTopN(in.ex, ext.Types(), sortCols(s.Keys, pos), count, x.Offset, x.WithTies)
	if err != nil {
		in.ex.Close()
		return flow{}, err
	}
	tn.WithMemBudget(b.MemBudget)
	return b.narrow(flow{ex: tn, ts: ext.Types(), wm: map[int]bool{}}, ext, len(schema))
}

// distinct is DISTINCT (a grouping without aggregates) or DISTINCT ON (a
// per-group top-1 under the ORDER BY below it).
func (b *Builder) distinct(ctx context.Context, x *planner.Distinct) (flow, error) {
	if len(x.On) == 0 {
		in, err := b.build(ctx, x.Input)
		if err != nil {
			return flow{}, err
		}
		cols := make([]int, len(in.ts))
		for i := range cols {
			cols[i] = i
		}
		h, err := stream.NewHashAggregate(in.ex, in.ts, cols, nil, b.Env.Eval)
		if err != nil {
			in.ex.Close()
			return flow{}, err
		}
		return flow{ex: h, ts: in.ts, wm: in.wm, key: cols}, nil
	}
	var keys []planner.SortKey
	child := x.Input
	if s, ok := child.(*planner.Sort); ok {
		keys, child = s.Keys, s.Input
	}
	in, err := b.build(ctx, child)
	if err != nil {
		return flow{}, err
	}
	schema := child.Schema()
	exprs := append(append([]planner.Expr{}, x.On...), sortExprs(keys)...)
	in, ext, pos, err := b.extend(in, schema, exprs)
	if err != nil {
		return flow{}, err
	}
	part := pos[:len(x.On)]
	order := sortCols(keys, pos[len(x.On):])
	// Ties on the ORDER BY keep one row chosen by the remaining columns.
	gt, err := stream.NewGroupTopN(in.ex, ext.Types(), part, order, "row_number", 1, false)
	if err != nil {
		in.ex.Close()
		return flow{}, err
	}
	gt.WithMemBudget(b.MemBudget)
	if err := b.spillTopN(ctx, gt); err != nil {
		gt.Close()
		return flow{}, err
	}
	return b.narrow(flow{ex: gt, ts: ext.Types(), wm: map[int]bool{}}, ext, len(schema))
}

func (b *Builder) setOp(ctx context.Context, x *planner.SetOp) (flow, error) {
	left, err := b.build(ctx, x.Left)
	if err != nil {
		return flow{}, err
	}
	right, err := b.build(ctx, x.Right)
	if err != nil {
		left.ex.Close()
		return flow{}, err
	}
	// Give both sides the output's column names so their schemas match.
	names := func(f flow, in planner.Schema) (flow, error) {
		exprs := make([]planner.Expr, len(in))
		for i, c := range in {
			exprs[i] = &planner.ColRef{Idx: i, T: c.T}
		}
		return b.project(f, exprs, in, x.Out)
	}
	if left, err = names(left, x.Left.Schema()); err != nil {
		right.ex.Close()
		return flow{}, err
	}
	if right, err = names(right, x.Right.Schema()); err != nil {
		left.ex.Close()
		return flow{}, err
	}
	ts := x.Out.Types()
	switch x.Kind {
	case planner.SetUnion:
		u, err := stream.NewUnion(ts, left.ex, right.ex)
		if err != nil {
			left.ex.Close()
			right.ex.Close()
			return flow{}, err
		}
		f := flow{ex: u, ts: ts, appendOnly: left.appendOnly && right.appendOnly, wm: map[int]bool{}}
		if x.All {
			return f, nil
		}
		cols := make([]int, len(ts))
		for i := range cols {
			cols[i] = i
		}
		h, err := stream.NewHashAggregate(u, ts, cols, nil, b.Env.Eval)
		if err != nil {
			u.Close()
			return flow{}, err
		}
		return flow{ex: h, ts: ts, wm: map[int]bool{}}, nil
	case planner.SetIntersect, planner.SetExcept:
		kind := "intersect"
		if x.Kind == planner.SetExcept {
			kind = "except"
		}
		so, err := stream.NewSetOp(left.ex, right.ex, ts, kind, x.All)
		if err != nil {
			left.ex.Close()
			right.ex.Close()
			return flow{}, err
		}
		so.WithMemBudget(b.MemBudget)
		return flow{ex: so, ts: ts, wm: map[int]bool{}}, nil
	}
	return flow{}, pgerror.Internal("streamplan: set operation %d", x.Kind)
}

// pairCond compiles an ON condition over (left row, right row) Datums (the
// rows may carry extra key columns after the first len(ls)/len(rs)).
func (b *Builder) pairCond(cond planner.Expr, ls, rs planner.Schema) (func(l, r []types.Datum) (bool, error), error) {
	all := append(append(planner.Schema{}, ls...), rs...)
	ev, err := exec.Compile(b.Env, cond, all)
	if err != nil {
		return nil, err
	}
	schema := arrowSchema(all)
	mem := b.Env.Eval.Mem
	ctx := context.Background()
	return func(l, r []types.Datum) (bool, error) {
		cols := make([]arrow.Array, len(all))
		for i, c := range all {
			var d types.Datum
			if i < len(ls) {
				d = l[i]
			} else {
				d = r[i-len(ls)]
			}
			bld := array.NewBuilder(mem, schema.Field(i).Type)
			types.AppendDatum(bld, d, c.T)
			cols[i] = bld.NewArray()
			bld.Release()
		}
		rb := array.NewRecordBatch(schema, cols, 1)
		for _, c := range cols {
			c.Release()
		}
		defer rb.Release()
		res, err := ev.Eval(ctx, rb)
		if err != nil {
			return false, err
		}
		defer res.Release()
		bres, ok := res.(*array.Boolean)
		return ok && bres.IsValid(0) && bres.Value(0), nil
	}, nil
}
