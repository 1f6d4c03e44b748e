package vec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fixedWidth lists the value representations that fixed-width kernels move
// around; the SQL meaning of the bits does not matter for selection.
type fixedWidth interface {
	uint8 | uint16 | uint32 | uint64 | arrow.MonthDayNanoInterval
}

// newBuffer returns a buffer of n bytes (contents unspecified).
func newBuffer(mem memory.Allocator, n int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(n)
	return b
}

// newBitmap returns a zeroed bitmap buffer for n bits.
func newBitmap(mem memory.Allocator, n int) *memory.Buffer {
	b := newBuffer(mem, int(bitutil.BytesForBits(int64(n))))
	clear(b.Bytes())
	return b
}

// finish wraps buffers into an array, dropping an all-valid bitmap.
func finish(dt arrow.DataType, n int, bufs []*memory.Buffer, children []arrow.ArrayData, nulls int) arrow.Array {
	return WrapBuffersCompact(dt, n, bufs, children, nulls)
}

// WrapBuffers wraps bufs (validity bitmap first, as arrow lays them out) and
// children into an array of type dt with n rows and nulls null slots. It takes
// over the caller's references: every non-nil buffer is released once the
// array holds its own, so the caller must not release them again.
func WrapBuffers(dt arrow.DataType, n int, bufs []*memory.Buffer, children []arrow.ArrayData, nulls int) arrow.Array {
	data := array.NewData(dt, n, bufs, children, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	arr := array.MakeFromData(data)
	data.Release()
	return arr
}

// WrapBuffersCompact is WrapBuffers that first drops the validity bitmap
// bufs[0] (releasing it and setting it to nil) when nulls is 0.
func WrapBuffersCompact(dt arrow.DataType, n int, bufs []*memory.Buffer, children []arrow.ArrayData, nulls int) arrow.Array {
	if nulls == 0 && bufs[0] != nil {
		bufs[0].Release()
		bufs[0] = nil
	}
	return WrapBuffers(dt, n, bufs, children, nulls)
}

// validity returns arr's validity bitmap and offset, or nil when arr has no nulls.
func validity(arr arrow.Array) ([]byte, int) {
	if arr.NullN() == 0 {
		return nil, 0
	}
	return arr.NullBitmapBytes(), arr.Data().Offset()
}

// fixedValues returns arr's value slice reinterpreted as T (len = arr.Len()).
func fixedValues[T fixedWidth](arr arrow.Array) []T {
	d := arr.Data()
	b := d.Buffers()[1]
	if b == nil || b.Len() == 0 {
		return nil
	}
	return arrow.GetData[T](b.Bytes())[d.Offset() : d.Offset()+d.Len()]
}

// binaryParts returns the absolute offsets (len+1 entries) and the whole data
// buffer of a Utf8 or Binary array.
func binaryParts(arr arrow.Array) ([]int32, []byte) {
	d := arr.Data()
	var offs []int32
	switch a := arr.(type) {
	case *array.String:
		offs = a.ValueOffsets()
	case *array.Binary:
		offs = a.ValueOffsets()
	}
	var data []byte
	if b := d.Buffers()[2]; b != nil {
		data = b.Bytes()
	}
	return offs, data
}

// fixedWidthBits returns the bit width of a fixed-width Arrow type, or 0.
func fixedWidthBits(dt arrow.DataType) int {
	switch dt.ID() {
	case arrow.BOOL, arrow.NULL:
		return 0
	}
	if fw, ok := dt.(arrow.FixedWidthDataType); ok {
		return fw.BitWidth()
	}
	return 0
}
