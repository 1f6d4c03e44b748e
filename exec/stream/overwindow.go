package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// WindowFunc computes the window columns of one whole partition: it gets
// the partition's rows (input schema, sorted by the operator's order, ties
// in a deterministic order) and returns one array per extra output column,
// each with one value per row. The arrays are owned by the caller.
type WindowFunc func(ctx context.Context, partition arrow.RecordBatch) ([]arrow.Array, error)

// OverWindow evaluates window functions (OVER (PARTITION BY … ORDER BY …))
// incrementally by partition. Each partition keeps its distinct rows in an
// ordered treap (order key, then whole-row key, with counts) and the
// multiset of output rows it last emitted. At a barrier, every partition
// changed in the epoch is recomputed as one batch through compute, and only
// the output rows whose presence or window values changed are emitted
// (Deletes of the old rows, then Inserts of the new ones). The cost of an
// epoch is the size of the partitions it touched. Watermarks pass through
// unchanged.
type OverWindow struct {
	input     Executor
	inTypes   []types.T
	outTypes  []types.T
	schema    *arrow.Schema
	partition []int
	order     []SortCol
	compute   WindowFunc
	mem       memory.Allocator

	parts map[string]*owPart
	dirty []*owPart
	// lookback ≥ 0 declares that a row's window values depend only on
	// itself and the lookback rows before it (ROWS n PRECEDING … CURRENT
	// ROW frames, lag): rows appended after a partition's last row are then
	// computed from that tail alone, and earlier outputs stay as they are.
	lookback int
	kbuf     []byte
	em       *rowEmitter
	q        opQueue

	// bytes estimates the state's memory: tree entries (ordTree.bytes),
	// partitions, their emitted output rows and fast-path lists.
	bytes  int64
	charge memCharge

	spill *partSpill // nil: no spilling (WithSpill)
	rows  [][]types.Datum
	pkeys []string
}

// owPartBytes is a partition beyond its key and rows: the owPart, its
// empty tree and output map, and its map entry.
const owPartBytes = 200 + 120 + 48 + mapEntryBytes + stringBytes + ptrBytes

// owOutBytes estimates one emitted output row kept in a partition's out
// map: the entry, its key, the owOut, and its values (the first nIn share
// their boxes with the tree's row, so only their interface words count).
func owOutBytes(key string, vals []types.Datum, nIn int) int64 {
	n := int64(mapEntryBytes+stringBytes+ptrBytes+32+sliceBytes) + int64(len(key)) + int64(len(vals))*ifaceBytes
	for _, d := range vals[min(nIn, len(vals)):] {
		n += datumBytes(d) - ifaceBytes
	}
	return n
}

// WithMemBudget makes OverWindow charge its state (every distinct input
// row, boxed, in its partition's tree; the output rows last emitted per
// partition) to b after every chunk and barrier, failing with SQLSTATE
// 53200 from Next when b refuses. Close releases it all. nil (the
// default) means unlimited.
func (w *OverWindow) WithMemBudget(b MemBudget) *OverWindow {
	w.charge = memCharge{budget: b, what: "window function"}
	return w
}

// StateBytes is the operator's current estimate of the memory its state
// holds.
func (w *OverWindow) StateBytes() int64 {
	n := w.bytes + int64(cap(w.dirty))*ptrBytes
	if w.spill != nil {
		n += w.spill.bytes()
	}
	return n
}

type owPart struct {
	key   string
	tree  *ordTree
	out   map[string]*owOut // emitted output rows by row key
	dirty bool
	// bytes is the estimate of out, tail and appended (owOutBytes each,
	// plus the lists' slots).
	bytes int64

	// Append fast path (lookback ≥ 0): the largest row key at the last
	// flush, the last lookback rows then, and this epoch's rows, valid
	// while every change is an insert after lastKey.
	lastKey  string
	tail     [][]types.Datum
	appended []owAppend
	slow     bool

	stored  bool // the spill table holds a copy of the partition
	changed bool // changed since it was last written (or loaded)
}

type owAppend struct {
	key  string
	vals []types.Datum
}

type owOut struct {
	vals []types.Datum
	n    int64
}

// NewOverWindow returns the window operator over input (columns of SQL
// types inTypes) partitioned by partition and sorted by order; outSchema
// holds the input fields then one field per window column (its SQL type is
// read from the field metadata that types.ArrowField writes, else inferred
// from the Arrow type).
func NewOverWindow(input Executor, inTypes []types.T, outSchema *arrow.Schema, partition []int, order []SortCol, compute func(ctx context.Context, partition arrow.RecordBatch) ([]arrow.Array, error)) (*OverWindow, error) {
	in := input.Schema()
	if in.NumFields() != len(inTypes) {
		return nil, pgerror.Internal("stream: window input has %d fields and %d types", in.NumFields(), len(inTypes))
	}
	if outSchema == nil || outSchema.NumFields() < len(inTypes) {
		return nil, pgerror.Internal("stream: window output schema must hold the %d input fields first", len(inTypes))
	}
	if compute == nil {
		return nil, pgerror.Internal("stream: window without a compute function")
	}
	if err := checkSortCols(order, len(inTypes)); err != nil {
		return nil, err
	}
	for _, c := range partition {
		if c < 0 || c >= len(inTypes) {
			return nil, pgerror.Internal("stream: partition column %d out of range", c)
		}
	}
	outTypes := append([]types.T(nil), inTypes...)
	for i := len(inTypes); i < outSchema.NumFields(); i++ {
		t, err := fieldSQLType(outSchema.Field(i))
		if err != nil {
			return nil, err
		}
		outTypes = append(outTypes, t)
	}
	for i := range inTypes {
		if !arrow.TypeEqual(in.Field(i).Type, outSchema.Field(i).Type) {
			return nil, pgerror.Internal("stream: window output field %d is %s, input is %s", i, outSchema.Field(i).Type, in.Field(i).Type)
		}
	}
	return &OverWindow{input: input, inTypes: inTypes, outTypes: outTypes, schema: outSchema, partition: partition,
		order: order, compute: compute, mem: memory.DefaultAllocator, parts: map[string]*owPart{}, lookback: -1,
		em: newRowEmitter(outSchema, outTypes, memory.DefaultAllocator)}, nil
}

// WithLookback enables the append fast path (see OverWindow.lookback); n
// must bound how many preceding rows any window column reads. compute then
// also receives several partitions at once (each contiguous and sorted)
// and must evaluate each partition on its own.
func (w *OverWindow) WithLookback(n int) *OverWindow {
	w.lookback = n
	return w
}

// fieldSQLType is the SQL type of an output field.
func fieldSQLType(f arrow.Field) (types.T, error) {
	if tag, ok := f.Metadata.GetValue("sabot.type"); ok {
		t, err := types.DecodeTypeTag(tag)
		if err != nil {
			return types.UnknownT, pgerror.Internal("stream: window field %s: %v", f.Name, err)
		}
		return t, nil
	}
	switch f.Type.ID() {
	case arrow.BOOL:
		return types.BoolT, nil
	case arrow.INT16:
		return types.Int2T, nil
	case arrow.INT32:
		return types.Int4T, nil
	case arrow.INT64:
		return types.Int8T, nil
	case arrow.FLOAT32:
		return types.Float4T, nil
	case arrow.FLOAT64:
		return types.Float8T, nil
	case arrow.STRING:
		return types.TextT, nil
	}
	return types.UnknownT, pgerror.Internal("stream: window field %s of type %s has no SQL type", f.Name, f.Type)
}

// WithAllocator makes the operator allocate its batches with mem (before use).
func (w *OverWindow) WithAllocator(mem memory.Allocator) *OverWindow {
	w.mem = mem
	w.em.mem = mem
	return w
}

// Schema implements Executor.
func (w *OverWindow) Schema() *arrow.Schema { return w.schema }

// Next implements Executor.
func (w *OverWindow) Next(ctx context.Context) (Message, error) {
	if w.spill == nil {
		return stateNext(ctx, &w.q, w.input, &w.charge, w.StateBytes, w.apply, w.flushEpoch)
	}
	if err := w.spill.start(ctx, "window"); err != nil {
		return nil, err
	}
	return stateNext(ctx, &w.q, w.input, &w.charge, w.StateBytes,
		func(c *Chunk) error { return w.applySpilling(ctx, c) },
		func(ctx context.Context, b Barrier) error {
			if err := w.flushEpoch(ctx, b); err != nil {
				return err
			}
			if !w.spilling() {
				return nil
			}
			return w.afterBarrier(ctx, b.Epoch)
		})
}

// flushEpoch recomputes the partitions the epoch changed and queues their
// output. Partitions that only grew at their end are computed together in
// one call; the others are recomputed one by one.
func (w *OverWindow) flushEpoch(ctx context.Context, _ Barrier) error {
	var fast []*owPart
	for _, p := range w.dirty {
		if w.lookback >= 0 && !p.slow && len(p.appended) > 0 {
			fast = append(fast, p)
			continue
		}
		if err := w.flushPart(ctx, p); err != nil {
			return err
		}
	}
	if err := w.flushAppended(ctx, fast); err != nil {
		return err
	}
	clear(w.dirty)
	w.dirty = w.dirty[:0]
	w.q.push(w.em.take()...)
	return nil
}

// newBuilders returns one builder per field of schema, allocating with
// mem; finishBuilders turns them into a batch.
func newBuilders(mem memory.Allocator, schema *arrow.Schema) []array.Builder {
	bs := make([]array.Builder, schema.NumFields())
	for i, f := range schema.Fields() {
		bs[i] = array.NewBuilder(mem, f.Type)
	}
	return bs
}

// finishBuilders builds the batch of schema with rows rows from bs and
// releases the builders; the caller owns the batch.
func finishBuilders(schema *arrow.Schema, bs []array.Builder, rows int64) arrow.RecordBatch {
	cols := make([]arrow.Array, len(bs))
	for i, b := range bs {
		cols[i] = b.NewArray()
		b.Release()
	}
	rb := array.NewRecordBatch(schema, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return rb
}

// stateNext is the Next loop of an executor that folds chunks into state
// and emits at barriers (OverWindow, RollingWindow). Queued output goes
// first. Each input chunk is applied, then released. Each barrier runs
// flush (which queues what the epoch emits) and is queued after that
// output. After either, the memory charge is set to stateBytes(). Any
// other message passes straight through.
func stateNext(ctx context.Context, q *opQueue, input Executor, charge *memCharge, stateBytes func() int64,
	apply func(*Chunk) error, flush func(context.Context, Barrier) error) (Message, error) {
	for {
		if m, ok := q.pop(); ok {
			return m, nil
		}
		m, err := input.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			err := apply(m)
			m.Release()
			if err == nil {
				err = charge.set(stateBytes())
			}
			if err != nil {
				return nil, err
			}
		case Barrier:
			if err := flush(ctx, m); err != nil {
				return nil, err
			}
			if err := charge.set(stateBytes()); err != nil {
				return nil, err
			}
			q.push(m)
		default:
			return m, nil
		}
	}
}

func (w *OverWindow) apply(c *Chunk) error {
	for i, op := range c.Ops {
		var vals []types.Datum
		if w.spilling() {
			// applySpilling boxed and keyed the rows.
			vals = w.rows[i]
			w.kbuf = append(w.kbuf[:0], w.pkeys[i]...)
		} else {
			vals = boxRow(c.Batch, i, w.inTypes)
			w.kbuf = appendColsIdentity(w.kbuf[:0], vals, w.inTypes, w.partition)
		}
		p := w.parts[string(w.kbuf)]
		if p == nil {
			p = &owPart{key: string(w.kbuf), tree: newOrdTreeAcct(&w.bytes), out: map[string]*owOut{}}
			w.parts[p.key] = p
			w.bytes += owPartBytes + int64(len(p.key))
		}
		p.changed = true
		w.kbuf = appendOrderKey(w.kbuf[:0], vals, w.inTypes, w.order)
		plen := len(w.kbuf)
		w.kbuf = appendExactRowIdentity(w.kbuf, vals, w.inTypes)
		n, err := p.tree.add(string(w.kbuf), plen, vals, op.Sign())
		if err != nil {
			return err
		}
		if w.lookback >= 0 && !p.slow {
			if op.Sign() > 0 && string(w.kbuf) > p.lastKey {
				if len(p.appended) == cap(p.appended) {
					w.bytes -= int64(cap(p.appended)) * (stringBytes + sliceBytes)
					p.appended = append(p.appended, owAppend{key: n.key, vals: vals})
					w.bytes += int64(cap(p.appended)) * (stringBytes + sliceBytes)
				} else {
					p.appended = append(p.appended, owAppend{key: n.key, vals: vals})
				}
			} else {
				p.slow = true
			}
		}
		if n.cnt == 0 {
			p.tree.remove(n.key)
		}
		if !p.dirty {
			p.dirty = true
			w.dirty = append(w.dirty, p)
		}
	}
	return nil
}

// partitionBatch builds p's rows in order as one batch, with the node of
// every row.
func (w *OverWindow) partitionBatch(p *owPart) (arrow.RecordBatch, []*otNode) {
	in := w.input.Schema()
	bs := newBuilders(w.mem, in)
	var nodes []*otNode
	for it := p.tree.first(); it.node() != nil; it.next() {
		x := it.node()
		for k := x.cnt; k > 0; k-- {
			for c, d := range x.vals {
				types.AppendDatum(bs[c], d, w.inTypes[c])
			}
			nodes = append(nodes, x)
		}
	}
	rb := finishBuilders(in, bs, int64(len(nodes)))
	return rb, nodes
}

// flushAppended computes only the rows appended after each partition's
// last row, from the tail of rows before them, for many partitions in one
// compute call (compute evaluates every partition of its input).
func (w *OverWindow) flushAppended(ctx context.Context, parts []*owPart) error {
	if len(parts) == 0 {
		return nil
	}
	type span struct{ from, tail, to int }
	spans := make([]span, len(parts))
	var rows [][]types.Datum
	for i, p := range parts {
		p.dirty = false
		slices.SortStableFunc(p.appended, func(a, b owAppend) int { return strings.Compare(a.key, b.key) })
		spans[i].from = len(rows)
		rows = append(rows, p.tail...)
		spans[i].tail = len(rows)
		for _, a := range p.appended {
			rows = append(rows, a.vals)
		}
		spans[i].to = len(rows)
	}
	in := w.input.Schema()
	bs := newBuilders(w.mem, in)
	for _, r := range rows {
		for c, d := range r {
			types.AppendDatum(bs[c], d, w.inTypes[c])
		}
	}
	rb := finishBuilders(in, bs, int64(len(rows)))
	extra, err := w.computeChecked(ctx, rb)
	if err != nil {
		return err
	}
	defer releaseArrays(extra)
	for i, p := range parts {
		sp := spans[i]
		for j := sp.tail; j < sp.to; j++ {
			vals := make([]types.Datum, len(w.outTypes))
			copy(vals, rows[j])
			for k, a := range extra {
				vals[len(w.inTypes)+k] = types.GetDatum(a, j, w.outTypes[len(w.inTypes)+k])
			}
			w.kbuf = appendExactRowIdentity(w.kbuf[:0], vals, w.outTypes)
			o := p.out[string(w.kbuf)]
			if o == nil {
				o = &owOut{vals: vals}
				p.out[string(w.kbuf)] = o
				d := owOutBytes(string(w.kbuf), vals, len(w.inTypes))
				p.bytes += d
				w.bytes += d
			}
			o.n++
			w.em.diff(1, vals)
		}
		p.lastKey = p.appended[len(p.appended)-1].key
		own := rows[sp.from:sp.to]
		if k := len(own) - w.lookback; k > 0 {
			own = own[k:]
		}
		w.bytes -= int64(cap(p.tail)) * sliceBytes
		p.tail = append(p.tail[:0:0], own...)
		w.bytes += int64(cap(p.tail)) * sliceBytes
		p.appended = p.appended[:0]
	}
	return nil
}

// resetTail reloads the fast-path state from the tree after a full
// recomputation.
func (w *OverWindow) resetTail(p *owPart) {
	w.bytes -= int64(cap(p.tail)) * sliceBytes
	p.appended, p.slow, p.tail, p.lastKey = p.appended[:0], false, nil, ""
	total := p.tree.total()
	if total == 0 {
		return
	}
	for pos := max(0, total-int64(w.lookback)); pos < total; pos++ {
		n, _ := p.tree.at(pos)
		p.tail = append(p.tail, n.vals)
	}
	w.bytes += int64(cap(p.tail)) * sliceBytes
	last, _ := p.tree.at(total - 1)
	p.lastKey = last.key
}

// flushPart recomputes p and emits the output rows that changed.
func (w *OverWindow) flushPart(ctx context.Context, p *owPart) error {
	p.dirty = false
	if w.lookback >= 0 {
		defer w.resetTail(p)
	}
	newOut := map[string]*owOut{}
	var newBytes int64
	if p.tree.total() > 0 {
		rb, nodes := w.partitionBatch(p)
		extra, err := w.computeChecked(ctx, rb)
		if err != nil {
			return err
		}
		defer releaseArrays(extra)
		for j, x := range nodes {
			vals := make([]types.Datum, len(w.outTypes))
			copy(vals, x.vals)
			for k, a := range extra {
				vals[len(x.vals)+k] = types.GetDatum(a, j, w.outTypes[len(x.vals)+k])
			}
			w.kbuf = appendExactRowIdentity(w.kbuf[:0], vals, w.outTypes)
			o := newOut[string(w.kbuf)]
			if o == nil {
				o = &owOut{vals: vals}
				newOut[string(w.kbuf)] = o
				newBytes += owOutBytes(string(w.kbuf), vals, len(w.inTypes))
			}
			o.n++
		}
	}
	for _, k := range owSortedKeys(p.out) {
		o := p.out[k]
		var n int64
		if x := newOut[k]; x != nil {
			n = x.n
		}
		w.em.diff(min(n-o.n, 0), o.vals)
	}
	for _, k := range owSortedKeys(newOut) {
		o := newOut[k]
		var n int64
		if x := p.out[k]; x != nil {
			n = x.n
		}
		w.em.diff(max(o.n-n, 0), o.vals)
	}
	p.out = newOut
	w.bytes += newBytes - p.bytes
	p.bytes = newBytes
	if p.tree.size == 0 {
		if p.stored && w.spilling() {
			w.spill.pending = append(w.spill.pending, []byte(p.key))
		}
		delete(w.parts, p.key)
		// (resetTail, deferred, drops the tail's share.)
		w.bytes -= owPartBytes + int64(len(p.key)) + p.bytes + int64(cap(p.appended))*(stringBytes+sliceBytes)
	}
	return nil
}

func owSortedKeys(m map[string]*owOut) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Close implements Executor.
func (w *OverWindow) Close() error {
	w.q.release()
	w.em.release()
	w.parts = map[string]*owPart{}
	w.dirty = nil
	w.bytes = 0
	w.charge.release()
	w.rows, w.pkeys = nil, nil
	var err error
	if w.spill != nil {
		err = w.spill.close()
	}
	return errors.Join(err, w.input.Close())
}

// computeChecked runs the window functions over rb (which it releases) and
// checks their result: one array per window column, of rb's length and the
// column's type. On error nothing is left to release.
func (w *OverWindow) computeChecked(ctx context.Context, rb arrow.RecordBatch) ([]arrow.Array, error) {
	n := int(rb.NumRows())
	extra, err := w.compute(ctx, rb)
	rb.Release()
	if err != nil {
		err = fmt.Errorf("stream: window function: %w", err)
	} else {
		err = w.checkComputed(extra, n)
	}
	if err != nil {
		releaseArrays(extra)
		return nil, err
	}
	return extra, nil
}

func (w *OverWindow) checkComputed(extra []arrow.Array, n int) error {
	if len(extra) != len(w.outTypes)-len(w.inTypes) {
		return pgerror.Internal("stream: window function returned %d columns, want %d", len(extra), len(w.outTypes)-len(w.inTypes))
	}
	for k, a := range extra {
		if a == nil || a.Len() != n {
			return pgerror.Internal("stream: window function returned a column of the wrong length")
		}
		if f := w.schema.Field(len(w.inTypes) + k); !arrow.TypeEqual(a.DataType(), f.Type) {
			return pgerror.Internal("stream: window function returned %s for column %s of type %s", a.DataType(), f.Name, f.Type)
		}
	}
	return nil
}

// releaseArrays releases the non-nil arrays of as.
func releaseArrays(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}
