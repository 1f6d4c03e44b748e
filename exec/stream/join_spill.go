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

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
)

// Spilling (HashJoin.WithSpill). After a barrier, a join whose two sides
// hold more than maxBytes writes the buckets of its larger side (then, if
// still over, of the other) to that side's spill table and releases them.
// A chunk's rows whose key is not in memory on a side that has spilled look
// the key up in that side's table — one vectorized Get per side per chunk,
// for the distinct missing keys — and the found buckets are loaded back
// into memory (a new segment of decoded rows) before the chunk is probed
// and applied. So a probe sees the other side's whole bucket and an insert
// or delete lands in its own side's whole bucket, and the output changelog
// is the one an unbounded join emits, row for row and in the same order
// (entries keep their arrival order through a spill).
//
// Spill row, one per bucket (value schema JoinSpillSchema):
//
//	key:   join key, memcomparable (keys.Encoder, viewKeyEncoder) when every
//	       key column encodes SQL equality canonically (orderedKeyCanonical),
//	       else vec.AppendRowKey of the key columns
//	value: version(1) | flags | uvarint entries | per entry, in list order:
//	       varint multiplicity | [varint matches, with a residual condition]
//	       | uvarint len | state.RowCodec row of the side's columns
//
// flags bit 0: the bucket has a row-hash index (it once held bigBucket
// entries); a loaded bucket gets it back, so a delete cancels the same one
// of several equal entries it would have in memory (equal rows may differ
// in spelling: 1.0 and 1.00, -0 and 0) and the output stays byte for byte
// the unbounded join's.
//
// Why RowCodec and not Arrow IPC: most buckets hold one or a few rows, and
// an IPC stream of one small batch costs a schema and a record-batch
// message (hundreds of bytes of flatbuffers and 8-byte padding per column)
// for every bucket, while a RowCodec row is a flag byte plus the value's
// bytes per column, covers every SQL type the join carries (intervals and
// arrays included), and decodes straight into the builders of one batch
// for all the buckets a chunk loads.
//
// Which copy is read: a key is looked up only when it is not in memory, so
// a stale table copy of a bucket that is in memory is never read. When such
// a bucket (stored) empties and is dropped, its key's deletion is queued and
// written before the next lookup; when it changed (dirty) the next spill
// overwrites it; a loaded bucket that did not change is not rewritten.
// Keys a lookup did not find are remembered per side (the negative cache)
// until that side spills again, the only time its table gains keys.
//
// Pieces and mid-epoch spills, as the aggregate's (aggregate_spill.go):
// the tables are the join's private scratch space, so barrier e commits
// them at e<<spillEpochBits and a spill commits after every Write (at most
// joinSpillBatch buckets or joinSpillBatchBytes) at the next sub-epoch,
// so a table's pending writes are one Write's. The state is also compared
// with the budget after every chunk, and a join over it spills then; its
// output does not depend on where its buckets are, so nothing changes but
// memory.
//
// Watermarks on a join key clean the tables too (join_watermark.go):
// spilled keys are memcomparable where possible, so CleanBelow drops the
// buckets below a watermark on the first key column by range. Gap: a
// watermark on a later key column cleans only the buckets in memory (and
// the stored copies of those), and a join whose keys carry no watermark
// grows its tables with its key domain.

// joinSpillVersion is the first byte of every spilled bucket.
const joinSpillVersion = 1

// joinSpillIndexed is the flag of a bucket with a row-hash index.
const joinSpillIndexed = 1

// joinSpillBatch is how many buckets one Write of a spill carries.
const joinSpillBatch = 4096

// joinSpillBatchBytes also ends a Write of a spill once its values take
// this many bytes; joinSpillMaxValue bounds one bucket's value.
const (
	joinSpillBatchBytes = 32 << 20
	joinSpillMaxValue   = 1 << 30
)

// absentLimit bounds the memory of a side's negative cache: an eighth of
// the budget, at least joinAbsentMin bytes.
func (sp *joinSpill) absentLimit() int64 { return max(sp.maxBytes/8, joinAbsentMin) }

// joinAbsentMin is the least memory a side's negative cache may use.
const joinAbsentMin = 64 << 10

// JoinSpillSchema is the value schema of a HashJoin side's spill table (see
// WithSpill): one binary column holding a bucket's rows and multiplicities.
func JoinSpillSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{{Name: "join_bucket", Type: arrow.BinaryTypes.Binary, Nullable: true}}, nil)
}

// JoinSpillStats reports a spilling join's activity.
type JoinSpillStats struct {
	// Active is false when WithSpill was not called or spilling is
	// unavailable for this join (a column type the row codec lacks).
	Active bool
	// Spills counts side spills (a barrier may spill both sides).
	Spills int64
	// SpilledBuckets counts bucket rows written; LoadedBuckets those read
	// back; Lookups the keys looked up.
	SpilledBuckets, LoadedBuckets, Lookups int64
	// SpilledBytes is the key and value bytes written in all,
	// LastSpillBytes those of the last barrier that spilled.
	SpilledBytes, LastSpillBytes int64
	// MidEpochSpills counts spills between barriers.
	MidEpochSpills int64
}

// joinSpill is a HashJoin's spill state.
type joinSpill struct {
	maxBytes int64
	sides    [2]sideSpill
	active   bool
	closed   bool  // Close closed the tables
	err      error // a misconfiguration reported by the first Next
	started  bool

	stats JoinSpillStats

	// The tables' epochs (see "Pieces and mid-epoch spills"); noMidEpoch
	// turns mid-epoch spills off (tests).
	spillClock
	noMidEpoch bool

	// Per-chunk and per-spill scratch.
	seen    keySet
	reqRows [2][]int32
	keyBuf  []byte
	keyOff  []int
	valBuf  []byte
	rowBuf  []byte
	keyCols []arrow.Array
	hashes  []uint64
	mults   []int64
	matches []int64
}

// sideSpill is one join side's spill table and bookkeeping.
type sideSpill struct {
	t     state.Table
	codec *state.RowCodec
	// enc encodes the join key when every key column encodes canonically;
	// nil: vec.AppendRowKey.
	enc *keys.Encoder
	// written: the table may hold buckets (lookups needed).
	written bool
	// pending are the keys of stored buckets that emptied, to delete
	// before the next lookup.
	pending [][]byte
	// absent holds the keys known not to be in the table.
	absent keySet
}

// WithSpill bounds the join's memory: after a barrier or a chunk, when its state takes
// more than maxBytes, the larger side's buckets (then the other's, if still
// over) move to that side's table — left for the left input, right for the
// right; empty tables with value schema JoinSpillSchema, owned by the join
// from now on and closed by Close — and are read back when rows for their
// keys arrive. Both tables are committed at every barrier, and in pieces
// between (see "Pieces and mid-epoch spills"). Call before the first Next.
//
// The tables must start empty: the join's state is rebuilt by replaying its
// inputs, so buckets left in a reused table are cleared before the first
// row (logged at Warn) rather than counted twice.
//
// A join with a column type state.RowCodec cannot encode never spills
// (logged at Debug); the tables are still closed by Close.
func (j *HashJoin) WithSpill(left, right state.Table, maxBytes int64) *HashJoin {
	sp := &joinSpill{maxBytes: maxBytes}
	j.spill = sp
	sp.sides[0].t, sp.sides[1].t = left, right
	if left == nil || right == nil {
		if left != nil || right != nil {
			sp.err = pgerror.Internal("stream: join spill needs two tables")
		}
		return j
	}
	for s, t := range []state.Table{left, right} {
		if !t.ValueSchema().Equal(JoinSpillSchema()) {
			sp.err = pgerror.Internal("stream: join spill table schema %s, want %s", t.ValueSchema(), JoinSpillSchema())
			return j
		}
		codec, err := state.NewRowCodec(j.sides[s].schema)
		if err != nil {
			slog.Debug("stream: join does not spill", "err", err)
			return j
		}
		ss := &sp.sides[s]
		ss.codec = codec
		kts := j.sides[s].enc.Types
		canonical := true
		for _, t := range kts {
			canonical = canonical && orderedKeyCanonical(t)
		}
		if canonical {
			if enc, err := viewKeyEncoder(kts); err == nil {
				ss.enc = enc
			}
		}
	}
	if (sp.sides[0].enc == nil) != (sp.sides[1].enc == nil) {
		// Both sides must spell a key the same way.
		sp.sides[0].enc, sp.sides[1].enc = nil, nil
	}
	sp.active = true
	return j
}

// SpillStats reports the join's spilling.
func (j *HashJoin) SpillStats() JoinSpillStats {
	if j.spill == nil {
		return JoinSpillStats{}
	}
	st := j.spill.stats
	st.Active = j.spill.active
	return st
}

// spilling reports whether lookups and spills are on.
func (j *HashJoin) spilling() bool { return j.spill != nil && j.spill.active && !j.spill.closed }

// spillStart runs before the first message: it reports a misconfiguration
// and empties spill tables that already hold buckets.
func (j *HashJoin) spillStart(ctx context.Context) error {
	sp := j.spill
	if sp.err != nil {
		return sp.err
	}
	if sp.closed {
		return pgerror.Internal("stream: join used after Close")
	}
	if sp.started || !sp.active {
		return nil
	}
	sp.started = true
	for s := range sp.sides {
		t := sp.sides[s].t
		err := t.Scan(ctx, state.KeyRange{}, func(k [][]byte, _ arrow.RecordBatch) error {
			if len(k) > 0 {
				return errNotEmpty
			}
			return nil
		})
		switch {
		case err == nil:
			continue
		case !errors.Is(err, errNotEmpty):
			return fmt.Errorf("stream: join spill table: %w", err)
		}
		slog.Warn("stream: join spill table was not empty; clearing it", "side", s, "committed_epoch", uint64(t.CommittedEpoch()))
		// Spill keys start with a value marker below 0xff (NULL keys
		// never join and are never stored).
		if err := t.CleanBelow(ctx, []byte{0xff}); err != nil {
			return fmt.Errorf("stream: join spill table: %w", err)
		}
	}
	return nil
}

// spillKey appends the spill key of row r of the key columns cols of a
// side whose key types are kts.
func (ss *sideSpill) spillKey(dst []byte, cols []arrow.Array, kts []types.T, r int) ([]byte, error) {
	if ss.enc == nil {
		return vec.AppendRowKey(dst, cols, kts, r), nil
	}
	out, err := ss.enc.AppendRow(dst, cols, r)
	if err != nil {
		return nil, fmt.Errorf("stream: join spill key: %w", err)
	}
	return out, nil
}

// sideKeyCols returns the key columns of batch b of side sd (in scratch).
func (sp *joinSpill) sideKeyCols(sd *joinSide, b arrow.RecordBatch) []arrow.Array {
	sp.keyCols = sp.keyCols[:0]
	for _, k := range sd.keys {
		sp.keyCols = append(sp.keyCols, b.Column(k))
	}
	return sp.keyCols
}

// loadSpilled runs before chunk b of side s is probed (after prepare): it
// writes queued deletions, then loads, on each side that has spilled, the
// buckets of the chunk's keys that are not in memory there.
func (j *HashJoin) loadSpilled(ctx context.Context, s int, b arrow.RecordBatch) error {
	sp := j.spill
	if err := sp.flushPending(ctx); err != nil {
		return err
	}
	sd := j.sides[s]
	xs := [2]int{s, 1 - s}
	need := [2]bool{sp.sides[s].written, sp.sides[1-s].written}
	if !need[0] && !need[1] {
		return nil
	}
	sp.seen.reset()
	sp.reqRows[0], sp.reqRows[1] = sp.reqRows[0][:0], sp.reqRows[1][:0]
	n := int(b.NumRows())
	for i := 0; i < n; i++ {
		if sd.nullKey[i] {
			continue
		}
		id, key := sd.keyIDs[i], sd.key(i)
		var miss [2]bool
		for k, x := range xs {
			if !need[k] || j.sides[x].find(id, key) >= 0 {
				continue
			}
			if sp.sides[x].absent.has(id, key) {
				continue
			}
			miss[k] = true
		}
		if !miss[0] && !miss[1] {
			continue
		}
		if sp.seen.has(id, key) {
			continue
		}
		sp.seen.add(id, key)
		for k := range xs {
			if miss[k] {
				sp.reqRows[k] = append(sp.reqRows[k], int32(i))
			}
		}
	}
	for k, x := range xs {
		if len(sp.reqRows[k]) == 0 {
			continue
		}
		if err := j.loadSide(ctx, x, sd, b, sp.reqRows[k]); err != nil {
			return err
		}
	}
	return nil
}

// loadSide looks up, in side x's table, the keys of rows rows of chunk b
// (of side cs) and loads the buckets found into side x.
func (j *HashJoin) loadSide(ctx context.Context, x int, cs *joinSide, b arrow.RecordBatch, rows []int32) error {
	sp := j.spill
	ss := &sp.sides[x]
	cols := sp.sideKeyCols(cs, b)
	sp.keyBuf = sp.keyBuf[:0]
	sp.keyOff = append(sp.keyOff[:0], 0)
	var err error
	for _, r := range rows {
		if sp.keyBuf, err = ss.spillKey(sp.keyBuf, cols, cs.enc.Types, int(r)); err != nil {
			return err
		}
		sp.keyOff = append(sp.keyOff, len(sp.keyBuf))
	}
	ks := make([][]byte, len(rows))
	for i := range ks {
		ks[i] = sp.keyBuf[sp.keyOff[i]:sp.keyOff[i+1]:sp.keyOff[i+1]]
	}
	look, err := ss.t.Get(ctx, ks)
	if err != nil {
		return fmt.Errorf("stream: join spill lookup: %w", err)
	}
	defer look.Values.Release()
	sp.stats.Lookups += int64(len(ks))
	vals, ok := look.Values.Column(0).(*array.Binary)
	if !ok {
		return pgerror.Internal("stream: join spill column is %s", look.Values.Column(0).DataType())
	}
	xd := j.sides[x]
	rb := array.NewRecordBuilder(j.mem, xd.schema)
	defer rb.Release()
	// Decode every found bucket into one batch; per bucket, the chunk row
	// that asked for it and its entry count.
	type found struct {
		row     int32
		n       int
		indexed bool
	}
	var got []found
	sp.mults, sp.matches = sp.mults[:0], sp.matches[:0]
	for k, r := range rows {
		if !look.Found[k] || vals.IsNull(k) {
			ss.noteAbsent(cs.keyIDs[r], cs.key(int(r)), sp.absentLimit())
			continue
		}
		n, indexed, err := j.decodeBucket(ss, rb, vals.Value(k))
		if err != nil {
			return err
		}
		got = append(got, found{row: r, n: n, indexed: indexed})
	}
	if len(got) == 0 {
		return nil
	}
	batch := rb.NewRecordBatch()
	seg := xd.addSeg(batch)
	batch.Release()
	nrows := int(xd.segs[seg].NumRows())
	sp.hashes = grow(sp.hashes, nrows)
	vec.HashColumns(xd.segs[seg].Columns(), sp.hashes, xd.ts...)
	cond := j.cond != nil
	row := 0
	for _, f := range got {
		id, key := cs.keyIDs[f.row], cs.key(int(f.row))
		bi := xd.bucket(id, key)
		bk := &xd.buckets[bi]
		bk.stored, bk.dirty = true, false
		for range f.n {
			var datums []types.Datum
			if cond {
				datums = make([]types.Datum, len(xd.ts))
				for c, t := range xd.ts {
					datums[c] = types.GetDatum(xd.segs[seg].Column(c), row, t)
				}
			}
			m := sp.mults[row]
			bk.total += m
			e := xd.newEntry(bi, rowRef{seg: seg, row: int32(row)}, m, sp.hashes[row], datums)
			if cond {
				xd.ent(e).matches = sp.matches[row]
			}
			row++
		}
		if f.indexed && bk.index == nil {
			xd.buildIndex(bk)
		}
	}
	sp.stats.LoadedBuckets += int64(len(got))
	return nil
}

// decodeBucket appends the rows of one spilled bucket to rb and their
// multiplicities (and matches) to the scratch, and returns the row count
// and whether the bucket had a row-hash index.
func (j *HashJoin) decodeBucket(ss *sideSpill, rb *array.RecordBuilder, src []byte) (int, bool, error) {
	sp := j.spill
	bad := func(what string) error {
		return pgerror.New(pgerror.DataCorrupted, "stream: join spill bucket is corrupt (%s)", what)
	}
	if len(src) < 2 || src[0] != joinSpillVersion {
		return 0, false, bad("version")
	}
	if src[1]&^joinSpillIndexed != 0 {
		return 0, false, bad("flags")
	}
	indexed := src[1]&joinSpillIndexed != 0
	src = src[2:]
	cnt, n := binary.Uvarint(src)
	if n <= 0 || cnt == 0 || cnt > uint64(len(src)) {
		return 0, false, bad("entry count")
	}
	src = src[n:]
	for range cnt {
		m, n := binary.Varint(src)
		if n <= 0 || m == 0 {
			return 0, false, bad("multiplicity")
		}
		src = src[n:]
		sp.mults = append(sp.mults, m)
		if j.cond != nil {
			x, n := binary.Varint(src)
			if n <= 0 {
				return 0, false, bad("matches")
			}
			src = src[n:]
			sp.matches = append(sp.matches, x)
		}
		l, n := binary.Uvarint(src)
		if n <= 0 || l > uint64(len(src)-n) {
			return 0, false, bad("row length")
		}
		if err := ss.codec.DecodeInto(rb, src[n:n+int(l)]); err != nil {
			return 0, false, pgerror.Wrap(err, pgerror.DataCorrupted, "stream: join spill row is corrupt")
		}
		src = src[n+int(l):]
	}
	if len(src) != 0 {
		return 0, false, bad("trailing bytes")
	}
	return int(cnt), indexed, nil
}

// noteAbsent remembers that key (id, key) is not in the side's table. The
// cache starts over once it holds more than limit bytes.
func (ss *sideSpill) noteAbsent(id uint64, key []byte, limit int64) {
	if ss.absent.bytes() > limit {
		ss.absent = keySet{}
	}
	ss.absent.add(id, key)
}

// dropBucket unlinks the empty bucket bi of side s (key id: the key of row
// i of the chunk b) and, if the side's table holds a copy, queues the key's
// deletion.
func (j *HashJoin) dropBucket(s int, id uint64, bi int32, b arrow.RecordBatch, i int) error {
	sd := j.sides[s]
	if sd.buckets[bi].stored && j.spilling() {
		ss := &j.spill.sides[s]
		k, err := ss.spillKey(nil, j.spill.sideKeyCols(sd, b), sd.enc.Types, i)
		if err != nil {
			return err
		}
		ss.pending = append(ss.pending, k)
	}
	sd.dropBucket(id, bi)
	return nil
}

// flushPending writes the queued deletions of both sides.
func (sp *joinSpill) flushPending(ctx context.Context) error {
	for s := range sp.sides {
		ss := &sp.sides[s]
		if len(ss.pending) == 0 {
			continue
		}
		ops := make([]state.Op, len(ss.pending))
		for i := range ops {
			ops[i] = state.OpDelete
		}
		if err := ss.t.Write(ctx, ss.pending, ops, nil); err != nil {
			return fmt.Errorf("stream: join spill delete: %w", err)
		}
		clear(ss.pending)
		ss.pending = ss.pending[:0]
	}
	return nil
}

// afterBarrier runs when barrier e passes the join: it spills when the
// state exceeds the budget, commits both tables at e and recharges the
// memory budget.
func (j *HashJoin) afterBarrier(ctx context.Context, e uint64) error {
	sp := j.spill
	if err := j.spillOver(ctx); err != nil {
		return err
	}
	for s := range sp.sides {
		if err := sp.commitBarrier(ctx, sp.sides[s].t, e, "join"); err != nil {
			return err
		}
	}
	return j.charge.set(j.StateBytes())
}

// midEpoch runs after a chunk: a join over its budget spills then too (its
// output does not wait for barriers, so nothing is emitted first).
func (j *HashJoin) midEpoch(ctx context.Context) error {
	if j.spill.noMidEpoch || j.StateBytes() <= j.spill.maxBytes {
		return nil
	}
	if err := j.spillOver(ctx); err != nil {
		return err
	}
	j.spill.stats.MidEpochSpills++
	return nil
}

// spillOver writes the queued deletions and, while the state exceeds the
// budget, spills the larger side, then the other.
func (j *HashJoin) spillOver(ctx context.Context) error {
	sp := j.spill
	if err := sp.flushPending(ctx); err != nil {
		return err
	}
	if j.StateBytes() <= sp.maxBytes {
		return nil
	}
	order := []int{0, 1}
	if j.sides[1].bytes() > j.sides[0].bytes() {
		order = []int{1, 0}
	}
	var written int64
	for _, x := range order {
		if j.sides[x].live == 0 {
			continue
		}
		n, err := j.spillSide(ctx, x)
		if err != nil {
			return err
		}
		written += n
		if j.StateBytes() <= sp.maxBytes {
			break
		}
	}
	if written > 0 {
		sp.stats.LastSpillBytes = written
	}
	return nil
}

// spillSide writes side x's new and changed buckets to its table, releases
// the side's memory and returns the bytes written.
func (j *HashJoin) spillSide(ctx context.Context, x int) (int64, error) {
	sp := j.spill
	ss := &sp.sides[x]
	sd := j.sides[x]
	bld := array.NewBinaryBuilder(j.mem, arrow.BinaryTypes.Binary)
	defer bld.Release()
	var written, buckets int64
	// keyOff holds each pending key's start in keyBuf (which may move as
	// it grows, so the keys are sliced only when written).
	sp.keyBuf, sp.keyOff = sp.keyBuf[:0], sp.keyOff[:0]
	flush := func() error {
		if len(sp.keyOff) == 0 {
			return nil
		}
		ks := make([][]byte, len(sp.keyOff))
		for k, off := range sp.keyOff {
			end := len(sp.keyBuf)
			if k+1 < len(sp.keyOff) {
				end = sp.keyOff[k+1]
			}
			ks[k] = sp.keyBuf[off:end:end]
		}
		nb, err := writeSpillValues(ctx, ss.t, JoinSpillSchema(), ks, bld, "join")
		if err == nil {
			_, err = sp.commitPiece(ctx, ss.t, "join")
		}
		if err != nil {
			return err
		}
		written += nb
		buckets += int64(len(ks))
		sp.keyBuf, sp.keyOff = sp.keyBuf[:0], sp.keyOff[:0]
		return nil
	}
	for bi := range sd.buckets {
		bk := &sd.buckets[bi]
		if bk.count == 0 || (bk.stored && !bk.dirty) {
			continue
		}
		head := sd.ent(bk.head).ref
		sp.keyOff = append(sp.keyOff, len(sp.keyBuf))
		var err error
		sp.keyBuf, err = ss.spillKey(sp.keyBuf, sp.sideKeyCols(sd, sd.segs[head.seg]), sd.enc.Types, int(head.row))
		if err != nil {
			return written, err
		}
		if err := j.appendBucket(ss, sd, bld, bk); err != nil {
			return written, err
		}
		if len(sp.keyOff) == joinSpillBatch || bld.DataLen() >= joinSpillBatchBytes {
			if err := flush(); err != nil {
				return written, err
			}
		}
	}
	if err := flush(); err != nil {
		return written, err
	}
	slog.Debug("stream: join spilled a side", "side", x, "buckets", buckets, "rows", sd.live, "bytes", sd.bytes())
	sd.release()
	ss.absent = keySet{}
	ss.written = true
	j.bands.spilled[x] += int(buckets)
	sp.stats.Spills++
	sp.stats.SpilledBuckets += buckets
	sp.stats.SpilledBytes += written
	return written, nil
}

// appendBucket appends bucket bk's spill value to bld.
func (j *HashJoin) appendBucket(ss *sideSpill, sd *joinSide, bld *array.BinaryBuilder, bk *joinBucket) error {
	sp := j.spill
	var flags byte
	if bk.index != nil {
		flags |= joinSpillIndexed
	}
	buf := append(sp.valBuf[:0], joinSpillVersion, flags)
	buf = binary.AppendUvarint(buf, uint64(bk.count))
	cnt := int32(0)
	for e := bk.head; e >= 0; e = sd.ent(e).next {
		en := sd.ent(e)
		buf = binary.AppendVarint(buf, en.n)
		if j.cond != nil {
			buf = binary.AppendVarint(buf, en.matches)
		}
		sp.rowBuf = ss.codec.AppendRow(sp.rowBuf[:0], sd.segs[en.ref.seg], int(en.ref.row))
		buf = binary.AppendUvarint(buf, uint64(len(sp.rowBuf)))
		buf = append(buf, sp.rowBuf...)
		cnt++
	}
	if cnt != bk.count {
		return pgerror.Internal("stream: join bucket lists %d entries, counts %d", cnt, bk.count)
	}
	if len(buf) > joinSpillMaxValue {
		return pgerror.New(pgerror.ProgramLimitExceeded, "stream: a join key's rows take %d bytes, more than a spilled bucket may hold (%d)", len(buf), joinSpillMaxValue)
	}
	sp.valBuf = buf
	bld.Append(buf)
	return nil
}

// bytes estimates the memory the spill bookkeeping holds.
func (sp *joinSpill) bytes() int64 {
	n := int64(cap(sp.keyBuf)+cap(sp.valBuf)+cap(sp.rowBuf)) +
		int64(cap(sp.keyOff)+cap(sp.hashes)+cap(sp.mults)+cap(sp.matches))*8 +
		int64(cap(sp.reqRows[0])+cap(sp.reqRows[1]))*4 + sp.seen.bytes()
	for s := range sp.sides {
		ss := &sp.sides[s]
		n += ss.absent.bytes() + int64(cap(ss.pending))*sliceBytes
		for _, k := range ss.pending {
			n += int64(cap(k))
		}
	}
	return n
}

// closeSpill closes both spill tables.
func (j *HashJoin) closeSpill() error {
	sp := j.spill
	if sp == nil {
		return nil
	}
	var errs []error
	for s := range sp.sides {
		if t := sp.sides[s].t; t != nil {
			sp.sides[s].t = nil
			errs = append(errs, t.Close())
		}
	}
	sp.closed = true
	return errors.Join(slices.DeleteFunc(errs, func(e error) bool { return e == nil })...)
}
