package exec

import (
	"context"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// IntervalMicros is the length of a months-free interval in microseconds.
func IntervalMicros(iv types.Interval) int64 {
	return int64(iv.Days)*86_400_000_000 + iv.Micros
}

// TumbleStart is the start of the tumbling window of size (µs) shifted by
// offset (µs) that contains ts: floor((ts-offset)/size)*size + offset.
func TumbleStart(ts, size, offset int64) int64 {
	d := ts - offset
	q := d / size
	if d%size != 0 && d < 0 {
		q--
	}
	return q*size + offset
}

// HopStarts appends to dst the starts of every hop window (slide, size,
// offset in µs; size a multiple of slide) containing ts, ascending.
func HopStarts(dst []int64, ts, slide, size, offset int64) []int64 {
	last := TumbleStart(ts, slide, offset) // the latest window start ≤ ts
	for ws := last - size + slide; ws <= last; ws += slide {
		dst = append(dst, ws)
	}
	return dst
}

// SessionBounds assigns sorted times to sessions: a row starts a new session
// when it is gap (µs) or more after the previous one. It returns each row's
// session start and end (last time of the session + gap).
func SessionBounds(sorted []int64, gap int64) (starts, ends []int64) {
	starts, ends = make([]int64, len(sorted)), make([]int64, len(sorted))
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j]-sorted[j-1] < gap {
			j++
		}
		for k := i; k < j; k++ {
			starts[k], ends[k] = sorted[i], sorted[j-1]+gap
		}
		i = j
	}
	return starts, ends
}

// timeWindowOp evaluates planner.TimeWindow.
type timeWindowOp struct {
	opBase
	n     *planner.TimeWindow
	input Operator
	// session: all rows sorted, emitted once
	pending []arrow.RecordBatch
	done    bool
}

func newTimeWindow(env *Env, n *planner.TimeWindow, in Operator) (*timeWindowOp, error) {
	if err := planner.ValidateTimeWindow(n); err != nil {
		return nil, err
	}
	return &timeWindowOp{opBase: opBase{env: env, schema: arrowSchema(n.Out)}, n: n, input: in}, nil
}

func (o *timeWindowOp) Init(ctx context.Context) error {
	o.initBase(ctx)
	return o.input.Init(ctx)
}

func (o *timeWindowOp) mem() memory.Allocator { return o.env.evalCtx().Mem }

func (o *timeWindowOp) Next() (arrow.RecordBatch, error) {
	if err := o.checkCtx(); err != nil {
		return nil, err
	}
	if o.n.Kind == planner.WindowSession {
		return o.nextSession()
	}
	for {
		b, err := o.input.Next()
		if err != nil || b == nil {
			return nil, err
		}
		out, err := WindowRows(o.mem(), o.n, b, o.schema)
		if err != nil {
			return nil, err
		}
		if out.NumRows() == 0 {
			out.Release()
			continue
		}
		return o.emit(out), nil
	}
}

// WindowRows assigns the rows of b to tumble or hop windows: every row is
// repeated once per window it belongs to (in input order, windows
// ascending) with window_start and window_end appended; rows with a NULL
// time are dropped. schema is the output schema.
func WindowRows(mem memory.Allocator, n *planner.TimeWindow, b arrow.RecordBatch, schema *arrow.Schema) (arrow.RecordBatch, error) {
	tcol, ok := b.Column(n.TimeCol).(*array.Int64)
	var ts []int64
	var valid func(i int) bool
	if ok {
		ts, valid = tcol.Int64Values(), tcol.IsValid
	} else if tc, ok2 := b.Column(n.TimeCol).(*array.Timestamp); ok2 {
		raw := tc.TimestampValues()
		ts = make([]int64, len(raw))
		for i, v := range raw {
			ts[i] = int64(v)
		}
		valid = tc.IsValid
	} else {
		return nil, pgerror.Internal("time window over a %s column", b.Column(n.TimeCol).DataType())
	}
	size, slide, off := IntervalMicros(n.Size), IntervalMicros(n.Slide), IntervalMicros(n.Offset)
	idx := make([]int32, 0, len(ts))
	starts := make([]int64, 0, len(ts))
	var buf []int64
	for i := range ts {
		if !valid(i) {
			continue
		}
		if n.Kind == planner.WindowTumble {
			idx = append(idx, int32(i))
			starts = append(starts, TumbleStart(ts[i], size, off))
			continue
		}
		buf = HopStarts(buf[:0], ts[i], slide, size, off)
		for _, ws := range buf {
			idx = append(idx, int32(i))
			starts = append(starts, ws)
		}
	}
	return appendWindowCols(mem, b, idx, starts, size, schema)
}

func appendWindowCols(mem memory.Allocator, b arrow.RecordBatch, idx []int32, starts []int64, size int64, schema *arrow.Schema) (arrow.RecordBatch, error) {
	var rows arrow.RecordBatch
	if len(idx) == int(b.NumRows()) && slices.IsSortedFunc(idx, func(a, c int32) int { return int(a - c) }) && (len(idx) == 0 || idx[len(idx)-1] == int32(len(idx)-1)) {
		b.Retain()
		rows = b
	} else {
		rows = vec.TakeBatch(mem, b, idx)
	}
	defer rows.Release()
	nf := schema.NumFields()
	wt := schema.Field(nf - 1).Type
	sb, eb := array.NewBuilder(mem, wt), array.NewBuilder(mem, wt)
	defer sb.Release()
	defer eb.Release()
	appendTS := func(bld array.Builder, v int64) {
		switch x := bld.(type) {
		case *array.Int64Builder:
			x.Append(v)
		case *array.TimestampBuilder:
			x.Append(arrow.Timestamp(v))
		}
	}
	for _, s := range starts {
		appendTS(sb, s)
		appendTS(eb, s+size)
	}
	cols := make([]arrow.Array, 0, nf)
	cols = append(cols, rows.Columns()...)
	ws, we := sb.NewArray(), eb.NewArray()
	defer ws.Release()
	defer we.Release()
	cols = append(cols, ws, we)
	if len(cols) != nf {
		return nil, pgerror.Internal("time window: %d columns for a %d-column schema", len(cols), nf)
	}
	return array.NewRecordBatch(schema, cols, int64(len(starts))), nil
}

func (o *timeWindowOp) nextSession() (arrow.RecordBatch, error) {
	if o.done {
		return nil, nil
	}
	o.done = true
	var all []arrow.RecordBatch
	defer func() {
		for _, b := range all {
			b.Release()
		}
	}()
	for {
		b, err := o.input.Next()
		if err != nil {
			return nil, err
		}
		if b == nil {
			break
		}
		b.Retain()
		all = append(all, b)
	}
	if len(all) == 0 {
		return nil, nil
	}
	mem := o.mem()
	in := all[0].Schema()
	cols := make([]arrow.Array, in.NumFields())
	n := int64(0)
	for _, b := range all {
		n += b.NumRows()
	}
	for j := range cols {
		parts := make([]arrow.Array, len(all))
		for k, b := range all {
			parts[k] = b.Column(j)
		}
		cols[j] = vec.Concat(mem, parts)
	}
	whole := array.NewRecordBatch(in, cols, n)
	for _, c := range cols {
		c.Release()
	}
	defer whole.Release()
	sorted, err := SessionRows(mem, o.n, whole, o.schema)
	if err != nil {
		return nil, err
	}
	if sorted.NumRows() == 0 {
		sorted.Release()
		return nil, nil
	}
	return o.emit(sorted), nil
}

// SessionRows sorts the rows of b by time (NULL times dropped) and appends
// each row's session window_start and window_end.
func SessionRows(mem memory.Allocator, n *planner.TimeWindow, b arrow.RecordBatch, schema *arrow.Schema) (arrow.RecordBatch, error) {
	tc := b.Column(n.TimeCol)
	get := func(i int) int64 {
		switch x := tc.(type) {
		case *array.Int64:
			return x.Value(i)
		case *array.Timestamp:
			return int64(x.Value(i))
		}
		return 0
	}
	idx := make([]int32, 0, tc.Len())
	for i := 0; i < tc.Len(); i++ {
		if tc.IsValid(i) {
			idx = append(idx, int32(i))
		}
	}
	slices.SortStableFunc(idx, func(a, c int32) int {
		va, vc := get(int(a)), get(int(c))
		switch {
		case va < vc:
			return -1
		case va > vc:
			return 1
		}
		return 0
	})
	times := make([]int64, len(idx))
	for k, i := range idx {
		times[k] = get(int(i))
	}
	gap := IntervalMicros(n.Size)
	starts, ends := SessionBounds(times, gap)
	rows := vec.TakeBatch(mem, b, idx)
	defer rows.Release()
	// appendWindowCols derives the end from a fixed size; sessions have
	// per-row ends, so build both columns here.
	nf := schema.NumFields()
	wt := schema.Field(nf - 1).Type
	sb, eb := array.NewBuilder(mem, wt), array.NewBuilder(mem, wt)
	defer sb.Release()
	defer eb.Release()
	for k := range starts {
		switch x := sb.(type) {
		case *array.TimestampBuilder:
			x.Append(arrow.Timestamp(starts[k]))
			eb.(*array.TimestampBuilder).Append(arrow.Timestamp(ends[k]))
		case *array.Int64Builder:
			x.Append(starts[k])
			eb.(*array.Int64Builder).Append(ends[k])
		}
	}
	ws, we := sb.NewArray(), eb.NewArray()
	defer ws.Release()
	defer we.Release()
	cols := append(append([]arrow.Array{}, rows.Columns()...), ws, we)
	return array.NewRecordBatch(schema, cols, int64(len(starts))), nil
}

func (o *timeWindowOp) Close() error {
	if o.closed {
		return nil
	}
	o.closeBase()
	for _, b := range o.pending {
		b.Release()
	}
	o.pending = nil
	return o.input.Close()
}
