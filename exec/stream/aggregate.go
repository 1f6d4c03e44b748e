package stream

import (
	"context"
	"encoding/binary"
	"fmt"
	"unsafe"

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

	// spill is the spill state set by WithSpill (nil: in memory only).
	spill *aggSpill

	pending []Message

	// Per-chunk scratch: group and generation of every row, the rows of
	// first touches, update/retract group lists, argument arrays.
	groups    []uint32
	rowGen    []int32
	firstRows []int32
	seedIDs   []uint32
	// loaded is, with spilling, the groups the chunk created in the
	// newest generation with rows loaded from the spill table (the seeds
	// of the fused path, foldTouch).
	loaded  []uint32
	starts  []int  // per gen: its dirty groups before the chunk
	hasRows []bool // per gen: the chunk has rows of it
	upd     []uint32
	ret     []uint32
	args    []arrow.Array
	keys    []arrow.Array
	// Per-barrier scratch and the new-result builders, one per aggregate.
	newB    []array.Builder
	changed []bool
	idx     []int32
	outIDs  []uint32
	// touchGen is, with several generations, the generation of every first
	// touch of the epoch in order: the output follows first-touch order
	// across generations.
	touchGen []int32
	// tf is foldTouch's bookkeeping handed to the folding accumulator.
	tf kernels.Touch
}

// aggGen is one generation of group state: a group table with dense ids and
// the accumulators of those groups. Watermark cleanup marks groups dead
// (their ids are never probed again: rows for them are late); the group
// table and accumulators cannot shrink, so once half of the newest
// generation is dead a new one starts, and a generation whose groups are all
// dead is dropped whole. Lookups probe older generations first, so a live
// group stays in the generation that created it.
type aggGen struct {
	gt    *agg.GroupTable // nil without group columns
	accs  []kernels.GroupedAcc
	rets  []kernels.GroupResulter
	retrs []kernels.Retractor
	// book is the groups' bookkeeping, one 16-byte record per group (a
	// first touch reads and writes one cache line, not three arrays).
	book  []groupBook
	epoch uint32 // stamp of the current epoch (never 0)
	ndead int
	// exactRows: some group's row count may be below 1 at the barrier
	// though the epoch touched it (the epoch retracted rows, or loaded
	// counts from spill); else every dirty group exists at the barrier
	// without reading its count. negRows: a count went negative once
	// (retractions of rows never inserted), which keeps exactRows set.
	exactRows, negRows bool
	// folder is the index of the aggregate that folds and touches in one
	// loop (kernels.TouchFolder, every output a cachedOut so that a first
	// touch captures nothing), or -1.
	folder int

	// Epoch state: the groups touched since the last barrier in
	// first-touch order, whether each had a view row then, and per
	// aggregate its output then (outs). keepKeys: the group table cannot
	// give keys back by id (several key columns), so the first-touch rows'
	// keys are kept in oldKeys (per group column, parts).
	dirty     []uint32
	oldExists []bool
	outRows   []uint8 // per dirty group: its output rows at the barrier (0-2)
	outs      []aggOut
	keepKeys  bool
	oldKeys   [][]arrow.Array
}

// groupBook is one group's bookkeeping (live rows, epoch stamp, dead
// mark), shared with accumulators that fold and touch in one loop
// (kernels.TouchFolder).
type groupBook = kernels.GroupBook

// isDirty reports whether group g was touched in the current epoch.
func (gen *aggGen) isDirty(g uint32) bool { return gen.book[g].Stamp == gen.epoch }

func (h *HashAggregate) newGen() (*aggGen, error) {
	gen := &aggGen{epoch: 1}
	for _, a := range h.aggs {
		acc := a.New()
		r1, ok1 := acc.(kernels.GroupResulter)
		r2, ok2 := acc.(kernels.Retractor)
		if !ok1 || !ok2 {
			gen.release()
			return nil, pgerror.Unsupported("aggregate %s is not supported in materialized views (it cannot retract rows)", a.Name)
		}
		gen.accs = append(gen.accs, acc)
		gen.rets = append(gen.rets, r1)
		gen.retrs = append(gen.retrs, r2)
		gen.outs = append(gen.outs, newAggOut(h.mem, a.Type))
	}
	gen.folder = -1
	for j, acc := range gen.accs {
		if _, ok := acc.(kernels.TouchFolder); ok {
			gen.folder = j
			break
		}
	}
	for _, o := range gen.outs {
		if _, ok := o.(interface{ fixedWidth() }); !ok {
			gen.folder = -1
		}
	}
	if len(h.groupCols) > 0 {
		gen.gt = agg.NewGroupTable(h.keyTypes, h.mem)
		if len(h.groupCols) > 1 {
			gen.keepKeys = true
		} else {
			probe, ok := gen.gt.TakeKeys(h.mem, h.schema.Field(0).Type, nil)
			gen.keepKeys = !ok
			if ok {
				probe.Release()
			}
		}
		gen.oldKeys = make([][]arrow.Array, len(h.groupCols))
	} else {
		gen.grow(1)
	}
	return gen, nil
}

func (gen *aggGen) grow(n int) {
	if n <= len(gen.book) {
		return
	}
	for _, a := range gen.accs {
		a.Grow(n)
	}
	for _, o := range gen.outs {
		o.grow(n)
	}
	gen.book = append(gen.book, make([]groupBook, n-len(gen.book))...)
}

// resetEpoch clears the generation's epoch state: a new stamp undirties
// every group without visiting them.
func (gen *aggGen) resetEpoch() {
	if len(gen.dirty) > 0 {
		gen.epoch++
		if gen.epoch == 0 { // wrapped: forget the old stamps
			for i := range gen.book {
				gen.book[i].Stamp = 0
			}
			gen.epoch = 1
		}
	}
	gen.dirty = gen.dirty[:0]
	gen.oldExists = gen.oldExists[:0]
	gen.exactRows = gen.negRows
	for i, parts := range gen.oldKeys {
		for _, a := range parts {
			a.Release()
		}
		gen.oldKeys[i] = parts[:0]
	}
	for _, o := range gen.outs {
		o.reset()
	}
}

func (gen *aggGen) release() {
	gen.resetEpoch()
	for _, o := range gen.outs {
		o.release()
	}
	gen.outs = nil
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
	h.schema = arrow.NewSchema(fields, nil)
	gen, err := h.newGen()
	if err != nil {
		return nil, err
	}
	h.gens = []*aggGen{gen}
	for _, a := range aggs {
		h.newB = append(h.newB, array.NewBuilder(h.mem, types.ArrowType(a.Type)))
	}
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
		n += len(gen.book) - gen.ndead
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
	h.loaded = h.loaded[:0]
	if h.spilling() && h.spill.written {
		// Groups new to memory may have been spilled: load them before
		// their old output is recorded and the rows applied.
		if err := h.loadSpilled(ctx, b, before); err != nil {
			return err
		}
	}
	retracts := hasRetractions(ops)
	h.args = h.args[:0]
	for _, a := range h.aggs {
		for _, col := range a.Args {
			h.args = append(h.args, b.Column(col))
		}
	}
	if done, err := h.foldTouch(retracts); done || err != nil {
		return err
	}
	if err := h.touch(b, ops, before, retracts); err != nil {
		return err
	}
	single := len(h.gens) == 1
	for gi, gen := range h.gens {
		if !single && !h.hasRows[gi] {
			continue
		}
		upd, ret := h.groups, []uint32(nil)
		if !single || retracts {
			upd, ret = h.split(ops, int32(gi), single)
		}
		args := h.args
		for j, a := range h.aggs {
			aa := args[:len(a.Args):len(a.Args)]
			args = args[len(a.Args):]
			if err := gen.accs[j].Update(h.ectx, upd, aa); err != nil {
				return fmt.Errorf("stream: aggregate %s: %w", a.Name, err)
			}
			if ret != nil {
				if err := gen.retrs[j].Retract(h.ectx, ret, aa); err != nil {
					return fmt.Errorf("stream: aggregate %s retract: %w", a.Name, err)
				}
			}
		}
	}
	return nil
}

// foldTouch is apply's fused path: with one generation keyed by one
// column, an insert-only chunk and outputs that need no capture at first
// touch (cachedOut), an accumulator that is a kernels.TouchFolder folds the
// chunk and does touch's bookkeeping in one loop; the other aggregates then
// update as usual. It reports whether it applied the chunk.
//
// With spilling, the groups the chunk loaded from the spill table (h.loaded,
// all created by this chunk, so first touched by it) are seeded first, as
// touch seeds them: their loaded result becomes their old output before any
// row changes them. A group loaded with no live rows has no view row and is
// not seeded (touch's rule too). Seeding is idempotent, so a FoldTouch that
// refuses the chunk leaves touch to seed them again.
func (h *HashAggregate) foldTouch(retracts bool) (bool, error) {
	gen := h.gens[0]
	if len(h.gens) != 1 || gen.folder < 0 || retracts || gen.keepKeys || gen.gt == nil {
		return false, nil
	}
	if len(h.loaded) > 0 {
		for j, o := range gen.outs {
			if err := o.seed(h.ectx, gen.rets[j], h.loaded); err != nil {
				return false, fmt.Errorf("stream: aggregate %s: %w", h.aggs[j].Name, err)
			}
		}
	}
	fj := gen.folder
	h.tf = kernels.Touch{Book: gen.book, Stamp: gen.epoch, Dirty: gen.dirty, OldExists: gen.oldExists}
	args := h.args
	for j, a := range h.aggs {
		aa := args[:len(a.Args):len(a.Args)]
		args = args[len(a.Args):]
		if j != fj {
			continue
		}
		ok, err := gen.accs[j].(kernels.TouchFolder).FoldTouch(h.ectx, h.groups, aa, &h.tf)
		if err != nil {
			return false, fmt.Errorf("stream: aggregate %s: %w", a.Name, err)
		}
		if !ok {
			h.tf = kernels.Touch{}
			return false, nil
		}
		break
	}
	gen.dirty, gen.oldExists = h.tf.Dirty, h.tf.OldExists
	h.tf = kernels.Touch{}
	args = h.args
	for j, a := range h.aggs {
		aa := args[:len(a.Args):len(a.Args)]
		args = args[len(a.Args):]
		if j == fj {
			continue
		}
		if err := gen.accs[j].Update(h.ectx, h.groups, aa); err != nil {
			return true, fmt.Errorf("stream: aggregate %s: %w", a.Name, err)
		}
	}
	return true, nil
}

// hasRetractions reports whether any of ops is a Delete or UpdateDelete,
// 32 ops per step (eight per word, four words ORed before one test): those
// are the ops 1 and 2, whose two low bits differ (Insert 0, UpdateInsert 3
// have equal ones). 2.4 -> ~0.6 instructions per op over a chunk of
// inserts.
func hasRetractions(ops []Op) bool {
	i := 0
	if len(ops) >= 8 {
		bs := unsafe.Slice((*byte)(unsafe.Pointer(&ops[0])), len(ops))
		const lows = 0x0101010101010101
		for ; i+32 <= len(bs); i += 32 {
			w := bs[i : i+32 : i+32]
			x0 := binary.LittleEndian.Uint64(w[0:])
			x1 := binary.LittleEndian.Uint64(w[8:])
			x2 := binary.LittleEndian.Uint64(w[16:])
			x3 := binary.LittleEndian.Uint64(w[24:])
			if ((x0^x0>>1)|(x1^x1>>1)|(x2^x2>>1)|(x3^x3>>1))&lows != 0 {
				return true
			}
		}
		for ; i+8 <= len(bs); i += 8 {
			x := binary.LittleEndian.Uint64(bs[i:])
			if (x^x>>1)&lows != 0 {
				return true
			}
		}
	}
	for _, op := range ops[i:] {
		if op.Sign() < 0 {
			return true
		}
	}
	return false
}

// touch does the bookkeeping of the chunk's rows before they change the
// accumulators: live row counts, and for each group the epoch touches
// first, its dirty mark, whether it has a view row and its output as of
// now (captured or, for groups loaded from spill, seeded from their
// state). With several generations it also records the generation of each
// first touch (h.touchGen) and which generations have rows (h.hasRows).
func (h *HashAggregate) touch(b arrow.RecordBatch, ops []Op, before int, retracts bool) error {
	h.starts = resize(h.starts, len(h.gens))
	for gi, gen := range h.gens {
		h.starts[gi] = len(gen.dirty)
	}
	h.firstRows, h.seedIDs = h.firstRows[:0], h.seedIDs[:0]
	newest := len(h.gens) - 1
	tg0 := len(h.touchGen)
	if newest == 0 {
		gen := h.gens[0]
		book, stamp := gen.book, gen.epoch
		global, keep := gen.gt == nil, gen.keepKeys
		if !global && !keep && !retracts && !h.spilling() {
			// The common case (one key column, insert-only chunk): a
			// first touch and the row count in one record.
			dirty, oldEx := gen.dirty, gen.oldExists
			for _, g := range h.groups {
				b := &book[g]
				if b.Stamp != stamp {
					b.Stamp = stamp
					dirty = append(dirty, g)
					oldEx = append(oldEx, b.Rows > 0)
				}
				b.Rows++
			}
			gen.dirty, gen.oldExists = dirty, oldEx
		} else {
			for i, g := range h.groups {
				b := &book[g]
				if b.Stamp != stamp {
					b.Stamp = stamp
					ex := b.Rows > 0
					if global {
						ex = h.seen
					} else if ex && int(g) >= before {
						// Created by this chunk with rows: loaded from spill.
						h.seedIDs = append(h.seedIDs, g)
					}
					gen.dirty = append(gen.dirty, g)
					gen.oldExists = append(gen.oldExists, ex)
					if keep {
						h.firstRows = append(h.firstRows, int32(i))
					}
				}
				if !retracts || ops[i].Sign() > 0 {
					b.Rows++
				} else if b.Rows--; b.Rows < 0 {
					gen.negRows = true
				}
			}
			if retracts {
				gen.exactRows = true
			}
		}
	} else {
		h.hasRows = resize(h.hasRows, len(h.gens))
		clear(h.hasRows)
		for i, g := range h.groups {
			gi := h.rowGen[i]
			gen := h.gens[gi]
			h.hasRows[gi] = true
			if b := &gen.book[g]; b.Stamp != gen.epoch {
				b.Stamp = gen.epoch
				ex := b.Rows > 0
				if ex && int(gi) == newest && int(g) >= before {
					h.seedIDs = append(h.seedIDs, g)
				}
				gen.dirty = append(gen.dirty, g)
				gen.oldExists = append(gen.oldExists, ex)
				h.firstRows = append(h.firstRows, int32(i))
				h.touchGen = append(h.touchGen, gi)
			}
			if ops[i].Sign() > 0 {
				gen.book[g].Rows++
			} else if gen.book[g].Rows--; gen.book[g].Rows < 0 {
				gen.negRows = true
			}
			if retracts {
				gen.exactRows = true
			}
		}
	}
	for gi, gen := range h.gens {
		first := gen.dirty[h.starts[gi]:]
		if len(first) == 0 {
			continue
		}
		var seeds []uint32
		if gi == newest {
			seeds = h.seedIDs
		}
		for j, o := range gen.outs {
			if err := o.capture(h.ectx, gen.rets[j], first); err != nil {
				return fmt.Errorf("stream: aggregate %s: %w", h.aggs[j].Name, err)
			}
			if err := o.seed(h.ectx, gen.rets[j], seeds); err != nil {
				return fmt.Errorf("stream: aggregate %s: %w", h.aggs[j].Name, err)
			}
		}
		if !gen.keepKeys {
			continue
		}
		rows := h.firstRows
		if newest > 0 {
			rows = nil
			for k, tg := range h.touchGen[tg0:] {
				if int(tg) == gi {
					rows = append(rows, h.firstRows[k])
				}
			}
		}
		for i, col := range h.groupCols {
			gen.oldKeys[i] = append(gen.oldKeys[i], vec.Take(h.mem, b.Column(col), rows))
		}
	}
	return nil
}

// split sets h.upd and h.ret to the groups of gen gi's added and retracted
// rows (NoGroup elsewhere) and returns them; ret is nil without
// retractions.
func (h *HashAggregate) split(ops []Op, gi int32, single bool) (upd, ret []uint32) {
	n := len(h.groups)
	h.upd = resize(h.upd, n)
	h.ret = resize(h.ret, n)
	anyRet := false
	for i, g := range h.groups {
		switch {
		case !single && h.rowGen[i] != gi:
			h.upd[i], h.ret[i] = kernels.NoGroup, kernels.NoGroup
		case ops[i].Sign() > 0:
			h.upd[i], h.ret[i] = g, kernels.NoGroup
		default:
			h.upd[i], h.ret[i] = kernels.NoGroup, g
			anyRet = true
		}
	}
	if !anyRet {
		return h.upd, nil
	}
	return h.upd, h.ret
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
	h.keys = h.keys[:0]
	for _, col := range h.groupCols {
		h.keys = append(h.keys, b.Column(col))
	}
	keys := h.keys
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
			if h.rowGen[i] < 0 && g != kernels.NoGroup && !gen.book[g].Dead {
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
	return gen.book[g].Rows > 0
}

// flush builds the epoch's output changes and resets the epoch state.
func (h *HashAggregate) flush() (*Chunk, error) {
	if gen := h.gens[0]; gen.gt == nil && !h.seen && !gen.isDirty(0) {
		// The global row appears at the first barrier even without input.
		gen.book[0].Stamp = gen.epoch
		gen.dirty = append(gen.dirty, 0)
		gen.oldExists = append(gen.oldExists, false)
		for j, o := range gen.outs {
			if err := o.capture(h.ectx, gen.rets[j], gen.dirty); err != nil {
				return nil, fmt.Errorf("stream: aggregate %s: %w", h.aggs[j].Name, err)
			}
		}
	}
	defer h.resetEpoch()
	if len(h.groupCols) == 0 && len(h.gens[0].dirty) > 0 {
		h.seen = true
	}
	var parts []*Chunk
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	partOf := make([]int, len(h.gens)) // gen → index in parts, -1: none
	for gi, gen := range h.gens {
		partOf[gi] = -1
		if len(gen.dirty) == 0 {
			continue
		}
		part, err := h.flushGen(gen)
		if err != nil {
			return nil, err
		}
		if part != nil {
			partOf[gi] = len(parts)
			parts = append(parts, part)
		}
	}
	switch len(parts) {
	case 0:
		return nil, nil
	case 1:
		out := parts[0]
		parts = nil
		return out, nil
	}
	return h.interleave(parts, partOf)
}

// interleave merges the generations' output parts into one chunk in the
// epoch's first-touch order (h.touchGen).
func (h *HashAggregate) interleave(parts []*Chunk, partOf []int) (*Chunk, error) {
	base := make([]int32, len(parts)) // first row of each part in the concatenation
	total := 0
	for k, p := range parts {
		base[k] = int32(total)
		total += len(p.Ops)
	}
	next := make([]int32, len(h.gens)) // per gen: next dirty group
	rowAt := make([]int32, len(parts)) // per part: next row
	perm := make([]int32, 0, total)
	ops := make([]Op, 0, total)
	for _, gi := range h.touchGen {
		gen := h.gens[gi]
		i := next[gi]
		next[gi]++
		if int(i) >= len(gen.outRows) {
			return nil, pgerror.Internal("stream: aggregate touch order does not match generation %d", gi)
		}
		k := partOf[gi]
		for range gen.outRows[i] {
			perm = append(perm, base[k]+rowAt[k])
			ops = append(ops, parts[k].Ops[rowAt[k]])
			rowAt[k]++
		}
	}
	if len(perm) != total {
		return nil, pgerror.Internal("stream: aggregate output has %d rows, touch order %d", total, len(perm))
	}
	cols := make([]arrow.Array, h.schema.NumFields())
	for c := range cols {
		arrs := make([]arrow.Array, len(parts))
		for k, p := range parts {
			arrs[k] = p.Batch.Column(c)
		}
		cols[c] = vec.Concat(h.mem, arrs)
	}
	all := array.NewRecordBatch(h.schema, cols, int64(total))
	for _, a := range cols {
		a.Release()
	}
	out := vec.TakeBatch(h.mem, all, perm)
	all.Release()
	return &Chunk{Batch: out, Ops: ops}, nil
}

// flushGen builds the output changes of gen's dirty groups: an
// UpdateDelete/UpdateInsert pair for a group whose output changed, an
// Insert for a group that appeared, a Delete for one that vanished.
func (h *HashAggregate) flushGen(gen *aggGen) (*Chunk, error) {
	ids := gen.dirty
	d := len(ids)
	news := make([]arrow.Array, len(h.aggs))
	defer func() {
		for _, a := range news {
			if a != nil {
				a.Release()
			}
		}
	}()
	h.changed = resize(h.changed, d)
	clear(h.changed)
	for j := range h.aggs {
		var err error
		if news[j], err = appendResults(h.ectx, gen.rets[j], ids, h.newB[j]); err != nil {
			return nil, fmt.Errorf("stream: aggregate %s: %w", h.aggs[j].Name, err)
		}
		gen.outs[j].update(ids, news[j], h.changed)
	}
	// Without retractions (or spill loads) this epoch every touched group
	// has rows: no pass over their counts.
	allLive := gen.gt != nil && !gen.exactRows
	idx := h.idx[:0]
	ops := make([]Op, 0, 2*d) // a changed group emits two rows
	gen.outRows = resize(gen.outRows, d)
	for i, g := range ids {
		oldEx, newEx := gen.oldExists[i], allLive || h.exists(gen, g)
		n0 := len(idx)
		switch {
		case oldEx && newEx:
			if !h.changed[i] {
				break
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
		gen.outRows[i] = uint8(len(idx) - n0)
	}
	h.idx = idx
	if len(idx) == 0 {
		return nil, nil
	}
	cols := make([]arrow.Array, 0, h.schema.NumFields())
	defer func() {
		for _, a := range cols {
			a.Release()
		}
	}()
	if gen.gt != nil {
		keyCols, err := h.outKeys(gen, idx)
		if err != nil {
			return nil, err
		}
		cols = append(cols, keyCols...)
	}
	for j, o := range gen.outs {
		cols = append(cols, o.column(h.mem, news[j], idx))
	}
	out := array.NewRecordBatch(h.schema, cols, int64(len(idx)))
	return &Chunk{Batch: out, Ops: ops}, nil
}

// outKeys builds the group columns of output rows idx (over gen.dirty, as
// in flushGen).
func (h *HashAggregate) outKeys(gen *aggGen, idx []int32) ([]arrow.Array, error) {
	ids := gen.dirty
	d := int32(len(ids))
	if !gen.keepKeys {
		h.outIDs = resize(h.outIDs, len(idx))
		for k, x := range idx {
			if x >= d {
				x -= d
			}
			h.outIDs[k] = ids[x]
		}
		k, ok := gen.gt.TakeKeys(h.mem, h.schema.Field(0).Type, h.outIDs)
		if !ok {
			return nil, pgerror.Internal("stream: aggregate group table cannot return keys of type %s", h.schema.Field(0).Type)
		}
		return []arrow.Array{k}, nil
	}
	rows := make([]int32, len(idx))
	for k, x := range idx {
		if x >= d {
			x -= d
		}
		rows[k] = x
	}
	out := make([]arrow.Array, len(h.groupCols))
	for i := range h.groupCols {
		all := vec.Concat(h.mem, gen.oldKeys[i])
		out[i] = vec.Take(h.mem, all, rows)
		all.Release()
	}
	return out, nil
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
	for _, gen := range h.gens {
		gen.resetEpoch()
	}
	h.touchGen = h.touchGen[:0]
}

// Close implements Executor.
func (h *HashAggregate) Close() error {
	for _, m := range h.pending {
		ReleaseMessage(m)
	}
	h.pending = nil
	for _, b := range h.newB {
		b.Release()
	}
	h.newB = nil
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
		if gen.gt == nil || gen.ndead == len(gen.book) {
			continue
		}
		keys := gen.gt.KeyArrays()
		col := keys[gi]
		for g := 0; g < len(gen.book) && g < col.Len(); g++ {
			if !gen.book[g].Dead && col.IsValid(g) && vec.CompareValues(t, col, g, bound, 0) < 0 {
				gen.book[g].Dead = true
				gen.ndead++
			}
		}
		for _, k := range keys {
			k.Release()
		}
	}
	if top := h.gens[len(h.gens)-1]; top.ndead > 0 && 2*top.ndead >= len(top.book) {
		if gen, err := h.newGen(); err == nil {
			h.gens = append(h.gens, gen)
		}
	}
	kept := h.gens[:0]
	for i, gen := range h.gens {
		if i < len(h.gens)-1 && gen.ndead == len(gen.book) {
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
