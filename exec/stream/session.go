package stream

import (
	"context"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/timewin"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Session is the streaming session(t, ts, gap) table function over the
// whole input (no partitioning): rows sorted by time form sessions where
// consecutive times differ by less than gap; every row is output with its
// session's window_start (the first time) and window_end (the last time +
// gap). Rows with a NULL time are passed on with NULL windows.
//
// Inserts and deletes may merge or split sessions: after each chunk the
// sessions around the changed times are recomputed and, for every row whose
// window changed, the old output row is retracted (Delete) and the new one
// inserted. Output ops are plain Inserts and Deletes.
//
// State: the live rows, sorted by time (a sorted slice of per-time entries;
// inserting is a memmove, fine for the window-sized state a watermark keeps).
// With a Watermark{timeCol, w}, sessions whose window_end ≤ w are final (no
// row with time ≥ w can join them): their rows are dropped from state, later
// rows with time < w (or deletes of dropped rows) are late — dropped and
// counted. The watermark passes on, followed by Watermark{window_start
// column, min(w, start of the first open session)}.
type Session struct {
	input   Executor
	inTypes []types.T
	timeCol int
	gap     int64
	schema  *arrow.Schema
	mem     memory.Allocator
	timeT   types.T

	entries []*sessEntry // ascending ts
	wm      int64
	hasWM   bool
	late    int64
	rows    int64

	keyBuf []byte
	out    sessOut
	queue  []Message

	bytes  int64 // sessEntryBytes and sessRowBytes of the state
	charge memCharge
}

// sessEntryBytes is one time entry without its rows: the sessEntry and its
// slot in entries.
const sessEntryBytes = 32 + ptrBytes

// sessRowBytes estimates one distinct row: the sessRow, its slot, its key
// and its boxed values.
func sessRowBytes(r *sessRow) int64 {
	return 48 + ptrBytes + stringBytes + int64(len(r.key)) + rowBytes(r.vals)
}

// WithMemBudget makes Session charge its state (every live row, boxed, by
// time) to b after every chunk and watermark, failing with SQLSTATE 53200
// from Next when b refuses. Close releases it all. nil (the default) means
// unlimited.
func (s *Session) WithMemBudget(b MemBudget) *Session {
	s.charge = memCharge{budget: b, what: "session window"}
	return s
}

// StateBytes is the operator's current estimate of the memory its state
// holds.
func (s *Session) StateBytes() int64 { return s.bytes }

type sessEntry struct {
	ts   int64
	rows []*sessRow
}

type sessRow struct {
	key     string
	vals    []types.Datum
	count   int64 // live multiplicity
	emitted int64 // copies output with window (ws, we)
	ws, we  int64
}

// sessOut accumulates output rows of one chunk.
type sessOut struct {
	vals   [][]types.Datum
	ws, we []types.Datum
	ops    []Op
}

func (o *sessOut) add(vals []types.Datum, ws, we types.Datum, op Op, times int64) {
	for k := int64(0); k < times; k++ {
		o.vals = append(o.vals, vals)
		o.ws = append(o.ws, ws)
		o.we = append(o.we, we)
		o.ops = append(o.ops, op)
	}
}

// NewSession returns session windows over input (columns of SQL types
// inTypes) by column timeCol with the given gap (> 0, no months).
func NewSession(input Executor, inTypes []types.T, timeCol int, gap types.Interval) (*Session, error) {
	g, err := timewin.Micros(gap)
	if err != nil {
		return nil, err
	}
	if g <= 0 {
		return nil, pgerror.New(pgerror.InvalidParameterValue, "session gap must be greater than zero")
	}
	s := input.Schema()
	if s.NumFields() != len(inTypes) {
		return nil, pgerror.Internal("stream: session input has %d fields and %d types", s.NumFields(), len(inTypes))
	}
	if timeCol < 0 || timeCol >= len(inTypes) {
		return nil, pgerror.Internal("stream: session time column %d out of range", timeCol)
	}
	switch inTypes[timeCol].Family {
	case types.FamTimestamp, types.FamTimestampTZ, types.FamInt8:
	default:
		return nil, pgerror.New(pgerror.DatatypeMismatch, "session time column must be a timestamp, not %s", inTypes[timeCol])
	}
	return &Session{input: input, inTypes: inTypes, timeCol: timeCol, gap: g, schema: timewin.WindowSchema(s, timeCol),
		mem: memory.DefaultAllocator, timeT: inTypes[timeCol]}, nil
}

// WithAllocator makes the session allocate its output with mem (before use).
func (s *Session) WithAllocator(mem memory.Allocator) *Session {
	s.mem = mem
	return s
}

// Schema implements Executor.
func (s *Session) Schema() *arrow.Schema { return s.schema }

// LateRows is the number of input rows dropped as late.
func (s *Session) LateRows() int64 { return s.late }

// StateRows is the number of distinct live rows held in state.
func (s *Session) StateRows() int64 { return s.rows }

func (s *Session) datum(v int64) types.Datum {
	switch s.timeT.Family {
	case types.FamTimestamp:
		return types.Timestamp(v)
	case types.FamTimestampTZ:
		return types.TimestampTZ(v)
	}
	return v
}

// Next implements Executor.
func (s *Session) Next(ctx context.Context) (Message, error) {
	for {
		if len(s.queue) > 0 {
			m := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			return m, nil
		}
		m, err := s.input.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			out, err := s.apply(m)
			m.Release()
			if err == nil {
				err = s.charge.set(s.StateBytes())
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
			if m.Col != s.timeCol {
				return m, nil
			}
			v, ok := datumMicros(m.Value)
			if !ok {
				return m, nil
			}
			if !s.hasWM || v > s.wm {
				s.wm, s.hasWM = v, true
			}
			s.cleanup()
			if err := s.charge.set(s.StateBytes()); err != nil {
				return nil, err
			}
			ws := s.wm
			if len(s.entries) > 0 && s.entries[0].ts < ws {
				ws = s.entries[0].ts
			}
			s.queue = append(s.queue, Watermark{Col: s.schema.NumFields() - 2, Value: s.datum(ws)})
			return m, nil
		default:
			return m, nil
		}
	}
}

// find returns the index of the first entry with ts ≥ v.
func (s *Session) find(v int64) int {
	return sort.Search(len(s.entries), func(i int) bool { return s.entries[i].ts >= v })
}

func (s *Session) apply(c *Chunk) (*Chunk, error) {
	b := c.Batch
	tcol := b.Column(s.timeCol)
	ts, ok := timewin.Int64Values(tcol)
	if !ok {
		return nil, pgerror.Internal("stream: session time column has type %s", tcol.DataType())
	}
	cols := b.Columns()
	s.out = sessOut{}
	var dirty []int64
	for i, op := range c.Ops {
		if tcol.IsNull(i) {
			s.out.add(s.rowDatums(cols, i), nil, nil, signOp(op), 1)
			continue
		}
		t := ts[i]
		if s.hasWM && t < s.wm {
			s.late++
			continue
		}
		s.keyBuf = vec.AppendRowKey(s.keyBuf[:0], cols, s.inTypes, i)
		p := s.find(t)
		var e *sessEntry
		if p < len(s.entries) && s.entries[p].ts == t {
			e = s.entries[p]
		}
		var r *sessRow
		ri := -1
		if e != nil {
			for k, x := range e.rows {
				if x.key == string(s.keyBuf) {
					r, ri = x, k
					break
				}
			}
		}
		if op.Sign() > 0 {
			if e == nil {
				e = &sessEntry{ts: t}
				s.bytes += sessEntryBytes
				s.entries = append(s.entries, nil)
				copy(s.entries[p+1:], s.entries[p:])
				s.entries[p] = e
			}
			if r == nil {
				r = &sessRow{key: string(s.keyBuf), vals: s.rowDatums(cols, i)}
				s.bytes += sessRowBytes(r)
				e.rows = append(e.rows, r)
				s.rows++
			}
			r.count++
			dirty = append(dirty, t)
			continue
		}
		if r == nil {
			// A delete of a row we do not hold: it was dropped by the
			// watermark (or never inserted).
			s.late++
			continue
		}
		if r.count <= r.emitted {
			s.out.add(r.vals, s.datum(r.ws), s.datum(r.we), Delete, 1)
			r.emitted--
		}
		r.count--
		if r.count == 0 {
			e.rows = append(e.rows[:ri], e.rows[ri+1:]...)
			s.rows--
			s.bytes -= sessRowBytes(r)
			if len(e.rows) == 0 {
				s.entries = append(s.entries[:p], s.entries[p+1:]...)
				s.bytes -= sessEntryBytes
				dirty = append(dirty, t)
			}
		}
	}
	if err := s.recompute(dirty); err != nil {
		return nil, err
	}
	return s.build()
}

func signOp(op Op) Op {
	if op.Sign() > 0 {
		return Insert
	}
	return Delete
}

func (s *Session) rowDatums(cols []arrow.Array, i int) []types.Datum {
	vals := make([]types.Datum, len(s.inTypes))
	for c, t := range s.inTypes {
		vals[c] = types.GetDatum(cols[c], i, t)
	}
	return vals
}

// bounds returns the session [a, b] of entry i.
func (s *Session) bounds(i int) (int, int) {
	a, b := i, i
	for a > 0 && timewin.Within(s.entries[a-1].ts, s.entries[a].ts, s.gap) {
		a--
	}
	for b+1 < len(s.entries) && timewin.Within(s.entries[b].ts, s.entries[b+1].ts, s.gap) {
		b++
	}
	return a, b
}

// recompute settles the sessions around the changed times: for each, the
// sessions of the entries just before and at its position.
func (s *Session) recompute(dirty []int64) error {
	if len(dirty) == 0 {
		return nil
	}
	var cand []int
	for _, t := range dirty {
		p := s.find(t)
		if p > 0 {
			cand = append(cand, p-1)
		}
		if p < len(s.entries) {
			cand = append(cand, p)
		}
	}
	sort.Ints(cand)
	done := -1
	for _, i := range cand {
		if i <= done {
			continue
		}
		a, b := s.bounds(i)
		done = b
		ws := s.entries[a].ts
		we := s.entries[b].ts + s.gap
		if we < s.entries[b].ts {
			return pgerror.New(pgerror.DatetimeFieldOverflow, "timestamp out of range")
		}
		for _, e := range s.entries[a : b+1] {
			for _, r := range e.rows {
				if r.emitted > 0 && (r.ws != ws || r.we != we) {
					s.out.add(r.vals, s.datum(r.ws), s.datum(r.we), Delete, r.emitted)
					r.emitted = 0
				}
				if r.count > r.emitted {
					s.out.add(r.vals, s.datum(ws), s.datum(we), Insert, r.count-r.emitted)
					r.emitted = r.count
				}
				r.ws, r.we = ws, we
			}
		}
	}
	return nil
}

// cleanup drops the leading sessions that the watermark made final.
func (s *Session) cleanup() {
	drop := 0
	for drop < len(s.entries) {
		_, b := s.bounds(drop)
		end := s.entries[b].ts + s.gap
		if end < s.entries[b].ts || end > s.wm {
			break
		}
		drop = b + 1
	}
	if drop == 0 {
		return
	}
	for _, e := range s.entries[:drop] {
		s.rows -= int64(len(e.rows))
		s.bytes -= sessEntryBytes
		for _, r := range e.rows {
			s.bytes -= sessRowBytes(r)
		}
	}
	rest := make([]*sessEntry, len(s.entries)-drop, max(len(s.entries)-drop, 8))
	copy(rest, s.entries[drop:])
	s.entries = rest
}

// build turns the accumulated output into a chunk (nil if empty).
func (s *Session) build() (*Chunk, error) {
	o := &s.out
	n := len(o.ops)
	if n == 0 {
		return nil, nil
	}
	bs := make([]array.Builder, len(s.inTypes)+2)
	for i, t := range s.inTypes {
		bs[i] = array.NewBuilder(s.mem, types.ArrowType(t))
	}
	wt := s.schema.Field(len(s.inTypes)).Type
	bs[len(s.inTypes)] = array.NewBuilder(s.mem, wt)
	bs[len(s.inTypes)+1] = array.NewBuilder(s.mem, wt)
	for k := 0; k < n; k++ {
		for c, t := range s.inTypes {
			types.AppendDatum(bs[c], o.vals[k][c], t)
		}
		types.AppendDatum(bs[len(s.inTypes)], o.ws[k], s.timeT)
		types.AppendDatum(bs[len(s.inTypes)+1], o.we[k], s.timeT)
	}
	cols := make([]arrow.Array, len(bs))
	for i, b := range bs {
		cols[i] = b.NewArray()
		b.Release()
	}
	batch := array.NewRecordBatch(s.schema, cols, int64(n))
	for _, a := range cols {
		a.Release()
	}
	ops := o.ops
	s.out = sessOut{}
	return &Chunk{Batch: batch, Ops: ops}, nil
}

// Close implements Executor.
func (s *Session) Close() error {
	for _, m := range s.queue {
		ReleaseMessage(m)
	}
	s.queue = nil
	s.entries = nil
	s.bytes = 0
	s.charge.release()
	return s.input.Close()
}
