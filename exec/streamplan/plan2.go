package streamplan

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

func distinctOrderedSupported(a planner.AggCall) error {
	return nil
}

// wrapDistinctOrdered makes DISTINCT and ORDER BY aggregates retractable.
func wrapDistinctOrdered(a planner.AggCall, argTypes []types.T, mk func() kernels.GroupedAcc) (func() kernels.GroupedAcc, error) {
	if a.Distinct && len(a.OrderBy) > 0 {
		return nil, pgerror.Unsupported("aggregate %s with both DISTINCT and ORDER BY is not supported in materialized views", a.Fn.Name)
	}
	return nil, pgerror.Unsupported("aggregate %s with DISTINCT or ORDER BY is not supported in materialized views yet", a.Fn.Name)
}

// compareOps are the comparison operators a dynamic filter supports.
var compareOps = map[string]bool{"<": true, "<=": true, ">": true, ">=": true, "=": true, "<>": true}

// dynamicFilter recognizes WHERE expr op (SELECT scalar) (and its mirror)
// and maintains it with a DynamicFilter: when the subquery's value changes,
// only the rows between the old and new value move.
func (b *Builder) dynamicFilter(ctx context.Context, x *planner.Filter) (flow, bool, error) {
	call, ok := x.Cond.(*planner.Call)
	if !ok || call.Fn == nil || len(call.Args) != 2 || !compareOps[call.Fn.Name] {
		return flow{}, false, nil
	}
	op := call.Fn.Name
	lhs, sub := call.Args[0], call.Args[1]
	sq, isSub := unwrapSubquery(sub)
	if !isSub {
		lhs, sub = call.Args[1], call.Args[0]
		if sq, isSub = unwrapSubquery(sub); !isSub {
			return flow{}, false, nil
		}
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}[op]
	}
	if sq.Kind != planner.SubScalar || sq.Correlated {
		return flow{}, false, nil
	}
	if _, isCast := sub.(*planner.Cast); isCast {
		// The subquery's value would need a cast inside the filter.
		return flow{}, true, pgerror.Unsupported("a comparison with a scalar subquery of another type is not supported in materialized views")
	}
	in, err := b.build(ctx, x.Input)
	if err != nil {
		return flow{}, true, err
	}
	schema := x.Input.Schema()
	in, ext, pos, err := b.extend(in, schema, []planner.Expr{lhs})
	if err != nil {
		return flow{}, true, err
	}
	right, err := b.build(ctx, sq.Plan)
	if err != nil {
		in.ex.Close()
		return flow{}, true, err
	}
	if len(right.ts) != 1 {
		in.ex.Close()
		right.ex.Close()
		return flow{}, true, pgerror.New(pgerror.SyntaxError, "subquery must return only one column")
	}
	if right.ts[0].Family != lhs.Type().Family {
		in.ex.Close()
		right.ex.Close()
		return flow{}, true, pgerror.Unsupported("comparing %s with a scalar subquery of type %s is not supported in materialized views", lhs.Type(), right.ts[0])
	}
	df, err := stream.NewDynamicFilter(in.ex, right.ex, ext.Types(), pos[0], op, right.ts[0])
	if err != nil {
		in.ex.Close()
		right.ex.Close()
		return flow{}, true, err
	}
	f, err := b.narrow(flow{ex: df, ts: ext.Types(), appendOnly: false, wm: map[int]bool{}}, ext, len(schema))
	return f, true, err
}

func unwrapSubquery(e planner.Expr) (*planner.Subquery, bool) {
	if c, ok := e.(*planner.Cast); ok {
		e = c.E
	}
	s, ok := e.(*planner.Subquery)
	return s, ok
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
	env := b.Env
	outSchema := arrowSchema(x.Out)
	nIn := len(schema)
	compute := func(ctx context.Context, rows arrow.RecordBatch) ([]arrow.Array, error) {
		src := &catalog.Table{ID: partitionTableID, Name: "partition"}
		scan := &planner.Scan{Table: src, Out: schema}
		for i, c := range schema {
			src.Columns = append(src.Columns, catalog.Column{Name: c.Name, T: c.T})
			scan.Cols = append(scan.Cols, i)
		}
		w := &planner.Window{Input: scan, Calls: x.Calls, Out: x.Out}
		e2 := *env
		e2.Tables = batchReader{b: rows}
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
		res := make([]arrow.Array, len(x.Out)-nIn)
		for j := range res {
			parts := make([]arrow.Array, 0, len(out))
			for _, o := range out {
				parts = append(parts, o.Column(nIn+j))
			}
			if len(parts) == 0 {
				bld := array.NewBuilder(env.Eval.Mem, outSchema.Field(nIn+j).Type)
				res[j] = bld.NewArray()
				bld.Release()
				continue
			}
			res[j] = concatArrays(env, parts)
		}
		return res, nil
	}
	ow, err := stream.NewOverWindow(in.ex, in.ts, outSchema, part, sortCols(first.OrderBy, opos), compute)
	if err != nil {
		in.ex.Close()
		return flow{}, err
	}
	return flow{ex: ow, ts: x.Out.Types(), wm: map[int]bool{}}, nil
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
		ev := &tumbleEval{n: x, schema: arrowSchema(x.Out), mem: b.Env}
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
		evs = append(evs, ev.col(0), ev.col(1))
		p, err := stream.NewProject(filtered, evs, arrowSchema(x.Out))
		if err != nil {
			filtered.Close()
			return flow{}, err
		}
		p = p.WithWatermarks(wm)
		if in.wm[x.TimeCol] {
			size, off := exec.IntervalMicros(x.Size), exec.IntervalMicros(x.Offset)
			p = p.WithDerivedWatermark(x.TimeCol, nIn, func(d types.Datum) (types.Datum, error) {
				return shiftTime(d, func(v int64) int64 { return exec.TumbleStart(v, size, off) }), nil
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
		return flow{ex: s, ts: x.Out.Types(), wm: map[int]bool{}}, nil
	}
	return flow{}, pgerror.Internal("streamplan: time window kind %d", x.Kind)
}

func shiftTime(d types.Datum, f func(int64) int64) types.Datum {
	switch v := d.(type) {
	case types.Timestamp:
		return types.Timestamp(f(int64(v)))
	case types.TimestampTZ:
		return types.TimestampTZ(f(int64(v)))
	case int64:
		return f(v)
	}
	return d
}

// colEval passes an input column through.
type colEval int

func (c colEval) Eval(_ context.Context, b arrow.RecordBatch) (arrow.Array, error) {
	a := b.Column(int(c))
	a.Retain()
	return a, nil
}

// tumbleEval computes window_start (col 0) or window_end (col 1) of a tumble.
type tumbleEval struct {
	n      *planner.TimeWindow
	schema *arrow.Schema
	mem    *exec.Env
}

type tumbleCol struct {
	t   *tumbleEval
	end bool
}

func (t *tumbleEval) col(i int) stream.Evaluator { return &tumbleCol{t: t, end: i == 1} }

func (c *tumbleCol) Eval(_ context.Context, b arrow.RecordBatch) (arrow.Array, error) {
	n := c.t.n
	out, err := exec.WindowRows(c.t.mem.Eval.Mem, n, b, c.t.schema)
	if err != nil {
		return nil, err
	}
	defer out.Release()
	if out.NumRows() != b.NumRows() {
		return nil, pgerror.Internal("tumble over NULL times")
	}
	col := out.Column(int(out.NumCols()) - 2)
	if c.end {
		col = out.Column(int(out.NumCols()) - 1)
	}
	col.Retain()
	return col, nil
}

var _ = strings.ToLower
