package stream

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// rollParts assigns dense partition ids 0..n-1 to partition keys: one
// integer-like column through a map[int64] without boxing, one text column
// through a map[string] (no allocation for known keys), anything else
// through vec's row-key encoding.
type rollParts struct {
	mode rollPartMode
	cols []int
	ts   []types.T
	ints map[int64]uint32
	// dense maps small non-negative integer keys directly: dense[k] is
	// id+1 (0: not seen); larger keys use ints.
	dense  []uint32
	nullID int64 // id of the NULL key in rpInt mode, -1 before it is seen
	strs   map[string]uint32
	// keyBytes is the length of every key in strs.
	keyBytes int64
	kbuf     []byte
	sel      []arrow.Array
	n        int
}

type rollPartMode uint8

const (
	rpNone rollPartMode = iota // no PARTITION BY: one partition
	rpInt
	rpText
	rpKey
)

func newRollParts(cols []int, inTypes []types.T) rollParts {
	r := rollParts{cols: cols, nullID: -1, ints: map[int64]uint32{}, strs: map[string]uint32{}}
	for _, c := range cols {
		r.ts = append(r.ts, inTypes[c])
	}
	switch {
	case len(cols) == 0:
		r.mode = rpNone
	case len(cols) == 1:
		switch inTypes[cols[0]].Family {
		case types.FamInt2, types.FamInt4, types.FamInt8, types.FamDate, types.FamTimestamp, types.FamTimestampTZ:
			r.mode = rpInt
		case types.FamText:
			r.mode = rpText
		default:
			r.mode = rpKey
		}
	default:
		r.mode = rpKey
	}
	return r
}

// ids appends the partition id of every row of b to out.
func (r *rollParts) ids(b arrow.RecordBatch, out []uint32) ([]uint32, error) {
	n := int(b.NumRows())
	switch r.mode {
	case rpNone:
		if r.n == 0 {
			r.n = 1
		}
		for range n {
			out = append(out, 0)
		}
		return out, nil
	case rpInt:
		a := b.Column(r.cols[0])
		switch c := a.(type) {
		case *array.Int64:
			return rollIntIDs(r, c.Int64Values()[:n], a, out), nil
		case *array.Int32:
			return rollIntIDs(r, c.Int32Values()[:n], a, out), nil
		case *array.Int16:
			return rollIntIDs(r, c.Int16Values()[:n], a, out), nil
		case *array.Date32:
			return rollIntIDs(r, c.Date32Values()[:n], a, out), nil
		case *array.Timestamp:
			return rollIntIDs(r, c.TimestampValues()[:n], a, out), nil
		}
	case rpText:
		if c, ok := b.Column(r.cols[0]).(*array.String); ok {
			for i := range n {
				if c.IsNull(i) {
					if r.nullID < 0 {
						r.nullID = int64(r.n)
						r.n++
					}
					out = append(out, uint32(r.nullID))
					continue
				}
				s := c.Value(i)
				id, ok := r.strs[s]
				if !ok {
					id = uint32(r.n)
					r.n++
					r.strs[strings.Clone(s)] = id // s views the batch's buffer
					r.keyBytes += int64(len(s))
				}
				out = append(out, id)
			}
			return out, nil
		}
	}
	// Generic: the row key of the partition columns.
	r.sel = r.sel[:0]
	for _, c := range r.cols {
		if c >= int(b.NumCols()) {
			return nil, pgerror.Internal("stream: partition column %d out of range", c)
		}
		r.sel = append(r.sel, b.Column(c))
	}
	for i := range n {
		r.kbuf = vec.AppendRowKey(append(r.kbuf[:0], 1), r.sel, r.ts, i)
		out = append(out, r.keyID(r.kbuf))
	}
	return out, nil
}

// bytes estimates the partition table's memory: map entries (key, id
// and overhead) and the direct table.
func (r *rollParts) bytes() int64 {
	return int64(len(r.ints))*32 + int64(len(r.strs))*48 + r.keyBytes + int64(cap(r.dense))*4
}

// keyID returns the id of an encoded key.
func (r *rollParts) keyID(k []byte) uint32 {
	if id, ok := r.strs[string(k)]; ok {
		return id
	}
	id := uint32(r.n)
	r.n++
	r.strs[string(k)] = id
	r.keyBytes += int64(len(k))
	return id
}

// rollDenseMax bounds the keys held in rollParts.dense (4 bytes each).
const rollDenseMax = 1 << 22

func rollIntIDs[T ~int16 | ~int32 | ~int64](r *rollParts, vals []T, a arrow.Array, out []uint32) []uint32 {
	hasNulls := a.NullN() > 0
	for i, v := range vals {
		if hasNulls && a.IsNull(i) {
			if r.nullID < 0 {
				r.nullID = int64(r.n)
				r.n++
			}
			out = append(out, uint32(r.nullID))
			continue
		}
		if k := int64(v); k >= 0 && k < rollDenseMax {
			if k >= int64(len(r.dense)) {
				r.dense = growState(r.dense, int(max(k+1, 2*int64(len(r.dense)))))
			}
			id := r.dense[k]
			if id == 0 {
				r.n++
				id = uint32(r.n)
				r.dense[k] = id
			}
			out = append(out, id-1)
			continue
		}
		id, ok := r.ints[int64(v)]
		if !ok {
			id = uint32(r.n)
			r.n++
			r.ints[int64(v)] = id
		}
		out = append(out, id)
	}
	return out
}
