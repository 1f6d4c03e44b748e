package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
)

// Spilling (HashAggregate.WithSpill). After a barrier's output is built, an
// aggregate whose in-memory groups exceed maxBytes writes every live group
// to its spill table and starts over with empty memory. A chunk's rows whose
// group is not in memory look their key up in the table (one vectorized Get
// per chunk) and the found states are loaded into the fresh groups before
// the chunk's rows are applied, so the epoch's "old output" of such a group
// is its spilled result and the changelog is the one an unbounded aggregate
// emits.
//
// Spill row, one per group (value schema AggSpillSchema):
//
//	key:   group key, memcomparable (viewKeyEncoder) when every group column
//	       encodes SQL equality canonically, else vec.AppendRowKey
//	value: version(1) | varint live rows | per aggregate: uvarint len | state
//
// where state is kernels.GroupStater.AppendGroupState. Groups whose row
// count reached 0 are kept with their state (float sums keep their rounding
// residue, exactly as in memory). Stale copies of groups that are in memory
// are never read: a key is looked up only when it is not in memory, and the
// next spill overwrites it.
//
// Bounded pieces. A spill's writes stay pending (uncommitted, unflushable)
// in the table until it commits, so one spill of a large aggregate could
// need more than the whole state budget. The table is the aggregate's
// private scratch space (rebuilt by replay, never read by another reader
// or checkpointed), so its epochs need not be the barriers': barrier e
// commits it at e<<spillEpochBits, and a spill commits every
// spillPieceRows groups at the next sub-epoch (e<<spillEpochBits | piece).
// Pending spill bytes are then at most one piece; committed pieces can be
// flushed to disk whenever the budget needs room.
//
// Mid-epoch spills. The in-memory groups are compared with the budget after
// every chunk too (WithSpill wraps the input in spillCheck): when an epoch's groups exceed it (a large epoch, a
// backfill slice), the aggregate emits the epoch's changes so far (as a
// watermark does) and spills at once, so memory and the emitted chunk stay
// near the budget whatever the epoch size. A group touched again later in
// the epoch is loaded back and emits a second update pair; the epoch's net
// changes are the same.

// spillFormatVersion is the first byte of every spilled group state.
const spillFormatVersion = 1

// spillBatchRows is how many groups one Write of a spill carries.
const spillBatchRows = 4096

// spillPieceRows is how many groups a spill writes between two commits of
// the table (its pending writes are at most one piece).
const spillPieceRows = 64 << 10

// spillEpochBits is the width of the sub-epoch (piece) number in the spill
// table's epochs: barrier e commits at e<<spillEpochBits.
const spillEpochBits = 20

// spillEpoch is the spill table epoch of piece p after barrier e.
func spillEpoch(e uint64, p uint64) state.Epoch { return state.Epoch(e<<spillEpochBits | p) }

// spillClock numbers a private spill table's epochs (aggregates, joins,
// group top-N, windows): barrier e commits at spillEpoch(e, 0), the pieces
// written before the next barrier at the sub-epochs after it.
type spillClock struct {
	barrier uint64 // the last barrier (0 before the first)
	piece   uint64 // the last sub-epoch committed since
}

// commitBarrier commits t at barrier e (unless t is past it) and starts
// its pieces.
func (c *spillClock) commitBarrier(ctx context.Context, t state.Table, e uint64, what string) error {
	if e >= 1<<(63-spillEpochBits) {
		return pgerror.Internal("stream: %s spill: epoch %d too large", what, e)
	}
	c.barrier, c.piece = e, 0
	if at := spillEpoch(e, 0); at > t.CommittedEpoch() {
		if err := t.Commit(ctx, at); err != nil {
			return fmt.Errorf("stream: %s spill commit %d: %w", what, e, err)
		}
	}
	return nil
}

// commitPiece commits t's writes since its last commit at the next
// sub-epoch, so the table may flush them; false when no sub-epoch is left
// or t is already past it.
func (c *spillClock) commitPiece(ctx context.Context, t state.Table, what string) (bool, error) {
	if c.piece+1 >= 1<<spillEpochBits {
		return false, nil
	}
	at := spillEpoch(c.barrier, c.piece+1)
	if at <= t.CommittedEpoch() {
		return false, nil
	}
	if err := t.Commit(ctx, at); err != nil {
		return false, fmt.Errorf("stream: %s spill commit of a piece: %w", what, err)
	}
	c.piece++
	return true, nil
}

// AggSpillSchema is the value schema of a HashAggregate's spill table (see
// WithSpill): one binary column holding a group's live-row count and every
// accumulator's state.
func AggSpillSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{{Name: "agg_state", Type: arrow.BinaryTypes.Binary, Nullable: true}}, nil)
}

// aggSpill is a HashAggregate's spill state.
type aggSpill struct {
	t        state.Table
	maxBytes int64
	// active: every accumulator is a GroupStater and there are group
	// columns; otherwise the table is only closed.
	active bool
	err    error // a misconfiguration reported by the first Next
	// enc encodes the group key when every group column encodes
	// canonically (ordered keys); nil: vec.AppendRowKey.
	enc *keys.Encoder
	// firstEnc encodes the first group column alone, for CleanBelow on a
	// watermark of that column (nil with enc == nil).
	firstEnc *keys.Encoder
	// written: the table may hold groups (lookups needed).
	written bool
	started bool // spillStart ran

	// The table's epochs; pieceRows the groups a piece holds
	// (spillPieceRows; tests lower it) and pieceLeft the groups written
	// since the last commit.
	spillClock
	pieceRows, pieceLeft int
	// noMidEpoch turns mid-epoch spills off (tests comparing exact
	// per-epoch changelogs).
	noMidEpoch bool

	spills, midSpills, pieces    int64
	spilledGroups, loadedGroups  int64
	spilledBytes, lastSpillBytes int64

	keyBuf  []byte
	keyOff  []int
	valBuf  []byte
	tmp     []byte
	newSeen []bool
	newRows []int32
	newIDs  []uint32
}

// AggSpillStats reports a spilling aggregate's activity.
type AggSpillStats struct {
	// Active is false when WithSpill was not called or spilling is
	// unavailable for this aggregate (an accumulator without
	// kernels.GroupStater, no group columns).
	Active bool
	// Spills counts the times the in-memory groups moved to the table;
	// MidEpochSpills those that happened between barriers.
	Spills, MidEpochSpills int64
	// Pieces counts the table commits between barriers that made a
	// spill's writes flushable.
	Pieces int64
	// SpilledGroups counts group rows written; LoadedGroups counts groups
	// read back.
	SpilledGroups, LoadedGroups int64
	// SpilledBytes is the key and value bytes written in all; LastSpillBytes
	// those of the last spill. One spill's writes are pending in the
	// table's current epoch until the barrier's Commit, so a budgeted table
	// must hold them (plus its per-entry overhead) at once.
	SpilledBytes, LastSpillBytes int64
}

// WithSpill bounds the aggregate's memory: after a barrier, when its groups
// take more than maxBytes, they move to t (an empty state table with value
// schema AggSpillSchema, owned by the aggregate from now on and closed by
// Close) and are read back when rows for them arrive. t is committed at
// every barrier with the barrier's epoch. Call before the first Next.
//
// t must start empty: the aggregate's in-memory state is rebuilt by
// replaying its input, so groups left in a reused table are cleared before
// the first row (logged at Warn) rather than counted twice.
//
// Aggregates without group columns, or with an accumulator that does not
// implement kernels.GroupStater, never spill (logged at Debug); t is still
// closed by Close.
func (h *HashAggregate) WithSpill(t state.Table, maxBytes int64) *HashAggregate {
	s := &aggSpill{t: t, maxBytes: maxBytes, pieceRows: spillPieceRows}
	h.spill = s
	if t == nil {
		return h
	}
	if !t.ValueSchema().Equal(AggSpillSchema()) {
		s.err = pgerror.Internal("stream: aggregate spill table schema %s, want %s", t.ValueSchema(), AggSpillSchema())
		return h
	}
	if len(h.groupCols) == 0 {
		slog.Debug("stream: aggregate without group columns does not spill")
		return h
	}
	for j, acc := range h.gens[0].accs {
		if _, ok := acc.(kernels.GroupStater); !ok {
			slog.Debug("stream: aggregate does not spill: accumulator cannot save its state", "aggregate", h.aggs[j].Name)
			return h
		}
	}
	canonical := true
	for _, t := range h.keyTypes {
		canonical = canonical && orderedKeyCanonical(t)
	}
	if canonical {
		enc, err := viewKeyEncoder(h.keyTypes)
		first, err2 := viewKeyEncoder(h.keyTypes[:1])
		if err == nil && err2 == nil {
			s.enc, s.firstEnc = enc, first
		}
	}
	s.active = true
	h.input = &spillCheck{Executor: h.input, h: h}
	return h
}

// errNotEmpty stops the scan that checks the spill table is empty.
var errNotEmpty = errors.New("stream: spill table not empty")

// spillStart runs before the first message: it reports a misconfiguration
// and empties a spill table that already holds groups (the aggregate's
// in-memory state is rebuilt by replay, so old spilled groups would count
// rows twice).
func (h *HashAggregate) spillStart(ctx context.Context) error {
	s := h.spill
	if s.err != nil {
		return s.err
	}
	if s.started || !s.active {
		return nil
	}
	s.started = true
	err := s.t.Scan(ctx, state.KeyRange{}, func(k [][]byte, _ arrow.RecordBatch) error {
		if len(k) > 0 {
			return errNotEmpty
		}
		return nil
	})
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, errNotEmpty):
		return fmt.Errorf("stream: aggregate spill table: %w", err)
	}
	slog.Warn("stream: aggregate spill table was not empty; clearing it", "committed_epoch", uint64(s.t.CommittedEpoch()))
	// Spill keys start with a NULL/value marker below 0xff.
	if err := s.t.CleanBelow(ctx, []byte{0xff}); err != nil {
		return fmt.Errorf("stream: aggregate spill table: %w", err)
	}
	return nil
}

// SpillStats reports the aggregate's spilling.
func (h *HashAggregate) SpillStats() AggSpillStats {
	s := h.spill
	if s == nil {
		return AggSpillStats{}
	}
	return AggSpillStats{Active: s.active, Spills: s.spills, MidEpochSpills: s.midSpills, Pieces: s.pieces, SpilledGroups: s.spilledGroups, LoadedGroups: s.loadedGroups,
		SpilledBytes: s.spilledBytes, LastSpillBytes: s.lastSpillBytes}
}

// orderedKeyCanonical reports whether the memcomparable encoding of type t
// is equal exactly for the values GROUP BY puts in one group (then spilled
// keys are ordered and a watermark can range-delete them). Blank-padded
// char, jsonb, interval and arrays group by a looser equality.
func orderedKeyCanonical(t types.T) bool {
	switch t.Family {
	case types.FamBool, types.FamInt2, types.FamInt4, types.FamInt8, types.FamFloat4, types.FamFloat8,
		types.FamNumeric, types.FamText, types.FamVarchar, types.FamName, types.FamBytea, types.FamDate,
		types.FamTime, types.FamTimestamp, types.FamTimestampTZ, types.FamOid, types.FamRegclass, types.FamRegtype:
		return true
	}
	return false
}

// spilling reports whether lookups and spills are on.
func (h *HashAggregate) spilling() bool { return h.spill != nil && h.spill.active }

// encodeKeys encodes the group key of rows idx of key columns cols into one
// arena and returns the keys (valid until the next call).
func (s *aggSpill) encodeKeys(cols []arrow.Array, ts []types.T, idx []int32) ([][]byte, error) {
	s.keyBuf = s.keyBuf[:0]
	s.keyOff = append(s.keyOff[:0], 0)
	var err error
	for _, r := range idx {
		if s.enc != nil {
			if s.keyBuf, err = s.enc.AppendRow(s.keyBuf, cols, int(r)); err != nil {
				return nil, fmt.Errorf("stream: aggregate spill key: %w", err)
			}
		} else {
			s.keyBuf = vec.AppendRowKey(s.keyBuf, cols, ts, int(r))
		}
		s.keyOff = append(s.keyOff, len(s.keyBuf))
	}
	out := make([][]byte, len(idx))
	for i := range out {
		out[i] = s.keyBuf[s.keyOff[i]:s.keyOff[i+1]:s.keyOff[i+1]]
	}
	return out, nil
}

// StateBytes estimates the group state the aggregate holds in Go memory
// (group tables, accumulators, kept results, per-group bookkeeping);
// WithSpill's budget is compared with it after every barrier.
func (h *HashAggregate) StateBytes() int64 { return h.memoryBytes() }

// memoryBytes estimates the group state held in memory.
func (h *HashAggregate) memoryBytes() int64 {
	var n int64
	for _, gen := range h.gens {
		if gen.gt != nil {
			n += gen.gt.MemoryBytes()
		}
		for _, a := range gen.accs {
			n += a.MemoryBytes()
		}
		// The kept results (each group's last emitted output).
		for _, o := range gen.outs {
			n += o.memoryBytes()
		}
		n += int64(cap(gen.book)) * 16
	}
	return n
}

// loadSpilled loads, for the groups the current chunk created in the newest
// generation (ids ≥ before), their spilled state, if any, and lists those
// loaded with live rows in h.loaded. b is the chunk's batch and
// h.groups/h.rowGen its assignment.
func (h *HashAggregate) loadSpilled(ctx context.Context, b arrow.RecordBatch, before int) error {
	s := h.spill
	newest := len(h.gens) - 1
	top := h.gens[newest]
	if top.gt == nil || top.gt.Len() <= before {
		return nil
	}
	s.newSeen = resize(s.newSeen, top.gt.Len()-before)
	clear(s.newSeen)
	s.newRows, s.newIDs = s.newRows[:0], s.newIDs[:0]
	for i, g := range h.groups {
		if int(h.rowGen[i]) != newest || int(g) < before || s.newSeen[int(g)-before] {
			continue
		}
		s.newSeen[int(g)-before] = true
		s.newRows = append(s.newRows, int32(i))
		s.newIDs = append(s.newIDs, g)
	}
	cols := make([]arrow.Array, len(h.groupCols))
	for i, c := range h.groupCols {
		cols[i] = b.Column(c)
	}
	ks, err := s.encodeKeys(cols, h.keyTypes, s.newRows)
	if err != nil {
		return err
	}
	look, err := s.t.Get(ctx, ks)
	if err != nil {
		return fmt.Errorf("stream: aggregate spill lookup: %w", err)
	}
	defer look.Values.Release()
	vals, ok := look.Values.Column(0).(*array.Binary)
	if !ok {
		return pgerror.Internal("stream: aggregate spill column is %s", look.Values.Column(0).DataType())
	}
	for k, g := range s.newIDs {
		if !look.Found[k] || vals.IsNull(k) {
			continue
		}
		if err := h.loadGroup(top, g, vals.Value(k)); err != nil {
			return err
		}
		if top.book[g].Rows > 0 {
			h.loaded = append(h.loaded, g)
		}
		s.loadedGroups++
	}
	return nil
}

// loadGroup decodes one spilled group state into group g of gen.
func (h *HashAggregate) loadGroup(gen *aggGen, g uint32, src []byte) error {
	bad := func(what string) error {
		return pgerror.New(pgerror.DataCorrupted, "stream: aggregate spill state is corrupt (%s)", what)
	}
	if len(src) == 0 || src[0] != spillFormatVersion {
		return bad("version")
	}
	src = src[1:]
	rows, n := binary.Varint(src)
	if n <= 0 {
		return bad("row count")
	}
	src = src[n:]
	for j, acc := range gen.accs {
		l, n := binary.Uvarint(src)
		if n <= 0 || l > uint64(len(src)-n) {
			return bad("length")
		}
		st := src[n : n+int(l)]
		src = src[n+int(l):]
		if err := acc.(kernels.GroupStater).LoadGroupState(g, st); err != nil {
			return fmt.Errorf("stream: aggregate %s: load spilled state: %w", h.aggs[j].Name, err)
		}
	}
	if len(src) != 0 {
		return bad("trailing bytes")
	}
	gen.book[g].Rows = rows
	gen.exactRows = true // a loaded count may be anything: flushGen reads them
	return nil
}

// afterBarrier runs after barrier e's output was built: it spills the
// groups when they exceed the budget and commits the spill table at e.
func (h *HashAggregate) afterBarrier(ctx context.Context, e uint64) error {
	s := h.spill
	if s == nil || !s.active {
		return nil
	}
	if h.memoryBytes() > s.maxBytes && h.Groups() > 0 {
		if err := h.spillAll(ctx); err != nil {
			return err
		}
	}
	s.pieceLeft = 0
	return s.commitBarrier(ctx, s.t, e, "aggregate")
}

// spillCheck wraps a spilling aggregate's input: before each message is
// read (so after the previous chunk was applied) it lets the aggregate
// spill mid-epoch (afterChunk). Changes it emits go to the aggregate's
// pending messages, which precede every later output.
type spillCheck struct {
	Executor
	h *HashAggregate
}

// Next implements Executor.
func (c *spillCheck) Next(ctx context.Context) (Message, error) {
	if err := c.h.afterChunk(ctx); err != nil {
		return nil, err
	}
	return c.Executor.Next(ctx)
}

// afterChunk runs between input messages: when the epoch's groups exceed
// the budget it emits the epoch's changes so far and spills them (see
// "Mid-epoch spills").
func (h *HashAggregate) afterChunk(ctx context.Context) error {
	s := h.spill
	if s == nil || !s.active || s.noMidEpoch || h.memoryBytes() <= s.maxBytes || h.Groups() == 0 {
		return nil
	}
	out, err := h.flush()
	if err != nil {
		return err
	}
	if out != nil {
		h.pending = append(h.pending, out)
	}
	if err := h.spillAll(ctx); err != nil {
		return err
	}
	s.midSpills++
	return h.commitPiece(ctx)
}

// commitPiece commits the spill writes pending since the last commit at
// the next sub-epoch, so the table may flush them.
func (h *HashAggregate) commitPiece(ctx context.Context) error {
	s := h.spill
	if s.pieceLeft == 0 {
		return nil
	}
	ok, err := s.commitPiece(ctx, s.t, "aggregate")
	if ok {
		s.pieces++
		s.pieceLeft = 0
	}
	return err
}

// spillAll writes every live in-memory group to the spill table (and
// deletes the keys of groups a watermark cleaned), then drops the
// generations and starts one empty generation.
func (h *HashAggregate) spillAll(ctx context.Context) error {
	s := h.spill
	bld := array.NewBinaryBuilder(h.mem, arrow.BinaryTypes.Binary)
	defer bld.Release()
	var idx []int32
	var ops []state.Op
	var written int64
	for _, gen := range h.gens {
		if gen.gt == nil {
			continue
		}
		n := min(gen.gt.Len(), len(gen.book))
		keyCols := gen.gt.KeyArrays()
		err := func() error {
			step := min(spillBatchRows, s.pieceRows)
			for start := 0; start < n; start += step {
				end := min(start+step, n)
				idx, ops = idx[:0], ops[:0]
				for g := start; g < end; g++ {
					if gen.book[g].Dead {
						if !s.written {
							continue
						}
						bld.AppendNull()
						ops = append(ops, state.OpDelete)
					} else {
						if err := h.appendGroupState(bld, gen, uint32(g)); err != nil {
							return err
						}
						ops = append(ops, state.OpPut)
					}
					idx = append(idx, int32(g))
				}
				if len(idx) == 0 {
					continue
				}
				ks, err := s.encodeKeys(keyCols, h.keyTypes, idx)
				if err != nil {
					return err
				}
				arr := bld.NewArray()
				written += int64(len(s.keyBuf) + len(arr.(*array.Binary).ValueBytes()))
				vals := array.NewRecordBatch(AggSpillSchema(), []arrow.Array{arr}, int64(arr.Len()))
				arr.Release()
				err = s.t.Write(ctx, ks, ops, vals)
				vals.Release()
				if err != nil {
					return fmt.Errorf("stream: aggregate spill write: %w", err)
				}
				s.spilledGroups += int64(len(idx))
				if s.pieceLeft += len(idx); s.pieceLeft >= s.pieceRows {
					if err := h.commitPiece(ctx); err != nil {
						return err
					}
				}
			}
			return nil
		}()
		for _, k := range keyCols {
			k.Release()
		}
		if err != nil {
			return err
		}
	}
	fresh, err := h.newGen()
	if err != nil {
		return err
	}
	slog.Debug("stream: aggregate spilled its groups", "groups", h.Groups(), "bytes", h.memoryBytes())
	for _, gen := range h.gens {
		gen.release()
	}
	h.gens = append(h.gens[:0], fresh)
	s.written = true
	s.spills++
	s.spilledBytes += written
	s.lastSpillBytes = written
	return nil
}

// appendGroupState appends group g's spill value to bld.
func (h *HashAggregate) appendGroupState(bld *array.BinaryBuilder, gen *aggGen, g uint32) error {
	s := h.spill
	buf := append(s.valBuf[:0], spillFormatVersion)
	buf = binary.AppendVarint(buf, gen.book[g].Rows)
	for _, acc := range gen.accs {
		st, ok := acc.(kernels.GroupStater)
		if !ok {
			return pgerror.Internal("stream: aggregate accumulator %T cannot save its state", acc)
		}
		s.tmp = st.AppendGroupState(s.tmp[:0], g)
		buf = binary.AppendUvarint(buf, uint64(len(s.tmp)))
		buf = append(buf, s.tmp...)
	}
	s.valBuf = buf
	bld.Append(buf)
	return nil
}

// cleanSpilled range-deletes the spilled groups whose first group column
// is below watermark v (only with ordered keys; on other columns stale
// groups stay in the table until overwritten: their rows are late anyway).
func (h *HashAggregate) cleanSpilled(ctx context.Context, gi int, v types.Datum) error {
	s := h.spill
	if s == nil || !s.active || !s.written || gi != 0 || s.firstEnc == nil {
		return nil
	}
	bound := vec.ConstArray(h.mem, v, h.keyTypes[0], 1)
	defer bound.Release()
	k, err := s.firstEnc.AppendRow(nil, []arrow.Array{bound}, 0)
	if err != nil {
		return fmt.Errorf("stream: aggregate spill watermark: %w", err)
	}
	if err := s.t.CleanBelow(ctx, k); err != nil {
		return fmt.Errorf("stream: aggregate spill cleanup: %w", err)
	}
	return nil
}

// closeSpill closes the spill table.
func (h *HashAggregate) closeSpill() error {
	s := h.spill
	if s == nil || s.t == nil {
		return nil
	}
	t := s.t
	s.t, s.active = nil, false
	return t.Close()
}
