package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/agg"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// HashAggregate groups its input by the GROUP BY expressions (a hash table
// assigning dense group ids) and feeds every aggregate's grouped
// accumulator batch by batch. FILTER (WHERE …) and DISTINCT duplicates are
// expressed as NoGroup for the rows an accumulator must skip. Aggregates
// with an ORDER BY inside the call see their rows in that order: the input
// is kept until the end and fed to them sorted. Without GROUP BY the result
// is exactly one row, even for empty input.
type HashAggregate struct {
	opBase
	input   Operator
	node    *planner.Aggregate
	groupBy []*Evaluator
	aggs    []*aggState
	gt      *agg.GroupTable // nil without GROUP BY (one group)
	ngroups int
	groups  []uint32
	ordered bool
	keep    []arrow.RecordBatch
	keepGrp []uint32
	accMem  int64
	gtMem   int64

	done bool
	out  []arrow.Array
	rows int
	pos  int
}

type aggState struct {
	call     *planner.AggCall
	acc      kernels.GroupedAcc
	args     []*Evaluator
	filter   *Evaluator
	order    []*Evaluator
	argTypes []types.T
	distinct *agg.DistinctFilter
	grp      []uint32
}

func newHashAggregate(env *Env, n *planner.Aggregate, input Operator) (*HashAggregate, error) {
	in := n.Input.Schema()
	h := &HashAggregate{opBase: opBase{env: env, schema: arrowSchema(n.Out)}, input: input, node: n}
	var err error
	if h.groupBy, err = compileAll(env, n.GroupBy, in); err != nil {
		return nil, err
	}
	gts := make([]types.T, len(n.GroupBy))
	for i, e := range n.GroupBy {
		gts[i] = e.Type()
	}
	if len(gts) > 0 {
		h.gt = agg.NewGroupTable(gts, env.alloc())
	}
	for i := range n.Aggs {
		c := &n.Aggs[i]
		if c.Fn == nil || c.Fn.New == nil {
			return nil, pgerror.Internal("aggregate without implementation")
		}
		st := &aggState{call: c}
		if st.args, err = compileAll(env, c.Args, in); err != nil {
			return nil, err
		}
		for _, a := range c.Args {
			st.argTypes = append(st.argTypes, a.Type())
		}
		if c.Filter != nil {
			if st.filter, err = Compile(env, c.Filter, in); err != nil {
				return nil, err
			}
		}
		if len(c.OrderBy) > 0 {
			exprs := make([]planner.Expr, len(c.OrderBy))
			for k, o := range c.OrderBy {
				exprs[k] = o.E
			}
			if st.order, err = compileAll(env, exprs, in); err != nil {
				return nil, err
			}
			h.ordered = true
		}
		if c.Distinct {
			// The accumulator itself skips NULLs where the aggregate does.
			st.distinct = agg.NewDistinctFilter(st.argTypes, false)
		}
		st.acc = c.Fn.New(st.argTypes, c.T)
		h.aggs = append(h.aggs, st)
	}
	h.track(h.groupBy...)
	for _, st := range h.aggs {
		h.track(st.args...)
		h.track(st.filter)
		h.track(st.order...)
	}
	if len(n.Out) != len(n.GroupBy)+len(n.Aggs) {
		return nil, pgerror.Internal("aggregate output has %d columns, want %d", len(n.Out), len(n.GroupBy)+len(n.Aggs))
	}
	return h, nil
}

// Init initializes the input.
func (h *HashAggregate) Init(ctx context.Context) error {
	h.initBase(ctx)
	return h.input.Init(h.ctx)
}

// groupsFor returns the group ids st must use for a batch: NoGroup where
// its FILTER is not true or the row repeats a DISTINCT argument tuple.
func (st *aggState) groupsFor(ctx context.Context, h *HashAggregate, b arrow.RecordBatch, groups []uint32, args []arrow.Array) ([]uint32, error) {
	if st.filter == nil && st.distinct == nil {
		return groups, nil
	}
	g := append(st.grp[:0], groups...)
	st.grp = g
	if st.filter != nil {
		m, err := st.filter.Eval(ctx, b)
		if err != nil {
			return nil, err
		}
		bm, ok := m.(*array.Boolean)
		if !ok {
			m.Release()
			return nil, pgerror.Internal("aggregate FILTER is %s, not boolean", m.DataType())
		}
		for i := range g {
			if !bm.IsValid(i) || !bm.Value(i) {
				g[i] = kernels.NoGroup
			}
		}
		m.Release()
	}
	if st.distinct != nil {
		st.distinct.Filter(g, args)
	}
	return g, nil
}

// feed updates the aggregates in list with batch b whose rows are in groups.
func (h *HashAggregate) feed(list []*aggState, b arrow.RecordBatch, groups []uint32) error {
	ctx := h.env.evalCtx()
	for _, st := range list {
		args, err := evalList(h.ctx, st.args, b)
		if err != nil {
			return err
		}
		g, err := st.groupsFor(h.ctx, h, b, groups, args)
		if err == nil {
			st.acc.Grow(h.ngroups)
			err = st.acc.Update(ctx, g, args)
		}
		releaseAll(args)
		if err != nil {
			return err
		}
	}
	return nil
}

func (h *HashAggregate) account() error {
	var accs int64
	for _, st := range h.aggs {
		accs += st.acc.MemoryBytes()
		if st.distinct != nil {
			accs += st.distinct.MemoryBytes()
		}
	}
	var gm int64
	if h.gt != nil {
		gm = h.gt.MemoryBytes()
	}
	d := (accs - h.accMem) + (gm - h.gtMem)
	if d > 0 {
		if err := h.grow(d); err != nil {
			return err
		}
	} else {
		h.shrink(-d)
	}
	h.accMem, h.gtMem = accs, gm
	return nil
}

func (h *HashAggregate) consume() error {
	var unordered, ordered []*aggState
	for _, st := range h.aggs {
		if st.order != nil {
			ordered = append(ordered, st)
		} else {
			unordered = append(unordered, st)
		}
	}
	for {
		if err := h.checkCtx(); err != nil {
			return err
		}
		b, err := h.input.Next()
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		keys, err := evalList(h.ctx, h.groupBy, b)
		if err != nil {
			return err
		}
		groups := h.assign(keys, int(b.NumRows()))
		releaseAll(keys)
		if err := h.feed(unordered, b, groups); err != nil {
			return err
		}
		if h.ordered {
			if err := h.grow(batchBytes(b) + 4*b.NumRows()); err != nil {
				return err
			}
			b.Retain()
			h.keep = append(h.keep, b)
			h.keepGrp = append(h.keepGrp, groups...)
		}
		if err := h.account(); err != nil {
			return err
		}
	}
	if h.gt == nil {
		h.ngroups = 1 // no GROUP BY: one row even for empty input
	}
	if len(ordered) > 0 && len(h.keep) > 0 {
		if err := h.feedOrdered(ordered); err != nil {
			return err
		}
	}
	return h.account()
}

// feedOrdered feeds each ORDER BY aggregate the kept input sorted by its keys.
func (h *HashAggregate) feedOrdered(list []*aggState) error {
	mem := h.env.alloc()
	in := h.node.Input.Schema()
	cols := make([]arrow.Array, len(in))
	for c := range cols {
		parts := make([]arrow.Array, len(h.keep))
		for i, b := range h.keep {
			parts[i] = b.Column(c)
		}
		a, err := concatArrs(mem, parts)
		if err != nil {
			releaseAll(cols[:c])
			return err
		}
		cols[c] = a
	}
	all := newBatch(arrowSchema(in), cols, len(h.keepGrp))
	defer all.Release()
	for _, st := range list {
		keys, err := evalList(h.ctx, st.order, all)
		if err != nil {
			return err
		}
		vk := make([]vec.SortKey, len(st.call.OrderBy))
		for i, o := range st.call.OrderBy {
			vk[i] = vec.SortKey{Col: i, Desc: o.Desc, NullsFirst: o.NullsFirst, T: o.E.Type()}
		}
		perm := vec.SortIndices(keys, vk)
		releaseAll(keys)
		sorted := takeBatch(all, perm)
		g := make([]uint32, len(perm))
		for i, p := range perm {
			g[i] = h.keepGrp[p]
		}
		err = h.feed([]*aggState{st}, sorted, g)
		sorted.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// assign returns the group of each of n rows (reused by the next call).
func (h *HashAggregate) assign(keys []arrow.Array, n int) []uint32 {
	g := h.groups[:0]
	g = append(g, make([]uint32, n)...)
	h.groups = g
	if h.gt != nil {
		h.gt.Insert(keys, g)
		h.ngroups = h.gt.Len()
	} else if n > 0 {
		h.ngroups = 1
	}
	return g
}

func (h *HashAggregate) finish() error {
	mem := h.env.alloc()
	if h.gt != nil {
		h.out = h.gt.KeyArrays()
		h.gt.Release()
		for i, e := range h.node.GroupBy {
			a, err := conform(h.env, h.out[i], e.Type(), h.node.Out[i].T)
			if err != nil {
				h.out[i] = nil
				return err
			}
			h.out[i] = a
		}
	}
	ctx := h.env.evalCtx()
	for _, st := range h.aggs {
		st.acc.Grow(h.ngroups)
		bld := array.NewBuilder(mem, types.ArrowType(st.call.T))
		if err := st.acc.Finish(ctx, bld); err != nil {
			bld.Release()
			return err
		}
		a := bld.NewArray()
		bld.Release()
		if a.Len() != h.ngroups {
			a.Release()
			return pgerror.Internal("aggregate %s finished %d groups, want %d", st.call.Fn.Name, a.Len(), h.ngroups)
		}
		a, err := conform(h.env, a, st.call.T, h.node.Out[len(h.out)].T)
		if err != nil {
			return err
		}
		h.out = append(h.out, a)
	}
	h.rows = h.ngroups
	for _, b := range h.keep {
		b.Release()
	}
	h.keep = nil
	return nil
}

// Next returns the next batch of groups.
func (h *HashAggregate) Next() (arrow.RecordBatch, error) {
	if !h.done {
		h.done = true
		if err := h.consume(); err != nil {
			return nil, err
		}
		if err := h.finish(); err != nil {
			return nil, err
		}
	}
	if err := h.checkCtx(); err != nil {
		return nil, err
	}
	if h.pos >= h.rows {
		return nil, nil
	}
	end := min(h.rows, h.pos+h.env.batchSize())
	cols := make([]arrow.Array, len(h.out))
	for i, a := range h.out {
		cols[i] = array.NewSlice(a, int64(h.pos), int64(end))
	}
	n := end - h.pos
	h.pos = end
	return h.emit(newBatch(h.schema, cols, n)), nil
}

// Close frees the groups and closes the input.
func (h *HashAggregate) Close() error {
	h.closeBase()
	releaseAll(h.out)
	h.out = nil
	if h.gt != nil {
		h.gt.Release()
	}
	for _, b := range h.keep {
		b.Release()
	}
	h.keep = nil
	return h.input.Close()
}
