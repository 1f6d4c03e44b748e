package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// subqueryNode evaluates a subquery expression. An uncorrelated subquery
// runs once and its result is kept for the evaluator's lifetime. A
// correlated one is re-planned and run for each distinct combination of the
// outer columns it reads, with those values bound as constants; results are
// memoized by that combination.
type subqueryNode struct {
	env       *Env
	sq        *planner.Subquery
	left      node
	leftT     types.T
	outerCols []int
	outerT    map[int]types.T
	elemT     types.T // type of the subquery's first column
	once      *subResult
	memo      map[string]*subResult
	key       []byte
	mem       int64
}

// subResult is what one run of the subquery produced.
type subResult struct {
	rows  int
	first types.Datum // first row's first column (Scalar)
	vals  []types.Datum
	set   map[string]struct{} // for = ANY / <> ALL: keys of non-NULL values
	nulls bool                // a NULL among vals
}

func (cp *compiler) compileSubquery(e *planner.Subquery) (node, error) {
	n := &subqueryNode{env: cp.env, sq: e, outerT: map[int]types.T{}}
	if s := e.Plan.Schema(); len(s) > 0 {
		n.elemT = s[0].T
	} else if e.Kind != planner.SubExists {
		return nil, pgerror.Internal("subquery returns no columns")
	}
	if e.Kind == planner.SubAny || e.Kind == planner.SubAll {
		if e.Left == nil || e.Op == nil {
			return nil, pgerror.Internal("ANY/ALL subquery without operator")
		}
		l, err := cp.compile(e.Left)
		if err != nil {
			return nil, err
		}
		n.left, n.leftT = l, e.Left.Type()
	}
	if e.Correlated {
		seen := map[int]bool{}
		walkPlanOuter(e.Plan, 1, func(r *planner.OuterRef) {
			if !seen[r.Idx] {
				seen[r.Idx] = true
				n.outerCols = append(n.outerCols, r.Idx)
				n.outerT[r.Idx] = r.T
			}
		})
		n.memo = map[string]*subResult{}
	}
	cp.subs = append(cp.subs, n)
	return n, nil
}

func (n *subqueryNode) hashable() bool {
	if n.sq.Op == nil {
		return false
	}
	return (n.sq.Kind == planner.SubAny && n.sq.Op.Name == "=") || (n.sq.Kind == planner.SubAll && n.sq.Op.Name == "<>")
}

// run executes the plan under env and summarizes its rows.
func (n *subqueryNode) run(ctx context.Context, env *Env) (*subResult, error) {
	op, err := Build(env, n.sq.Plan)
	if err != nil {
		return nil, err
	}
	defer op.Close()
	if err := op.Init(ctx); err != nil {
		return nil, err
	}
	res := &subResult{}
	hash := n.hashable()
	if hash {
		res.set = map[string]struct{}{}
	}
	var size int64
	for {
		b, err := op.Next()
		if err != nil {
			return nil, err
		}
		if b == nil {
			break
		}
		nr := int(b.NumRows())
		switch n.sq.Kind {
		case planner.SubExists:
			res.rows += nr
			return res, nil
		case planner.SubScalar:
			if res.rows == 0 && nr > 0 {
				res.first = types.GetDatum(b.Column(0), 0, n.elemT)
			}
			res.rows += nr
			if res.rows > 1 {
				return nil, pgerror.New(pgerror.CardinalityViolation, "more than one row returned by a subquery used as an expression")
			}
			continue
		}
		res.rows += nr
		col := b.Column(0)
		grow := arrayBytes(col) + int64(nr)*16
		if err := env.Mem.Grow(grow); err != nil {
			env.Mem.Shrink(size)
			return nil, err
		}
		size += grow
		for i := 0; i < nr; i++ {
			d := types.GetDatum(col, i, n.elemT)
			if hash {
				if d == nil {
					res.nulls = true
				} else {
					res.set[string(appendKey(nil, d, n.elemT))] = struct{}{}
				}
				continue
			}
			if d == nil {
				res.nulls = true
			}
			res.vals = append(res.vals, d)
		}
	}
	n.mem += size
	return res, nil
}

func (n *subqueryNode) eval(c *chunk) (arrow.Array, error) {
	var left arrow.Array
	if n.left != nil {
		var err error
		if left, err = n.left.eval(c); err != nil {
			return nil, err
		}
		defer left.Release()
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	bld := array.NewBuilder(n.env.alloc(), types.ArrowType(n.sq.T))
	defer bld.Release()
	bld.Reserve(c.n)
	if !n.sq.Correlated && n.once == nil {
		r, err := n.run(ctx, n.env)
		if err != nil {
			return nil, err
		}
		n.once = r
	}
	for i := 0; i < c.n; i++ {
		r := n.once
		if n.sq.Correlated {
			var err error
			if r, err = n.correlated(ctx, c, i); err != nil {
				return nil, err
			}
		}
		d, err := n.value(r, left, i)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, d, n.sq.T)
	}
	return bld.NewArray(), nil
}

func (n *subqueryNode) correlated(ctx context.Context, c *chunk, i int) (*subResult, error) {
	n.key = n.key[:0]
	vals := make(map[int]types.Datum, len(n.outerCols))
	for _, col := range n.outerCols {
		if col >= len(c.cols) || c.cols[col] == nil {
			return nil, pgerror.Internal("outer column #%d not available to subquery", col)
		}
		d := types.GetDatum(c.cols[col], i, n.outerT[col])
		vals[col] = d
		n.key = appendKey(n.key, d, n.outerT[col])
	}
	if r, ok := n.memo[string(n.key)]; ok {
		return r, nil
	}
	if err := n.env.Mem.Grow(int64(len(n.key)) + 64); err != nil {
		return nil, err
	}
	n.mem += int64(len(n.key)) + 64
	r, err := n.run(ctx, n.env.withOuter(outerFrame{vals: vals}))
	if err != nil {
		return nil, err
	}
	n.memo[string(n.key)] = r
	return r, nil
}

// value turns a subquery result into the expression's value for row i.
func (n *subqueryNode) value(r *subResult, left arrow.Array, i int) (types.Datum, error) {
	switch n.sq.Kind {
	case planner.SubExists:
		return r.rows > 0, nil
	case planner.SubScalar:
		if r.first != nil && n.sq.T.Family != n.elemT.Family {
			return castDatum(&n.env.evalCtx().Ctx, r.first, n.elemT, n.sq.T, false)
		}
		return r.first, nil
	case planner.SubArray:
		return &types.Array{Elem: n.elemT, Elems: r.vals}, nil
	}
	any := n.sq.Kind == planner.SubAny
	if r.rows == 0 {
		return !any, nil
	}
	if left.IsNull(i) {
		return nil, nil
	}
	l := types.GetDatum(left, i, n.leftT)
	if r.set != nil {
		_, found := r.set[string(appendKey(nil, l, n.leftT))]
		switch {
		case found:
			return any, nil // = ANY true; <> ALL false
		case r.nulls:
			return nil, nil
		}
		return !any, nil
	}
	sawNull := false
	args := []types.Datum{l, nil}
	ctx := n.env.evalCtx()
	for _, v := range r.vals {
		if v == nil && n.sq.Op.Strict {
			sawNull = true
			continue
		}
		args[1] = v
		res, err := n.sq.Op.Eval(ctx, args)
		if err != nil {
			return nil, err
		}
		switch res {
		case nil:
			sawNull = true
		case true:
			if any {
				return true, nil
			}
		case false:
			if !any {
				return false, nil
			}
		}
	}
	if sawNull {
		return nil, nil
	}
	return !any, nil
}

// release returns the memory of cached results.
func (n *subqueryNode) release() {
	n.env.Mem.Shrink(n.mem)
	n.mem = 0
	n.once = nil
	if n.memo != nil {
		n.memo = map[string]*subResult{}
	}
}

// arrayBytes estimates the memory an array's buffers hold.
func arrayBytes(a arrow.Array) int64 {
	return dataBytes(a.Data())
}

// dataBytes is what d holds of its buffers: for a slice (array.NewSlice,
// as operators emit their results in BatchSize pieces of one big array)
// the bytes of its own rows, not the whole shared buffers — charging
// every piece with the whole buffers made a Sort over 100K aggregated
// groups count ~100× their size and fail with 53200. Fixed-width buffers
// and bitmaps are bounded by the rows; a string or binary value buffer by
// the slice's offsets; other buffers (children of nested types) count in
// full.
func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	bufs := d.Buffers()
	specs := d.DataType().Layout().Buffers
	rows := int64(d.Len())
	for i, b := range bufs {
		if b == nil {
			continue
		}
		size := int64(b.Len())
		if i < len(specs) {
			switch spec := specs[i]; spec.Kind {
			case arrow.KindBitmap:
				size = min(size, (rows+7)/8+1)
			case arrow.KindFixedWidth:
				// One more for offset buffers (rows+1 entries).
				size = min(size, (rows+1)*int64(spec.ByteWidth))
			case arrow.KindVarWidth:
				if v, ok := varWidthBytes(d); ok {
					size = min(size, v)
				}
			}
		}
		n += size
	}
	for _, ch := range d.Children() {
		n += dataBytes(ch)
	}
	return n
}

// varWidthBytes is the value bytes of d's rows for string and binary
// arrays (from their offsets), false for other types.
func varWidthBytes(d arrow.ArrayData) (int64, bool) {
	bufs := d.Buffers()
	if len(bufs) < 2 || bufs[1] == nil || d.Len() == 0 {
		return 0, d.Len() == 0
	}
	lo, hi := d.Offset(), d.Offset()+d.Len()
	switch d.DataType().ID() {
	case arrow.STRING, arrow.BINARY:
		offs := arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())
		if hi >= len(offs) {
			return 0, false
		}
		return int64(offs[hi] - offs[lo]), true
	case arrow.LARGE_STRING, arrow.LARGE_BINARY:
		offs := arrow.Int64Traits.CastFromBytes(bufs[1].Bytes())
		if hi >= len(offs) {
			return 0, false
		}
		return offs[hi] - offs[lo], true
	}
	return 0, false
}

// walkExpr calls fn on e and its sub-expressions (not into subquery plans,
// except a subquery's Left operand).
func walkExpr(e planner.Expr, fn func(planner.Expr)) {
	if e == nil {
		return
	}
	fn(e)
	switch e := e.(type) {
	case *planner.Call:
		for _, a := range e.Args {
			walkExpr(a, fn)
		}
	case *planner.Cast:
		walkExpr(e.E, fn)
	case *planner.And:
		for _, a := range e.Args {
			walkExpr(a, fn)
		}
	case *planner.Or:
		for _, a := range e.Args {
			walkExpr(a, fn)
		}
	case *planner.Not:
		walkExpr(e.E, fn)
	case *planner.IsNull:
		walkExpr(e.E, fn)
	case *planner.IsBool:
		walkExpr(e.E, fn)
	case *planner.IsDistinct:
		walkExpr(e.L, fn)
		walkExpr(e.R, fn)
	case *planner.Case:
		for _, w := range e.Whens {
			walkExpr(w.Cond, fn)
			walkExpr(w.Result, fn)
		}
		walkExpr(e.Else, fn)
	case *planner.Coalesce:
		for _, a := range e.Args {
			walkExpr(a, fn)
		}
	case *planner.MinMax:
		for _, a := range e.Args {
			walkExpr(a, fn)
		}
	case *planner.InList:
		walkExpr(e.E, fn)
		for _, a := range e.List {
			walkExpr(a, fn)
		}
	case *planner.Subquery:
		walkExpr(e.Left, fn)
	case *planner.ArrayCtor:
		for _, a := range e.Elems {
			walkExpr(a, fn)
		}
	case *planner.ArraySubscript:
		walkExpr(e.Array, fn)
		walkExpr(e.Index, fn)
	case *planner.ArrayCompare:
		walkExpr(e.Left, fn)
		walkExpr(e.Array, fn)
	}
}

// nodeExprs lists the expressions a plan node owns (over its own input).
func nodeExprs(n planner.Node) []planner.Expr {
	var out []planner.Expr
	add := func(es ...planner.Expr) {
		for _, e := range es {
			if e != nil {
				out = append(out, e)
			}
		}
	}
	keys := func(ks []planner.SortKey) {
		for _, k := range ks {
			add(k.E)
		}
	}
	switch n := n.(type) {
	case *planner.Values:
		for _, r := range n.Rows {
			add(r...)
		}
	case *planner.Filter:
		add(n.Cond)
	case *planner.Project:
		add(n.Exprs...)
	case *planner.Aggregate:
		add(n.GroupBy...)
		for _, a := range n.Aggs {
			add(a.Args...)
			add(a.Filter)
			keys(a.OrderBy)
		}
	case *planner.Join:
		add(n.LeftKeys...)
		add(n.RightKeys...)
		add(n.Cond)
	case *planner.Sort:
		keys(n.Keys)
	case *planner.Limit:
		add(n.CountExpr, n.OffsetExpr)
	case *planner.Distinct:
		add(n.On...)
	case *planner.Window:
		for _, c := range n.Calls {
			add(c.Args...)
			add(c.Filter)
			add(c.PartitionBy...)
			keys(c.OrderBy)
			add(c.Frame.Start.Offset, c.Frame.End.Offset)
		}
	case *planner.TableFunc:
		add(n.Args...)
	}
	return out
}

// walkPlanOuter calls fn for every OuterRef inside plan p that refers to the
// query level `level` steps out of p (1: the query owning the subquery).
func walkPlanOuter(p planner.Node, level int, fn func(*planner.OuterRef)) {
	for _, e := range nodeExprs(p) {
		walkExpr(e, func(x planner.Expr) {
			switch x := x.(type) {
			case *planner.OuterRef:
				if x.Depth == level {
					fn(x)
				}
			case *planner.Subquery:
				walkPlanOuter(x.Plan, level+1, fn)
			}
		})
	}
	for _, ch := range p.Children() {
		walkPlanOuter(ch, level, fn)
	}
}
