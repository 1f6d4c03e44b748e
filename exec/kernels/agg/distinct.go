package agg

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/types"
)

// DistinctFilter implements DISTINCT inside an aggregate call
// (count(DISTINCT x), string_agg(DISTINCT …)): it remembers every
// (group, arguments) pair it has seen and masks repeats. Equality is SQL
// equality as in GroupTable. It only grows: it cannot retract rows.
type DistinctFilter struct {
	types       []types.T
	ignoreNulls bool
	seen        bytesTable
	buf         []byte
}

// NewDistinctFilter returns a filter for arguments of argTypes. With
// ignoreNulls (every strict aggregate: count(x), sum, …) rows with a NULL
// argument are masked too, as the aggregate would skip them anyway.
func NewDistinctFilter(argTypes []types.T, ignoreNulls bool) *DistinctFilter {
	f := &DistinctFilter{types: append([]types.T(nil), argTypes...), ignoreNulls: ignoreNulls}
	f.seen.init()
	return f
}

// Filter rewrites groups[i] to NoGroup for every row whose (group, args)
// pair was seen before (earlier in this batch or in earlier batches), and
// for rows with a NULL argument when the filter ignores NULLs. Rows already
// NoGroup stay so.
func (f *DistinctFilter) Filter(groups []uint32, args []arrow.Array) {
	for i, g := range groups {
		if g == NoGroup {
			continue
		}
		if f.ignoreNulls {
			hasNull := false
			for _, a := range args {
				if a.IsNull(i) {
					hasNull = true
					break
				}
			}
			if hasNull {
				groups[i] = NoGroup
				continue
			}
		}
		f.buf = binary.LittleEndian.AppendUint32(f.buf[:0], g)
		f.buf = vec.AppendRowKey(f.buf, args, f.types, i)
		if _, isNew := f.seen.findOrInsert(f.buf, vec.HashBytes(f.buf), uint32(f.seen.used)); !isNew {
			groups[i] = NoGroup
		}
	}
}

// MemoryBytes estimates the heap the filter holds.
func (f *DistinctFilter) MemoryBytes() int64 { return f.seen.memoryBytes() + int64(cap(f.buf)) }
