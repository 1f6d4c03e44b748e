package stream

import (
	"encoding/binary"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// This file holds the helpers shared by TopN, GroupTopN, SetOp,
// DynamicFilter and OverWindow: an order-statistic treap over
// memcomparable row keys, the order-key encoding, a row emitter that cuts
// output chunks, and a watermark merger for two-input operators.
//
// Those five operators keep their state in Go memory (rebuilt by
// replaying changelogs, like HashAggregate and HashJoin) and share these
// rules:
//  1. A row's identity is types.AppendKey of all its columns (NULLs equal,
//     numeric 1.0 = 1.00); duplicates are one entry with a count, so a
//     Delete retracts one copy. A Delete of an absent row is an internal
//     error, never a negative count.
//  2. Order keys are memcomparable (appendOrderKey): bytewise order is the
//     SQL order with DESC and NULLS FIRST/LAST applied; the whole-row key
//     follows it, so ties are ordered deterministically.
//  3. Every entry records what it last emitted; an epoch's output is the
//     difference between that and its new result, computed at the barrier
//     (DynamicFilter: left rows at once, right changes at the barrier) and
//     queued before the barrier. Applying the output up to barrier E gives
//     the result over the inputs' net contents at E.
//  4. Work per epoch is bounded by the entries the epoch touched plus the
//     output that changes (TopN/GroupTopN: the kept window of changed
//     partitions; OverWindow: the changed partitions; DynamicFilter: the
//     rows between the old and the new value), never a rescan of all state.

// SortCol is one ORDER BY column of an operator's input.
type SortCol struct {
	Col        int
	Desc       bool
	NullsFirst bool
}

// Sort-key markers: NULLs first < values < NULLs last. A value's bytes
// follow its marker as types.AppendKey writes them, complemented for DESC
// (the encoding is prefix-free, so complementing reverses its order).
const (
	sortNullFirst = 0x00
	sortValue     = 0x01
	sortNullLast  = 0x02
)

// appendOrderKey appends the order key of vals under order.
func appendOrderKey(buf []byte, vals []types.Datum, ts []types.T, order []SortCol) []byte {
	for _, sc := range order {
		d := vals[sc.Col]
		if d == nil {
			if sc.NullsFirst {
				buf = append(buf, sortNullFirst)
			} else {
				buf = append(buf, sortNullLast)
			}
			continue
		}
		start := len(buf)
		buf = types.AppendKey(buf, d, ts[sc.Col])
		buf[start] = sortValue
		if sc.Desc {
			for i := start + 1; i < len(buf); i++ {
				buf[i] = ^buf[i]
			}
		}
	}
	return buf
}

// appendRowIdentity appends the identity key of a whole row (equal keys mean
// equal rows in the GROUP BY sense; NULLs equal).
func appendRowIdentity(buf []byte, vals []types.Datum, ts []types.T) []byte {
	for i, d := range vals {
		buf = types.AppendKey(buf, d, ts[i])
	}
	return buf
}

// appendExactRowIdentity appends the key of a whole row that also tells
// apart values equal in SQL but displayed differently (numeric 1.0 and
// 1.00, float -0 and 0, bpchar trailing spaces): the canonical key of
// appendRowIdentity, then, for such columns, their exact form
// (length-prefixed). Pass-through operators use it so that the copies
// they emit are the ones they received.
func appendExactRowIdentity(buf []byte, vals []types.Datum, ts []types.T) []byte {
	buf = appendRowIdentity(buf, vals, ts)
	for i, d := range vals {
		if d == nil {
			continue
		}
		var exact string
		switch ts[i].Family {
		case types.FamNumeric, types.FamBpchar, types.FamFloat4, types.FamFloat8, types.FamArray:
			var ctx types.Ctx
			exact = types.FormatText(&ctx, d, ts[i])
		default:
			continue
		}
		buf = binary.AppendUvarint(buf, uint64(i))
		buf = binary.AppendUvarint(buf, uint64(len(exact)))
		buf = append(buf, exact...)
	}
	return buf
}

// appendColsIdentity appends the identity key of columns cols of a row.
func appendColsIdentity(buf []byte, vals []types.Datum, ts []types.T, cols []int) []byte {
	for _, c := range cols {
		buf = types.AppendKey(buf, vals[c], ts[c])
	}
	return buf
}

// boxRow boxes row i of b.
func boxRow(b arrow.RecordBatch, i int, ts []types.T) []types.Datum {
	vals := make([]types.Datum, len(ts))
	for c, t := range ts {
		vals[c] = types.GetDatum(b.Column(c), i, t)
	}
	return vals
}

func checkSortCols(order []SortCol, n int) error {
	for _, sc := range order {
		if sc.Col < 0 || sc.Col >= n {
			return pgerror.Internal("stream: sort column %d out of range", sc.Col)
		}
	}
	return nil
}

// rowEmitter accumulates output rows (datums) into chunks of at most
// rowEmitterChunk rows, never splitting an update pair.
type rowEmitter struct {
	schema   *arrow.Schema
	ts       []types.T
	mem      memory.Allocator
	builders []array.Builder
	ops      []Op
	out      []Message
}

const rowEmitterChunk = 4096

func newRowEmitter(schema *arrow.Schema, ts []types.T, mem memory.Allocator) *rowEmitter {
	return &rowEmitter{schema: schema, ts: ts, mem: mem}
}

// row appends one output row; extra values follow vals (for a rank column).
func (e *rowEmitter) row(op Op, vals []types.Datum, extra ...types.Datum) {
	if e.builders == nil {
		for _, f := range e.schema.Fields() {
			e.builders = append(e.builders, array.NewBuilder(e.mem, f.Type))
		}
	}
	for i, d := range vals {
		types.AppendDatum(e.builders[i], d, e.ts[i])
	}
	for j, d := range extra {
		types.AppendDatum(e.builders[len(vals)+j], d, e.ts[len(vals)+j])
	}
	e.ops = append(e.ops, op)
	if len(e.ops) >= rowEmitterChunk && op != UpdateDelete {
		e.cut()
	}
}

// rows appends n copies of a row with op.
func (e *rowEmitter) rows(op Op, n int64, vals []types.Datum, extra ...types.Datum) {
	for ; n > 0; n-- {
		e.row(op, vals, extra...)
	}
}

// diff appends |d| inserts (d > 0) or deletes (d < 0) of a row.
func (e *rowEmitter) diff(d int64, vals []types.Datum, extra ...types.Datum) {
	if d > 0 {
		e.rows(Insert, d, vals, extra...)
	} else if d < 0 {
		e.rows(Delete, -d, vals, extra...)
	}
}

// cut turns the buffered rows into a chunk queued on out.
func (e *rowEmitter) cut() {
	if len(e.ops) == 0 {
		return
	}
	cols := make([]arrow.Array, len(e.builders))
	for i, b := range e.builders {
		cols[i] = b.NewArray()
	}
	rb := array.NewRecordBatch(e.schema, cols, int64(len(e.ops)))
	for _, a := range cols {
		a.Release()
	}
	e.out = append(e.out, &Chunk{Batch: rb, Ops: e.ops})
	e.ops = nil
}

// take returns the queued messages (after cutting the open chunk) and
// empties the opQueue.
func (e *rowEmitter) take() []Message {
	e.cut()
	out := e.out
	e.out = nil
	return out
}

func (e *rowEmitter) release() {
	for _, m := range e.out {
		ReleaseMessage(m)
	}
	e.out = nil
	for _, b := range e.builders {
		b.Release()
	}
	e.builders = nil
	e.ops = nil
}

// opQueue is a FIFO of messages waiting to be returned by Next.
type opQueue struct{ msgs []Message }

func (q *opQueue) push(ms ...Message) { q.msgs = append(q.msgs, ms...) }

func (q *opQueue) pop() (Message, bool) {
	if len(q.msgs) == 0 {
		return nil, false
	}
	m := q.msgs[0]
	q.msgs[0] = nil
	q.msgs = q.msgs[1:]
	return m, true
}

func (q *opQueue) release() {
	for _, m := range q.msgs {
		ReleaseMessage(m)
	}
	q.msgs = nil
}

// minWatermarks forwards, for a multi-input operator whose output columns are
// its inputs' columns, the minimum watermark of a column over the inputs
// once every live input reported one.
type minWatermarks struct {
	ts  []types.T
	n   int
	wms map[int][]types.Datum
}

func newMinWatermarks(ts []types.T, inputs int) *minWatermarks {
	return &minWatermarks{ts: ts, n: inputs, wms: map[int][]types.Datum{}}
}

// observe records w from input i and returns the watermark to forward.
func (m *minWatermarks) observe(i int, w Watermark, ended []bool) (Watermark, bool, error) {
	if w.Col < 0 || w.Col >= len(m.ts) {
		return Watermark{}, false, pgerror.Internal("stream: watermark column %d out of range", w.Col)
	}
	ws := m.wms[w.Col]
	if ws == nil {
		ws = make([]types.Datum, m.n)
		m.wms[w.Col] = ws
	}
	ws[i] = w.Value
	var lo types.Datum
	for j, v := range ws {
		if ended[j] {
			continue
		}
		if v == nil {
			return Watermark{}, false, nil
		}
		if lo == nil || types.Compare(v, lo, m.ts[w.Col]) < 0 {
			lo = v
		}
	}
	if lo == nil {
		return Watermark{}, false, nil
	}
	return Watermark{Col: w.Col, Value: lo}, true, nil
}
