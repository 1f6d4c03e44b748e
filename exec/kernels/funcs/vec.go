package funcs

import (
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Vectorized kernels. Each loops over Arrow value slices, honours NULLs
// (strict: any NULL argument gives NULL) and returns an array owned by the
// caller.

type vecFn = func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error)

func allocator(ctx *kernels.EvalContext) memory.Allocator {
	if ctx == nil || ctx.Mem == nil {
		return memory.DefaultAllocator
	}
	return ctx.Mem
}

func errArg(i int, a arrow.Array) error {
	return pgerror.Internal("funcs: unexpected arrow type %s for argument %d", a.DataType(), i)
}

// anyNull reports whether row i is NULL in any argument.
func anyNull(args []arrow.Array, i int) bool {
	for _, a := range args {
		if a.IsNull(i) {
			return true
		}
	}
	return false
}

func hasNulls(args []arrow.Array) bool {
	for _, a := range args {
		if a.NullN() > 0 {
			return true
		}
	}
	return false
}

func stringArg(args []arrow.Array, i int) (*array.String, error) {
	s, ok := args[i].(*array.String)
	if !ok {
		return nil, errArg(i, args[i])
	}
	return s, nil
}

func timestampArg(args []arrow.Array, i int) (*array.Timestamp, error) {
	s, ok := args[i].(*array.Timestamp)
	if !ok {
		return nil, errArg(i, args[i])
	}
	return s, nil
}

// vecMapString applies an appending byte transformation to a text column.
func vecMapString(f func(dst []byte, s string) []byte) vecFn {
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		in, err := stringArg(args, 0)
		if err != nil {
			return nil, err
		}
		b := array.NewStringBuilder(allocator(ctx))
		defer b.Release()
		b.Reserve(n)
		b.ReserveData(len(in.ValueBytes()))
		var scratch []byte
		nulls := in.NullN() > 0
		for i := 0; i < n; i++ {
			if nulls && in.IsNull(i) {
				b.AppendNull()
				continue
			}
			scratch = f(scratch[:0], in.Value(i))
			b.BinaryBuilder.Append(scratch)
		}
		return b.NewArray(), nil
	}
}

// vecASCIICase lower- or upper-cases ASCII letters of a text column. The
// transformation keeps every value's length, so the result shares the
// input's validity and offsets buffers and only the value bytes are new.
func vecASCIICase(upper bool) vecFn {
	generic := vecMapString(asciiLowerAppend)
	if upper {
		generic = vecMapString(asciiUpperAppend)
	}
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		in, err := stringArg(args, 0)
		if err != nil {
			return nil, err
		}
		data := in.Data()
		bufs := data.Buffers()
		if data.Offset() != 0 || len(bufs) < 3 || bufs[1] == nil || bufs[2] == nil || data.Len() != n {
			return generic(ctx, args, n)
		}
		src := bufs[2].Bytes()
		out := memory.NewResizableBuffer(allocator(ctx))
		out.Resize(len(src))
		dst := out.Bytes()
		lo, hi := byte('A'), byte('Z')
		if upper {
			lo, hi = 'a', 'z'
		}
		for i, c := range src {
			if c >= lo && c <= hi {
				c ^= 0x20
			}
			dst[i] = c
		}
		res := array.NewData(data.DataType(), n, []*memory.Buffer{bufs[0], bufs[1], out}, nil, data.NullN(), 0)
		out.Release()
		defer res.Release()
		return array.NewStringData(res), nil
	}
}

// vecLength counts characters; bpchar ignores trailing spaces.
func vecLength(bpchar bool) vecFn {
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		in, err := stringArg(args, 0)
		if err != nil {
			return nil, err
		}
		out := make([]int32, n)
		for i := 0; i < n; i++ {
			s := in.Value(i)
			if bpchar {
				j := len(s)
				for j > 0 && s[j-1] == ' ' {
					j--
				}
				s = s[:j]
			}
			out[i] = int32(utf8.RuneCountInString(s))
		}
		b := array.NewInt32Builder(allocator(ctx))
		defer b.Release()
		b.AppendValues(out, validity(args, n))
		return b.NewArray(), nil
	}
}

// validity returns the row validity of a strict function's result, or nil
// when every row is valid.
func validity(args []arrow.Array, n int) []bool {
	if !hasNulls(args) {
		return nil
	}
	v := make([]bool, n)
	for i := range v {
		v[i] = !anyNull(args, i)
	}
	return v
}

func int32Arg(a arrow.Array, i int) int64 {
	switch x := a.(type) {
	case *array.Int32:
		return int64(x.Value(i))
	case *array.Int64:
		return x.Value(i)
	case *array.Int16:
		return int64(x.Value(i))
	}
	return 0
}

func vecSubstr(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
	in, err := stringArg(args, 0)
	if err != nil {
		return nil, err
	}
	hasCount := len(args) == 3
	b := array.NewStringBuilder(allocator(ctx))
	defer b.Release()
	b.Reserve(n)
	nulls := hasNulls(args)
	for i := 0; i < n; i++ {
		if nulls && anyNull(args, i) {
			b.AppendNull()
			continue
		}
		var count int64
		if hasCount {
			count = int32Arg(args[2], i)
		}
		from, to, err := substrRange(int32Arg(args[1], i), count, hasCount)
		if err != nil {
			return nil, err
		}
		b.Append(substrChars(in.Value(i), from, to))
	}
	return b.NewArray(), nil
}

// unitCache parses a unit column, reparsing only when the text changes
// (units are constants in practice).
type unitCache struct {
	last string
	u    unit
	name string
	ok   bool
}

func (c *unitCache) get(s string) (unit, string) {
	if !c.ok || s != c.last {
		c.last = s
		c.u, c.name = lookupUnit(s)
		c.ok = true
	}
	return c.u, c.name
}

func newTimestampBuilder(ctx *kernels.EvalContext, tz bool) *array.TimestampBuilder {
	t := tsT
	if tz {
		t = tstzT
	}
	return array.NewTimestampBuilder(allocator(ctx), types.ArrowType(t).(*arrow.TimestampType))
}

func vecDateTrunc(tz bool) vecFn {
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		units, err := stringArg(args, 0)
		if err != nil {
			return nil, err
		}
		ts, err := timestampArg(args, 1)
		if err != nil {
			return nil, err
		}
		typ := tnTimestamp
		var l *time.Location
		if tz {
			typ = tnTimestampTZ
			l = loc(ctx)
		}
		vals := ts.TimestampValues()
		out := make([]arrow.Timestamp, n)
		valid := validity(args, n)
		var uc unitCache
		oc := offsetCache{l: l}
		checked, haveChecked := uUnknown, false
		for i := 0; i < n; i++ {
			if valid != nil && !valid[i] {
				continue
			}
			u, name := uc.get(units.Value(i))
			if !haveChecked || u != checked {
				if err := checkTruncUnit(u, name, typ); err != nil {
					return nil, err
				}
				checked, haveChecked = u, true
			}
			v := int64(vals[i])
			switch {
			case tz && tsFinite(v) && l != time.UTC:
				off := oc.offset(v) * types.MicrosPerSecond
				t := truncLocal(u, v+off)
				if u < uDay {
					// Sub-day units keep the instant's own offset.
					out[i] = arrow.Timestamp(t - off)
				} else if back := t - off; oc.offset(back)*types.MicrosPerSecond == off && oc.offset(back-types.MicrosPerDay) == oc.offset(back+types.MicrosPerDay) {
					// No transition near the result: the same offset applies.
					out[i] = arrow.Timestamp(back)
				} else {
					out[i] = arrow.Timestamp(fromLocal(t, l))
				}
			case tz:
				out[i] = arrow.Timestamp(truncTZValue(u, v, l))
			default:
				out[i] = arrow.Timestamp(truncLocal(u, v))
			}
		}
		b := newTimestampBuilder(ctx, tz)
		defer b.Release()
		b.AppendValues(out, valid)
		return b.NewArray(), nil
	}
}

func vecDateBin(tz bool) vecFn {
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		strides, ok := args[0].(*array.MonthDayNanoInterval)
		if !ok {
			return nil, errArg(0, args[0])
		}
		src, err := timestampArg(args, 1)
		if err != nil {
			return nil, err
		}
		origin, err := timestampArg(args, 2)
		if err != nil {
			return nil, err
		}
		out := make([]arrow.Timestamp, n)
		valid := validity(args, n)
		var lastStride arrow.MonthDayNanoInterval
		var strideUS int64
		haveStride := false
		for i := 0; i < n; i++ {
			if valid != nil && !valid[i] {
				continue
			}
			s := strides.Value(i)
			if !haveStride || s != lastStride {
				strideUS, err = binStride(types.Interval{Months: s.Months, Days: s.Days, Micros: s.Nanoseconds / 1000})
				if err != nil {
					return nil, err
				}
				lastStride, haveStride = s, true
			}
			v, err := dateBin(strideUS, int64(src.Value(i)), int64(origin.Value(i)))
			if err != nil {
				return nil, err
			}
			out[i] = arrow.Timestamp(v)
		}
		b := newTimestampBuilder(ctx, tz)
		defer b.Release()
		b.AppendValues(out, valid)
		return b.NewArray(), nil
	}
}

// vecExtract implements date_part (float8) or extract (numeric, as Utf8
// decimal text) on timestamp or timestamptz.
func vecExtract(tz, numeric bool) vecFn {
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		units, err := stringArg(args, 0)
		if err != nil {
			return nil, err
		}
		ts, err := timestampArg(args, 1)
		if err != nil {
			return nil, err
		}
		var l *time.Location
		if tz {
			l = loc(ctx)
		}
		oc := offsetCache{l: l}
		vals := ts.TimestampValues()
		nulls := hasNulls(args)
		var uc unitCache
		var fb *array.Float64Builder
		var sb *array.StringBuilder
		if numeric {
			sb = array.NewStringBuilder(allocator(ctx))
			defer sb.Release()
			sb.Reserve(n)
		} else {
			fb = array.NewFloat64Builder(allocator(ctx))
			defer fb.Release()
			fb.Reserve(n)
		}
		var scratch []byte
		for i := 0; i < n; i++ {
			if nulls && anyNull(args, i) {
				if numeric {
					sb.AppendNull()
				} else {
					fb.AppendNull()
				}
				continue
			}
			u, name := uc.get(units.Value(i))
			v := int64(vals[i])
			off := int64(0)
			if tz && tsFinite(v) && l != time.UTC {
				off = oc.offset(v)
				v += off * types.MicrosPerSecond
			}
			p, err := tsPart(u, name, v, tz, off)
			if err != nil {
				return nil, err
			}
			switch {
			case p.null && numeric:
				sb.AppendNull()
			case p.null:
				fb.AppendNull()
			case numeric && p.inf != 0:
				if p.inf > 0 {
					sb.Append("Infinity")
				} else {
					sb.Append("-Infinity")
				}
			case numeric && p.dec != nil:
				sb.Append(p.dec.Text('f'))
			case numeric:
				scratch = appendScaled(scratch[:0], p.coef, p.scale)
				sb.BinaryBuilder.Append(scratch)
			default:
				f, _ := p.float().(float64)
				fb.UnsafeAppend(f)
			}
		}
		if numeric {
			return sb.NewArray(), nil
		}
		return fb.NewArray(), nil
	}
}
