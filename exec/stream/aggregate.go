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
//
// Watermarks: a Watermark on an input column that is a group column (e.g.
// window_start) first flushes the epoch's pending changes, then removes the
// groups below it from state — their view rows stay, final — and is
// forwarded renumbered to that column's output position. Rows that later
// arrive for a removed group are late: dropped and counted (LateRows).
// Watermarks on other columns, or not above the previous one, are dropped.
type HashAggregate struct {
	input     Executor
	inTypes   []types.T
	groupCols []int
	keyTypes  []types.T
	aggs      []AggCall
	schema    *arrow.Schema
	mem       memory.Allocator
	ectx      *kernels.EvalContext

	// gens hold the group state, newest last (see aggGen); there is one
	// generation until watermarks clean groups up.
	gens []*aggGen
	seen bool // global group emitted at least once

	// Watermark cleanup: per group column position, the largest watermark
	// that removed groups (nil: none). Rows below it are late.
	cleaned  []types.Datum
	lateRows int64

	// Epoch state: groups touched since the last barrier, in first-touch
	// order, with their output as of the first touch.
	dirty     []groupRef
	oldExists []bool
	oldKeys   [][]arrow.Array // per group column: parts of the dirty keys
	oldVals   []array.Builder // per agg: old results of dirty groups

	// spill is the spill state set by WithSpill (nil: in memory only).
	spill *aggSpill

	pending []Message
	groups  []uint32
	rowGen  []int32
	upd     []uint32
	ret     []uint32
}

// aggGen is one generation of group state: a group table with dense ids and
// the accumulators of those groups. Watermark cleanup marks groups dead
// (their ids are never probed again: rows for them are late); the group
// table and accumulators cannot shrink, so once half of the newest
// generation is dead a new one starts, and a generation whose groups are all
// dead is dropped whole. Lookups probe older generations first, so a live
// group stays in the generation that created it.
type aggGen struct {
	gt      *agg.GroupTable // nil without group columns
	accs    []kernels.GroupedAcc
	rets    []kernels.GroupResulter
	retrs   []kernels.Retractor
	rows    []int64 // live input rows per group
	isDirty []bool
	dead    []bool
	ndead   int
}

type groupRef struct {
	gen *aggGen
	g   uint32
}

func (h *HashAggregate) newGen() (*aggGen, error) {
	gen := &aggGen{}
	for _, a := range h.aggs {
		acc := a.New()
		r1, ok1 := acc.(kernels.GroupResulter)
		r2, ok2 := acc.(kernels.Retractor)
		if !ok1 || !ok2 {
			return nil, pgerror.Unsupported("aggregate %s is not supported in materialized views (it cannot retract rows)", a.Name)
		}
		gen.accs = append(gen.accs, acc)
		gen.rets = append(gen.rets, r1)
		gen.retrs = append(gen.retrs, r2)
	}
	if len(h.groupCols) > 0 {
		gen.gt = agg.NewGroupTable(h.keyTypes, h.mem)
	} else {
		gen.grow(1)
	}
	return gen, nil
}

func (gen *aggGen) grow(n int) {
	if n <= len(gen.rows) {
		return
	}
	for _, a := range gen.accs {
		a.Grow(n)
	}
	gen.rows = append(gen.rows, make([]int64, n-len(gen.rows))...)
	gen.isDirty = append(gen.isDirty, make([]bool, n-len(gen.isDirty))...)
	gen.dead = append(gen.dead, make([]bool, n-len(gen.dead))...)
}

func (gen *aggGen) release() {
	if gen.gt != nil {
		gen.gt.Release()
		gen.gt = nil
	}
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
	h.keyTypes = make([]types.T, len(groupCols))
	for i, c := range groupCols {
		if c < 0 || c >= len(inTypes) {
			return nil, pgerror.Internal("stream: group column %d out of range", c)
		}
		f := in.Field(c)
		f.Nullable = true
		fields = append(fields, f)
		h.keyTypes[i] = inTypes[c]
	}
	for _, a := range aggs {
		for _, c := range a.Args {
			if c < 0 || c >= len(inTypes) {
				return nil, pgerror.Internal("stream: aggregate %s argument column %d out of range", a.Name, c)
			}
		}
		fields = append(fields, types.ArrowField(a.Name, a.Type))
	}
	gen, err := h.newGen()
	if err != nil {
		return nil, err
	}
	h.gens = []*aggGen{gen}
	for _, a := range aggs {
		h.oldVals = append(h.oldVals, array.NewBuilder(h.mem, types.ArrowType(a.Type)))
	}
	h.schema = arrow.NewSchema(fields, nil)
	h.oldKeys = make([][]arrow.Array, len(groupCols))
	h.cleaned = make([]types.Datum, len(groupCols))
	return h, nil
}

// Schema implements Executor.
func (h *HashAggregate) Schema() *arrow.Schema { return h.schema }

// Groups is the number of groups held in memory: every group seen (live or
// vanished by deletes) except those watermarks cleaned up and, with
// WithSpill, those spilled and not read back since.
func (h *HashAggregate) Groups() int {
	n := 0
	for _, gen := range h.gens {
		n += len(gen.rows) - gen.ndead
	}
	return n
}

// LateRows is the number of input rows dropped because their group had been
// cleaned up by a watermark.
func (h *HashAggregate) LateRows() int64 { return h.lateRows }

// Next implements Executor.
func (h *HashAggregate) Next(ctx context.Context) (Message, error) {
	if h.spill != nil {
		if err := h.spillStart(ctx); err != nil {
			return nil, err
		}
	}
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
			err := h.apply(ctx, m)
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
			if err := h.afterBarrier(ctx, m.Epoch); err != nil {
				return nil, err
			}
			h.pending = append(h.pending, m)
		case Watermark:
			if err := h.watermark(ctx, m); err != nil {
				return nil, err
			}
		default:
			return m, nil
		}
	}
}

func (h *HashAggregate) apply(ctx context.Context, c *Chunk) error {
	b := c.Batch
	ops := c.Ops
	if kept, keptOps := h.dropLate(b, ops); kept != nil {
		defer kept.Release()
		b, ops = kept, keptOps
	}
	n := len(ops)
	if n == 0 {
		return nil
	}
	h.groups = resize(h.groups, n)
	h.rowGen = resize(h.rowGen, n)
	before := 0
	if top := h.gens[len(h.gens)-1]; top.gt != nil {
		before = top.gt.Len()
	}
	if err := h.assign(b); err != nil {
		return err
	}
	if h.spilling() && h.spill.written {
		// Groups new to memory may have been spilled: load them before
		// their old output is recorded and the rows applied.
		if err := h.loadSpilled(ctx, b, before); err != nil {
			return err
		}
	}
	// First touches this epoch: remember the output as it was.
	var first []int32
	for i, g := range h.groups {
		gen := h.gens[h.rowGen[i]]
		if gen.isDirty[g] {
			continue
		}
		gen.isDirty[g] = true
		h.dirty = append(h.dirty, groupRef{gen: gen, g: g})
		first = append(first, int32(i))
		h.oldExists = append(h.oldExists, h.exists(gen, g))
		for j, r := range gen.rets {
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
	args := make([]arrow.Array, 0, 2)
	for gi, gen := range h.gens {
		any, anyRet := false, false
		for i, g := range h.groups {
			if int(h.rowGen[i]) != gi {
				h.upd[i], h.ret[i] = kernels.NoGroup, kernels.NoGroup
				continue
			}
			any = true
			if ops[i].Sign() > 0 {
				h.upd[i], h.ret[i] = g, kernels.NoGroup
				gen.rows[g]++
			} else {
				h.upd[i], h.ret[i] = kernels.NoGroup, g
				gen.rows[g]--
				anyRet = true
			}
		}
		if !any {
			continue
		}
		for j, a := range h.aggs {
			args = args[:0]
			for _, col := range a.Args {
				args = append(args, b.Column(col))
			}
			if err := gen.accs[j].Update(h.ectx, h.upd, args); err != nil {
				return fmt.Errorf("stream: aggregate %s: %w", a.Name, err)
			}
			if anyRet {
				if err := gen.retrs[j].Retract(h.ectx, h.ret, args); err != nil {
					return fmt.Errorf("stream: aggregate %s retract: %w", a.Name, err)
				}
			}
		}
	}
	return nil
}

// assign sets h.groups and h.rowGen for every row of b: a group found in an
// older generation stays there; the rest go to the newest generation.
func (h *HashAggregate) assign(b arrow.RecordBatch) error {
	newest := len(h.gens) - 1
	top := h.gens[newest]
	if top.gt == nil {
		clear(h.groups)
		clear(h.rowGen)
		return nil
	}
	keys := make([]arrow.Array, len(h.groupCols))
	for i, col := range h.groupCols {
		keys[i] = b.Column(col)
	}
	if newest == 0 {
		top.gt.Insert(keys, h.groups)
		top.grow(top.gt.Len())
		clear(h.rowGen)
		return nil
	}
	n := len(h.groups)
	for i := range h.rowGen {
		h.rowGen[i] = -1
	}
	probe := make([]uint32, n)
	for gi, gen := range h.gens[:newest] {
		gen.gt.Probe(keys, probe)
		for i, g := range probe {
			if h.rowGen[i] < 0 && g != kernels.NoGroup && !gen.dead[g] {
				h.rowGen[i], h.groups[i] = int32(gi), g
			}
		}
	}
	var rest []int32
	for i, g := range h.rowGen {
		if g < 0 {
			rest = append(rest, int32(i))
		}
	}
	if len(rest) == 0 {
		return nil
	}
	sub := make([]arrow.Array, len(keys))
	for i, k := range keys {
		sub[i] = vec.Take(h.mem, k, rest)
		defer sub[i].Release()
	}
	ids := make([]uint32, len(rest))
	top.gt.Insert(sub, ids)
	top.grow(top.gt.Len())
	for k, i := range rest {
		h.rowGen[i], h.groups[i] = int32(newest), ids[k]
	}
	return nil
}

func (h *HashAggregate) exists(gen *aggGen, g uint32) bool {
	if gen.gt == nil {
		return h.seen
	}
	return gen.rows[g] > 0
}

// flush builds the epoch's output changes and resets the epoch state.
func (h *HashAggregate) flush() (*Chunk, error) {
	if gen := h.gens[0]; gen.gt == nil && !h.seen && !gen.isDirty[0] {
		// The global row appears at the first barrier even without input.
		gen.isDirty[0] = true
		h.dirty = append(h.dirty, groupRef{gen: gen, g: 0})
		h.oldExists = append(h.oldExists, false)
		for j, r := range gen.rets {
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
	if len(h.groupCols) == 0 {
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
	for j := range h.aggs {
		olds[j] = h.oldVals[j].NewArray()
		nb := array.NewBuilder(h.mem, types.ArrowType(h.aggs[j].Type))
		for _, ref := range h.dirty {
			if err := ref.gen.rets[j].AppendResult(h.ectx, ref.g, nb); err != nil {
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
	for i, ref := range h.dirty {
		oldEx, newEx := h.oldExists[i], h.exists(ref.gen, ref.g)
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
	for _, ref := range h.dirty {
		ref.gen.isDirty[ref.g] = false
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
	for _, gen := range h.gens {
		gen.release()
	}
	h.gens = nil
	err := h.input.Close()
	if serr := h.closeSpill(); err == nil {
		err = serr
	}
	return err
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// watermark handles a watermark on input column w.Col. On a group column it
// first emits the changes pending since the last barrier (so nothing below
// the watermark follows it), removes the groups whose value of that column
// is below w from state (their view rows stay), and forwards the watermark
// renumbered to the column's output position. Other watermarks, and those
// not above the last one of their column, are dropped.
func (h *HashAggregate) watermark(ctx context.Context, w Watermark) error {
	gi := -1
	for i, c := range h.groupCols {
		if c == w.Col {
			gi = i
			break
		}
	}
	if gi < 0 || w.Value == nil {
		return nil
	}
	t := h.keyTypes[gi]
	if prev := h.cleaned[gi]; prev != nil && types.Compare(w.Value, prev, t) <= 0 {
		return nil // not an advance
	}
	out, err := h.flush()
	if err != nil {
		return err
	}
	if out != nil {
		h.pending = append(h.pending, out)
	}
	h.cleaned[gi] = w.Value
	h.cleanup(gi, w.Value)
	if err := h.cleanSpilled(ctx, gi, w.Value); err != nil {
		return err
	}
	h.pending = append(h.pending, Watermark{Col: gi, Value: w.Value})
	return nil
}

// cleanup marks dead the groups whose key column gi is below v, starts a
// new generation when the newest is at least half dead, and drops
// generations that are entirely dead.
func (h *HashAggregate) cleanup(gi int, v types.Datum) {
	t := h.keyTypes[gi]
	bound := vec.ConstArray(h.mem, v, t, 1)
	defer bound.Release()
	for _, gen := range h.gens {
		if gen.gt == nil || gen.ndead == len(gen.rows) {
			continue
		}
		keys := gen.gt.KeyArrays()
		col := keys[gi]
		for g := 0; g < len(gen.rows) && g < col.Len(); g++ {
			if !gen.dead[g] && col.IsValid(g) && vec.CompareValues(t, col, g, bound, 0) < 0 {
				gen.dead[g] = true
				gen.ndead++
			}
		}
		for _, k := range keys {
			k.Release()
		}
	}
	if top := h.gens[len(h.gens)-1]; top.ndead > 0 && 2*top.ndead >= len(top.rows) {
		if gen, err := h.newGen(); err == nil {
			h.gens = append(h.gens, gen)
		}
	}
	kept := h.gens[:0]
	for i, gen := range h.gens {
		if i < len(h.gens)-1 && gen.ndead == len(gen.rows) {
			gen.release()
			continue
		}
		kept = append(kept, gen)
	}
	for i := len(kept); i < len(h.gens); i++ {
		h.gens[i] = nil
	}
	h.gens = kept
}

// dropLate removes the rows whose cleaned-up group column is below its
// watermark: their groups are gone, so they are late. It returns nil when
// no row is late, else the kept rows (the caller releases the batch).
func (h *HashAggregate) dropLate(b arrow.RecordBatch, ops []Op) (arrow.RecordBatch, []Op) {
	var bounds []arrow.Array
	var cols []int
	for gi, v := range h.cleaned {
		if v != nil {
			bounds = append(bounds, vec.ConstArray(h.mem, v, h.keyTypes[gi], 1))
			cols = append(cols, gi)
		}
	}
	if len(cols) == 0 {
		return nil, nil
	}
	defer func() {
		for _, a := range bounds {
			a.Release()
		}
	}()
	n := len(ops)
	var keep []int32
	late := 0
	for i := 0; i < n; i++ {
		isLate := false
		for k, gi := range cols {
			col := b.Column(h.groupCols[gi])
			if col.IsValid(i) && vec.CompareValues(h.keyTypes[gi], col, i, bounds[k], 0) < 0 {
				isLate = true
				break
			}
		}
		if isLate {
			if late == 0 {
				keep = make([]int32, 0, n)
				for j := 0; j < i; j++ {
					keep = append(keep, int32(j))
				}
			}
			late++
			continue
		}
		if late > 0 {
			keep = append(keep, int32(i))
		}
	}
	if late == 0 {
		return nil, nil
	}
	h.lateRows += int64(late)
	keptOps := make([]Op, len(keep))
	for k, i := range keep {
		keptOps[k] = ops[i]
	}
	return vec.TakeBatch(h.mem, b, keep), keptOps
}
