package stream

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/agg"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// AggCall is one aggregate of a HashAggregate.
type AggCall struct {
	// Name names the output column.
	Name string
	// New returns an empty accumulator; it must implement kernels.Retractor
	// and kernels.GroupResulter.
	New func() kernels.GroupedAcc
	// Args are the input columns of the aggregate's arguments.
	Args []int
	// Type is the result type.
	Type types.T
}

// LookupAgg resolves aggregate name over input columns args (of types
// argTypes) to a retractable AggCall: min/max use the multiset accumulator
// (correct under deletes), everything else the registry's overload, which
// must support retraction. Unsupported aggregates are 0A000.
func LookupAgg(reg *kernels.Registry, name string, args []int, argTypes []types.T) (AggCall, error) {
	if len(args) != len(argTypes) {
		return AggCall{}, pgerror.Internal("stream: %s has %d args and %d types", name, len(args), len(argTypes))
	}
	if (name == "min" || name == "max") && len(argTypes) == 1 {
		t, isMax := argTypes[0], name == "max"
		return AggCall{Name: name, Args: args, Type: t, New: func() kernels.GroupedAcc { return agg.NewRetractableMinMax(t, isMax) }}, nil
	}
	for _, f := range reg.Aggs(name) {
		if !argsMatch(f.Args, argTypes) {
			continue
		}
		ret := f.ResultType(argTypes)
		mk := func() kernels.GroupedAcc { return f.New(argTypes, ret) }
		a := mk()
		_, r1 := a.(kernels.Retractor)
		_, r2 := a.(kernels.GroupResulter)
		if !r1 || !r2 {
			return AggCall{}, pgerror.Unsupported("aggregate %s(%s) is not supported in materialized views (it cannot retract rows)", name, typeList(argTypes))
		}
		return AggCall{Name: name, Args: args, Type: ret, New: mk}, nil
	}
	return AggCall{}, pgerror.New(pgerror.UndefinedFunction, "aggregate %s(%s) does not exist", name, typeList(argTypes))
}

func typeList(ts []types.T) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += t.String()
	}
	return s
}

func argsMatch(decl, got []types.T) bool {
	if len(decl) != len(got) {
		return false
	}
	for i, d := range decl {
		if d.Family != types.FamAny && d.Family != got[i].Family {
			return false
		}
	}
	return true
}

// HashAggregate maintains GROUP BY aggregates under inserts and deletes.
// Rows add to (Insert, UpdateInsert) or retract from (Delete, UpdateDelete)
// their group's accumulators; at each barrier it emits, for every group
// touched in the epoch whose output changed, an UpdateDelete/UpdateInsert
// pair, an Insert for a new group or a Delete for a group whose row count
// reached 0. Without group columns there is exactly one group, which always
// exists: its row is inserted at the first barrier and only updated after.
//
// Output columns: the group columns, then one column per AggCall.
type HashAggregate struct {
	input     Executor
	inTypes   []types.T
	groupCols []int
	aggs      []AggCall
	schema    *arrow.Schema
	mem       memory.Allocator
	ectx      *kernels.EvalContext

	gt    *agg.GroupTable // nil without group columns
	accs  []kernels.GroupedAcc
	rets  []kernels.GroupResulter
	retrs []kernels.Retractor
	rows  []int64 // live input rows per group
	seen  bool    // global group emitted at least once

	// Epoch state: groups touched since the last barrier, in first-touch
	// order, with their output as of the first touch.
	isDirty   []bool
	dirty     []uint32
	oldExists []bool
	oldKeys   [][]arrow.Array // per group column: parts of the dirty keys
	oldVals   []array.Builder // per agg: old results of dirty groups

	pending []Message
	groups  []uint32
	upd     []uint32
	ret     []uint32
}

// NewHashAggregate returns an incremental aggregation of input (whose
// columns have SQL types inTypes) grouped by groupCols.
func NewHashAggregate(input Executor, inTypes []types.T, groupCols []int, aggs []AggCall, ectx *kernels.EvalContext) (*HashAggregate, error) {
	if ectx == nil {
		ectx = &kernels.EvalContext{}
	}
	if ectx.Mem == nil {
		cp := *ectx
		cp.Mem = memory.DefaultAllocator
		ectx = &cp
	}
	in := input.Schema()
	if in.NumFields() != len(inTypes) {
		return nil, pgerror.Internal("stream: aggregate input has %d fields and %d types", in.NumFields(), len(inTypes))
	}
	h := &HashAggregate{input: input, inTypes: inTypes, groupCols: groupCols, aggs: aggs, mem: ectx.Mem, ectx: ectx}
	fields := make([]arrow.Field, 0, len(groupCols)+len(aggs))
	keyTypes := make([]types.T, len(groupCols))
	for i, c := range groupCols {
		if c < 0 || c >= len(inTypes) {
			return nil, pgerror.Internal("stream: group column %d out of range", c)
		}
		f := in.Field(c)
		f.Nullable = true
		fields = append(fields, f)
		keyTypes[i] = inTypes[c]
	}
	for _, a := range aggs {
		for _, c := range a.Args {
			if c < 0 || c >= len(inTypes) {
				return nil, pgerror.Internal("stream: aggregate %s argument column %d out of range", a.Name, c)
			}
		}
		acc := a.New()
		r1, ok1 := acc.(kernels.GroupResulter)
		r2, ok2 := acc.(kernels.Retractor)
		if !ok1 || !ok2 {
			return nil, pgerror.Unsupported("aggregate %s is not supported in materialized views (it cannot retract rows)", a.Name)
		}
		h.accs = append(h.accs, acc)
		h.rets = append(h.rets, r1)
		h.retrs = append(h.retrs, r2)
		fields = append(fields, types.ArrowField(a.Name, a.Type))
		h.oldVals = append(h.oldVals, array.NewBuilder(h.mem, types.ArrowType(a.Type)))
	}
	h.schema = arrow.NewSchema(fields, nil)
	h.oldKeys = make([][]arrow.Array, len(groupCols))
	if len(groupCols) > 0 {
		h.gt = agg.NewGroupTable(keyTypes, h.mem)
	} else {
		h.grow(1)
	}
	return h, nil
}

// Schema implements Executor.
func (h *HashAggregate) Schema() *arrow.Schema { return h.schema }

// Groups is the number of groups ever seen (live or vanished).
func (h *HashAggregate) Groups() int { return len(h.rows) }

func (h *HashAggregate) grow(n int) {
	if n <= len(h.rows) {
		return
	}
	for _, a := range h.accs {
		a.Grow(n)
	}
	h.rows = append(h.rows, make([]int64, n-len(h.rows))...)
	h.isDirty = append(h.isDirty, make([]bool, n-len(h.isDirty))...)
}

// Next implements Executor.
func (h *HashAggregate) Next(ctx context.Context) (Message, error) {
	for {
		if len(h.pending) > 0 {
			m := h.pending[0]
			h.pending[0] = nil
			h.pending = h.pending[1:]
			return m, nil
		}
		m, err := h.input.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			err := h.apply(m)
			m.Release()
			if err != nil {
				return nil, err
			}
		case Barrier:
			out, err := h.flush()
			if err != nil {
				return nil, err
			}
			if out != nil {
				h.pending = append(h.pending, out)
			}
			h.pending = append(h.pending, m)
		default:
			// Watermarks on group columns would let windows close; this
			// slice passes them on unchanged only when they name a group
			// column, renumbered to its output position.
			if w, ok := m.(Watermark); ok {
				for i, c := range h.groupCols {
					if c == w.Col {
						return Watermark{Col: i, Value: w.Value}, nil
					}
				}
			}
		}
	}
}

func (h *HashAggregate) apply(c *Chunk) error {
	n := len(c.Ops)
	b := c.Batch
	h.groups = resize(h.groups, n)
	if h.gt != nil {
		keys := make([]arrow.Array, len(h.groupCols))
		for i, col := range h.groupCols {
			keys[i] = b.Column(col)
		}
		h.gt.Insert(keys, h.groups)
		h.grow(h.gt.Len())
	} else {
		clear(h.groups)
	}
	// First touches this epoch: remember the output as it was.
	var first []int32
	for i, g := range h.groups {
		if h.isDirty[g] {
			continue
		}
		h.isDirty[g] = true
		h.dirty = append(h.dirty, g)
		first = append(first, int32(i))
		h.oldExists = append(h.oldExists, h.exists(g))
		for j, r := range h.rets {
			if err := r.AppendResult(h.ectx, g, h.oldVals[j]); err != nil {
				return fmt.Errorf("stream: aggregate %s: %w", h.aggs[j].Name, err)
			}
		}
	}
	if len(first) > 0 {
		for i, col := range h.groupCols {
			h.oldKeys[i] = append(h.oldKeys[i], vec.Take(h.mem, b.Column(col), first))
		}
	}
	h.upd = resize(h.upd, n)
	h.ret = resize(h.ret, n)
	anyRet := false
	for i, g := range h.groups {
		if c.Ops[i].Sign() > 0 {
			h.upd[i], h.ret[i] = g, kernels.NoGroup
			h.rows[g]++
		} else {
			h.upd[i], h.ret[i] = kernels.NoGroup, g
			h.rows[g]--
			anyRet = true
		}
	}
	args := make([]arrow.Array, 0, 2)
	for j, a := range h.aggs {
		args = args[:0]
		for _, col := range a.Args {
			args = append(args, b.Column(col))
		}
		if err := h.accs[j].Update(h.ectx, h.upd, args); err != nil {
			return fmt.Errorf("stream: aggregate %s: %w", a.Name, err)
		}
		if anyRet {
			if err := h.retrs[j].Retract(h.ectx, h.ret, args); err != nil {
				return fmt.Errorf("stream: aggregate %s retract: %w", a.Name, err)
			}
		}
	}
	return nil
}

func (h *HashAggregate) exists(g uint32) bool {
	if h.gt == nil {
		return h.seen
	}
	return h.rows[g] > 0
}

// flush builds the epoch's output changes and resets the epoch state.
func (h *HashAggregate) flush() (*Chunk, error) {
	if h.gt == nil && !h.seen && !h.isDirty[0] {
		// The global row appears at the first barrier even without input.
		h.isDirty[0] = true
		h.dirty = append(h.dirty, 0)
		h.oldExists = append(h.oldExists, false)
		for j, r := range h.rets {
			if err := r.AppendResult(h.ectx, 0, h.oldVals[j]); err != nil {
				return nil, err
			}
		}
	}
	d := len(h.dirty)
	if d == 0 {
		return nil, nil
	}
	defer h.resetEpoch()
	if h.gt == nil {
		h.seen = true
	}
	cols := make([]arrow.Array, 0, len(h.groupCols)+len(h.aggs))
	defer func() {
		for _, a := range cols {
			a.Release()
		}
	}()
	for i := range h.groupCols {
		k := vec.Concat(h.mem, h.oldKeys[i])
		doubled := vec.Concat(h.mem, []arrow.Array{k, k})
		k.Release()
		cols = append(cols, doubled)
	}
	olds := make([]arrow.Array, len(h.aggs))
	news := make([]arrow.Array, len(h.aggs))
	defer func() {
		for i := range olds {
			if olds[i] != nil {
				olds[i].Release()
			}
			if news[i] != nil {
				news[i].Release()
			}
		}
	}()
	for j, r := range h.rets {
		olds[j] = h.oldVals[j].NewArray()
		nb := array.NewBuilder(h.mem, types.ArrowType(h.aggs[j].Type))
		for _, g := range h.dirty {
			if err := r.AppendResult(h.ectx, g, nb); err != nil {
				nb.Release()
				return nil, fmt.Errorf("stream: aggregate %s: %w", h.aggs[j].Name, err)
			}
		}
		news[j] = nb.NewArray()
		nb.Release()
		cols = append(cols, vec.Concat(h.mem, []arrow.Array{olds[j], news[j]}))
	}
	idx := make([]int32, 0, 2*d)
	ops := make([]Op, 0, 2*d)
	for i, g := range h.dirty {
		oldEx, newEx := h.oldExists[i], h.exists(g)
		switch {
		case oldEx && newEx:
			if h.sameOutput(olds, news, i) {
				continue
			}
			idx = append(idx, int32(i), int32(d+i))
			ops = append(ops, UpdateDelete, UpdateInsert)
		case oldEx:
			idx = append(idx, int32(i))
			ops = append(ops, Delete)
		case newEx:
			idx = append(idx, int32(d+i))
			ops = append(ops, Insert)
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	all := array.NewRecordBatch(h.schema, cols, int64(2*d))
	out := vec.TakeBatch(h.mem, all, idx)
	all.Release()
	return &Chunk{Batch: out, Ops: ops}, nil
}

func (h *HashAggregate) sameOutput(olds, news []arrow.Array, i int) bool {
	for j := range olds {
		if !sameValue(h.aggs[j].Type, olds[j], i, news[j], i) {
			return false
		}
	}
	return true
}

// sameValue reports whether two values are identical as displayed: NULL
// equals NULL, text compares bytewise (so a numeric's display scale
// counts), other types by SQL equality.
func sameValue(t types.T, a arrow.Array, i int, b arrow.Array, j int) bool {
	an, bn := a.IsNull(i), b.IsNull(j)
	if an || bn {
		return an && bn
	}
	if as, ok := a.(*array.String); ok {
		if bs, ok := b.(*array.String); ok {
			return as.Value(i) == bs.Value(j)
		}
	}
	return vec.CompareValues(t, a, i, b, j) == 0
}

func (h *HashAggregate) resetEpoch() {
	for _, g := range h.dirty {
		h.isDirty[g] = false
	}
	h.dirty = h.dirty[:0]
	h.oldExists = h.oldExists[:0]
	for i, parts := range h.oldKeys {
		for _, a := range parts {
			a.Release()
		}
		h.oldKeys[i] = parts[:0]
	}
}

// Close implements Executor.
func (h *HashAggregate) Close() error {
	for _, m := range h.pending {
		ReleaseMessage(m)
	}
	h.pending = nil
	h.resetEpoch()
	for _, b := range h.oldVals {
		b.Release()
	}
	h.oldVals = nil
	if h.gt != nil {
		h.gt.Release()
		h.gt = nil
	}
	return h.input.Close()
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
