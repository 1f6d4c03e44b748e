package exec

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TableFunc runs a set-returning function in FROM: generate_series over
// integers, numerics and timestamps (interval step), and unnest of arrays
// (several arrays are zipped, shorter ones padded with NULL). Arguments are
// evaluated once at Init; rows are produced lazily, BatchSize at a time.
type TableFunc struct {
	opBase
	node *planner.TableFunc
	gen  func() ([]types.Datum, bool, error)
	done bool
}

func newTableFunc(env *Env, n *planner.TableFunc) (*TableFunc, error) {
	switch strings.ToLower(n.Name) {
	case "generate_series", "unnest":
	default:
		return nil, pgerror.Unsupported("table function %s is not supported", n.Name)
	}
	if len(n.Out) == 0 {
		return nil, pgerror.Internal("table function %s without output columns", n.Name)
	}
	return &TableFunc{opBase: opBase{env: env, schema: arrowSchema(n.Out)}, node: n}, nil
}

// Init evaluates the arguments.
func (f *TableFunc) Init(ctx context.Context) error {
	f.initBase(ctx)
	args := make([]types.Datum, len(f.node.Args))
	for i, a := range f.node.Args {
		d, err := constDatum(f.ctx, f.env, a)
		if err != nil {
			return err
		}
		args[i] = d
	}
	var err error
	switch strings.ToLower(f.node.Name) {
	case "generate_series":
		f.gen, err = f.series(args)
	case "unnest":
		f.gen = f.unnest(args)
	}
	return err
}

func (f *TableFunc) series(args []types.Datum) (func() ([]types.Datum, bool, error), error) {
	if len(args) < 2 || len(args) > 3 {
		return nil, pgerror.New(pgerror.UndefinedFunction, "function generate_series with %d arguments does not exist", len(args))
	}
	for _, a := range args {
		if a == nil {
			return func() ([]types.Datum, bool, error) { return nil, false, nil }, nil
		}
	}
	zeroStep := pgerror.New(pgerror.InvalidParameterValue, "step size cannot equal zero")
	row := make([]types.Datum, 1)
	switch start := args[0].(type) {
	case int64:
		stop, ok := args[1].(int64)
		if !ok {
			return nil, pgerror.Internal("generate_series: mixed argument types")
		}
		step := int64(1)
		if len(args) == 3 {
			if step, ok = args[2].(int64); !ok {
				return nil, pgerror.Internal("generate_series: step type")
			}
		}
		if step == 0 {
			return nil, zeroStep
		}
		cur, finished := start, false
		return func() ([]types.Datum, bool, error) {
			if finished || (step > 0 && cur > stop) || (step < 0 && cur < stop) {
				return nil, false, nil
			}
			row[0] = cur
			next := cur + step
			if (step > 0 && next < cur) || (step < 0 && next > cur) {
				finished = true // overflow: the series ends here
			}
			cur = next
			return row, true, nil
		}, nil
	case *apd.Decimal:
		stop, ok := args[1].(*apd.Decimal)
		if !ok {
			return nil, pgerror.Internal("generate_series: mixed argument types")
		}
		step := apd.New(1, 0)
		if len(args) == 3 {
			if step, ok = args[2].(*apd.Decimal); !ok {
				return nil, pgerror.Internal("generate_series: step type")
			}
		}
		for _, d := range []*apd.Decimal{start, stop, step} {
			if d.Form != apd.Finite {
				return nil, pgerror.New(pgerror.InvalidParameterValue, "start, stop and step cannot be NaN or infinity")
			}
		}
		if step.IsZero() {
			return nil, zeroStep
		}
		cur := new(apd.Decimal).Set(start)
		neg := step.Negative
		c := apd.BaseContext.WithPrecision(1000)
		return func() ([]types.Datum, bool, error) {
			cmp := cur.Cmp(stop)
			if (!neg && cmp > 0) || (neg && cmp < 0) {
				return nil, false, nil
			}
			v := new(apd.Decimal).Set(cur)
			row[0] = v
			next := new(apd.Decimal)
			if _, err := c.Add(next, cur, step); err != nil {
				return nil, false, pgerror.Wrap(err, pgerror.NumericValueOutOfRange, "")
			}
			cur = next
			return row, true, nil
		}, nil
	case types.Timestamp, types.TimestampTZ:
		if len(args) != 3 {
			return nil, pgerror.New(pgerror.UndefinedFunction, "function generate_series(timestamp, timestamp) does not exist")
		}
		step, ok := args[2].(types.Interval)
		if !ok {
			return nil, pgerror.Internal("generate_series: step must be an interval")
		}
		if step == (types.Interval{}) {
			return nil, zeroStep
		}
		tz := false
		var cur, stop int64
		switch s := start.(type) {
		case types.Timestamp:
			cur, stop = int64(s), tsMicros(args[1])
		case types.TimestampTZ:
			cur, stop, tz = int64(s), tsMicros(args[1]), true
		}
		loc := time.UTC
		if tz {
			loc = f.env.evalCtx().Ctx.Location()
		}
		// Direction as PostgreSQL decides it: by the interval's span
		// (a month counts 30 days).
		span := float64(step.Months)*30*float64(types.MicrosPerDay) + float64(step.Days)*float64(types.MicrosPerDay) + float64(step.Micros)
		if span == 0 {
			return nil, zeroStep
		}
		forward := span > 0
		finished := false
		return func() ([]types.Datum, bool, error) {
			if finished || (forward && cur > stop) || (!forward && cur < stop) {
				return nil, false, nil
			}
			if tz {
				row[0] = types.TimestampTZ(cur)
			} else {
				row[0] = types.Timestamp(cur)
			}
			next := addInterval(cur, step, loc)
			if (forward && next <= cur) || (!forward && next >= cur) {
				// A mixed-sign step that stalls or turns back on the
				// calendar would never reach stop: end the series.
				finished = true
			}
			cur = next
			return row, true, nil
		}, nil
	}
	return nil, pgerror.Unsupported("generate_series over %T is not supported", args[0])
}

func tsMicros(d types.Datum) int64 {
	switch v := d.(type) {
	case types.Timestamp:
		return int64(v)
	case types.TimestampTZ:
		return int64(v)
	}
	return math.MaxInt64
}

// addInterval adds months and days on the calendar (in loc) and then
// microseconds, as PostgreSQL's timestamp + interval does.
func addInterval(micros int64, iv types.Interval, loc *time.Location) int64 {
	t := time.UnixMicro(micros).In(loc)
	if iv.Months != 0 || iv.Days != 0 {
		y, m, d := t.Date()
		tm := time.Date(y, m+time.Month(iv.Months), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
		// Clamp the day to the target month's length (Jan 31 + 1 mon = Feb 28).
		last := time.Date(tm.Year(), tm.Month()+1, 0, 0, 0, 0, 0, loc).Day()
		if d > last {
			d = last
		}
		t = time.Date(tm.Year(), tm.Month(), d+int(iv.Days), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	}
	return t.UnixMicro() + iv.Micros
}

func (f *TableFunc) unnest(args []types.Datum) func() ([]types.Datum, bool, error) {
	arrs := make([]*types.Array, len(args))
	longest := 0
	for i, a := range args {
		if x, ok := a.(*types.Array); ok {
			arrs[i] = x
			longest = max(longest, len(x.Elems))
		}
	}
	row := make([]types.Datum, len(f.node.Out))
	pos := 0
	return func() ([]types.Datum, bool, error) {
		if pos >= longest {
			return nil, false, nil
		}
		for i := range row {
			row[i] = nil
			if i < len(arrs) && arrs[i] != nil && pos < len(arrs[i].Elems) {
				row[i] = arrs[i].Elems[pos]
			}
		}
		pos++
		return row, true, nil
	}
}

// Next returns the next BatchSize rows.
func (f *TableFunc) Next() (arrow.RecordBatch, error) {
	if f.done {
		return nil, nil
	}
	if err := f.checkCtx(); err != nil {
		return nil, err
	}
	bld := array.NewRecordBuilder(f.env.alloc(), f.schema)
	defer bld.Release()
	n, bs := 0, f.env.batchSize()
	for n < bs {
		row, ok, err := f.gen()
		if err != nil {
			return nil, err
		}
		if !ok {
			f.done = true
			break
		}
		for i, d := range row {
			if i < len(f.node.Out) {
				types.AppendDatum(bld.Field(i), d, f.node.Out[i].T)
			}
		}
		n++
	}
	if n == 0 {
		return nil, nil
	}
	return f.emit(bld.NewRecordBatch()), nil
}

// Close releases the last batch.
func (f *TableFunc) Close() error { f.closeBase(); return nil }
