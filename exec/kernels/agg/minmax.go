package agg

import (
	"bytes"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

type ordered interface {
	~int16 | ~int32 | ~int64
}

// minMaxIntAcc is min/max over integer-like fixed-width values (ints, date,
// time, timestamp[tz]).
type minMaxIntAcc[T ordered] struct {
	max  bool
	vals []T
	has  []bool
}

func (a *minMaxIntAcc[T]) Grow(n int) { a.vals = growTo(a.vals, n); a.has = growTo(a.has, n) }

func (a *minMaxIntAcc[T]) MemoryBytes() int64 { return int64(cap(a.vals))*8 + int64(cap(a.has)) }

func (a *minMaxIntAcc[T]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	vals := vec.Values[T](arg)
	vm, off := vec.Validity(arg)
	out, has := a.vals, a.has
	if a.max {
		for i, g := range groups {
			if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, off+i)) {
				continue
			}
			if v := vals[i]; !has[g] || v > out[g] {
				out[g], has[g] = v, true
			}
		}
		return nil
	}
	for i, g := range groups {
		if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, off+i)) {
			continue
		}
		if v := vals[i]; !has[g] || v < out[g] {
			out[g], has[g] = v, true
		}
	}
	return nil
}

func (a *minMaxIntAcc[T]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	return appendFixed(b, a.vals[g:g+1], a.has[g:g+1])
}

func (a *minMaxIntAcc[T]) Finish(_ *kernels.EvalContext, b array.Builder) error {
	return appendFixed(b, a.vals, a.has)
}

// appendFixed appends values (NULL where !valid) to a fixed-width builder
// whose value type has T's representation.
func appendFixed[T any](b array.Builder, vals []T, valid []bool) error {
	var ok bool
	switch bb := b.(type) {
	case *array.Int16Builder:
		var v []int16
		if v, ok = any(vals).([]int16); ok {
			bb.AppendValues(v, valid)
		}
	case *array.Int32Builder:
		var v []int32
		if v, ok = any(vals).([]int32); ok {
			bb.AppendValues(v, valid)
		}
	case *array.Int64Builder:
		var v []int64
		if v, ok = any(vals).([]int64); ok {
			bb.AppendValues(v, valid)
		}
	case *array.Float32Builder:
		var v []float32
		if v, ok = any(vals).([]float32); ok {
			bb.AppendValues(v, valid)
		}
	case *array.Float64Builder:
		var v []float64
		if v, ok = any(vals).([]float64); ok {
			bb.AppendValues(v, valid)
		}
	case *array.Date32Builder:
		var v []arrow.Date32
		if v, ok = any(vals).([]arrow.Date32); ok {
			bb.AppendValues(v, valid)
		}
	case *array.Time64Builder:
		var v []arrow.Time64
		if v, ok = any(vals).([]arrow.Time64); ok {
			bb.AppendValues(v, valid)
		}
	case *array.TimestampBuilder:
		var v []arrow.Timestamp
		if v, ok = any(vals).([]arrow.Timestamp); ok {
			bb.AppendValues(v, valid)
		}
	case *array.MonthDayNanoIntervalBuilder:
		var v []arrow.MonthDayNanoInterval
		if v, ok = any(vals).([]arrow.MonthDayNanoInterval); ok {
			bb.AppendValues(v, valid)
		}
	}
	if !ok {
		var z T
		return builderMismatch(b, "a builder of "+typeName(z))
	}
	return nil
}

func typeName(v any) string {
	switch v.(type) {
	case int16:
		return "int16"
	case int32:
		return "int32"
	case int64:
		return "int64"
	case float32:
		return "float32"
	case float64:
		return "float64"
	}
	return "the value type"
}

// minMaxFloatAcc is min/max over float4/float8 in PostgreSQL's order (NaN
// above every number: max is NaN when any input is).
type minMaxFloatAcc[T float] struct {
	max  bool
	vals []T
	has  []bool
}

func (a *minMaxFloatAcc[T]) Grow(n int) { a.vals = growTo(a.vals, n); a.has = growTo(a.has, n) }

func (a *minMaxFloatAcc[T]) MemoryBytes() int64 { return int64(cap(a.vals))*8 + int64(cap(a.has)) }

func floatGreater(a, b float64) bool {
	if a != a {
		return b == b
	}
	return b == b && a > b
}

func (a *minMaxFloatAcc[T]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	vals := vec.Values[T](arg)
	vm, off := vec.Validity(arg)
	for i, g := range groups {
		if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, off+i)) {
			continue
		}
		v := vals[i]
		if !a.has[g] {
			a.vals[g], a.has[g] = v, true
			continue
		}
		cur := a.vals[g]
		// Ties take the newer value, as float8larger/float8smaller do.
		if a.max && !floatGreater(float64(cur), float64(v)) || !a.max && !floatGreater(float64(v), float64(cur)) {
			a.vals[g] = v
		}
	}
	return nil
}

func (a *minMaxFloatAcc[T]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	return appendFixed(b, a.vals[g:g+1], a.has[g:g+1])
}

func (a *minMaxFloatAcc[T]) Finish(_ *kernels.EvalContext, b array.Builder) error {
	return appendFixed(b, a.vals, a.has)
}

// minMaxIntervalAcc is min/max over intervals, compared by span; ties take
// the newer value (interval_larger/interval_smaller).
type minMaxIntervalAcc struct {
	max  bool
	vals []arrow.MonthDayNanoInterval
	has  []bool
}

func (a *minMaxIntervalAcc) Grow(n int) { a.vals = growTo(a.vals, n); a.has = growTo(a.has, n) }

func (a *minMaxIntervalAcc) MemoryBytes() int64 { return int64(cap(a.vals))*16 + int64(cap(a.has)) }

func (a *minMaxIntervalAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	x, err := typed[*array.MonthDayNanoInterval](arg)
	if err != nil {
		return nullOr(arg, err)
	}
	for i, g := range groups {
		if g == NoGroup || x.IsNull(i) {
			continue
		}
		v := x.Value(i)
		if !a.has[g] {
			a.vals[g], a.has[g] = v, true
			continue
		}
		c := compareIntervals(a.vals[g], v)
		if a.max && c <= 0 || !a.max && c >= 0 {
			a.vals[g] = v
		}
	}
	return nil
}

func (a *minMaxIntervalAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	return appendFixed(b, a.vals[g:g+1], a.has[g:g+1])
}

func (a *minMaxIntervalAcc) Finish(_ *kernels.EvalContext, b array.Builder) error {
	return appendFixed(b, a.vals, a.has)
}

// nullOr lets an all-NULL argument (Arrow Null type) through as "no rows".
func nullOr(arg arrow.Array, err error) error {
	if _, ok := arg.(*array.Null); ok {
		return nil
	}
	return err
}

// minMaxStringAcc is min/max over text, varchar, bpchar, name, numeric
// (Utf8 holding decimal text) and bytea.
type minMaxStringAcc struct {
	max  bool
	t    types.T
	vals []string
	keys [][]byte // numeric comparison keys
	has  []bool
	key  []byte
}

func (a *minMaxStringAcc) Grow(n int) {
	a.vals = growTo(a.vals, n)
	a.has = growTo(a.has, n)
	if a.t.Family == types.FamNumeric {
		a.keys = growTo(a.keys, n)
	}
}

func (a *minMaxStringAcc) MemoryBytes() int64 {
	m := int64(cap(a.vals))*16 + int64(cap(a.has)) + int64(cap(a.keys))*24
	for i, v := range a.vals {
		m += int64(len(v))
		if a.keys != nil {
			m += int64(cap(a.keys[i]))
		}
	}
	return m
}

func (a *minMaxStringAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	offs, data := vec.BinaryParts(arg)
	if offs == nil {
		return pgerror.Internal("min/max argument is %T, expected Utf8 or Binary", arg)
	}
	vm, voff := vec.Validity(arg)
	for i, g := range groups {
		if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, voff+i)) {
			continue
		}
		v := data[offs[i]:offs[i+1]]
		if !a.has[g] {
			a.set(g, v)
			continue
		}
		var c int
		switch a.t.Family {
		case types.FamNumeric:
			a.key, _ = vec.AppendNumericKey(a.key[:0], vec.BytesView(v))
			c = bytes.Compare(a.keys[g], a.key)
		case types.FamBpchar:
			c = strings.Compare(strings.TrimRight(a.vals[g], " "), vec.BytesView(bytes.TrimRight(v, " ")))
			// bpchar_larger/smaller keep the current value on ties.
			if c == 0 {
				continue
			}
		default:
			c = strings.Compare(a.vals[g], vec.BytesView(v))
		}
		if a.max && c <= 0 || !a.max && c >= 0 {
			a.set(g, v)
		}
	}
	return nil
}

func (a *minMaxStringAcc) set(g uint32, v []byte) {
	a.vals[g] = string(v)
	a.has[g] = true
	if a.t.Family == types.FamNumeric {
		a.keys[g], _ = vec.AppendNumericKey(a.keys[g][:0], a.vals[g])
	}
}

func (a *minMaxStringAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	if !a.has[g] {
		b.AppendNull()
		return nil
	}
	switch bb := b.(type) {
	case *array.StringBuilder:
		bb.Append(a.vals[g])
	case *array.BinaryBuilder:
		bb.AppendString(a.vals[g])
	default:
		return builderMismatch(b, "StringBuilder or BinaryBuilder")
	}
	return nil
}

func (a *minMaxStringAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.vals), b)
}

// minMaxArrayAcc is min/max over arrays (element-wise order). Each group's
// current winner is kept as a one-row Arrow array.
type minMaxArrayAcc struct {
	max  bool
	t    types.T
	vals []arrow.Array
}

func (a *minMaxArrayAcc) Grow(n int) { a.vals = growTo(a.vals, n) }

func (a *minMaxArrayAcc) MemoryBytes() int64 {
	m := int64(cap(a.vals)) * 16
	for _, v := range a.vals {
		if v != nil {
			m += 64
		}
	}
	return m
}

func (a *minMaxArrayAcc) Update(ctx *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	for i, g := range groups {
		if g == NoGroup || arg.IsNull(i) {
			continue
		}
		if cur := a.vals[g]; cur != nil {
			c := vec.CompareValues(a.t, cur, 0, arg, i)
			if a.max && c > 0 || !a.max && c < 0 {
				continue
			}
			cur.Release()
		}
		a.vals[g] = vec.Take(memOf(ctx), arg, []int32{int32(i)})
	}
	return nil
}

func (a *minMaxArrayAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	cur := a.vals[g]
	if cur == nil {
		b.AppendNull()
		return nil
	}
	types.AppendDatum(b, types.GetDatum(cur, 0, a.t), a.t)
	return nil
}

func (a *minMaxArrayAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.vals), b)
}
