package stream

import (
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// rowRef names one row a join side holds: row Row of segment Seg (a batch
// the side retains). Seg < 0 stands for a row of NULLs.
type rowRef struct{ seg, row int32 }

var nullRef = rowRef{seg: -1}

// gatherColumn builds an array of type dt (SQL type t) whose k-th value is
// column c of the row refs[k] names in segs (NULL when refs[k].seg < 0).
// It is the multi-source Take of the join's output: fixed-width and
// Utf8/Binary columns are copied buffer to buffer, other types go through
// builders. The caller owns the result.
func gatherColumn(mem memory.Allocator, dt arrow.DataType, t types.T, segs []arrow.RecordBatch, c int, refs []rowRef) (arrow.Array, error) {
	if seg, lo, ok := contiguous(refs); ok {
		// One run of consecutive rows of one segment (a probe whose rows
		// each joined once): a zero-copy slice of that column.
		if col := segs[seg].Column(c); arrow.TypeEqual(col.DataType(), dt) {
			return array.NewSlice(col, int64(lo), int64(lo)+int64(len(refs))), nil
		}
	}
	srcs := make([]arrow.Array, len(segs))
	for i, s := range segs {
		if s != nil {
			srcs[i] = s.Column(c)
		}
	}
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY:
		return gatherBinary(mem, dt, srcs, refs)
	case arrow.BOOL, arrow.NULL, arrow.LIST:
	default:
		if fw, ok := dt.(arrow.FixedWidthDataType); ok {
			switch fw.BitWidth() {
			case 8:
				return gatherFixed[uint8](mem, dt, srcs, refs), nil
			case 16:
				return gatherFixed[uint16](mem, dt, srcs, refs), nil
			case 32:
				return gatherFixed[uint32](mem, dt, srcs, refs), nil
			case 64:
				return gatherFixed[uint64](mem, dt, srcs, refs), nil
			case 128:
				if dt.ID() == arrow.INTERVAL_MONTH_DAY_NANO {
					return gatherFixed[arrow.MonthDayNanoInterval](mem, dt, srcs, refs), nil
				}
			}
		}
	}
	return gatherGeneric(mem, dt, t, srcs, refs), nil
}

// contiguous reports whether refs name rows lo, lo+1, … of one segment.
func contiguous(refs []rowRef) (seg int32, lo int32, ok bool) {
	if len(refs) == 0 || refs[0].seg < 0 {
		return 0, 0, false
	}
	seg, lo = refs[0].seg, refs[0].row
	for k, r := range refs {
		if r.seg != seg || r.row != lo+int32(k) {
			return 0, 0, false
		}
	}
	return seg, lo, true
}

// sourceValidity returns each source's validity bitmap and offset (nil
// bitmap: no NULLs).
func sourceValidity(srcs []arrow.Array) ([][]byte, []int) {
	valid := make([][]byte, len(srcs))
	offs := make([]int, len(srcs))
	for i, a := range srcs {
		if a != nil {
			valid[i], offs[i] = vec.Validity(a)
		}
	}
	return valid, offs
}

func gatherFixed[T uint8 | uint16 | uint32 | uint64 | arrow.MonthDayNanoInterval](mem memory.Allocator, dt arrow.DataType, srcs []arrow.Array, refs []rowRef) arrow.Array {
	n := len(refs)
	vals := make([][]T, len(srcs))
	for i, a := range srcs {
		if a != nil {
			vals[i] = vec.Values[T](a)
		}
	}
	valid, voff := sourceValidity(srcs)
	var zero T
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * int(unsafe.Sizeof(zero)))
	out := arrow.GetData[T](buf.Bytes())[:n]
	bm := memory.NewResizableBuffer(mem)
	bm.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := bm.Bytes()
	clear(bits)
	nulls := 0
	for k, r := range refs {
		if r.seg < 0 {
			out[k] = zero
			nulls++
			continue
		}
		if v := valid[r.seg]; v != nil && !bitutil.BitIsSet(v, voff[r.seg]+int(r.row)) {
			out[k] = zero
			nulls++
			continue
		}
		out[k] = vals[r.seg][r.row]
		bitutil.SetBit(bits, k)
	}
	return vec.WrapBuffersCompact(dt, n, []*memory.Buffer{bm, buf}, nil, nulls)
}

func gatherBinary(mem memory.Allocator, dt arrow.DataType, srcs []arrow.Array, refs []rowRef) (arrow.Array, error) {
	n := len(refs)
	offs := make([][]int32, len(srcs))
	data := make([][]byte, len(srcs))
	for i, a := range srcs {
		if a != nil {
			offs[i], data[i] = vec.BinaryParts(a)
		}
	}
	valid, voff := sourceValidity(srcs)
	total := 0
	for _, r := range refs {
		if r.seg >= 0 {
			o := offs[r.seg]
			total += int(o[r.row+1] - o[r.row])
		}
	}
	if total > math.MaxInt32 {
		return nil, pgerror.New(pgerror.ProgramLimitExceeded, "stream: join output column exceeds 2 GiB")
	}
	ob := memory.NewResizableBuffer(mem)
	ob.Resize((n + 1) * arrow.Int32SizeBytes)
	outOffs := arrow.Int32Traits.CastFromBytes(ob.Bytes())[:n+1]
	db := memory.NewResizableBuffer(mem)
	db.Resize(total)
	outData := db.Bytes()
	bm := memory.NewResizableBuffer(mem)
	bm.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := bm.Bytes()
	clear(bits)
	nulls, pos := 0, 0
	for k, r := range refs {
		outOffs[k] = int32(pos)
		if r.seg < 0 {
			nulls++
			continue
		}
		if v := valid[r.seg]; v != nil && !bitutil.BitIsSet(v, voff[r.seg]+int(r.row)) {
			nulls++
			continue
		}
		o := offs[r.seg]
		pos += copy(outData[pos:], data[r.seg][o[r.row]:o[r.row+1]])
		bitutil.SetBit(bits, k)
	}
	outOffs[n] = int32(pos)
	return vec.WrapBuffersCompact(dt, n, []*memory.Buffer{bm, ob, db}, nil, nulls), nil
}

// gatherGeneric covers the remaining types (bool, lists) through builders.
func gatherGeneric(mem memory.Allocator, dt arrow.DataType, t types.T, srcs []arrow.Array, refs []rowRef) arrow.Array {
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	b.Reserve(len(refs))
	if bb, ok := b.(*array.BooleanBuilder); ok {
		for _, r := range refs {
			if r.seg < 0 || srcs[r.seg].IsNull(int(r.row)) {
				bb.AppendNull()
				continue
			}
			bb.Append(srcs[r.seg].(*array.Boolean).Value(int(r.row)))
		}
		return b.NewArray()
	}
	for _, r := range refs {
		if r.seg < 0 {
			b.AppendNull()
			continue
		}
		types.AppendDatum(b, types.GetDatum(srcs[r.seg], int(r.row), t), t)
	}
	return b.NewArray()
}
