package vec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/types"
)

// ConstArray returns an array of n copies of d, a Datum of type t (nil for
// NULL), of Arrow type types.ArrowType(t). Fixed-width values are replicated
// without per-row work beyond a store.
func ConstArray(mem memory.Allocator, d types.Datum, t types.T, n int) arrow.Array {
	dt := types.ArrowType(t)
	if d == nil {
		return array.MakeArrayOfNull(mem, dt, n)
	}
	b := array.NewBuilder(mem, dt)
	types.AppendDatum(b, d, t)
	one := b.NewArray()
	b.Release()
	defer one.Release()
	switch fixedWidthBits(dt) {
	case 16:
		return repeatFixed[uint16](mem, one, n)
	case 32:
		return repeatFixed[uint32](mem, one, n)
	case 64:
		return repeatFixed[uint64](mem, one, n)
	case 128:
		if dt.ID() == arrow.INTERVAL_MONTH_DAY_NANO {
			return repeatFixed[arrow.MonthDayNanoInterval](mem, one, n)
		}
	}
	return Take(mem, one, make([]int32, n))
}

func repeatFixed[T fixedWidth](mem memory.Allocator, one arrow.Array, n int) arrow.Array {
	v := fixedValues[T](one)[0]
	buf := newBuffer(mem, n*int(sizeOf[T]()))
	if n > 0 {
		dst := arrow.GetData[T](buf.Bytes())[:n]
		for i := range dst {
			dst[i] = v
		}
	}
	return finish(one.DataType(), n, []*memory.Buffer{nil, buf}, nil, 0)
}
