package vec

import (
	"fmt"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Take gathers arr[idx[k]] for every k into a new array of len(idx) rows.
// An index of -1 produces NULL (the unmatched side of an outer join).
// Indexes must be -1 or within [0, arr.Len()).
func Take(mem memory.Allocator, arr arrow.Array, idx []int32) arrow.Array {
	n := len(idx)
	dt := arr.DataType()
	if dt.ID() == arrow.NULL {
		return array.NewNull(n)
	}
	valid, nulls := takeValidity(mem, arr, idx)
	switch dt.ID() {
	case arrow.BOOL:
		return takeBool(mem, arr, idx, valid, nulls)
	case arrow.STRING, arrow.BINARY:
		return takeBinary(mem, arr, idx, valid, nulls)
	case arrow.LIST:
		return takeList(mem, arr.(*array.List), idx, valid, nulls)
	}
	switch fixedWidthBits(dt) {
	case 8:
		return takeFixed[uint8](mem, arr, idx, valid, nulls)
	case 16:
		return takeFixed[uint16](mem, arr, idx, valid, nulls)
	case 32:
		return takeFixed[uint32](mem, arr, idx, valid, nulls)
	case 64:
		return takeFixed[uint64](mem, arr, idx, valid, nulls)
	case 128:
		if dt.ID() == arrow.INTERVAL_MONTH_DAY_NANO {
			return takeFixed[arrow.MonthDayNanoInterval](mem, arr, idx, valid, nulls)
		}
	}
	if valid != nil {
		valid.Release()
	}
	return takeGeneric(mem, arr, idx)
}

// LimitError reports a result too large for Arrow's 32-bit offsets. Take
// panics with it; TakeErr returns it.
type LimitError struct{ Bytes int }

func (e *LimitError) Error() string {
	return fmt.Sprintf("vec: result of %d bytes exceeds the 2 GiB Utf8/Binary/List limit", e.Bytes)
}

// TakeErr is Take returning a *pgerror.Error (54000) instead of panicking
// when a Utf8/Binary result would exceed 2 GiB.
func TakeErr(mem memory.Allocator, arr arrow.Array, idx []int32) (out arrow.Array, err error) {
	defer func() {
		if r := recover(); r != nil {
			le, ok := r.(*LimitError)
			if !ok {
				panic(r)
			}
			err = pgerror.Wrap(le, pgerror.ProgramLimitExceeded, "result value too large")
		}
	}()
	return Take(mem, arr, idx), nil
}

// takeValidity builds the output validity bitmap; it returns nil when every
// output row is valid.
func takeValidity(mem memory.Allocator, arr arrow.Array, idx []int32) (*memory.Buffer, int) {
	bm, off := validity(arr)
	hasNeg := false
	if bm == nil {
		for _, i := range idx {
			if i < 0 {
				hasNeg = true
				break
			}
		}
		if !hasNeg {
			return nil, 0
		}
	}
	buf := newBitmap(mem, len(idx))
	out := buf.Bytes()
	nulls := 0
	for k, i := range idx {
		if i >= 0 && (bm == nil || bitutil.BitIsSet(bm, off+int(i))) {
			bitutil.SetBit(out, k)
		} else {
			nulls++
		}
	}
	if nulls == 0 {
		buf.Release()
		return nil, 0
	}
	return buf, nulls
}

func takeFixed[T fixedWidth](mem memory.Allocator, arr arrow.Array, idx []int32, valid *memory.Buffer, nulls int) arrow.Array {
	var zero T
	src := fixedValues[T](arr)
	size := int(sizeOf[T]())
	buf := newBuffer(mem, len(idx)*size)
	var dst []T
	if len(idx) > 0 {
		dst = arrow.GetData[T](buf.Bytes())[:len(idx)]
	}
	if valid == nil {
		for k, i := range idx {
			dst[k] = src[i]
		}
	} else {
		for k, i := range idx {
			if i >= 0 {
				dst[k] = src[i]
			} else {
				dst[k] = zero
			}
		}
	}
	return finish(arr.DataType(), len(idx), []*memory.Buffer{valid, buf}, nil, nulls)
}

func sizeOf[T fixedWidth]() uintptr {
	var z T
	switch any(z).(type) {
	case uint8:
		return 1
	case uint16:
		return 2
	case uint32:
		return 4
	case uint64:
		return 8
	}
	return 16
}

func takeBool(mem memory.Allocator, arr arrow.Array, idx []int32, valid *memory.Buffer, nulls int) arrow.Array {
	d := arr.Data()
	var src []byte
	if b := d.Buffers()[1]; b != nil {
		src = b.Bytes()
	}
	off := d.Offset()
	buf := newBitmap(mem, len(idx))
	out := buf.Bytes()
	for k, i := range idx {
		if i >= 0 && bitutil.BitIsSet(src, off+int(i)) {
			bitutil.SetBit(out, k)
		}
	}
	return finish(arr.DataType(), len(idx), []*memory.Buffer{valid, buf}, nil, nulls)
}

func takeBinary(mem memory.Allocator, arr arrow.Array, idx []int32, valid *memory.Buffer, nulls int) arrow.Array {
	offs, data := binaryParts(arr)
	total := 0
	for _, i := range idx {
		if i >= 0 {
			total += int(offs[i+1] - offs[i])
		}
	}
	if total > maxInt32 {
		panic(&LimitError{Bytes: total})
	}
	obuf := newBuffer(mem, (len(idx)+1)*4)
	oo := arrow.GetData[int32](obuf.Bytes())[:len(idx)+1]
	dbuf := newBuffer(mem, total)
	dd := dbuf.Bytes()[:total]
	pos := int32(0)
	oo[0] = 0
	for k, i := range idx {
		if i >= 0 {
			s, e := offs[i], offs[i+1]
			pos += int32(copy(dd[pos:], data[s:e]))
		}
		oo[k+1] = pos
	}
	return finish(arr.DataType(), len(idx), []*memory.Buffer{valid, obuf, dbuf}, nil, nulls)
}

const maxInt32 = 1<<31 - 1

func takeList(mem memory.Allocator, arr *array.List, idx []int32, valid *memory.Buffer, nulls int) arrow.Array {
	offs := arr.Offsets()[arr.Data().Offset():]
	total := 0
	for _, i := range idx {
		if i >= 0 {
			total += int(offs[i+1] - offs[i])
		}
	}
	if total > maxInt32 {
		panic(&LimitError{Bytes: total})
	}
	obuf := newBuffer(mem, (len(idx)+1)*4)
	oo := arrow.GetData[int32](obuf.Bytes())[:len(idx)+1]
	child := make([]int32, 0, total)
	oo[0] = 0
	for k, i := range idx {
		if i >= 0 {
			for j := offs[i]; j < offs[i+1]; j++ {
				child = append(child, j)
			}
		}
		oo[k+1] = int32(len(child))
	}
	vals := Take(mem, arr.ListValues(), child)
	defer vals.Release()
	return finish(arr.DataType(), len(idx), []*memory.Buffer{valid, obuf}, []arrow.ArrayData{vals.Data()}, nulls)
}

// takeGeneric handles Arrow types SQL never produces, through a builder.
func takeGeneric(mem memory.Allocator, arr arrow.Array, idx []int32) arrow.Array {
	b := array.NewBuilder(mem, arr.DataType())
	defer b.Release()
	b.Reserve(len(idx))
	for _, i := range idx {
		if i < 0 || arr.IsNull(int(i)) {
			b.AppendNull()
			continue
		}
		if err := b.AppendValueFromString(arr.ValueStr(int(i))); err != nil {
			panic(fmt.Sprintf("vec: Take on unsupported type %s: %v", arr.DataType(), err))
		}
	}
	return b.NewArray()
}

// TakeBatch applies Take to every column of rb.
func TakeBatch(mem memory.Allocator, rb arrow.RecordBatch, idx []int32) arrow.RecordBatch {
	cols := make([]arrow.Array, rb.NumCols())
	for c := range cols {
		cols[c] = Take(mem, rb.Column(c), idx)
	}
	out := array.NewRecordBatch(rb.Schema(), cols, int64(len(idx)))
	for _, c := range cols {
		c.Release()
	}
	return out
}

// SelectionIndices returns the positions where mask is true and not NULL.
func SelectionIndices(mask *array.Boolean) []int32 {
	n := mask.Len()
	d := mask.Data()
	off := d.Offset()
	var bm []byte
	if b := d.Buffers()[1]; b != nil {
		bm = b.Bytes()
	}
	vm, voff := validity(mask)
	if n == 0 {
		return []int32{}
	}
	capHint := n
	if vm == nil {
		capHint = bitutil.CountSetBits(bm, off, n)
	}
	out := make([]int32, 0, capHint)
	i := 0
	if off%8 == 0 && (vm == nil || voff%8 == 0) {
		// Whole bytes: walk the set bits of value AND validity.
		for ; i+8 <= n; i += 8 {
			m := bm[(off+i)/8]
			if vm != nil {
				m &= vm[(voff+i)/8]
			}
			for m != 0 {
				out = append(out, int32(i+bits.TrailingZeros8(m)))
				m &= m - 1
			}
		}
	}
	for ; i < n; i++ {
		if bitutil.BitIsSet(bm, off+i) && (vm == nil || bitutil.BitIsSet(vm, voff+i)) {
			out = append(out, int32(i))
		}
	}
	return out
}

// Filter keeps the rows of arr where mask is true (NULL counts as false).
// mask must have arr's length. When every row is kept the result shares
// arr's buffers (it is still a new reference the caller releases).
func Filter(mem memory.Allocator, arr arrow.Array, mask *array.Boolean) arrow.Array {
	idx := SelectionIndices(mask)
	if len(idx) == arr.Len() {
		arr.Retain()
		return arr
	}
	return Take(mem, arr, idx)
}

// FilterBatch applies Filter to every column of rb.
func FilterBatch(mem memory.Allocator, rb arrow.RecordBatch, mask *array.Boolean) arrow.RecordBatch {
	idx := SelectionIndices(mask)
	if len(idx) == int(rb.NumRows()) {
		rb.Retain()
		return rb
	}
	return TakeBatch(mem, rb, idx)
}

// Concat concatenates arrays of one type. It panics on mismatched types
// (a planner bug); use ConcatErr where sizes come from user data and could
// exceed Arrow's 2 GiB offset limit.
func Concat(mem memory.Allocator, arrs []arrow.Array) arrow.Array {
	out, err := ConcatErr(mem, arrs)
	if err != nil {
		panic(err)
	}
	return out
}

// ConcatErr is Concat returning errors instead of panicking.
func ConcatErr(mem memory.Allocator, arrs []arrow.Array) (arrow.Array, error) {
	if len(arrs) == 0 {
		return nil, fmt.Errorf("vec: Concat of no arrays")
	}
	if len(arrs) == 1 {
		arrs[0].Retain()
		return arrs[0], nil
	}
	out, err := array.Concatenate(arrs, mem)
	if err != nil {
		return nil, fmt.Errorf("vec: concat: %w", err)
	}
	return out, nil
}

// Slice returns rows [i, j) of arr sharing its buffers (caller releases).
func Slice(arr arrow.Array, i, j int) arrow.Array { return array.NewSlice(arr, int64(i), int64(j)) }

// SliceBatch returns rows [i, j) of rb sharing its buffers (caller releases).
func SliceBatch(rb arrow.RecordBatch, i, j int) arrow.RecordBatch {
	return rb.NewSlice(int64(i), int64(j))
}
