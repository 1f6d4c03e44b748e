package stream

import (
	"context"
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
)

// BagMode is how a view without a key (bag mode) stores its rows. Every
// mode keeps the same value schema (the view's columns and the hidden
// count), so readers repeat each stored row by its count whatever the
// mode.
type BagMode uint8

const (
	// BagCounted keys a row by its whole value and stores its multiplicity
	// in the count column: each distinct row of a chunk costs one read of
	// its stored count (one vectorized Get per chunk) before the write.
	// Duplicates cost nothing extra; any changelog is exact.
	BagCounted BagMode = iota
	// BagAppendOnly is for inputs that never delete: each row is stored
	// under a fresh row id with count 1, written without reading anything.
	// The view reads back in arrival order. A delete is an internal error.
	BagAppendOnly
	// BagInsertMostly is for inputs that rarely delete (a rolling window
	// retracts rows only when a row arrives out of order): inserts are
	// stored as in BagAppendOnly, under 0x01 + a fresh row id, and a
	// delete is stored blindly too, as a cancelling row (count -1) under
	// 0x00 + a fresh row id. Readers load the cancelling rows first (they
	// sort first) and skip one equal stored row per cancelling row. Once
	// cancelling rows pile up (see negLimit) one pass over the view deletes
	// them with the rows they cancel. A delete must match a row the input
	// inserted before (as a rolling window's retractions do); one that
	// matches nothing is dropped at that pass.
	BagInsertMostly
)

// String names the mode.
func (b BagMode) String() string {
	switch b {
	case BagAppendOnly:
		return "append-only"
	case BagInsertMostly:
		return "insert-mostly"
	}
	return "counted"
}

// bagModer is implemented by executors that know how the changelog they
// emit behaves (see WithBagMode); Tee forwards it.
type bagModer interface{ bagMode() BagMode }

// bagHint is an executor annotated with the bag mode its output suits.
type bagHint struct {
	Executor
	mode BagMode
}

func (h *bagHint) bagMode() BagMode { return h.mode }

// HintBagMode returns ex annotated with the bag mode its output suits: a
// Materialize without a key built over it (or over a Tee of it) stores its
// rows that way. The planner uses it for append-only dataflows
// (BagAppendOnly) and for rolling windows (BagInsertMostly). Messages pass
// through unchanged.
func HintBagMode(ex Executor, mode BagMode) Executor {
	if mode == BagCounted {
		return ex
	}
	return &bagHint{Executor: ex, mode: mode}
}

func (t *Tee) bagMode() BagMode {
	if h, ok := t.input.(bagModer); ok {
		return h.bagMode()
	}
	return BagCounted
}

// WithBagMode sets how the view stores rows when it has no key (it must
// be called before the first Next; keyed views ignore it). It overrides a
// mode hinted by the input (HintBagMode).
func (m *Materialize) WithBagMode(mode BagMode) *Materialize {
	if m.keyCols == nil {
		m.bag = mode
	}
	return m
}

// BagMode is how the view stores its rows when it has no key.
func (m *Materialize) BagMode() BagMode { return m.bag }

// rowIDs hands out row ids: the writer's committed epoch when the row is
// written, then a sequence number within it, both as ordered varints
// (one length byte, then the big-endian bytes without leading zeros), so
// ids are memcomparable and increase in arrival order. Rows written
// before a Commit carry the previous committed epoch, rows written after
// it the new one, so ids never repeat within a table; a table reopened
// after a crash resumes at its recovered epoch, whose uncommitted writes
// were discarded with their ids. (Views are rebuilt into fresh tables at
// start, which is unique too.)
type rowIDs struct {
	epoch uint64
	seq   uint64
}

// take reserves n ids at committed epoch e and returns the first's
// sequence number.
func (r *rowIDs) take(e uint64, n int) uint64 {
	if e != r.epoch {
		r.epoch, r.seq = e, 0
	}
	s := r.seq
	r.seq += uint64(n)
	return s
}

// appendOrdered appends v as an ordered varint.
func appendOrdered(b []byte, v uint64) []byte {
	n := (bits.Len64(v) + 7) / 8
	b = append(b, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// blindScratch is reused across chunks by the blind modes.
type blindScratch struct {
	arena []byte
	ks    [][]byte
	ones  *array.Int64 // count column of 1s, sliced per chunk
	// insert-mostly: cancelling rows written since the last resolve, rows
	// inserted, and the resolve threshold (0: default).
	negs, rows int64
	negLimit   int64
}

// Key prefixes of insert-mostly views.
const (
	imNeg byte = 0x00 // cancelling rows
	imPos byte = 0x01 // stored rows
)

// An insert-mostly view resolves its cancelling rows once it holds 1/16
// of its row count of them, but at least negLimitMin and at most
// negLimitMax: readers load a bounded set, and a resolve (a pass over the
// view) costs at most 16 rows read per cancelling row on views of up to
// 1M rows.
const (
	negLimitMin = 4096
	negLimitMax = 1 << 16
)

// idKeys returns n keys prefix + a fresh row id, in an arena reused by
// the next call. A key is the head (prefix and epoch, the same for all)
// then the sequence number; each is written with whole-word stores that
// run past its end into the arena's slack, which the next key
// overwrites.
func (m *Materialize) idKeys(prefix []byte, n int) [][]byte {
	e := uint64(m.table.CommittedEpoch())
	seq := m.ids.take(e, n)
	head := appendOrdered(append([]byte(nil), prefix...), e)
	const slack = 16
	size := n*(len(head)+9) + slack
	s := &m.blind
	if cap(s.arena) < size {
		s.arena = make([]byte, 0, size)
	}
	arena := s.arena[:size]
	ks := grow(s.ks, n)
	if len(head) > slack {
		arena = arena[:0]
		for i := 0; i < n; i++ {
			start := len(arena)
			arena = append(arena, head...)
			arena = appendOrdered(arena, seq+uint64(i))
			ks[i] = arena[start:len(arena):len(arena)]
		}
		s.arena, s.ks = arena, ks
		return ks
	}
	var hb [slack]byte
	copy(hb[:], head)
	h0, h1 := binary.LittleEndian.Uint64(hb[:]), binary.LittleEndian.Uint64(hb[8:])
	hl := len(head)
	off := 0
	for i := 0; i < n; i++ {
		v := seq + uint64(i)
		nb := (bits.Len64(v) + 7) / 8
		k := arena[off : off+max(slack, hl+1+nb+8)]
		binary.LittleEndian.PutUint64(k, h0)
		binary.LittleEndian.PutUint64(k[8:], h1)
		k[hl] = byte(nb)
		binary.BigEndian.PutUint64(k[hl+1:], v<<(64-8*uint(nb)))
		end := hl + 1 + nb
		ks[i] = k[:end:end]
		off += end
	}
	s.arena, s.ks = arena, ks
	return ks
}

// withOnes returns b's columns plus a count column of 1s as a batch of the
// value schema; the caller releases it.
func (m *Materialize) withOnes(b arrow.RecordBatch) arrow.RecordBatch {
	n := int(b.NumRows())
	s := &m.blind
	if s.ones == nil || s.ones.Len() < n {
		if s.ones != nil {
			s.ones.Release()
		}
		bld := array.NewInt64Builder(m.mem)
		bld.Reserve(max(n, 1024))
		for range max(n, 1024) {
			bld.UnsafeAppend(1)
		}
		s.ones = bld.NewInt64Array()
		bld.Release()
	}
	ones := array.NewSlice(s.ones, 0, int64(n))
	defer ones.Release()
	cols := make([]arrow.Array, 0, b.NumCols()+1)
	cols = append(append(cols, b.Columns()...), ones)
	return array.NewRecordBatch(m.vs, cols, int64(n))
}

// applyAppendOnly writes every row of c under a fresh row id.
func (m *Materialize) applyAppendOnly(ctx context.Context, c *Chunk) error {
	for _, op := range c.Ops {
		if op.Sign() < 0 {
			return pgerror.Internal("stream: append-only view received a %s row", op)
		}
	}
	n := len(c.Ops)
	if n == 0 {
		return nil
	}
	ks := m.idKeys(nil, n)
	vals := m.withOnes(c.Batch)
	defer vals.Release()
	return m.writeFresh(ctx, ks, vals)
}

// writeFresh stores vals under ks, keys no write has used that ascend
// from above every key it stored before: through the table's append path
// when it has one (state.Appender: the memory table stores them without
// touching its hash index), else as plain puts.
func (m *Materialize) writeFresh(ctx context.Context, ks [][]byte, vals arrow.RecordBatch) error {
	if ap, ok := m.table.(state.Appender); ok {
		return ap.Append(ctx, ks, vals)
	}
	return m.table.Write(ctx, ks, nil, vals)
}

// applyInsertMostly writes the inserts of c under imPos + a fresh row id
// and its deletes as cancelling rows under imNeg + a fresh row id; within
// the chunk, deletes first cancel inserts of an equal row.
func (m *Materialize) applyInsertMostly(ctx context.Context, c *Chunk) error {
	n := len(c.Ops)
	if n == 0 {
		return nil
	}
	hasDel := false
	for _, op := range c.Ops {
		if op.Sign() < 0 {
			hasDel = true
			break
		}
	}
	if !hasDel {
		m.blind.rows += int64(n)
		return m.writeIDs(ctx, imPos, c.Batch, nil, 1)
	}
	// Per distinct row (by its value encoding): its inserted rows and its
	// deletes.
	type change struct {
		row int32 // a row of c with this value
		ins []int32
		del int
	}
	cols := c.Batch.Columns()
	pos := map[string]int{}
	var chs []change
	for i, op := range c.Ops {
		k := string(vec.AppendRowKey(nil, cols, m.colTypes, i))
		j, ok := pos[k]
		if !ok {
			j = len(chs)
			pos[k] = j
			chs = append(chs, change{row: int32(i)})
		}
		if op.Sign() < 0 {
			chs[j].del++
		} else {
			chs[j].ins = append(chs[j].ins, int32(i))
		}
	}
	var keep, negs []int32
	for _, ch := range chs {
		cancel := min(len(ch.ins), ch.del)
		keep = append(keep, ch.ins[cancel:]...)
		for range ch.del - cancel {
			negs = append(negs, ch.row)
		}
	}
	if len(keep) > 0 {
		slices.Sort(keep)
		m.blind.rows += int64(len(keep))
		if err := m.writeIDs(ctx, imPos, c.Batch, keep, 1); err != nil {
			return err
		}
	}
	if len(negs) > 0 {
		m.blind.negs += int64(len(negs))
		if err := m.writeIDs(ctx, imNeg, c.Batch, negs, -1); err != nil {
			return err
		}
	}
	limit := m.blind.negLimit
	if limit <= 0 {
		limit = min(max(negLimitMin, m.blind.rows/16), negLimitMax)
	}
	if m.blind.negs >= limit {
		return m.resolveNegatives(ctx)
	}
	return nil
}

// writeIDs writes rows (nil: all) of b with count cnt under tag + fresh
// row ids.
func (m *Materialize) writeIDs(ctx context.Context, tag byte, b arrow.RecordBatch, rows []int32, cnt int64) error {
	n := int(b.NumRows())
	src := b
	if rows != nil {
		src = vec.TakeBatch(m.mem, b, rows)
		defer src.Release()
		n = len(rows)
	}
	ks := m.idKeys([]byte{tag}, n)
	var vals arrow.RecordBatch
	if cnt == 1 {
		vals = m.withOnes(src)
	} else {
		bld := array.NewInt64Builder(m.mem)
		bld.Reserve(n)
		for range n {
			bld.UnsafeAppend(cnt)
		}
		counts := bld.NewArray()
		bld.Release()
		vals = array.NewRecordBatch(m.vs, append(append([]arrow.Array(nil), src.Columns()...), counts), int64(n))
		counts.Release()
	}
	defer vals.Release()
	if tag == imPos {
		// Stored rows' ids ascend across calls; cancelling rows (imNeg)
		// sort below them, so they take the plain path.
		return m.writeFresh(ctx, ks, vals)
	}
	return m.table.Write(ctx, ks, nil, vals)
}

// loadNegatives reads an insert-mostly view's cancelling rows from r: the
// number of stored rows to skip per row value (nil when there are none).
func (m *Materialize) loadNegatives(ctx context.Context, r state.Reader) (map[string]int64, error) {
	var out map[string]int64
	ncols := m.Schema().NumFields()
	err := r.Scan(ctx, state.Prefix([]byte{imNeg}), func(ks [][]byte, vals arrow.RecordBatch) error {
		cols := vals.Columns()[:ncols]
		for i := range ks {
			if out == nil {
				out = map[string]int64{}
			}
			out[string(vec.AppendRowKey(nil, cols, m.colTypes, i))]++
		}
		return nil
	})
	return out, err
}

// cancelCounts returns the count column of a piece of stored rows with the
// rows that cancel (consumed from cancel) set to 0, or cnt itself when
// nothing cancels. The caller releases the result.
func (m *Materialize) cancelCounts(vals arrow.RecordBatch, cnt *array.Int64, cancel map[string]int64) *array.Int64 {
	if len(cancel) == 0 {
		cnt.Retain()
		return cnt
	}
	cols := vals.Columns()[:m.Schema().NumFields()]
	bld := array.NewInt64Builder(m.mem)
	defer bld.Release()
	bld.Reserve(cnt.Len())
	var k []byte
	for i := 0; i < cnt.Len(); i++ {
		c := cnt.Value(i)
		if c > 0 {
			k = vec.AppendRowKey(k[:0], cols, m.colTypes, i)
			if left := cancel[string(k)]; left > 0 {
				// Skip as many copies as cancel (rows hold one copy).
				take := min(left, c)
				c -= take
				if left == take {
					delete(cancel, string(k))
				} else {
					cancel[string(k)] = left - take
				}
			}
		}
		bld.UnsafeAppend(max(c, 0))
	}
	return bld.NewInt64Array()
}

// resolveNegatives deletes the cancelling rows of an insert-mostly view
// together with one stored row each (writer view, current epoch); a
// cancelling row that matches no stored row is deleted alone.
func (m *Materialize) resolveNegatives(ctx context.Context) error {
	type negs struct {
		keys [][]byte
	}
	byRow := map[string]*negs{}
	ncols := m.Schema().NumFields()
	err := m.table.Scan(ctx, state.Prefix([]byte{imNeg}), func(ks [][]byte, vals arrow.RecordBatch) error {
		cols := vals.Columns()[:ncols]
		for i, k := range ks {
			rk := string(vec.AppendRowKey(nil, cols, m.colTypes, i))
			e := byRow[rk]
			if e == nil {
				e = &negs{}
				byRow[rk] = e
			}
			e.keys = append(e.keys, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	var dels [][]byte
	if len(byRow) > 0 {
		var rk []byte
		err = m.table.Scan(ctx, state.Prefix([]byte{imPos}), func(ks [][]byte, vals arrow.RecordBatch) error {
			cols := vals.Columns()[:ncols]
			for i, k := range ks {
				rk = vec.AppendRowKey(rk[:0], cols, m.colTypes, i)
				e := byRow[string(rk)]
				if e == nil || len(e.keys) == 0 {
					continue
				}
				dels = append(dels, append([]byte(nil), k...), e.keys[len(e.keys)-1])
				e.keys = e.keys[:len(e.keys)-1]
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range byRow {
			dels = append(dels, e.keys...) // cancelled nothing
		}
	}
	m.blind.negs = 0
	if len(dels) == 0 {
		return nil
	}
	m.blind.rows -= int64(len(dels)) / 2
	ops := make([]state.Op, len(dels))
	for i := range ops {
		ops[i] = state.OpDelete
	}
	return m.table.Write(ctx, dels, ops, nil)
}
