package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
)

// Spilling (GroupTopN.WithSpill). After a barrier, a group top-N whose
// state takes more than maxBytes writes its partitions that are new or
// changed since they were last written to its spill table and releases
// every partition from memory. A chunk whose rows belong to partitions not
// in memory looks their keys up — one Get per chunk, for the distinct
// missing keys — and loads the partitions found (whole: every distinct row
// with its count and the output it last emitted) before the rows are
// applied. So each row lands in its partition's complete tree and the
// barrier's re-ranking emits exactly what an unbounded GroupTopN emits, row
// for row and in the same order.
//
// Spill row, one per partition (value schema TopNSpillSchema):
//
//	key:   the partition key as the operator keys its map
//	       (appendColsIdentity of the partition columns, NULLs equal)
//	value: version(1) | flags | [uvarint len | hi key, flag bit 0]
//	       | uvarint entries | per entry, in tree order:
//	       uvarint count | uvarint copies emitted | varint rank emitted
//	       | uvarint order-prefix length | uvarint len | entry key
//	       | uvarint len | state.RowCodec row of the input columns
//
// Entry keys are stored rather than recomputed so a loaded tree orders
// (and tells apart) its rows exactly as before the spill.
//
// Which copy is read: a partition is looked up only when it is not in
// memory, so the table copy of a partition in memory is never read. When a
// stored partition empties, its key's deletion is queued and written before
// the next lookup; a changed partition is rewritten at the next spill; a
// loaded partition that did not change is not rewritten. Keys a lookup did
// not find are remembered (the negative cache) until the next spill, the
// only time the table gains keys.
//
// Pieces and mid-epoch spills, as the aggregate's (aggregate_spill.go):
// the table is the operator's private scratch space, so barrier e commits
// it at e<<spillEpochBits and a spill commits after every Write (at most
// topnSpillBatch partitions or topnSpillBatchBytes) at the next sub-epoch;
// the table's pending writes are then one Write's. And the state is
// compared with the budget after every chunk: when an epoch's partitions
// exceed it (a large transaction, a backfill slice), the operator emits
// the epoch's changes so far (re-ranking its dirty partitions as a barrier
// does) and spills at once. A partition changed again later in the epoch
// is loaded back and emits its further changes at the barrier; the epoch's
// net changes are the same.

// topnSpillVersion is the first byte of every spilled partition.
const topnSpillVersion = 1

// topnSpillHasHi is the flag of a partition that has emitted rows.
const topnSpillHasHi = 1

// Bounds of one Write of a spill (partitions, value bytes) and of one
// partition's value.
const (
	topnSpillBatch      = 4096
	topnSpillBatchBytes = 32 << 20
	topnSpillMaxValue   = 1 << 30
)

// TopNSpillSchema is the value schema of a GroupTopN's spill table (see
// WithSpill): one binary column holding a partition's rows.
func TopNSpillSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{{Name: "topn_partition", Type: arrow.BinaryTypes.Binary, Nullable: true}}, nil)
}

// PartitionSpillStats reports a spilling GroupTopN's or OverWindow's
// activity.
type PartitionSpillStats struct {
	// Active is false when WithSpill was not called or spilling is
	// unavailable (a column type the row codec lacks).
	Active bool
	// Spills counts barriers that spilled.
	Spills int64
	// SpilledPartitions counts partition rows written; LoadedPartitions
	// those read back; Lookups the keys looked up.
	SpilledPartitions, LoadedPartitions, Lookups int64
	// SpilledBytes is the key and value bytes written in all,
	// LastSpillBytes those of the last spill.
	SpilledBytes, LastSpillBytes int64
	// MidEpochSpills counts spills between barriers (see "Pieces and
	// mid-epoch spills").
	MidEpochSpills int64
}

// partSpill is the spill state of a GroupTopN or an OverWindow.
type partSpill struct {
	t        state.Table
	maxBytes int64
	codec    *state.RowCodec
	outCodec *state.RowCodec // OverWindow: the output rows
	inSchema *arrow.Schema
	active   bool
	closed   bool
	started  bool
	err      error
	// written: the table may hold partitions (lookups needed).
	written bool
	// pending are keys of stored partitions that emptied.
	pending [][]byte
	// absent holds keys known not to be in the table; absentBytes their
	// memory.
	absent      map[string]struct{}
	absentBytes int64

	stats PartitionSpillStats

	// The table's epochs; noMidEpoch turns mid-epoch spills off (tests
	// that compare exact changelogs).
	spillClock
	noMidEpoch bool

	valBuf []byte
	rowBuf []byte
}

// dirtyParts returns the partitions of parts (keyed by their own key) that
// dirty selects, in key order: what a partition spill writes.
func dirtyParts[P any](parts map[string]P, dirty func(P) bool) []P {
	keys := make([]string, 0, len(parts))
	for k, p := range parts {
		if dirty(p) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	todo := make([]P, len(keys))
	for i, k := range keys {
		todo[i] = parts[k]
	}
	return todo
}

// writeSpillValues writes the values built in bld (one per key of ks, in
// order) as a one-column batch of schema to t, and returns the bytes
// written: the values plus the keys. It resets bld but does not release it;
// what names the operator in the error.
func writeSpillValues(ctx context.Context, t state.Table, schema *arrow.Schema, ks [][]byte, bld *array.BinaryBuilder, what string) (int64, error) {
	arr := bld.NewArray()
	written := int64(len(arr.(*array.Binary).ValueBytes()))
	for _, k := range ks {
		written += int64(len(k))
	}
	vals := array.NewRecordBatch(schema, []arrow.Array{arr}, int64(arr.Len()))
	arr.Release()
	err := t.Write(ctx, ks, nil, vals)
	vals.Release()
	if err != nil {
		return 0, fmt.Errorf("stream: %s spill write: %w", what, err)
	}
	return written, nil
}

// WithSpill bounds the operator's memory: after a barrier, when its state
// takes more than maxBytes, its partitions move to t (an empty table with
// value schema TopNSpillSchema, owned by the operator from now on and
// closed by Close) and are read back when rows for them arrive. t is
// committed at every barrier with the barrier's epoch. Call before the
// first Next.
//
// A table that is not empty is cleared before the first row (logged at
// Warn): the state is rebuilt by replaying the input. An input column type
// state.RowCodec cannot encode disables spilling (logged at Debug); t is
// still closed by Close.
func (g *GroupTopN) WithSpill(t state.Table, maxBytes int64) *GroupTopN {
	g.spill = newPartSpill(t, maxBytes, g.input.Schema(), nil, TopNSpillSchema(), "top-N", "group top-N")
	return g
}

// newPartSpill is the partition spill of an operator with input schema in
// (and, when out is not nil, output rows of schema out) into t, whose value
// schema must be want. A wrong schema is kept as the error start reports; a
// column type state.RowCodec cannot encode leaves spilling off. what names
// the spill in errors, name the operator in the log.
func newPartSpill(t state.Table, maxBytes int64, in, out, want *arrow.Schema, what, name string) *partSpill {
	sp := &partSpill{t: t, maxBytes: maxBytes, inSchema: in, absent: map[string]struct{}{}}
	if t == nil {
		return sp
	}
	if !t.ValueSchema().Equal(want) {
		sp.err = pgerror.Internal("stream: %s spill table schema %s, want %s", what, t.ValueSchema(), want)
		return sp
	}
	codec, err := state.NewRowCodec(sp.inSchema)
	if err == nil && out != nil {
		sp.outCodec, err = state.NewRowCodec(out)
	}
	if err != nil {
		slog.Debug("stream: "+name+" does not spill", "err", err)
		return sp
	}
	sp.codec = codec
	sp.active = true
	return sp
}

// SpillStats reports the operator's spilling.
func (g *GroupTopN) SpillStats() PartitionSpillStats { return g.spill.report() }

// report is the spill's statistics (zero for a nil spill).
func (sp *partSpill) report() PartitionSpillStats {
	if sp == nil {
		return PartitionSpillStats{}
	}
	st := sp.stats
	st.Active = sp.active
	return st
}

// spilling reports whether lookups and spills are on.
func (g *GroupTopN) spilling() bool { return g.spill.on() }

// on reports whether lookups and spills are on (false for a nil spill).
func (sp *partSpill) on() bool { return sp != nil && sp.active && !sp.closed }

// spillStart runs before the first message: it reports a misconfiguration
// and empties a table that already holds partitions.
func (g *GroupTopN) spillStart(ctx context.Context) error { return g.spill.start(ctx, "top-N") }

// start reports a misconfiguration and, the first time, empties a table
// that already holds partitions (the state is rebuilt by replaying the
// input); what names the operator in messages.
func (sp *partSpill) start(ctx context.Context, what string) error {
	if sp.err != nil {
		return sp.err
	}
	if sp.closed {
		return pgerror.Internal("stream: %s operator used after Close", what)
	}
	if sp.started || !sp.active {
		return nil
	}
	sp.started = true
	var stale [][]byte
	err := sp.t.Scan(ctx, state.KeyRange{}, func(k [][]byte, _ arrow.RecordBatch) error {
		for _, x := range k {
			stale = append(stale, slices.Clone(x))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("stream: %s spill table: %w", what, err)
	}
	if len(stale) == 0 {
		return nil
	}
	slog.Warn("stream: spill table was not empty; clearing it", "operator", what, "keys", len(stale), "committed_epoch", uint64(sp.t.CommittedEpoch()))
	ops := make([]state.Op, len(stale))
	for i := range ops {
		ops[i] = state.OpDelete
	}
	if err := sp.t.Write(ctx, stale, ops, nil); err != nil {
		return fmt.Errorf("stream: %s spill table: %w", what, err)
	}
	return nil
}

// commit commits the table at barrier e (if past its committed epoch).
func (sp *partSpill) commit(ctx context.Context, e uint64) error {
	return sp.commitBarrier(ctx, sp.t, e, "partition")
}

// midEpoch runs after a chunk: when over (asked first) says the state
// exceeds the budget, it emits the epoch's changes so far (flush), writes
// the pending deletions and spills (see "Pieces and mid-epoch spills").
func (sp *partSpill) midEpoch(ctx context.Context, over func() bool, flush func(context.Context) error, spillAll func(context.Context) error) error {
	if !sp.on() || sp.noMidEpoch || !over() {
		return nil
	}
	if err := flush(ctx); err != nil {
		return err
	}
	if err := sp.flushPending(ctx); err != nil {
		return err
	}
	if err := spillAll(ctx); err != nil {
		return err
	}
	sp.stats.MidEpochSpills++
	return nil
}

// lookupKeys returns the distinct keys of pkeys that are not in memory
// (inMem) and not known absent.
func (sp *partSpill) lookupKeys(pkeys []string, inMem func(string) bool) []string {
	var want []string
	seen := map[string]struct{}{}
	for _, k := range pkeys {
		if inMem(k) {
			continue
		}
		if _, ok := sp.absent[k]; ok {
			continue
		}
		if _, ok := seen[k]; ok {
			continue
		}
		seen[k] = struct{}{}
		want = append(want, k)
	}
	return want
}

// spilled records a spill that wrote nparts partitions in written bytes.
func (sp *partSpill) spilled(nparts, written int64) {
	sp.absent = map[string]struct{}{}
	sp.absentBytes = 0
	sp.written = true
	sp.stats.Spills++
	sp.stats.SpilledPartitions += nparts
	sp.stats.SpilledBytes += written
	sp.stats.LastSpillBytes = written
}

// close closes the table.
func (sp *partSpill) close() error {
	sp.closed = true
	if sp.t == nil {
		return nil
	}
	t := sp.t
	sp.t = nil
	if err := t.Close(); err != nil && !errors.Is(err, state.ErrClosed) {
		return fmt.Errorf("stream: spill table close: %w", err)
	}
	return nil
}

// spillValueReader reads the fields of a spilled partition value; the
// first malformed field makes every later read fail with a
// data-corrupted error naming what.
type spillValueReader struct {
	src  []byte
	what string
	err  error
}

func (r *spillValueReader) fail(field string) {
	if r.err == nil {
		r.err = pgerror.New(pgerror.DataCorrupted, "stream: %s spill partition is corrupt (%s)", r.what, field)
	}
}

func (r *spillValueReader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.src)
	if n <= 0 {
		r.fail(field)
		return 0
	}
	r.src = r.src[n:]
	return v
}

func (r *spillValueReader) varint(field string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.src)
	if n <= 0 {
		r.fail(field)
		return 0
	}
	r.src = r.src[n:]
	return v
}

func (r *spillValueReader) bytes(field string) []byte {
	l := r.uvarint(field)
	if r.err != nil {
		return nil
	}
	if l > uint64(len(r.src)) {
		r.fail(field)
		return nil
	}
	b := r.src[:l]
	r.src = r.src[l:]
	return b
}

// noteAbsent remembers that key is not in the table; the cache starts over
// beyond an eighth of the budget (at least 64 KiB).
func (sp *partSpill) noteAbsent(key string) {
	if sp.absentBytes > max(sp.maxBytes/8, joinAbsentMin) {
		sp.absent = map[string]struct{}{}
		sp.absentBytes = 0
	}
	sp.absent[key] = struct{}{}
	sp.absentBytes += int64(len(key)) + stringBytes + mapEntryBytes
}

// flushPending writes the queued deletions.
func (sp *partSpill) flushPending(ctx context.Context) error {
	if len(sp.pending) == 0 {
		return nil
	}
	ops := make([]state.Op, len(sp.pending))
	for i := range ops {
		ops[i] = state.OpDelete
	}
	if err := sp.t.Write(ctx, sp.pending, ops, nil); err != nil {
		return fmt.Errorf("stream: top-N spill delete: %w", err)
	}
	clear(sp.pending)
	sp.pending = sp.pending[:0]
	return nil
}

// bytes estimates the memory the spill bookkeeping holds.
func (sp *partSpill) bytes() int64 {
	n := int64(cap(sp.valBuf)+cap(sp.rowBuf)) + sp.absentBytes + int64(cap(sp.pending))*sliceBytes
	for _, k := range sp.pending {
		n += int64(cap(k))
	}
	return n
}

// loadSpilled looks up the partitions keys (distinct, not in memory, not
// known absent) and loads those found.
func (g *GroupTopN) loadSpilled(ctx context.Context, pkeys []string) error {
	sp := g.spill
	if err := sp.flushPending(ctx); err != nil {
		return err
	}
	if !sp.written {
		return nil
	}
	want := sp.lookupKeys(pkeys, func(k string) bool { return g.parts[k] != nil })
	if len(want) == 0 {
		return nil
	}
	ks := make([][]byte, len(want))
	for i, k := range want {
		ks[i] = []byte(k)
	}
	look, err := sp.t.Get(ctx, ks)
	if err != nil {
		return fmt.Errorf("stream: top-N spill lookup: %w", err)
	}
	defer look.Values.Release()
	sp.stats.Lookups += int64(len(ks))
	vals, ok := look.Values.Column(0).(*array.Binary)
	if !ok {
		return pgerror.Internal("stream: top-N spill column is %s", look.Values.Column(0).DataType())
	}
	rb := array.NewRecordBuilder(g.em.mem, sp.inSchema)
	defer rb.Release()
	var parts []*gtPart
	var ents []topnEntry
	var nents []int
	for i, k := range want {
		if !look.Found[i] || vals.IsNull(i) {
			sp.noteAbsent(k)
			continue
		}
		p := &gtPart{key: k}
		n0 := len(ents)
		var err error
		if ents, err = sp.decodePart(p, rb, vals.Value(i), ents); err != nil {
			return err
		}
		parts = append(parts, p)
		nents = append(nents, len(ents)-n0)
	}
	if len(parts) == 0 {
		return nil
	}
	batch := rb.NewRecordBatch()
	defer batch.Release()
	row := 0
	for pi, p := range parts {
		p.tree = newOrdTreeAcct(&g.bytes)
		p.stored = true
		g.parts[p.key] = p
		g.bytes += gtPartBytes + int64(len(p.key))
		for range nents[pi] {
			e := ents[row]
			vs := boxRow(batch, row, g.inTypes)
			x, err := p.tree.add(e.key, e.plen, vs, e.cnt)
			if err != nil {
				return err
			}
			x.outN, x.outRank = e.outN, e.outRank
			row++
		}
	}
	sp.stats.LoadedPartitions += int64(len(parts))
	return nil
}

// topnEntry is one decoded entry of a spilled partition (its row goes to
// the record builder).
type topnEntry struct {
	key     string
	plen    int
	cnt     int64
	outN    int64
	outRank int64
}

// decodePart decodes one spilled partition into p's hi fields, its entries
// (appended to ents) and its rows (appended to rb).
func (sp *partSpill) decodePart(p *gtPart, rb *array.RecordBuilder, src []byte, ents []topnEntry) ([]topnEntry, error) {
	r := &spillValueReader{what: "top-N"}
	if len(src) < 2 || src[0] != topnSpillVersion || src[1]&^topnSpillHasHi != 0 {
		r.fail("header")
		return ents, r.err
	}
	flags := src[1]
	r.src = src[2:]
	if flags&topnSpillHasHi != 0 {
		p.hi, p.hasHi = string(r.bytes("hi key")), true
	}
	cnt := r.uvarint("entry count")
	if r.err == nil && (cnt == 0 || cnt > uint64(len(r.src))) {
		r.fail("entry count")
	}
	for i := uint64(0); i < cnt && r.err == nil; i++ {
		c := r.uvarint("count")
		outN := r.uvarint("output count")
		rank := r.varint("output rank")
		plen := r.uvarint("prefix length")
		key := r.bytes("entry key")
		row := r.bytes("row")
		if r.err != nil {
			break
		}
		if c == 0 || c > 1<<62 || outN > c || plen > uint64(len(key)) {
			r.fail("entry")
			break
		}
		if err := sp.codec.DecodeInto(rb, row); err != nil {
			return ents, pgerror.Wrap(err, pgerror.DataCorrupted, "stream: top-N spill row is corrupt")
		}
		ents = append(ents, topnEntry{key: string(key), plen: int(plen), cnt: int64(c), outN: int64(outN), outRank: rank})
	}
	if r.err == nil && len(r.src) != 0 {
		r.fail("trailing bytes")
	}
	return ents, r.err
}

// afterBarrier runs when barrier e has been handled: it spills when the
// state exceeds the budget and commits the table at e.
func (g *GroupTopN) afterBarrier(ctx context.Context, e uint64) error {
	return g.spill.afterBarrier(ctx, e, g.overBudget, g.spillAll)
}

// overBudget reports whether the partitions in memory exceed the spill
// budget.
func (g *GroupTopN) overBudget() bool { return g.StateBytes() > g.spill.maxBytes && len(g.parts) > 0 }

// midEpoch spills after a chunk when the state is over the budget, once
// the dirty partitions' changes so far are queued.
func (g *GroupTopN) midEpoch(ctx context.Context) error {
	return g.spill.midEpoch(ctx, g.overBudget, func(context.Context) error {
		g.flushDirty()
		g.q.push(g.em.take()...)
		return nil
	}, g.spillAll)
}

// afterBarrier writes the pending deletions, runs spillAll when over
// (asked after that) says the state exceeds the budget, and commits the
// table at e: an operator's afterBarrier.
func (sp *partSpill) afterBarrier(ctx context.Context, e uint64, over func() bool, spillAll func(context.Context) error) error {
	if err := sp.flushPending(ctx); err != nil {
		return err
	}
	if over() {
		if err := spillAll(ctx); err != nil {
			return err
		}
	}
	return sp.commit(ctx, e)
}

// spillAll writes the new and changed partitions (in key order) and
// releases every partition.
func (g *GroupTopN) spillAll(ctx context.Context) error {
	sp := g.spill
	todo := dirtyParts(g.parts, func(p *gtPart) bool { return !p.stored || p.changed })
	var written, nparts int64
	for len(todo) > 0 {
		// One Write: up to topnSpillBatch partitions, cut once the values
		// pass topnSpillBatchBytes.
		rb := array.NewRecordBuilder(g.em.mem, sp.inSchema)
		n, est := 0, int64(0)
		for n < len(todo) && n < topnSpillBatch && est < topnSpillBatchBytes {
			p := todo[n]
			for it := p.tree.first(); it.node() != nil; it.next() {
				for c, d := range it.node().vals {
					types.AppendDatum(rb.Field(c), d, g.inTypes[c])
				}
			}
			est += p.tree.bytes
			n++
		}
		batch := rb.NewRecordBatch()
		rb.Release()
		bld := array.NewBinaryBuilder(g.em.mem, arrow.BinaryTypes.Binary)
		ks := make([][]byte, n)
		row := 0
		var err error
		for i, p := range todo[:n] {
			ks[i] = []byte(p.key)
			if row, err = g.appendPart(bld, p, batch, row); err != nil {
				break
			}
		}
		batch.Release()
		if err != nil {
			bld.Release()
			return err
		}
		nb, err := writeSpillValues(ctx, sp.t, TopNSpillSchema(), ks, bld, "top-N")
		bld.Release()
		if err == nil {
			_, err = sp.commitPiece(ctx, sp.t, "top-N")
		}
		if err != nil {
			return err
		}
		written += nb
		nparts += int64(n)
		todo = todo[n:]
	}
	slog.Debug("stream: group top-N spilled", "partitions", len(g.parts), "written", nparts, "bytes", g.bytes)
	g.parts = map[string]*gtPart{}
	g.bytes = 0
	sp.spilled(nparts, written)
	return nil
}

// appendPart appends partition p's spill value to bld; its rows are rows
// row.. of batch. It returns the row after p's.
func (g *GroupTopN) appendPart(bld *array.BinaryBuilder, p *gtPart, batch arrow.RecordBatch, row int) (int, error) {
	sp := g.spill
	var flags byte
	if p.hasHi {
		flags |= topnSpillHasHi
	}
	buf := append(sp.valBuf[:0], topnSpillVersion, flags)
	if p.hasHi {
		buf = binary.AppendUvarint(buf, uint64(len(p.hi)))
		buf = append(buf, p.hi...)
	}
	buf = binary.AppendUvarint(buf, uint64(p.tree.size))
	cnt := 0
	for it := p.tree.first(); it.node() != nil; it.next() {
		x := it.node()
		if x.cnt <= 0 || x.outN < 0 {
			return row, pgerror.Internal("stream: top-N spill of an entry with count %d", x.cnt)
		}
		buf = binary.AppendUvarint(buf, uint64(x.cnt))
		buf = binary.AppendUvarint(buf, uint64(x.outN))
		buf = binary.AppendVarint(buf, x.outRank)
		buf = binary.AppendUvarint(buf, uint64(x.plen))
		buf = binary.AppendUvarint(buf, uint64(len(x.key)))
		buf = append(buf, x.key...)
		sp.rowBuf = sp.codec.AppendRow(sp.rowBuf[:0], batch, row)
		buf = binary.AppendUvarint(buf, uint64(len(sp.rowBuf)))
		buf = append(buf, sp.rowBuf...)
		row++
		cnt++
	}
	if cnt != p.tree.size {
		return row, pgerror.Internal("stream: top-N partition lists %d entries, sizes %d", cnt, p.tree.size)
	}
	if len(buf) > topnSpillMaxValue {
		return row, pgerror.New(pgerror.ProgramLimitExceeded, "stream: a top-N partition takes %d bytes, more than a spilled partition may hold (%d)", len(buf), topnSpillMaxValue)
	}
	sp.valBuf = buf
	bld.Append(buf)
	return row, nil
}

// closeSpill closes the spill table.
func (g *GroupTopN) closeSpill() error {
	if g.spill == nil {
		return nil
	}
	return g.spill.close()
}
