package stream

import (
	"context"
	"encoding/binary"
	"errors"
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
	// retracts a partition only when a row arrives out of order): each
	// row is stored under an 8-byte hash of its value followed by a fresh
	// row id, with count 1; inserts are blind writes, and a delete removes
	// one stored copy equal to the row, found by a prefix scan of its
	// hash. The view reads back in hash order.
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
	hv    []uint64     // row hashes
	hbuf  []byte
	hks   [][]byte
	// collide makes every row hash alike (tests of the equality check).
	collide bool
}

// idKeys returns keys prefix[i] + row id for rows[i] (rows nil: every
// row 0..n-1 of prefixes, or n bare ids when prefixes is nil), in an arena
// reused by the next call.
func (m *Materialize) idKeys(prefixes [][]byte, rows []int32, n int) [][]byte {
	e := uint64(m.table.CommittedEpoch())
	seq := m.ids.take(e, n)
	head := appendOrdered(nil, e)
	size := n * (len(head) + 9)
	for i := 0; i < n && prefixes != nil; i++ {
		size += len(prefixes[m.rowAt(rows, i)])
	}
	s := &m.blind
	if cap(s.arena) < size {
		s.arena = make([]byte, 0, size)
	}
	arena := s.arena[:0]
	ks := grow(s.ks, n)
	for i := 0; i < n; i++ {
		start := len(arena)
		if prefixes != nil {
			arena = append(arena, prefixes[m.rowAt(rows, i)]...)
		}
		arena = append(arena, head...)
		arena = appendOrdered(arena, seq+uint64(i))
		ks[i] = arena[start:len(arena):len(arena)]
	}
	s.arena, s.ks = arena, ks
	return ks
}

func (m *Materialize) rowAt(rows []int32, i int) int {
	if rows == nil {
		return i
	}
	return int(rows[i])
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
	ks := m.idKeys(nil, nil, n)
	vals := m.withOnes(c.Batch)
	defer vals.Release()
	return m.table.Write(ctx, ks, nil, vals)
}

// errEnoughCopies stops a prefix scan once it found the copies to delete.
var errEnoughCopies = errors.New("stream: enough copies")

// applyInsertMostly writes the inserts of c under their row hash plus a
// fresh row id; deletes cancel inserts of an equal row in the same chunk,
// and the rest remove stored copies found by a prefix scan of the row's
// hash (comparing whole rows: hashes may collide).
func (m *Materialize) applyInsertMostly(ctx context.Context, c *Chunk) error {
	n := len(c.Ops)
	if n == 0 {
		return nil
	}
	hashes := m.rowHashes(c.Batch)
	hasDel := false
	for _, op := range c.Ops {
		if op.Sign() < 0 {
			hasDel = true
			break
		}
	}
	if !hasDel {
		ks := m.idKeys(hashes, nil, n)
		vals := m.withOnes(c.Batch)
		defer vals.Release()
		return m.table.Write(ctx, ks, nil, vals)
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
	var keep []int32
	var dels [][]byte
	var rk []byte
	for _, ch := range chs {
		cancel := min(len(ch.ins), ch.del)
		keep = append(keep, ch.ins[cancel:]...)
		want := ch.del - cancel
		if want == 0 {
			continue
		}
		target := vec.AppendRowKey(nil, cols, m.colTypes, int(ch.row))
		got := 0
		err := m.table.Scan(ctx, state.Prefix(hashes[ch.row]), func(ks [][]byte, vals arrow.RecordBatch) error {
			vcols := vals.Columns()[:len(cols)]
			for i, k := range ks {
				rk = vec.AppendRowKey(rk[:0], vcols, m.colTypes, i)
				if string(rk) != string(target) {
					continue // another row with the same hash
				}
				dels = append(dels, append([]byte(nil), k...))
				if got++; got == want {
					return errEnoughCopies
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, errEnoughCopies) {
			return err
		}
		// Fewer copies than deletes: the input deleted rows it never
		// inserted; they stay absent.
	}
	if len(dels) > 0 {
		ops := make([]state.Op, len(dels))
		for i := range ops {
			ops[i] = state.OpDelete
		}
		if err := m.table.Write(ctx, dels, ops, nil); err != nil {
			return err
		}
	}
	if len(keep) == 0 {
		return nil
	}
	slices.Sort(keep)
	ks := m.idKeys(hashes, keep, len(keep))
	rows := vec.TakeBatch(m.mem, c.Batch, keep)
	defer rows.Release()
	vals := m.withOnes(rows)
	defer vals.Release()
	return m.table.Write(ctx, ks, nil, vals)
}

// rowHashes returns the 8-byte big-endian hash of every row of b (rows
// equal in the GROUP BY sense hash equally), in scratch reused by the next
// call.
func (m *Materialize) rowHashes(b arrow.RecordBatch) [][]byte {
	n := int(b.NumRows())
	s := &m.blind
	s.hv = growTo(s.hv, n)
	vec.HashColumns(b.Columns(), s.hv, m.colTypes...)
	s.hbuf = growTo(s.hbuf, 8*n)
	s.hks = growTo(s.hks, n)
	for i, h := range s.hv {
		if s.collide {
			h = 7
		}
		k := s.hbuf[8*i : 8*i+8 : 8*i+8]
		binary.BigEndian.PutUint64(k, h)
		s.hks[i] = k
	}
	return s.hks
}
