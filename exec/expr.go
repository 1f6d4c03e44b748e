package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Evaluator computes one bound expression over batches of its owner's input.
// It is used by one goroutine; subquery results and constants are cached
// inside it for the statement's lifetime.
type Evaluator struct {
	env  *Env
	root node
	T    types.T
	subs []*subqueryNode
}

// release returns the memory held by cached subquery results.
func (ev *Evaluator) release() {
	for _, s := range ev.subs {
		s.release()
	}
}

// chunk is the set of rows an expression node is evaluated over: the input
// columns (nil entries are columns the node does not read) and a row count.
type chunk struct {
	ctx  context.Context
	cols []arrow.Array
	n    int
}

// node is a compiled expression. eval returns an array of c.n rows that the
// caller owns (and must Release).
type node interface {
	eval(c *chunk) (arrow.Array, error)
}

// Compile binds e, whose ColRefs index input, into an Evaluator.
func Compile(env *Env, e planner.Expr, input planner.Schema) (*Evaluator, error) {
	cp := &compiler{env: env, input: input}
	n, err := cp.compile(e)
	if err != nil {
		return nil, err
	}
	return &Evaluator{env: env, root: n, T: e.Type(), subs: cp.subs}, nil
}

// Eval computes the expression for every row of b. The result has b's row
// count and is owned by the caller.
func (ev *Evaluator) Eval(ctx context.Context, b arrow.RecordBatch) (arrow.Array, error) {
	return ev.root.eval(&chunk{ctx: ctx, cols: b.Columns(), n: int(b.NumRows())})
}

// evalCols evaluates over columns without a RecordBatch.
func (ev *Evaluator) evalCols(ctx context.Context, cols []arrow.Array, n int) (arrow.Array, error) {
	return ev.root.eval(&chunk{ctx: ctx, cols: cols, n: n})
}

// evalConst evaluates an expression that references no columns (one row).
func (ev *Evaluator) evalConst(ctx context.Context) (types.Datum, error) {
	defer ev.release()
	a, err := ev.root.eval(&chunk{ctx: ctx, n: 1})
	if err != nil {
		return nil, err
	}
	defer a.Release()
	return types.GetDatum(a, 0, ev.T), nil
}

type compiler struct {
	env   *Env
	input planner.Schema
	subs  []*subqueryNode
}

func (cp *compiler) evalCtx() *kernels.EvalContext { return cp.env.evalCtx() }

func (cp *compiler) compileAll(es []planner.Expr) ([]node, error) {
	out := make([]node, len(es))
	for i, e := range es {
		n, err := cp.compile(e)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

func (cp *compiler) compile(e planner.Expr) (node, error) {
	mem := cp.env.alloc()
	switch e := e.(type) {
	case *planner.ColRef:
		if e.Idx < 0 || (cp.input != nil && e.Idx >= len(cp.input)) {
			return nil, pgerror.Internal("column reference #%d outside input of %d columns", e.Idx, len(cp.input))
		}
		return &colNode{idx: e.Idx}, nil
	case *planner.Const:
		return &constNode{mem: mem, d: e.Val, t: e.T}, nil
	case *planner.Param:
		if e.Idx < 0 || e.Idx >= len(cp.env.Params) {
			return nil, pgerror.New(pgerror.UndefinedParameter, "there is no parameter $%d", e.Idx+1)
		}
		return &constNode{mem: mem, d: cp.env.Params[e.Idx], t: e.T}, nil
	case *planner.OuterRef:
		d, err := cp.env.outerValue(e)
		if err != nil {
			return nil, err
		}
		return &constNode{mem: mem, d: d, t: e.T}, nil
	case *planner.Call:
		args, err := cp.compileAll(e.Args)
		if err != nil {
			return nil, err
		}
		ats := make([]types.T, len(e.Args))
		for i, a := range e.Args {
			ats[i] = a.Type()
		}
		if e.Fn == nil {
			return nil, pgerror.Internal("call without a resolved function")
		}
		return &callNode{ctx: cp.evalCtx(), fn: e.Fn, args: args, argTypes: ats, t: e.T}, nil
	case *planner.Cast:
		in, err := cp.compile(e.E)
		if err != nil {
			return nil, err
		}
		return newCastNode(cp.evalCtx(), in, e.E.Type(), e.To, e.Explicit), nil
	case *planner.And:
		args, err := cp.compileAll(e.Args)
		if err != nil {
			return nil, err
		}
		return &logicNode{args: args, or: false, need: cp.need(e)}, nil
	case *planner.Or:
		args, err := cp.compileAll(e.Args)
		if err != nil {
			return nil, err
		}
		return &logicNode{args: args, or: true, need: cp.need(e)}, nil
	case *planner.Not:
		in, err := cp.compile(e.E)
		if err != nil {
			return nil, err
		}
		return &notNode{in: in}, nil
	case *planner.IsNull:
		in, err := cp.compile(e.E)
		if err != nil {
			return nil, err
		}
		return &isNullNode{in: in, negate: e.Negate}, nil
	case *planner.IsBool:
		in, err := cp.compile(e.E)
		if err != nil {
			return nil, err
		}
		return &isBoolNode{in: in, test: e.Test, negate: e.Negate}, nil
	case *planner.IsDistinct:
		l, err := cp.compile(e.L)
		if err != nil {
			return nil, err
		}
		r, err := cp.compile(e.R)
		if err != nil {
			return nil, err
		}
		if e.Eq == nil {
			return nil, pgerror.Internal("IS DISTINCT FROM without an equality operator")
		}
		eq := &fnApply{ctx: cp.evalCtx(), fn: e.Eq, argTypes: []types.T{e.L.Type(), e.R.Type()}, t: types.BoolT}
		return &isDistinctNode{l: l, r: r, eq: eq, negate: e.Negate}, nil
	case *planner.Case:
		cn := &caseNode{mem: mem, t: e.T, need: cp.need(e)}
		for _, w := range e.Whens {
			c, err := cp.compile(w.Cond)
			if err != nil {
				return nil, err
			}
			r, err := cp.compile(w.Result)
			if err != nil {
				return nil, err
			}
			cn.conds = append(cn.conds, c)
			cn.results = append(cn.results, r)
		}
		if e.Else != nil {
			el, err := cp.compile(e.Else)
			if err != nil {
				return nil, err
			}
			cn.els = el
		}
		return cn, nil
	case *planner.Coalesce:
		args, err := cp.compileAll(e.Args)
		if err != nil {
			return nil, err
		}
		return &coalesceNode{mem: mem, args: args, t: e.T, need: cp.need(e)}, nil
	case *planner.MinMax:
		args, err := cp.compileAll(e.Args)
		if err != nil {
			return nil, err
		}
		ats := make([]types.T, len(e.Args))
		for i, a := range e.Args {
			ats[i] = a.Type()
		}
		return &minMaxNode{mem: mem, args: args, argTypes: ats, greatest: e.Greatest, t: e.T}, nil
	case *planner.InList:
		l, err := cp.compile(e.E)
		if err != nil {
			return nil, err
		}
		list, err := cp.compileAll(e.List)
		if err != nil {
			return nil, err
		}
		if e.Eq == nil {
			return nil, pgerror.Internal("IN list without an equality operator")
		}
		var eqs []*fnApply
		for _, it := range e.List {
			eqs = append(eqs, &fnApply{ctx: cp.evalCtx(), fn: e.Eq, argTypes: []types.T{e.E.Type(), it.Type()}, t: types.BoolT})
		}
		return &inListNode{e: l, list: list, eqs: eqs, negate: e.Negate}, nil
	case *planner.Subquery:
		return cp.compileSubquery(e)
	case *planner.ArrayCtor, *planner.ArraySubscript, *planner.ArrayCompare:
		return cp.compileArray(e)
	case nil:
		return nil, pgerror.Internal("nil expression")
	}
	return nil, pgerror.Unsupported("expression %T is not supported by the executor", e)
}

// need lists the input columns an expression reads (nil: all columns, used
// when it contains a subquery, whose outer references are resolved later).
func (cp *compiler) need(e planner.Expr) []int {
	seen := map[int]bool{}
	all := false
	walkExpr(e, func(x planner.Expr) {
		switch x := x.(type) {
		case *planner.ColRef:
			seen[x.Idx] = true
		case *planner.Subquery:
			all = true
		}
	})
	if all {
		return nil
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	return out
}

// subset returns the rows sel of c, materializing only columns need (nil:
// all). When sel selects every row in order, c itself is returned.
func (c *chunk) subset(sel []int32, need []int) *chunk {
	if len(sel) == c.n {
		return c
	}
	out := &chunk{ctx: c.ctx, cols: make([]arrow.Array, len(c.cols)), n: len(sel)}
	if need == nil {
		for i, col := range c.cols {
			if col != nil {
				out.cols[i] = takeArr(col, sel)
			}
		}
	} else {
		for _, i := range need {
			if i < len(c.cols) && c.cols[i] != nil {
				out.cols[i] = takeArr(c.cols[i], sel)
			}
		}
	}
	return out
}

// release frees the columns of a chunk made by subset (not the caller's).
func (c *chunk) release(parent *chunk) {
	if c == parent {
		return
	}
	for _, col := range c.cols {
		if col != nil {
			col.Release()
		}
	}
}

// evalOn evaluates n over rows sel of c.
func evalOn(n node, c *chunk, sel []int32, need []int) (arrow.Array, error) {
	sub := c.subset(sel, need)
	defer sub.release(c)
	return n.eval(sub)
}

// --- leaves ---

type colNode struct{ idx int }

func (n *colNode) eval(c *chunk) (arrow.Array, error) {
	if n.idx >= len(c.cols) || c.cols[n.idx] == nil {
		return nil, pgerror.Internal("column #%d not available to expression", n.idx)
	}
	a := c.cols[n.idx]
	a.Retain()
	return a, nil
}

type constNode struct {
	mem   memory.Allocator
	d     types.Datum
	t     types.T
	cache arrow.Array
}

func (n *constNode) eval(c *chunk) (arrow.Array, error) {
	if n.cache == nil || n.cache.Len() < c.n {
		if n.cache != nil {
			n.cache.Release()
		}
		sz := c.n
		if sz < 1024 {
			sz = 1024
		}
		n.cache = constArr(n.mem, n.d, n.t, sz)
	}
	if n.cache.Len() == c.n {
		n.cache.Retain()
		return n.cache, nil
	}
	return array.NewSlice(n.cache, 0, int64(c.n)), nil
}

// --- function calls ---

// fnApply applies a scalar function to argument arrays.
type fnApply struct {
	ctx      *kernels.EvalContext
	fn       *kernels.ScalarFunc
	argTypes []types.T
	t        types.T
	datums   []types.Datum
}

func (f *fnApply) apply(args []arrow.Array, n int) (arrow.Array, error) {
	if f.fn.Vec != nil {
		out, err := f.fn.Vec(f.ctx, args, n)
		if err != nil {
			return nil, err
		}
		if out.Len() != n {
			out.Release()
			return nil, pgerror.Internal("function %s returned %d rows for %d", f.fn.Name, out.Len(), n)
		}
		return out, nil
	}
	if f.fn.Eval == nil {
		return nil, pgerror.Internal("function %s has no implementation", f.fn.Name)
	}
	if f.datums == nil {
		f.datums = make([]types.Datum, len(args))
	}
	bld := array.NewBuilder(f.ctx.Mem, types.ArrowType(f.t))
	defer bld.Release()
	bld.Reserve(n)
rows:
	for i := 0; i < n; i++ {
		for j, a := range args {
			if a.IsNull(i) {
				if f.fn.Strict {
					bld.AppendNull()
					continue rows
				}
				f.datums[j] = nil
				continue
			}
			f.datums[j] = types.GetDatum(a, i, f.argTypes[j])
		}
		d, err := f.fn.Eval(f.ctx, f.datums)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, d, f.t)
	}
	return bld.NewArray(), nil
}

type callNode struct {
	ctx      *kernels.EvalContext
	fn       *kernels.ScalarFunc
	args     []node
	argTypes []types.T
	t        types.T
	ap       *fnApply
}

func (n *callNode) eval(c *chunk) (arrow.Array, error) {
	if n.ap == nil {
		n.ap = &fnApply{ctx: n.ctx, fn: n.fn, argTypes: n.argTypes, t: n.t}
	}
	args, err := evalAll(n.args, c)
	if err != nil {
		return nil, err
	}
	defer releaseAll(args)
	return n.ap.apply(args, c.n)
}

func evalAll(ns []node, c *chunk) ([]arrow.Array, error) {
	out := make([]arrow.Array, len(ns))
	for i, n := range ns {
		a, err := n.eval(c)
		if err != nil {
			releaseAll(out[:i])
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

func releaseAll(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

// --- casts ---

type castNode struct {
	ctx      *kernels.EvalContext
	in       node
	from, to types.T
	explicit bool
}

func newCastNode(ctx *kernels.EvalContext, in node, from, to types.T, explicit bool) node {
	if from == to || (from.Family == to.Family && to.Mod < 0 && from.Family != types.FamArray) {
		return in
	}
	return &castNode{ctx: ctx, in: in, from: from, to: to, explicit: explicit}
}

func (n *castNode) eval(c *chunk) (arrow.Array, error) {
	a, err := n.in.eval(c)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	if out, ok := castFast(a, n.from, n.to); ok {
		return out, nil
	}
	bld := array.NewBuilder(n.ctx.Mem, types.ArrowType(n.to))
	defer bld.Release()
	bld.Reserve(c.n)
	for i := 0; i < c.n; i++ {
		if a.IsNull(i) {
			bld.AppendNull()
			continue
		}
		d, err := castDatum(&n.ctx.Ctx, types.GetDatum(a, i, n.from), n.from, n.to, n.explicit)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, d, n.to)
	}
	return bld.NewArray(), nil
}

// castFast vectorizes the lossless numeric widenings.
func castFast(a arrow.Array, from, to types.T) (arrow.Array, bool) {
	if to.Mod >= 0 {
		return nil, false
	}
	switch to.Family {
	case types.FamInt4:
		if x, ok := a.(*array.Int16); ok {
			return widen[int16, int32](x.Int16Values(), a, arrow.PrimitiveTypes.Int32), true
		}
	case types.FamInt8:
		switch x := a.(type) {
		case *array.Int16:
			return widen[int16, int64](x.Int16Values(), a, arrow.PrimitiveTypes.Int64), true
		case *array.Int32:
			if from.IsInteger() {
				return widen[int32, int64](x.Int32Values(), a, arrow.PrimitiveTypes.Int64), true
			}
		}
	case types.FamFloat8:
		switch x := a.(type) {
		case *array.Int16:
			return widen[int16, float64](x.Int16Values(), a, arrow.PrimitiveTypes.Float64), true
		case *array.Int32:
			if from.IsInteger() {
				return widen[int32, float64](x.Int32Values(), a, arrow.PrimitiveTypes.Float64), true
			}
		case *array.Int64:
			if from.IsInteger() {
				return widen[int64, float64](x.Int64Values(), a, arrow.PrimitiveTypes.Float64), true
			}
		case *array.Float32:
			return widen[float32, float64](x.Float32Values(), a, arrow.PrimitiveTypes.Float64), true
		}
	}
	return nil, false
}

type number interface {
	~int16 | ~int32 | ~int64 | ~float32 | ~float64
}

func widen[F, T number](src []F, a arrow.Array, dt arrow.DataType) arrow.Array {
	out := make([]T, len(src))
	for i, v := range src {
		out[i] = T(v)
	}
	return mkArray(dt, len(src), []*memory.Buffer{validityCopy(a), memory.NewBufferBytes(arrow.GetBytes(out))}, nil, a.NullN())
}

// validityCopy returns a's validity bitmap re-based to offset 0 (nil when no NULLs).
func validityCopy(a arrow.Array) *memory.Buffer {
	if a.NullN() == 0 {
		return nil
	}
	n := a.Len()
	out := make([]byte, (n+7)/8)
	for i := 0; i < n; i++ {
		if a.IsValid(i) {
			out[i/8] |= 1 << (i % 8)
		}
	}
	return memory.NewBufferBytes(out)
}
