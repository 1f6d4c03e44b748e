package streamplan

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/agg"
	"github.com/sabotsql/sabotsql/exec/kernels/timewin"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

func distinctOrderedSupported(a planner.AggCall) error {
	if a.Distinct && len(a.OrderBy) > 0 {
		return pgerror.Unsupported("aggregate %s with both DISTINCT and ORDER BY is not supported in materialized views", a.Fn.Name)
	}
	return nil
}

// wrapDistinctOrdered makes DISTINCT and ORDER BY aggregates retractable:
// DISTINCT counts each argument tuple and feeds the aggregate on its first
// copy; ORDER BY keeps each group's rows sorted and refolds changed groups.
func wrapDistinctOrdered(a planner.AggCall, argTypes []types.T, mk func() kernels.GroupedAcc) (func() kernels.GroupedAcc, error) {
	if err := distinctOrderedSupported(a); err != nil {
		return nil, err
	}
	if a.Distinct {
		return func() kernels.GroupedAcc { return agg.NewDistinct(argTypes, mk()) }, nil
	}
	ots := make([]types.T, len(a.OrderBy))
	desc := make([]bool, len(a.OrderBy))
	nf := make([]bool, len(a.OrderBy))
	for i, k := range a.OrderBy {
		ots[i], desc[i], nf[i] = k.E.Type(), k.Desc, k.NullsFirst
	}
	return func() kernels.GroupedAcc { return agg.NewOrdered(argTypes, ots, desc, nf, mk) }, nil
}

// compareOps are the comparison operators a dynamic filter supports.
var compareOps = map[string]bool{"<": true, "<=": true, ">": true, ">=": true, "=": true, "<>": true}

// isDynamic matches expr op (SELECT scalar) and its mirror.
func isDynamic(c planner.Expr) bool {
	call, ok := c.(*planner.Call)
	if !ok || call.Fn == nil || len(call.Args) != 2 || !compareOps[call.Fn.Name] {
		return false
	}
	for _, a := range call.Args {
		if sq, ok := unwrapSubquery(a); ok {
			return sq.Kind == planner.SubScalar && !sq.Correlated
		}
	}
	return false
}

// isSemiAnti matches x IN (SELECT …) and x NOT IN (SELECT …), uncorrelated.
func isSemiAnti(c planner.Expr) bool {
	if n, ok := c.(*planner.Not); ok {
		c = n.E
	}
	sq, ok := c.(*planner.Subquery)
	return ok && sq.Kind == planner.SubAny && !sq.Correlated && sq.Op != nil && sq.Op.Name == "=" && sq.Left != nil
}

func (b *Builder) specialFilter(ctx context.Context, in flow, schema planner.Schema, c planner.Expr) (flow, error) {
	if isTemporal(c) {
		return b.temporalFilter(ctx, in, schema, c.(*planner.Call))
	}
	if isDynamic(c) {
		return b.dynamicFilter(ctx, in, schema, c.(*planner.Call))
	}
	notIn := false
	if n, ok := c.(*planner.Not); ok {
		c, notIn = n.E, true
	}
	return b.semiAnti(ctx, in, schema, c.(*planner.Subquery), notIn)
}

// dynamicFilter maintains expr op (SELECT scalar) with a DynamicFilter:
// when the subquery's value changes, only the rows between the old and new
// value move.
func (b *Builder) dynamicFilter(ctx context.Context, in flow, schema planner.Schema, call *planner.Call) (flow, error) {
	op := call.Fn.Name
	lhs, sub := call.Args[0], call.Args[1]
	sq, isSub := unwrapSubquery(sub)
	if !isSub {
		lhs, sub = call.Args[1], call.Args[0]
		sq, _ = unwrapSubquery(sub)
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}[op]
	}
	fail := func(err error) (flow, error) {
		in.ex.Close()
		return flow{}, err
	}
	if err := checkExprs(&planner.Project{Input: &planner.Values{}, Exprs: []planner.Expr{lhs}}); err != nil {
		return fail(err)
	}
	right, err := b.build(ctx, sq.Plan)
	if err != nil {
		return fail(err)
	}
	if len(right.ts) != 1 {
		right.ex.Close()
		return fail(pgerror.New(pgerror.SyntaxError, "subquery must return only one column"))
	}
	rt := right.ts[0]
	if rt.Family != lhs.Type().Family {
		// Compare in a common type (int8 > (SELECT min(int4)) …), as the
		// batch engine's cross-type operators do.
		ct, err := commonKeyType(lhs.Type(), rt)
		if err != nil {
			right.ex.Close()
			return fail(pgerror.Unsupported("comparing %s with a scalar subquery of type %s is not supported in materialized views", lhs.Type(), rt))
		}
		if lhs.Type().Family != ct.Family {
			lhs = &planner.Cast{E: lhs, To: ct}
		}
		if rt.Family != ct.Family {
			if right, err = b.castOne(right, rt, ct); err != nil {
				return fail(err)
			}
			rt = ct
		}
	}
	return b.dynamicOver(in, schema, lhs, op, right, rt, false)
}

// dynamicOver filters in by lhs op (right's single value, of type rt, the
// type lhs has); mono: right's value never decreases.
func (b *Builder) dynamicOver(in flow, schema planner.Schema, lhs planner.Expr, op string, right flow, rt types.T, mono bool) (flow, error) {
	in, ext, pos, err := b.extend(in, schema, []planner.Expr{lhs})
	if err != nil {
		right.ex.Close()
		return flow{}, err
	}
	df, err := stream.NewDynamicFilter(in.ex, right.ex, ext.Types(), pos[0], op, rt)
	if err != nil {
		in.ex.Close()
		right.ex.Close()
		return flow{}, err
	}
	df.WithMemBudget(b.MemBudget)
	if mono {
		df.WithMonotonic()
	}
	return b.narrow(flow{ex: df, ts: ext.Types(), wm: map[int]bool{}}, ext, len(schema))
}

// semiAnti maintains x IN (SELECT k …) as a join with the subquery's
// distinct keys, and x NOT IN (SELECT k …) as PostgreSQL evaluates it: true
// when the subquery is empty; otherwise only for a non-NULL x without a
// match while the subquery yields no NULL.
func (b *Builder) semiAnti(ctx context.Context, in flow, schema planner.Schema, sq *planner.Subquery, notIn bool) (flow, error) {
	fail := func(err error) (flow, error) {
		in.ex.Close()
		return flow{}, err
	}
	lhs := sq.Left
	if err := checkExprs(&planner.Project{Input: &planner.Values{}, Exprs: []planner.Expr{lhs}}); err != nil {
		return fail(err)
	}
	right, err := b.build(ctx, sq.Plan)
	if err != nil {
		return fail(err)
	}
	if len(right.ts) != 1 {
		right.ex.Close()
		return fail(pgerror.Unsupported("IN with a multi-column subquery is not supported in materialized views"))
	}
	lt, rt := lhs.Type(), right.ts[0]
	rs := planner.Schema{{Name: "k", T: rt}}
	if lt.Family != rt.Family {
		ct, err := commonKeyType(lt, rt)
		if err != nil {
			right.ex.Close()
			return fail(err)
		}
		if lt.Family != ct.Family {
			lhs = &planner.Cast{E: lhs, To: ct}
		}
		if rt.Family != ct.Family {
			if right, err = b.castOne(right, rt, ct); err != nil {
				return fail(err)
			}
			rt = ct
			rs = planner.Schema{{Name: "k", T: ct}}
		}
	}
	var stats stream.Executor
	if notIn {
		// A second reader of the subquery: its row count and NULL count.
		r2, err := b.build(ctx, sq.Plan)
		if err != nil {
			right.ex.Close()
			return fail(err)
		}
		cstar, err1 := stream.LookupAgg(b.Reg, "count", nil, nil)
		ccol, err2 := stream.LookupAgg(b.Reg, "count", []int{0}, []types.T{r2.ts[0]})
		if err1 != nil || err2 != nil {
			r2.ex.Close()
			right.ex.Close()
			return fail(pgerror.Internal("streamplan: count aggregates missing"))
		}
		cstar.Name, ccol.Name = "n", "nn"
		st, err := stream.NewHashAggregate(r2.ex, r2.ts, nil, []stream.AggCall{cstar, ccol}, b.Env.Eval)
		if err != nil {
			r2.ex.Close()
			right.ex.Close()
			return fail(err)
		}
		stats = st
	}
	dist, err := stream.NewHashAggregate(right.ex, []types.T{rt}, []int{0}, nil, b.Env.Eval)
	if err != nil {
		right.ex.Close()
		return fail(err)
	}
	in, ext, pos, err := b.extend(in, schema, []planner.Expr{lhs})
	if err != nil {
		dist.Close()
		if stats != nil {
			stats.Close()
		}
		return flow{}, err
	}
	jt := stream.InnerJoin
	if notIn {
		jt = stream.LeftJoin
	}
	hj, err := stream.NewHashJoin(in.ex, dist, ext.Types(), []types.T{rt}, []int{pos[0]}, []int{0}, jt)
	if err != nil {
		in.ex.Close()
		dist.Close()
		if stats != nil {
			stats.Close()
		}
		return flow{}, err
	}
	hj.WithMemBudget(b.MemBudget)
	if err := b.spillJoin(ctx, hj); err != nil {
		hj.Close()
		if stats != nil {
			stats.Close()
		}
		return flow{}, err
	}
	joined := append(append(planner.Schema{}, ext...), rs...)
	f := flow{ex: hj, ts: joined.Types(), wm: map[int]bool{}}
	if !notIn {
		return b.narrow(f, joined, len(schema))
	}
	// Join the one-row statistics on a constant key and decide.
	one := &planner.Const{Val: int64(1), T: types.Int4T}
	f, joined2, lpos, err := b.extend(f, joined, []planner.Expr{one})
	if err != nil {
		stats.Close()
		return flow{}, err
	}
	ss := planner.Schema{{Name: "n", T: types.Int8T}, {Name: "nn", T: types.Int8T}}
	sf, ss2, spos, err := b.extend(flow{ex: stats, ts: ss.Types(), wm: map[int]bool{}}, ss, []planner.Expr{one})
	if err != nil {
		f.ex.Close()
		return flow{}, err
	}
	hj2, err := stream.NewHashJoin(f.ex, sf.ex, joined2.Types(), ss2.Types(), lpos, spos, stream.InnerJoin)
	if err != nil {
		f.ex.Close()
		sf.ex.Close()
		return flow{}, err
	}
	hj2.WithMemBudget(b.MemBudget)
	all := append(append(planner.Schema{}, joined2...), ss2...)
	nCol := len(joined2)
	col := func(i int) planner.Expr { return &planner.ColRef{Idx: i, T: all[i].T} }
	eq := func(a, c planner.Expr) planner.Expr {
		return &planner.IsDistinct{L: a, R: c, Negate: true, Eq: b.eqFn(a.Type())}
	}
	zero := &planner.Const{Val: int64(0), T: types.Int8T}
	// n = 0 OR (x IS NOT NULL AND n = nn AND no match)
	cond := &planner.Or{Args: []planner.Expr{
		eq(col(nCol), zero),
		&planner.And{Args: []planner.Expr{
			&planner.IsNull{E: col(pos[0]), Negate: true},
			eq(col(nCol), col(nCol+1)),
			&planner.IsNull{E: col(len(ext))},
		}},
	}}
	ev, err := exec.Compile(b.Env, cond, all)
	if err != nil {
		hj2.Close()
		return flow{}, err
	}
	out := flow{ex: stream.NewFilter(hj2, ev), ts: all.Types(), wm: map[int]bool{}}
	return b.narrow(out, all, len(schema))
}

// eqFn resolves "=" for a type.
func (b *Builder) eqFn(t types.T) *kernels.ScalarFunc {
	for _, f := range b.Reg.Scalars("=") {
		if len(f.Args) == 2 && f.Args[0].Family == t.Family && f.Args[1].Family == t.Family {
			return f
		}
	}
	return nil
}

// castOne casts the only column of f (a subquery's) from type from to to.
func (b *Builder) castOne(f flow, from, to types.T) (flow, error) {
	return b.project(f, []planner.Expr{&planner.Cast{E: &planner.ColRef{Idx: 0, T: from}, To: to}},
		planner.Schema{{Name: "v", T: from}}, planner.Schema{{Name: "v", T: to}})
}

func unwrapSubquery(e planner.Expr) (*planner.Subquery, bool) {
	if c, ok := e.(*planner.Cast); ok {
		e = c.E
	}
	s, ok := e.(*planner.Subquery)
	return s, ok
}

// markTopN finds rank <= N (or < N, = 1) over a window's only ranking
// call, through projections that pass columns on, and marks the window.
func (b *Builder) markTopN(n planner.Node, conj []planner.Expr) {
	for _, c := range conj {
		call, ok := c.(*planner.Call)
		if !ok || call.Fn == nil || len(call.Args) != 2 {
			continue
		}
		col, isCol := call.Args[0].(*planner.ColRef)
		k, isConst := call.Args[1].(*planner.Const)
		if !isCol || !isConst || k.Val == nil {
			continue
		}
		lim, ok := k.Val.(int64)
		if !ok {
			continue
		}
		switch call.Fn.Name {
		case "<=":
		case "<":
			lim--
		case "=":
			if lim != 1 {
				continue
			}
		default:
			continue
		}
		idx, node := col.Idx, n
		for {
			p, ok := node.(*planner.Project)
			if !ok {
				break
			}
			r, ok := p.Exprs[idx].(*planner.ColRef)
			if !ok {
				idx = -1
				break
			}
			idx, node = r.Idx, p.Input
		}
		w, ok := node.(*planner.Window)
		if !ok || idx < 0 || len(w.Calls) != 1 || idx != len(w.Out)-1 || lim < 0 {
			continue
		}
		switch w.Calls[0].Name {
		case "row_number", "rank", "dense_rank":
			if w.Calls[0].Agg != nil || w.Calls[0].Filter != nil || len(w.Calls[0].OrderBy) == 0 {
				continue
			}
			if b.topN == nil {
				b.topN = map[*planner.Window]int64{}
			}
			if old, seen := b.topN[w]; !seen || lim < old {
				b.topN[w] = lim
			}
		}
	}
}

// window maintains window functions with an OverWindow: a changed
// partition is recomputed by the batch window operator and only changed
// rows are emitted.
func (b *Builder) window(ctx context.Context, x *planner.Window) (flow, error) {
	if len(x.Calls) == 0 {
		return b.build(ctx, x.Input)
	}
	first := x.Calls[0]
	for _, c := range x.Calls[1:] {
		if !sameExprs(c.PartitionBy, first.PartitionBy) || !sameKeys(c.OrderBy, first.OrderBy) {
			return flow{}, pgerror.Unsupported("window functions with different PARTITION BY or ORDER BY in one materialized view are not supported")
		}
	}
	in, err := b.build(ctx, x.Input)
	if err != nil {
		return flow{}, err
	}
	schema := x.Input.Schema()
	for _, e := range append(append([]planner.Expr{}, first.PartitionBy...), sortExprs(first.OrderBy)...) {
		if _, ok := e.(*planner.ColRef); !ok {
			in.ex.Close()
			return flow{}, pgerror.Unsupported("PARTITION BY and ORDER BY of window functions in materialized views must be columns")
		}
	}
	part := make([]int, len(first.PartitionBy))
	for i, e := range first.PartitionBy {
		part[i] = e.(*planner.ColRef).Idx
	}
	opos := make([]int, len(first.OrderBy))
	for i, k := range first.OrderBy {
		opos[i] = k.E.(*planner.ColRef).Idx
	}
	if lim, ok := b.topN[x]; ok {
		// A bounded rank: keep only the top rows of each partition.
		gt, err := stream.NewGroupTopN(in.ex, in.ts, part, sortCols(first.OrderBy, opos), first.Name, lim, true)
		if err != nil {
			in.ex.Close()
			return flow{}, err
		}
		gt.WithMemBudget(b.MemBudget)
		if err := b.spillTopN(ctx, gt); err != nil {
			gt.Close()
			return flow{}, err
		}
		return flow{ex: gt, ts: x.Out.Types(), wm: map[int]bool{}}, nil
	}
	env := b.Env
	outSchema := arrowSchema(x.Out)
	nIn := len(schema)
	// compute evaluates the calls over any set of rows (one partition or
	// several): a hidden position column brings the window operator's
	// output back into the input's row order.
	posSchema := append(append(planner.Schema{}, schema...), planner.Column{Name: "_pos", T: types.Int8T})
	wOut := append(append(planner.Schema{}, posSchema...), x.Out[nIn:]...)
	compute := func(ctx context.Context, rows arrow.RecordBatch) ([]arrow.Array, error) {
		n := int(rows.NumRows())
		pb := array.NewInt64Builder(env.Eval.Mem)
		for i := 0; i < n; i++ {
			pb.Append(int64(i))
		}
		pos := pb.NewArray()
		pb.Release()
		cols := append(append([]arrow.Array{}, rows.Columns()...), pos)
		withPos := array.NewRecordBatch(arrowSchema(posSchema), cols, int64(n))
		pos.Release()
		defer withPos.Release()
		src := &catalog.Table{ID: partitionTableID, Name: "partition"}
		scan := &planner.Scan{Table: src, Out: posSchema}
		for i, c := range posSchema {
			src.Columns = append(src.Columns, catalog.Column{Name: c.Name, T: c.T})
			scan.Cols = append(scan.Cols, i)
		}
		w := &planner.Window{Input: scan, Calls: x.Calls, Out: wOut}
		e2 := *env
		e2.Tables = batchReader{b: withPos}
		e2.Mem = exec.NewMemAccount(1 << 40)
		out, err := exec.Run(ctx, &e2, w)
		if err != nil {
			return nil, err
		}
		defer func() {
			for _, o := range out {
				o.Release()
			}
		}()
		inv := make([]int32, n)
		k := 0
		for _, o := range out {
			pc := o.Column(nIn).(*array.Int64)
			for i := 0; i < pc.Len(); i++ {
				inv[pc.Value(i)] = int32(k)
				k++
			}
		}
		if k != n {
			return nil, pgerror.Internal("streamplan: window returned %d rows for %d", k, n)
		}
		res := make([]arrow.Array, len(x.Out)-nIn)
		for j := range res {
			parts := make([]arrow.Array, 0, len(out))
			for _, o := range out {
				parts = append(parts, o.Column(nIn+1+j))
			}
			if len(parts) == 0 {
				bld := array.NewBuilder(env.Eval.Mem, outSchema.Field(nIn+j).Type)
				res[j] = bld.NewArray()
				bld.Release()
				continue
			}
			all := concatArrays(env, parts)
			res[j] = vec.Take(env.Eval.Mem, all, inv)
			all.Release()
		}
		return res, nil
	}
	if f, ok, err := rollingWindow(x, in, part, compute, b.MemBudget); ok || err != nil {
		if err != nil {
			in.ex.Close()
		}
		return f, err
	}
	ow, err := stream.NewOverWindow(in.ex, in.ts, outSchema, part, sortCols(first.OrderBy, opos), compute)
	if err != nil {
		in.ex.Close()
		return flow{}, err
	}
	ow.WithMemBudget(b.MemBudget)
	if lb := windowLookback(x.Calls); lb >= 0 {
		ow = ow.WithLookback(lb)
	}
	if err := b.spillWindow(ctx, ow); err != nil {
		ow.Close()
		return flow{}, err
	}
	return flow{ex: ow, ts: x.Out.Types(), wm: map[int]bool{}}, nil
}

// windowLookback bounds how many preceding rows the calls read when every
// call is an aggregate over ROWS BETWEEN n PRECEDING AND CURRENT ROW or a
// lag; -1 otherwise (row numbers, unbounded or following frames).
func windowLookback(calls []planner.WindowCall) int {
	lb := 0
	for _, c := range calls {
		switch {
		case c.Agg != nil:
			f := c.Frame
			if f.Mode != planner.FrameRows || f.End.Kind != planner.CurrentRow {
				return -1
			}
			switch f.Start.Kind {
			case planner.CurrentRow:
			case planner.OffsetPreceding:
				n, ok := constInt(f.Start.Offset)
				if !ok || n < 0 || n > 1<<20 {
					return -1
				}
				lb = max(lb, int(n))
			default:
				return -1
			}
		case c.Name == "lag":
			n := int64(1)
			if len(c.Args) > 1 {
				v, ok := constInt(c.Args[1])
				if !ok || v < 0 || v > 1<<20 {
					return -1
				}
				n = v
			}
			lb = max(lb, int(n))
		default:
			return -1
		}
	}
	return lb
}

func constInt(e planner.Expr) (int64, bool) {
	k, ok := e.(*planner.Const)
	if !ok {
		return 0, false
	}
	v, ok := k.Val.(int64)
	return v, ok
}

// partitionTableID names the one-batch input of a window recomputation.
const partitionTableID catalog.ObjectID = 2

// batchReader serves one batch as the only table.
type batchReader struct{ b arrow.RecordBatch }

func (r batchReader) ScanTable(_ context.Context, _ *catalog.Table, _ []int, _ bool) (exec.Operator, error) {
	return &oneBatch{b: r.b}, nil
}

type oneBatch struct {
	b    arrow.RecordBatch
	done bool
}

func (o *oneBatch) Init(context.Context) error { return nil }
func (o *oneBatch) Next() (arrow.RecordBatch, error) {
	if o.done || o.b.NumRows() == 0 {
		return nil, nil
	}
	o.done = true
	return o.b, nil
}
func (o *oneBatch) Close() error { return nil }

func concatArrays(env *exec.Env, parts []arrow.Array) arrow.Array {
	if len(parts) == 1 {
		parts[0].Retain()
		return parts[0]
	}
	out, err := array.Concatenate(parts, env.Eval.Mem)
	if err != nil {
		panic(err) // same types by construction
	}
	return out
}

func sameExprs(a, b []planner.Expr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

func sameKeys(a, b []planner.SortKey) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].E.String() != b[i].E.String() || a[i].Desc != b[i].Desc || a[i].NullsFirst != b[i].NullsFirst {
			return false
		}
	}
	return true
}

// timeWindow maps tumble to a projection, hop and session to their
// streaming operators.
func (b *Builder) timeWindow(ctx context.Context, x *planner.TimeWindow) (flow, error) {
	in, err := b.build(ctx, x.Input)
	if err != nil {
		return flow{}, err
	}
	nIn := len(x.Input.Schema())
	outWM := map[int]bool{}
	for c := range in.wm {
		outWM[c] = true
	}
	switch x.Kind {
	case planner.WindowTumble:
		// Rows with a NULL time have no window: drop them first.
		notNull := &planner.IsNull{E: &planner.ColRef{Idx: x.TimeCol, T: x.Input.Schema()[x.TimeCol].T}, Negate: true}
		fev, err := exec.Compile(b.Env, notNull, x.Input.Schema())
		if err != nil {
			in.ex.Close()
			return flow{}, err
		}
		filtered := stream.NewFilter(in.ex, fev)
		evs := make([]stream.Evaluator, 0, len(x.Out))
		wm := map[int]int{}
		for i := 0; i < nIn; i++ {
			evs = append(evs, colEval(i))
			if in.wm[i] {
				wm[i] = i
			}
		}
		mem := b.Env.Eval.Mem
		evs = append(evs, &tumbleCol{n: x, mem: mem}, &tumbleCol{n: x, mem: mem, end: true})
		p, err := stream.NewProject(filtered, evs, arrowSchema(x.Out))
		if err != nil {
			filtered.Close()
			return flow{}, err
		}
		p = p.WithWatermarks(wm)
		if in.wm[x.TimeCol] {
			p = p.WithDerivedWatermark(x.TimeCol, nIn, func(d types.Datum) (types.Datum, error) {
				return shiftTime(d, func(v int64) (int64, error) { return timewin.TumbleStart(v, x.Size, x.Offset) })
			})
			outWM[nIn] = true
		}
		return flow{ex: p, ts: x.Out.Types(), appendOnly: in.appendOnly, wm: outWM}, nil
	case planner.WindowHop:
		h, err := stream.NewHop(in.ex, x.TimeCol, x.Slide, x.Size, x.Offset)
		if err != nil {
			in.ex.Close()
			return flow{}, err
		}
		h.WithMemBudget(b.MemBudget)
		if in.wm[x.TimeCol] {
			outWM[nIn] = true
		}
		return flow{ex: h, ts: x.Out.Types(), appendOnly: in.appendOnly, wm: outWM}, nil
	case planner.WindowSession:
		s, err := stream.NewSession(in.ex, in.ts, x.TimeCol, x.Size)
		if err != nil {
			in.ex.Close()
			return flow{}, err
		}
		s.WithMemBudget(b.MemBudget)
		return flow{ex: s, ts: x.Out.Types(), wm: map[int]bool{}}, nil
	}
	return flow{}, pgerror.Internal("streamplan: time window kind %d", x.Kind)
}

func shiftTime(d types.Datum, f func(int64) (int64, error)) (types.Datum, error) {
	switch v := d.(type) {
	case types.Timestamp:
		r, err := f(int64(v))
		return types.Timestamp(r), err
	case types.TimestampTZ:
		r, err := f(int64(v))
		return types.TimestampTZ(r), err
	case int64:
		return f(v)
	}
	return d, nil
}

// colEval passes an input column through.
type colEval int

func (c colEval) Eval(_ context.Context, b arrow.RecordBatch) (arrow.Array, error) {
	a := b.Column(int(c))
	a.Retain()
	return a, nil
}

// tumbleCol computes a tumble's window_start (or window_end) of the rows
// of a batch whose time column is never NULL.
type tumbleCol struct {
	n   *planner.TimeWindow
	mem memory.Allocator
	end bool
}

func (c *tumbleCol) Eval(_ context.Context, b arrow.RecordBatch) (arrow.Array, error) {
	starts, err := timewin.TumbleStartArray(c.mem, b.Column(c.n.TimeCol), c.n.Size, c.n.Offset)
	if err != nil || !c.end {
		return starts, err
	}
	defer starts.Release()
	size, err := timewin.Micros(c.n.Size)
	if err != nil {
		return nil, err
	}
	vals, _ := timewin.Int64Values(starts)
	ends := make([]int64, len(vals))
	for i, v := range vals {
		ends[i] = v + size
	}
	return timewin.NewInt64Array(c.mem, starts.DataType(), ends), nil
}
