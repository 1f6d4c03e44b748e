package timewin

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// MaxExpandRows bounds the rows one HopExpand call may produce (a tiny slide
// under a large size would otherwise exhaust memory); above it the call fails
// with 54000.
const MaxExpandRows = 1 << 26

// Int64Values returns the values of a timestamp (or int64) array as int64s,
// or ok=false for any other type. The slice aliases the array's buffer.
func Int64Values(a arrow.Array) (vals []int64, ok bool) {
	switch a.DataType().ID() {
	case arrow.TIMESTAMP, arrow.INT64:
		return vec.Values[int64](a), true
	}
	return nil, false
}

func timeValues(a arrow.Array) ([]int64, error) {
	v, ok := Int64Values(a)
	if !ok {
		return nil, pgerror.New(pgerror.DatatypeMismatch, "window time column must be a timestamp, not %s", a.DataType())
	}
	return v, nil
}

// NewInt64Array returns an array of type dt (timestamp or int64) holding
// vals, no NULLs, allocated from mem.
func NewInt64Array(mem memory.Allocator, dt arrow.DataType, vals []int64) arrow.Array {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(len(vals) * 8)
	copy(arrow.Int64Traits.CastFromBytes(buf.Bytes()), vals)
	d := array.NewData(dt, len(vals), []*memory.Buffer{nil, buf}, nil, 0, 0)
	buf.Release()
	defer d.Release()
	return array.MakeFromData(d)
}

// TumbleStartArray returns the tumble window start of every row of ts (a
// timestamp array), of ts's type; NULL stays NULL.
func TumbleStartArray(mem memory.Allocator, ts arrow.Array, size, offset types.Interval) (arrow.Array, error) {
	vals, err := timeValues(ts)
	if err != nil {
		return nil, err
	}
	sz, off, err := tumbleParams(size, offset)
	if err != nil {
		return nil, err
	}
	n := ts.Len()
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * 8)
	out := arrow.Int64Traits.CastFromBytes(buf.Bytes())
	for i, v := range vals {
		if ts.IsNull(i) {
			out[i] = 0
			continue
		}
		s, err := alignDown(v, sz, off)
		if err != nil {
			buf.Release()
			return nil, err
		}
		out[i] = s
	}
	bufs := []*memory.Buffer{nil, buf}
	nulls := ts.NullN()
	if nulls > 0 {
		vb := memory.NewResizableBuffer(mem)
		vb.Resize(int(bitutil.BytesForBits(int64(n))))
		bm := vb.Bytes()
		for i := 0; i < n; i++ {
			bitutil.SetBitTo(bm, i, ts.IsValid(i))
		}
		bufs[0] = vb
	}
	d := array.NewData(ts.DataType(), n, bufs, nil, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	defer d.Release()
	return array.MakeFromData(d), nil
}

// HopExpand returns b with window_start and window_end columns appended (of
// the time column's type, named so), one output row per (row, window) in
// input order and, within a row, by ascending window_start. srcRows[k] is
// the input row of output row k. Rows with a NULL time produce no output.
// The caller releases out.
func HopExpand(mem memory.Allocator, b arrow.RecordBatch, timeCol int, slide, size, offset types.Interval) (out arrow.RecordBatch, srcRows []int32, err error) {
	if timeCol < 0 || timeCol >= int(b.NumCols()) {
		return nil, nil, pgerror.Internal("timewin: time column %d out of range", timeCol)
	}
	h, err := newHopper(slide, size, offset)
	if err != nil {
		return nil, nil, err
	}
	tcol := b.Column(timeCol)
	vals, err := timeValues(tcol)
	if err != nil {
		return nil, nil, err
	}
	n := int(b.NumRows())
	if int64(n-tcol.NullN())*int64(h.n) > MaxExpandRows {
		return nil, nil, pgerror.New(pgerror.ProgramLimitExceeded, "hop window expansion of %d rows into %d windows each exceeds %d rows per batch", n-tcol.NullN(), h.n, MaxExpandRows)
	}
	total := (n - tcol.NullN()) * h.n
	srcRows = make([]int32, 0, total)
	starts := make([]int64, 0, total)
	for i := 0; i < n; i++ {
		if tcol.IsNull(i) {
			continue
		}
		if starts, err = h.starts(vals[i], starts); err != nil {
			return nil, nil, err
		}
		for k := 0; k < h.n; k++ {
			srcRows = append(srcRows, int32(i))
		}
	}
	ends := make([]int64, len(starts))
	for k, s := range starts {
		ends[k] = s + h.size // checked in starts
	}
	return Append(mem, b, timeCol, srcRows, starts, ends), srcRows, nil
}

// Append returns the rows srcRows of b followed by window_start and
// window_end columns holding starts and ends, typed like column timeCol.
// The caller releases the result.
func Append(mem memory.Allocator, b arrow.RecordBatch, timeCol int, srcRows []int32, starts, ends []int64) arrow.RecordBatch {
	var taken arrow.RecordBatch
	if len(srcRows) == int(b.NumRows()) && identity(srcRows) {
		b.Retain()
		taken = b
	} else {
		taken = vec.TakeBatch(mem, b, srcRows)
	}
	defer taken.Release()
	dt := b.Column(timeCol).DataType()
	ws := NewInt64Array(mem, dt, starts)
	defer ws.Release()
	we := NewInt64Array(mem, dt, ends)
	defer we.Release()
	cols := append(append([]arrow.Array(nil), taken.Columns()...), ws, we)
	return array.NewRecordBatch(WindowSchema(b.Schema(), timeCol), cols, int64(len(srcRows)))
}

func identity(idx []int32) bool {
	for i, v := range idx {
		if int(v) != i {
			return false
		}
	}
	return true
}

// WindowSchema is in's schema followed by window_start and window_end
// fields copied from the time column's field (type and metadata).
func WindowSchema(in *arrow.Schema, timeCol int) *arrow.Schema {
	f := in.Field(timeCol)
	fields := append([]arrow.Field(nil), in.Fields()...)
	ws, we := f, f
	ws.Name, we.Name = "window_start", "window_end"
	ws.Nullable, we.Nullable = true, true
	fields = append(fields, ws, we)
	return arrow.NewSchema(fields, nil)
}
