package stream

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/timewin"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// WatermarkOptions tunes a WatermarkFilter.
type WatermarkOptions struct {
	// IdleTimeout > 0 advances the watermark on an idle input: when no row
	// arrived for IdleTimeout (of Now time, measured at barriers), the
	// watermark moves forward by the wall time elapsed since it last moved.
	IdleTimeout time.Duration
	// Now is the clock (nil: time.Now). Tests pass a fake clock.
	Now func() time.Time
	// Late receives the late insert rows of each chunk (borrowed for the
	// call); nil drops them. An error stops the stream.
	Late func(ctx context.Context, late arrow.RecordBatch) error
	// LateRows, when set, counts the late rows dropped (inserts and
	// deletes).
	LateRows *atomic.Int64
}

// WatermarkFilter generates the watermark of a table's event-time column
// (WATERMARK FOR col AS expr) and filters late rows.
//
// wm evaluates the WATERMARK expression per row (a timestamp of timeCol's
// type); the current watermark is the largest value seen. A row whose
// timeCol is below the watermark as of the start of its chunk is late: it is
// counted, handed to Late (if an insert) and dropped — deletes of late rows
// are dropped too; when one half of an update pair is late, the other half
// becomes a plain Delete or Insert.
//
// Emission: at every barrier, when the watermark advanced since the last
// emitted one, Watermark{Col: timeCol} is emitted right BEFORE the barrier,
// so windows it closes are emitted in the same epoch. NULL times are never
// late and never move the watermark. Input watermarks on timeCol raise the
// current watermark; other input watermarks pass on.
type WatermarkFilter struct {
	input   Executor
	timeCol int
	wm      Evaluator
	opts    WatermarkOptions
	mem     memory.Allocator
	tz      bool // timeCol is timestamptz (the Datum type of watermarks)
	isInt   bool // timeCol is int64 (tests, epoch-micros columns)

	cur          int64 // current watermark
	has          bool  // cur is set
	emitted      int64
	hasEmitted   bool
	rowsSeen     bool // a row arrived since the last barrier
	lastRow      time.Time
	lastAdvance  time.Time
	clockInit    bool
	rowsAdvanced bool // the watermark moved since the last barrier

	pending []Message
	err     error
}

// NewWatermarkFilter returns a watermark generator and late-row filter on
// input's column timeCol (timestamp, timestamptz or int8 microseconds).
func NewWatermarkFilter(input Executor, timeCol int, wm Evaluator, opts WatermarkOptions) *WatermarkFilter {
	f := &WatermarkFilter{input: input, timeCol: timeCol, wm: wm, opts: opts, mem: memory.DefaultAllocator}
	if f.opts.Now == nil {
		f.opts.Now = time.Now
	}
	s := input.Schema()
	switch {
	case timeCol < 0 || timeCol >= s.NumFields():
		f.err = pgerror.Internal("stream: watermark column %d out of range", timeCol)
	default:
		switch dt := s.Field(timeCol).Type.(type) {
		case *arrow.TimestampType:
			f.tz = dt.TimeZone != ""
		case *arrow.Int64Type:
			f.isInt = true
		default:
			f.err = pgerror.New(pgerror.DatatypeMismatch, "watermark column must be a timestamp, not %s", dt)
		}
	}
	return f
}

// WithAllocator makes the filter allocate its output with mem (before use).
func (f *WatermarkFilter) WithAllocator(mem memory.Allocator) *WatermarkFilter {
	f.mem = mem
	return f
}

// Schema implements Executor.
func (f *WatermarkFilter) Schema() *arrow.Schema { return f.input.Schema() }

// Current returns the current watermark (ok false before the first one).
func (f *WatermarkFilter) Current() (types.Datum, bool) {
	if !f.has {
		return nil, false
	}
	return f.datum(f.cur), true
}

func (f *WatermarkFilter) datum(v int64) types.Datum {
	switch {
	case f.isInt:
		return v
	case f.tz:
		return types.TimestampTZ(v)
	}
	return types.Timestamp(v)
}

// datumMicros extracts the microseconds of a watermark Datum.
func datumMicros(d types.Datum) (int64, bool) {
	switch v := d.(type) {
	case types.Timestamp:
		return int64(v), true
	case types.TimestampTZ:
		return int64(v), true
	case int64:
		return v, true
	}
	return 0, false
}

// Next implements Executor.
func (f *WatermarkFilter) Next(ctx context.Context) (Message, error) {
	if f.err != nil {
		return nil, f.err
	}
	for {
		if len(f.pending) > 0 {
			m := f.pending[0]
			f.pending[0] = nil
			f.pending = f.pending[1:]
			return m, nil
		}
		m, err := f.input.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			out, err := f.filter(ctx, m)
			if err != nil {
				return nil, err
			}
			if out != nil {
				return out, nil
			}
		case Barrier:
			f.onBarrier()
			if f.has && (!f.hasEmitted || f.cur > f.emitted) {
				f.emitted, f.hasEmitted = f.cur, true
				f.pending = append(f.pending, m)
				return Watermark{Col: f.timeCol, Value: f.datum(f.cur)}, nil
			}
			return m, nil
		case Watermark:
			if m.Col != f.timeCol {
				return m, nil
			}
			if v, ok := datumMicros(m.Value); ok {
				f.raise(v)
			}
		default:
			return m, nil
		}
	}
}

func (f *WatermarkFilter) raise(v int64) {
	if !f.has || v > f.cur {
		f.cur, f.has = v, true
		f.rowsAdvanced = true
	}
}

// onBarrier runs the idle clock.
func (f *WatermarkFilter) onBarrier() {
	now := f.opts.Now()
	if !f.clockInit {
		f.clockInit = true
		f.lastRow, f.lastAdvance = now, now
	}
	if f.rowsSeen {
		f.lastRow = now
	}
	if f.rowsAdvanced {
		f.lastAdvance = now
	}
	f.rowsSeen, f.rowsAdvanced = false, false
	if f.opts.IdleTimeout <= 0 || !f.has || now.Sub(f.lastRow) < f.opts.IdleTimeout {
		return
	}
	el := now.Sub(f.lastAdvance).Microseconds()
	if el <= 0 {
		return
	}
	if v := f.cur + el; v > f.cur {
		f.cur = v
	}
	f.lastAdvance = now
}

// filter drops late rows of c, advances the watermark and returns the rest
// (nil if none). It consumes c.
func (f *WatermarkFilter) filter(ctx context.Context, c *Chunk) (*Chunk, error) {
	defer func() {
		if c != nil {
			c.Release()
		}
	}()
	n := len(c.Ops)
	if n == 0 {
		return nil, nil
	}
	f.rowsSeen = true
	tcol := c.Batch.Column(f.timeCol)
	ts, ok := timewin.Int64Values(tcol)
	if !ok {
		return nil, pgerror.Internal("stream: watermark column has type %s", tcol.DataType())
	}
	wa, err := f.wm.Eval(ctx, c.Batch)
	if err != nil {
		return nil, fmt.Errorf("stream: watermark expression: %w", err)
	}
	defer wa.Release()
	wv, ok := timewin.Int64Values(wa)
	if !ok {
		return nil, pgerror.Internal("stream: watermark expression returned %s", wa.DataType())
	}
	threshold, has := f.cur, f.has
	late := func(i int) bool { return has && tcol.IsValid(i) && ts[i] < threshold }
	if !f.anyLate(tcol, ts, threshold) {
		// Fast path: every row passes as it is.
		f.raiseFrom(c.Ops, wa, wv)
		out := c
		c = nil
		return out, nil
	}
	keep := make([]int32, 0, n)
	ops := make([]Op, 0, n)
	var lateIns []int32
	nLate := int64(0)
	for i := 0; i < n; i++ {
		op := c.Ops[i]
		if op == UpdateDelete && i+1 < n && c.Ops[i+1] == UpdateInsert {
			l0, l1 := late(i), late(i+1)
			switch {
			case !l0 && !l1:
				keep = append(keep, int32(i), int32(i+1))
				ops = append(ops, UpdateDelete, UpdateInsert)
			case !l0:
				keep = append(keep, int32(i))
				ops = append(ops, Delete)
			case !l1:
				keep = append(keep, int32(i+1))
				ops = append(ops, Insert)
			}
			if l0 {
				nLate++
			}
			if l1 {
				nLate++
				lateIns = append(lateIns, int32(i+1))
			}
			i++
			continue
		}
		if late(i) {
			nLate++
			if op.Sign() > 0 {
				lateIns = append(lateIns, int32(i))
			}
			continue
		}
		switch op {
		case UpdateDelete:
			op = Delete
		case UpdateInsert:
			op = Insert
		}
		keep = append(keep, int32(i))
		ops = append(ops, op)
	}
	// The watermark moves with the rows that passed (inserts only).
	for k, i := range keep {
		if ops[k].Sign() > 0 && wa.IsValid(int(i)) {
			f.raise(wv[i])
		}
	}
	if nLate > 0 {
		if f.opts.LateRows != nil {
			f.opts.LateRows.Add(nLate)
		}
		if f.opts.Late != nil && len(lateIns) > 0 {
			lb := vec.TakeBatch(f.mem, c.Batch, lateIns)
			err := f.opts.Late(ctx, lb)
			lb.Release()
			if err != nil {
				return nil, fmt.Errorf("stream: late rows: %w", err)
			}
		}
	}
	switch {
	case len(keep) == 0:
		return nil, nil
	case len(keep) == n:
		out := c
		out.Ops = ops
		c = nil
		return out, nil
	}
	return &Chunk{Batch: vec.TakeBatch(f.mem, c.Batch, keep), Ops: ops}, nil
}

// anyLate reports whether some row's time is below threshold.
func (f *WatermarkFilter) anyLate(tcol arrow.Array, ts []int64, threshold int64) bool {
	if !f.has {
		return false
	}
	if tcol.NullN() == 0 {
		for _, v := range ts {
			if v < threshold {
				return true
			}
		}
		return false
	}
	for i, v := range ts {
		if v < threshold && tcol.IsValid(i) {
			return true
		}
	}
	return false
}

// raiseFrom raises the watermark to the largest value of the insert rows.
func (f *WatermarkFilter) raiseFrom(ops []Op, wa arrow.Array, wv []int64) {
	best, found := int64(0), false
	noNulls := wa.NullN() == 0
	for i, op := range ops {
		if op.Sign() > 0 && (noNulls || wa.IsValid(i)) && (!found || wv[i] > best) {
			best, found = wv[i], true
		}
	}
	if found {
		f.raise(best)
	}
}

// Close implements Executor.
func (f *WatermarkFilter) Close() error {
	for _, m := range f.pending {
		ReleaseMessage(m)
	}
	f.pending = nil
	return f.input.Close()
}
