package stream

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
)

// Spilling (OverWindow.WithSpill) follows GroupTopN's (grouptopn_spill.go):
// after a barrier, an operator over its budget writes its new and changed
// partitions to its table and releases them all; a chunk's partitions that
// are not in memory are looked up with one Get and loaded whole before the
// rows apply, so every recomputation sees the whole partition and the
// output equals the unbounded operator's. Spills commit in pieces and also
// happen mid-epoch when a chunk takes the state past the budget, after
// the epoch's changes so far are emitted (as GroupTopN's).
//
// Spill row, one per partition (value schema WindowSpillSchema):
//
//	key:   the partition key (appendColsIdentity of the partition columns)
//	value: version(1) | uvarint entries | per entry, in tree order:
//	       uvarint count | uvarint order-prefix length | uvarint len |
//	       entry key | uvarint len | state.RowCodec row of the input
//	       | uvarint outputs | per output row last emitted, in key order:
//	       uvarint copies | uvarint len | output key | uvarint len |
//	       state.RowCodec row of the output columns
//
// The append fast path's tail (WithLookback) is not stored: after a
// barrier it is the partition's last lookback rows, which a load rebuilds
// from the tree.

// windowSpillVersion is the first byte of every spilled window partition.
const windowSpillVersion = 1

// WindowSpillSchema is the value schema of an OverWindow's spill table
// (see WithSpill): one binary column holding a partition's rows and
// emitted output.
func WindowSpillSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{{Name: "window_partition", Type: arrow.BinaryTypes.Binary, Nullable: true}}, nil)
}

// WithSpill bounds the operator's memory: after a barrier, when its state
// takes more than maxBytes, its partitions move to t (an empty table with
// value schema WindowSpillSchema, owned by the operator from now on and
// closed by Close) and are read back when rows for them arrive. t is
// committed at every barrier with the barrier's epoch. Call before the
// first Next.
//
// A table that is not empty is cleared before the first row (logged at
// Warn). A column type state.RowCodec cannot encode (input or output)
// disables spilling (logged at Debug); t is still closed by Close.
func (w *OverWindow) WithSpill(t state.Table, maxBytes int64) *OverWindow {
	w.spill = newPartSpill(t, maxBytes, w.input.Schema(), w.schema, WindowSpillSchema(), "window", "window")
	return w
}

// SpillStats reports the operator's spilling.
func (w *OverWindow) SpillStats() PartitionSpillStats { return w.spill.report() }

// spilling reports whether lookups and spills are on.
func (w *OverWindow) spilling() bool { return w.spill.on() }

// applySpilling boxes and keys c's rows, loads the spilled partitions they
// need, then applies them.
func (w *OverWindow) applySpilling(ctx context.Context, c *Chunk) error {
	if !w.spilling() {
		return w.apply(c)
	}
	w.rows, w.pkeys = w.rows[:0], w.pkeys[:0]
	for i := range c.Ops {
		vals := boxRow(c.Batch, i, w.inTypes)
		w.kbuf = appendColsIdentity(w.kbuf[:0], vals, w.inTypes, w.partition)
		w.rows = append(w.rows, vals)
		w.pkeys = append(w.pkeys, string(w.kbuf))
	}
	err := w.loadSpilled(ctx)
	if err == nil {
		err = w.apply(c)
	}
	clear(w.rows)
	w.rows = w.rows[:0]
	if err != nil {
		return err
	}
	return w.spill.midEpoch(ctx, w.overBudget, func(ctx context.Context) error { return w.flushEpoch(ctx, Barrier{}) }, w.spillAll)
}

// overBudget reports whether the partitions in memory exceed the spill
// budget.
func (w *OverWindow) overBudget() bool { return w.StateBytes() > w.spill.maxBytes && len(w.parts) > 0 }

// owEntry is one decoded tree entry or output row of a spilled partition.
type owEntry struct {
	key  string
	plen int
	n    int64
}

// loadSpilled looks up the partitions of w.pkeys that are not in memory
// and loads those found.
func (w *OverWindow) loadSpilled(ctx context.Context) error {
	sp := w.spill
	if err := sp.flushPending(ctx); err != nil {
		return err
	}
	if !sp.written {
		return nil
	}
	want := sp.lookupKeys(w.pkeys, func(k string) bool { return w.parts[k] != nil })
	if len(want) == 0 {
		return nil
	}
	ks := make([][]byte, len(want))
	for i, k := range want {
		ks[i] = []byte(k)
	}
	look, err := sp.t.Get(ctx, ks)
	if err != nil {
		return fmt.Errorf("stream: window spill lookup: %w", err)
	}
	defer look.Values.Release()
	sp.stats.Lookups += int64(len(ks))
	vals, ok := look.Values.Column(0).(*array.Binary)
	if !ok {
		return pgerror.Internal("stream: window spill column is %s", look.Values.Column(0).DataType())
	}
	inB := array.NewRecordBuilder(w.mem, sp.inSchema)
	defer inB.Release()
	outB := array.NewRecordBuilder(w.mem, w.schema)
	defer outB.Release()
	var parts []string
	var ents, outs []owEntry
	var nents, nouts []int
	for i, k := range want {
		if !look.Found[i] || vals.IsNull(i) {
			sp.noteAbsent(k)
			continue
		}
		e0, o0 := len(ents), len(outs)
		if ents, outs, err = sp.decodeWindowPart(inB, outB, vals.Value(i), ents, outs); err != nil {
			return err
		}
		parts = append(parts, k)
		nents, nouts = append(nents, len(ents)-e0), append(nouts, len(outs)-o0)
	}
	if len(parts) == 0 {
		return nil
	}
	inBatch := inB.NewRecordBatch()
	defer inBatch.Release()
	outBatch := outB.NewRecordBatch()
	defer outBatch.Release()
	er, or := 0, 0
	for pi, k := range parts {
		p := &owPart{key: k, tree: newOrdTreeAcct(&w.bytes), out: map[string]*owOut{}, stored: true}
		w.parts[k] = p
		w.bytes += owPartBytes + int64(len(k))
		for range nents[pi] {
			e := ents[er]
			if _, err := p.tree.add(e.key, e.plen, boxRow(inBatch, er, w.inTypes), e.n); err != nil {
				return err
			}
			er++
		}
		for range nouts[pi] {
			e := outs[or]
			o := &owOut{vals: boxRow(outBatch, or, w.outTypes), n: e.n}
			p.out[e.key] = o
			p.bytes += owOutBytes(e.key, o.vals, len(w.inTypes))
			or++
		}
		w.bytes += p.bytes
		if w.lookback >= 0 {
			w.resetTail(p)
		}
	}
	sp.stats.LoadedPartitions += int64(len(parts))
	return nil
}

// decodeWindowPart decodes one spilled window partition: its entries and
// output rows go to ents and outs, their rows to inB and outB.
func (sp *partSpill) decodeWindowPart(inB, outB *array.RecordBuilder, src []byte, ents, outs []owEntry) ([]owEntry, []owEntry, error) {
	r := &spillValueReader{what: "window"}
	if len(src) < 1 || src[0] != windowSpillVersion {
		r.fail("version")
		return ents, outs, r.err
	}
	r.src = src[1:]
	cnt := r.uvarint("entry count")
	if r.err == nil && (cnt == 0 || cnt > uint64(len(r.src))) {
		r.fail("entry count")
	}
	for i := uint64(0); i < cnt && r.err == nil; i++ {
		c := r.uvarint("count")
		plen := r.uvarint("prefix length")
		key := r.bytes("entry key")
		row := r.bytes("row")
		if r.err != nil {
			break
		}
		if c == 0 || c > 1<<62 || plen > uint64(len(key)) {
			r.fail("entry")
			break
		}
		if err := sp.codec.DecodeInto(inB, row); err != nil {
			return ents, outs, pgerror.Wrap(err, pgerror.DataCorrupted, "stream: window spill row is corrupt")
		}
		ents = append(ents, owEntry{key: string(key), plen: int(plen), n: int64(c)})
	}
	nout := r.uvarint("output count")
	if r.err == nil && nout > uint64(len(r.src)) {
		r.fail("output count")
	}
	for i := uint64(0); i < nout && r.err == nil; i++ {
		c := r.uvarint("copies")
		key := r.bytes("output key")
		row := r.bytes("output row")
		if r.err != nil {
			break
		}
		if c == 0 || c > 1<<62 {
			r.fail("copies")
			break
		}
		if err := sp.outCodec.DecodeInto(outB, row); err != nil {
			return ents, outs, pgerror.Wrap(err, pgerror.DataCorrupted, "stream: window spill output row is corrupt")
		}
		outs = append(outs, owEntry{key: string(key), n: int64(c)})
	}
	if r.err == nil && len(r.src) != 0 {
		r.fail("trailing bytes")
	}
	return ents, outs, r.err
}

// afterBarrier runs after barrier e's output is queued: it spills when the
// state exceeds the budget and commits the table at e.
func (w *OverWindow) afterBarrier(ctx context.Context, e uint64) error {
	return w.spill.afterBarrier(ctx, e, w.overBudget, w.spillAll)
}

// spillAll writes the new and changed partitions (in key order) and
// releases every partition.
func (w *OverWindow) spillAll(ctx context.Context) error {
	sp := w.spill
	todo := dirtyParts(w.parts, func(p *owPart) bool { return !p.stored || p.changed })
	var written, nparts int64
	for len(todo) > 0 {
		inB := array.NewRecordBuilder(w.mem, sp.inSchema)
		outB := array.NewRecordBuilder(w.mem, w.schema)
		n, est := 0, int64(0)
		outKeys := make([][]string, 0, min(len(todo), topnSpillBatch))
		for n < len(todo) && n < topnSpillBatch && est < topnSpillBatchBytes {
			p := todo[n]
			for it := p.tree.first(); it.node() != nil; it.next() {
				for c, d := range it.node().vals {
					types.AppendDatum(inB.Field(c), d, w.inTypes[c])
				}
			}
			ok := owSortedKeys(p.out)
			for _, k := range ok {
				for c, d := range p.out[k].vals {
					types.AppendDatum(outB.Field(c), d, w.outTypes[c])
				}
			}
			outKeys = append(outKeys, ok)
			est += p.tree.bytes + p.bytes
			n++
		}
		inBatch, outBatch := inB.NewRecordBatch(), outB.NewRecordBatch()
		inB.Release()
		outB.Release()
		bld := array.NewBinaryBuilder(w.mem, arrow.BinaryTypes.Binary)
		ks := make([][]byte, n)
		var err error
		er, or := 0, 0
		for i, p := range todo[:n] {
			ks[i] = []byte(p.key)
			if er, or, err = w.appendPart(bld, p, outKeys[i], inBatch, outBatch, er, or); err != nil {
				break
			}
		}
		inBatch.Release()
		outBatch.Release()
		if err != nil {
			bld.Release()
			return err
		}
		nb, err := writeSpillValues(ctx, sp.t, WindowSpillSchema(), ks, bld, "window")
		bld.Release()
		if err == nil {
			_, err = sp.commitPiece(ctx, sp.t, "window")
		}
		if err != nil {
			return err
		}
		written += nb
		nparts += int64(n)
		todo = todo[n:]
	}
	slog.Debug("stream: window spilled", "partitions", len(w.parts), "written", nparts, "bytes", w.bytes)
	w.parts = map[string]*owPart{}
	w.bytes = 0
	sp.spilled(nparts, written)
	return nil
}

// appendPart appends p's spill value to bld: its entries are rows er.. of
// inBatch, its output rows (keys outKeys) rows or.. of outBatch. It returns
// the rows after p's.
func (w *OverWindow) appendPart(bld *array.BinaryBuilder, p *owPart, outKeys []string, inBatch, outBatch arrow.RecordBatch, er, or int) (int, int, error) {
	sp := w.spill
	buf := append(sp.valBuf[:0], windowSpillVersion)
	buf = binary.AppendUvarint(buf, uint64(p.tree.size))
	cnt := 0
	for it := p.tree.first(); it.node() != nil; it.next() {
		x := it.node()
		if x.cnt <= 0 {
			return er, or, pgerror.Internal("stream: window spill of an entry with count %d", x.cnt)
		}
		buf = binary.AppendUvarint(buf, uint64(x.cnt))
		buf = binary.AppendUvarint(buf, uint64(x.plen))
		buf = binary.AppendUvarint(buf, uint64(len(x.key)))
		buf = append(buf, x.key...)
		sp.rowBuf = sp.codec.AppendRow(sp.rowBuf[:0], inBatch, er)
		buf = binary.AppendUvarint(buf, uint64(len(sp.rowBuf)))
		buf = append(buf, sp.rowBuf...)
		er++
		cnt++
	}
	if cnt != p.tree.size {
		return er, or, pgerror.Internal("stream: window partition lists %d entries, sizes %d", cnt, p.tree.size)
	}
	buf = binary.AppendUvarint(buf, uint64(len(outKeys)))
	for _, k := range outKeys {
		o := p.out[k]
		if o.n <= 0 {
			return er, or, pgerror.Internal("stream: window spill of an output row with %d copies", o.n)
		}
		buf = binary.AppendUvarint(buf, uint64(o.n))
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
		sp.rowBuf = sp.outCodec.AppendRow(sp.rowBuf[:0], outBatch, or)
		buf = binary.AppendUvarint(buf, uint64(len(sp.rowBuf)))
		buf = append(buf, sp.rowBuf...)
		or++
	}
	if len(buf) > topnSpillMaxValue {
		return er, or, pgerror.New(pgerror.ProgramLimitExceeded, "stream: a window partition takes %d bytes, more than a spilled partition may hold (%d)", len(buf), topnSpillMaxValue)
	}
	sp.valBuf = buf
	bld.Append(buf)
	return er, or, nil
}
