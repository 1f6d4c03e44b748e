package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Thin wrappers over exec/kernels/vec used throughout the executor. An
// index of -1 in a gather produces NULL (outer-join padding).

// takeArr gathers arr[idx[i]] into a new array (idx[i] < 0 → NULL).
func takeArr(arr arrow.Array, idx []int32) arrow.Array {
	return vec.Take(memory.DefaultAllocator, arr, idx)
}

// takeBatch gathers rows idx of every column of b.
func takeBatch(b arrow.RecordBatch, idx []int32) arrow.RecordBatch {
	return vec.TakeBatch(memory.DefaultAllocator, b, idx)
}

// newBatch builds a batch from cols, taking ownership of them.
func newBatch(s *arrow.Schema, cols []arrow.Array, n int) arrow.RecordBatch {
	b := array.NewRecordBatch(s, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return b
}

// constArr returns an array of n copies of d (of SQL type t).
func constArr(mem memory.Allocator, d types.Datum, t types.T, n int) arrow.Array {
	return vec.ConstArray(mem, d, t, n)
}

// concatArrs concatenates arrays of one type (a single input is retained).
func concatArrs(mem memory.Allocator, arrs []arrow.Array) (arrow.Array, error) {
	if len(arrs) == 1 {
		arrs[0].Retain()
		return arrs[0], nil
	}
	return vec.ConcatErr(mem, arrs)
}

// nullArr returns an all-NULL array of SQL type t.
func nullArr(mem memory.Allocator, t types.T, n int) arrow.Array { return constArr(mem, nil, t, n) }

// seqIdx returns 0..n-1.
func seqIdx(n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

// mkArray wraps buffers into an array.
func mkArray(dt arrow.DataType, n int, bufs []*memory.Buffer, children []arrow.ArrayData, nulls int) arrow.Array {
	d := array.NewData(dt, n, bufs, children, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}
