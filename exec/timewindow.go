package exec

import (
	"context"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/timewin"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/planner"
)

// timeWindowOp evaluates planner.TimeWindow with the window arithmetic of
// exec/kernels/timewin: tumble and hop batch by batch, session over the
// whole input (sessions span batches).
type timeWindowOp struct {
	opBase
	n     *planner.TimeWindow
	input Operator
	done  bool
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
		out, err := o.windowRows(b)
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

// windowRows repeats every row of b once per tumble or hop window it
// belongs to, with window_start and window_end appended (NULL times drop).
func (o *timeWindowOp) windowRows(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	n, mem := o.n, o.mem()
	if n.Kind == planner.WindowHop {
		out, _, err := timewin.HopExpand(mem, b, n.TimeCol, n.Slide, n.Size, n.Offset)
		if err != nil {
			return nil, err
		}
		return o.relabel(out), nil
	}
	tc := b.Column(n.TimeCol)
	ts, _ := timewin.Int64Values(tc)
	size, err := timewin.Micros(n.Size)
	if err != nil {
		return nil, err
	}
	rows := make([]int32, 0, len(ts))
	starts := make([]int64, 0, len(ts))
	ends := make([]int64, 0, len(ts))
	for i, v := range ts {
		if tc.IsNull(i) {
			continue
		}
		s, err := timewin.TumbleStart(v, n.Size, n.Offset)
		if err != nil {
			return nil, err
		}
		rows, starts, ends = append(rows, int32(i)), append(starts, s), append(ends, s+size)
	}
	return o.relabel(timewin.Append(mem, b, n.TimeCol, rows, starts, ends)), nil
}

// relabel gives a timewin result the node's output schema (column names).
func (o *timeWindowOp) relabel(b arrow.RecordBatch) arrow.RecordBatch {
	defer b.Release()
	return array.NewRecordBatch(o.schema, b.Columns(), b.NumRows())
}

// nextSession reads the whole input, sorts it by time and assigns sessions.
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
	tc := whole.Column(o.n.TimeCol)
	vals, _ := timewin.Int64Values(tc)
	idx := make([]int32, 0, len(vals))
	for i := range vals {
		if tc.IsValid(i) {
			idx = append(idx, int32(i))
		}
	}
	slices.SortStableFunc(idx, func(a, c int32) int {
		switch va, vc := vals[a], vals[c]; {
		case va < vc:
			return -1
		case va > vc:
			return 1
		}
		return 0
	})
	sorted := make([]int64, len(idx))
	for k, i := range idx {
		sorted[k] = vals[i]
	}
	starts, ends, err := timewin.SessionWindows(sorted, o.n.Size)
	if err != nil {
		return nil, err
	}
	if len(idx) == 0 {
		return nil, nil
	}
	return o.emit(o.relabel(timewin.Append(mem, whole, o.n.TimeCol, idx, starts, ends))), nil
}

func (o *timeWindowOp) Close() error {
	if o.closed {
		return nil
	}
	o.closeBase()
	return o.input.Close()
}
