package fin

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// newFirstLast returns the accumulator of first(x) (last=false) or last(x)
// for x of type t: the first or last non-NULL value in arrival order, NULL
// for a group without one. They are order-sensitive (first(price ORDER BY
// ts) is a candle's open, last(price ORDER BY ts) its close) and not
// retractable. Fixed-width types keep unboxed values; other types keep one
// boxed Datum per group and box at most one value per group per batch.
func newFirstLast(t types.T, last bool) kernels.GroupedAcc {
	switch t.Family {
	case types.FamFloat8:
		return &firstLastFixed[float64, *array.Float64, *array.Float64Builder]{last: last}
	case types.FamFloat4:
		return &firstLastFixed[float32, *array.Float32, *array.Float32Builder]{last: last}
	case types.FamInt8:
		return &firstLastFixed[int64, *array.Int64, *array.Int64Builder]{last: last}
	case types.FamInt4:
		return &firstLastFixed[int32, *array.Int32, *array.Int32Builder]{last: last}
	case types.FamInt2:
		return &firstLastFixed[int16, *array.Int16, *array.Int16Builder]{last: last}
	case types.FamTimestamp, types.FamTimestampTZ:
		return &firstLastFixed[arrow.Timestamp, *array.Timestamp, *array.TimestampBuilder]{last: last}
	case types.FamDate:
		return &firstLastFixed[arrow.Date32, *array.Date32, *array.Date32Builder]{last: last}
	}
	return &firstLastDatum{t: t, last: last}
}

// firstLastFixed is first/last over a fixed-width type T held in Arrow
// arrays A and appended through builders B.
type firstLastFixed[T arrow.FixedWidthType, A arrow.Array, B interface {
	array.Builder
	Append(T)
}] struct {
	last bool
	vals []T
	has  []bool
}

func (a *firstLastFixed[T, A, B]) Grow(n int) { a.vals = growTo(a.vals, n); a.has = growTo(a.has, n) }

func (a *firstLastFixed[T, A, B]) MemoryBytes() int64 {
	var z T
	return int64(cap(a.vals))*int64(sizeOf(z)) + int64(cap(a.has))
}

func (a *firstLastFixed[T, A, B]) name() string {
	if a.last {
		return "last"
	}
	return "first"
}

func (a *firstLastFixed[T, A, B]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	x, err := fixedArg[T, A](a.name(), args, 0, len(groups))
	if err != nil || x.allNull {
		return err
	}
	vals, has := a.vals, a.has
	for i, g := range groups {
		if g == kernels.NoGroup || !x.valid(i) {
			continue
		}
		if a.last || !has[g] {
			vals[g], has[g] = x.vals[i], true
		}
	}
	return nil
}

func (a *firstLastFixed[T, A, B]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, ok := b.(B)
	if !ok {
		var want B
		return pgerror.Internal("%s: result builder is %T, expected %T", a.name(), b, want)
	}
	if a.has[g] {
		bb.Append(a.vals[g])
	} else {
		bb.AppendNull()
	}
	return nil
}

func (a *firstLastFixed[T, A, B]) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.vals), b)
}

// sizeOf is the byte width of a fixed-width value (for memory accounting).
func sizeOf(v any) int {
	switch v.(type) {
	case int16:
		return 2
	case int32, float32, arrow.Date32:
		return 4
	}
	return 8
}

// firstLastDatum is first/last over any other type, one boxed Datum per
// group.
type firstLastDatum struct {
	t    types.T
	last bool
	vals []types.Datum
	// pos is scratch for last(): the batch row of each touched group's
	// last value (-1 when untouched), reset after every batch.
	pos     []int32
	touched []uint32
}

func (a *firstLastDatum) Grow(n int) {
	old := len(a.pos)
	a.vals = growTo(a.vals, n)
	a.pos = growTo(a.pos, n)
	for i := old; i < len(a.pos); i++ {
		a.pos[i] = -1
	}
}

func (a *firstLastDatum) MemoryBytes() int64 {
	return int64(cap(a.vals))*16 + int64(cap(a.pos))*4 + int64(cap(a.touched))*4
}

func (a *firstLastDatum) name() string {
	if a.last {
		return "last"
	}
	return "first"
}

func (a *firstLastDatum) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	if len(args) < 1 {
		return pgerror.Internal("%s expects 1 argument, got 0", a.name())
	}
	x := args[0]
	if x.Len() < len(groups) {
		return pgerror.Internal("%s: argument has %d rows, expected %d", a.name(), x.Len(), len(groups))
	}
	if !a.last {
		for i, g := range groups {
			if g == kernels.NoGroup || a.vals[g] != nil || x.IsNull(i) {
				continue
			}
			a.vals[g] = types.GetDatum(x, i, a.t)
		}
		return nil
	}
	for i, g := range groups {
		if g == kernels.NoGroup || x.IsNull(i) {
			continue
		}
		if a.pos[g] < 0 {
			a.touched = append(a.touched, g)
		}
		a.pos[g] = int32(i)
	}
	for _, g := range a.touched {
		a.vals[g] = types.GetDatum(x, int(a.pos[g]), a.t)
		a.pos[g] = -1
	}
	a.touched = a.touched[:0]
	return nil
}

func (a *firstLastDatum) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	types.AppendDatum(b, a.vals[g], a.t)
	return nil
}

func (a *firstLastDatum) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.vals), b)
}
