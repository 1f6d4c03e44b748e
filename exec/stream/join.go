package stream

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// JoinType selects which sides of a HashJoin are preserved.
type JoinType uint8

// Join types.
const (
	InnerJoin JoinType = iota
	LeftJoin
	RightJoin
	FullJoin
)

// HashJoin is an incremental equi-join of two inputs. Each side's rows are
// kept in memory by join key with multiplicities (a columnar side table,
// see joinSide); a change on one side probes the other side's state and
// emits the joined changes with its own sign. Outer sides emit
// NULL-extended rows while a key has no match and retract them when the
// first match arrives (and the reverse when the last match goes). Output
// updates are emitted as Delete/Insert rows, never as update pairs. NULL
// keys never match.
//
// The join works a chunk at a time: key ids and row hashes are computed per
// column, output rows are collected as pairs of row references and built by
// gathering each output column from the retained input batches.
//
// With WithSpill, the sides' buckets move to state tables at barriers when
// the join holds more than its budget, and come back when rows for their
// keys arrive (join_spill.go); the output is the same.
//
// Watermarks on a key column of both inputs clean the state below the
// smaller of the two and are forwarded on both output key columns; other
// watermarks are dropped (join_watermark.go).
//
// Output columns: the left input's columns, then the right input's.
type HashJoin struct {
	al     *aligner
	jt     JoinType
	types  [2][]types.T
	keys   [2][]int
	width  [2]int
	schema *arrow.Schema
	mem    memory.Allocator
	sides  [2]*joinSide

	// The output being built: one (left, right) row pair and op per row.
	refs [2][]rowRef
	ops  []Op
	obs  []int32 // per row of the chunk: the other side's bucket, or -1
	sink int64   // keeps the prefetching loads of probe alive

	// cond is the residual ON condition over (left row, right row); nil
	// means every key match joins.
	cond func(l, r []types.Datum) (bool, error)

	charge memCharge

	// spill is the spill state set by WithSpill (nil: in memory only).
	spill *joinSpill

	// wms tracks the inputs' watermarks on key columns; pending holds
	// the watermarks to forward (see join_watermark.go).
	wms     joinWatermarks
	pending []Message

	// bands cleans state by the band conditions of interval joins (see
	// join_band.go).
	bands joinBands
}

// WithMemBudget makes the join charge its state (both sides' retained
// batches, entries, buckets and key tables; see joinSide.bytes) to b after
// every chunk, and fail with SQLSTATE 53200 from Next when b refuses. Close
// releases it all. nil (the default) means unlimited.
func (j *HashJoin) WithMemBudget(b MemBudget) *HashJoin {
	j.charge = memCharge{budget: b, what: "hash join"}
	return j
}

// StateBytes is the join's current estimate of the memory its state holds.
func (j *HashJoin) StateBytes() int64 {
	n := int64(cap(j.refs[0])+cap(j.refs[1]))*8 + int64(cap(j.ops)) + int64(cap(j.obs))*4
	for _, sd := range j.sides {
		if sd != nil {
			n += sd.bytes()
		}
	}
	if j.spill != nil {
		n += j.spill.bytes()
	}
	return n + j.bands.bytes()
}

// WithCondition adds a residual ON condition: a left and a right row join
// when their keys are equal and cond holds. Outer sides then track, per
// row, how many rows of the other side it joins with.
func (j *HashJoin) WithCondition(cond func(l, r []types.Datum) (bool, error)) *HashJoin {
	j.cond = cond
	return j
}

// NewHashJoin joins left and right (columns of SQL types leftTypes,
// rightTypes) on leftKeys[i] = rightKeys[i].
func NewHashJoin(left, right Executor, leftTypes, rightTypes []types.T, leftKeys, rightKeys []int, jt JoinType) (*HashJoin, error) {
	if len(leftKeys) != len(rightKeys) || len(leftKeys) == 0 {
		return nil, pgerror.Internal("stream: join needs equal, non-empty key lists (%d, %d)", len(leftKeys), len(rightKeys))
	}
	j := &HashJoin{al: newAligner(left, right), jt: jt, types: [2][]types.T{leftTypes, rightTypes},
		keys: [2][]int{leftKeys, rightKeys}, mem: memory.DefaultAllocator}
	var fields []arrow.Field
	for s, in := range []Executor{left, right} {
		sc := in.Schema()
		if sc.NumFields() != len(j.types[s]) {
			return nil, pgerror.Internal("stream: join input %d has %d fields and %d types", s, sc.NumFields(), len(j.types[s]))
		}
		for _, k := range j.keys[s] {
			if k < 0 || k >= len(j.types[s]) {
				return nil, pgerror.Internal("stream: join key column %d out of range", k)
			}
		}
		j.width[s] = sc.NumFields()
		for _, f := range sc.Fields() {
			f.Nullable = true
			fields = append(fields, f)
		}
	}
	for i := range leftKeys {
		if leftTypes[leftKeys[i]].Family != rightTypes[rightKeys[i]].Family {
			return nil, pgerror.Internal("stream: join key types %s and %s differ", leftTypes[leftKeys[i]], rightTypes[rightKeys[i]])
		}
	}
	j.schema = arrow.NewSchema(fields, nil)
	j.sides[0] = newJoinSide(left.Schema(), leftTypes, leftKeys)
	j.sides[1] = newJoinSide(right.Schema(), rightTypes, rightKeys)
	return j, nil
}

// WithAllocator makes the join allocate its output with mem (before use).
func (j *HashJoin) WithAllocator(mem memory.Allocator) *HashJoin {
	j.mem = mem
	return j
}

// Schema implements Executor.
func (j *HashJoin) Schema() *arrow.Schema { return j.schema }

func (j *HashJoin) preserved(side int) bool {
	switch j.jt {
	case LeftJoin:
		return side == 0
	case RightJoin:
		return side == 1
	case FullJoin:
		return true
	}
	return false
}

// Next implements Executor.
func (j *HashJoin) Next(ctx context.Context) (Message, error) {
	if j.spill != nil {
		if err := j.spillStart(ctx); err != nil {
			return nil, err
		}
	}
	for {
		if len(j.pending) > 0 {
			m := j.pending[0]
			j.pending = j.pending[1:]
			return m, nil
		}
		side, m, err := j.al.next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			out, err := j.process(ctx, side, m)
			m.Release()
			if err == nil && j.spilling() {
				err = j.midEpoch(ctx)
			}
			if err == nil {
				err = j.charge.set(j.StateBytes())
			}
			if err != nil {
				if out != nil {
					out.Release()
				}
				return nil, err
			}
			if out != nil {
				return out, nil
			}
		case Watermark:
			if err := j.watermark(ctx, side, m); err != nil {
				return nil, err
			}
		case Barrier:
			if j.spilling() {
				if err := j.afterBarrier(ctx, m.Epoch); err != nil {
					return nil, err
				}
			}
			return m, nil
		default:
			return m, nil
		}
	}
}

func (j *HashJoin) process(ctx context.Context, s int, c *Chunk) (*Chunk, error) {
	o := 1 - s
	sd, od := j.sides[s], j.sides[o]
	b := c.Batch
	if err := sd.prepare(b); err != nil {
		return nil, err
	}
	if j.spilling() {
		// Bring the buckets of the chunk's keys back from the spill
		// tables first: probes and updates then see whole buckets.
		if err := j.loadSpilled(ctx, s, b); err != nil {
			return nil, err
		}
	}
	cur := sd.addSeg(b)
	j.refs[0], j.refs[1], j.ops = j.refs[0][:0], j.refs[1][:0], j.ops[:0]
	err := j.probe(s, o, sd, od, b, cur, c.Ops)
	j.bandTrack(0) // a load may have brought back rows of either side
	j.bandTrack(1)
	var out *Chunk
	if err == nil && len(j.ops) > 0 {
		out, err = j.build()
	}
	sd.sweep(cur)
	if sd.live == 0 && sd.nEntries > 0 {
		// Every row retracted: drop the entry pages, buckets and key table
		// too (they never shrink otherwise).
		sd.release()
	}
	if err == nil {
		err = sd.maybeCompact(j.mem)
	}
	if err != nil {
		if out != nil {
			out.Release()
		}
		return nil, err
	}
	return out, nil
}

// probe runs the rows of one chunk of side s (batch b, retained as segment
// cur) against the other side and applies them to their own side.
func (j *HashJoin) probe(s, o int, sd, od *joinSide, b arrow.RecordBatch, cur int32, ops []Op) error {
	// The other side does not change while this chunk runs, so its buckets
	// are looked up for every row first, in a loop of independent lookups
	// whose cache misses overlap; the loop also reads this side's bucket
	// and the entries the row loop will touch first, to bring them into
	// cache.
	obs := grow(j.obs, len(ops))
	j.obs = obs
	var sink int64
	for i := range ops {
		obs[i] = -1
		if sd.nullKey[i] {
			continue
		}
		id, key := sd.keyIDs[i], sd.key(i)
		if b := sd.find(id, key); b >= 0 {
			if t := sd.buckets[b].tail; t >= 0 {
				sink += sd.ent(t).n
			}
		}
		if ob := od.find(id, key); ob >= 0 {
			obs[i] = ob
			if h := od.buckets[ob].head; h >= 0 {
				sink += od.ent(h).n
			}
		}
	}
	j.sink = sink
	for i, op := range ops {
		sg := op.Sign()
		me := rowRef{seg: cur, row: int32(i)}
		if sd.nullKey[i] {
			if j.preserved(s) {
				j.emit(s, sg, me, nullRef, 1)
			}
			continue
		}
		id, key := sd.keyIDs[i], sd.key(i)
		ob := obs[i]
		if j.cond != nil {
			if err := j.probeCond(s, sd, od, b, i, me, sg, id, key, ob); err != nil {
				return err
			}
			continue
		}
		var obk *joinBucket
		if ob >= 0 {
			obk = &od.buckets[ob]
		}
		if obk != nil && obk.total > 0 {
			for e := obk.head; e >= 0; e = od.ent(e).next {
				en := od.ent(e)
				j.emit(s, sg, me, en.ref, en.n)
			}
		} else if j.preserved(s) {
			j.emit(s, sg, me, nullRef, 1)
		}
		sb := sd.bucket(id, key)
		if j.preserved(o) && obk != nil {
			before := sd.buckets[sb].total
			after := before + sg
			switch {
			case before <= 0 && after > 0:
				for e := obk.head; e >= 0; e = od.ent(e).next {
					j.emit(o, -1, od.ent(e).ref, nullRef, od.ent(e).n)
				}
			case before > 0 && after <= 0:
				for e := obk.head; e >= 0; e = od.ent(e).next {
					j.emit(o, 1, od.ent(e).ref, nullRef, od.ent(e).n)
				}
			}
		}
		sd.add(sb, b, i, me, sg, nil)
		if sd.buckets[sb].count == 0 {
			if err := j.dropBucket(s, id, sb, b, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// probeCond handles row i of side s under a residual condition (ob: the
// other side's bucket of its key, or -1).
func (j *HashJoin) probeCond(s int, sd, od *joinSide, b arrow.RecordBatch, i int, me rowRef, sg int64, id uint64, key []byte, ob int32) error {
	o := 1 - s
	cols := b.Columns()
	vals := make([]types.Datum, len(sd.ts))
	for k, t := range sd.ts {
		vals[k] = types.GetDatum(cols[k], i, t)
	}
	var m int64
	if ob >= 0 {
		for e := od.buckets[ob].head; e >= 0; e = od.ent(e).next {
			y := od.ent(e)
			var l, r []types.Datum
			if s == 0 {
				l, r = vals, od.datums[e]
			} else {
				l, r = od.datums[e], vals
			}
			ok, err := j.cond(l, r)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			m += y.n
			od.buckets[ob].dirty = true
			j.emit(s, sg, me, y.ref, y.n)
			if j.preserved(o) {
				before, after := y.matches, y.matches+sg
				switch {
				case before <= 0 && after > 0:
					j.emit(o, -1, y.ref, nullRef, y.n)
				case before > 0 && after <= 0:
					j.emit(o, 1, y.ref, nullRef, y.n)
				}
			}
			y.matches += sg
		}
	}
	if m == 0 && j.preserved(s) {
		j.emit(s, sg, me, nullRef, 1)
	}
	sb := sd.bucket(id, key)
	if e := sd.add(sb, b, i, me, sg, vals); e >= 0 {
		sd.ent(e).matches = m
	}
	if sd.buckets[sb].count == 0 {
		return j.dropBucket(s, id, sb, b, i)
	}
	return nil
}

// emit appends n copies of the joined row (own row from side s, other row
// from the other side; nullRef means NULLs) with sign sg.
func (j *HashJoin) emit(s int, sg int64, own, other rowRef, n int64) {
	if n <= 0 {
		return
	}
	op := Insert
	if sg < 0 {
		op = Delete
	}
	for ; n > 0; n-- {
		j.refs[s] = append(j.refs[s], own)
		j.refs[1-s] = append(j.refs[1-s], other)
		j.ops = append(j.ops, op)
	}
}

// build gathers the collected row pairs into an output chunk.
func (j *HashJoin) build() (*Chunk, error) {
	out := make([]arrow.Array, 0, j.schema.NumFields())
	release := func() {
		for _, a := range out {
			a.Release()
		}
	}
	for s := 0; s < 2; s++ {
		base := 0
		if s == 1 {
			base = j.width[0]
		}
		for k := 0; k < j.width[s]; k++ {
			a, err := gatherColumn(j.mem, j.schema.Field(base+k).Type, j.types[s][k], j.sides[s].segs, k, j.refs[s])
			if err != nil {
				release()
				return nil, err
			}
			out = append(out, a)
		}
	}
	rb := array.NewRecordBatch(j.schema, out, int64(len(j.ops)))
	release()
	return &Chunk{Batch: rb, Ops: append([]Op(nil), j.ops...)}, nil
}

// Close implements Executor.
func (j *HashJoin) Close() error {
	for _, sd := range j.sides {
		if sd != nil {
			sd.release()
		}
	}
	j.charge.release()
	serr := j.closeSpill()
	if err := j.al.close(); err != nil {
		return fmt.Errorf("stream: join close: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("stream: join close: %w", serr)
	}
	return nil
}
