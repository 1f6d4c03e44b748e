package state

import (
	"encoding/binary"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// SnapshotTooOld is the SQLSTATE for a snapshot at an epoch whose versions
// the table no longer keeps.
const SnapshotTooOld = "72000"

// Version is one committed version of a key.
type Version struct {
	Epoch Epoch
	Tomb  bool
	Val   []byte
}

// VersionAt returns the newest version with epoch ≤ e from vs (ascending by
// epoch).
func VersionAt(vs []Version, e Epoch) (Version, bool) {
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].Epoch <= e {
			return vs[i], true
		}
	}
	return Version{}, false
}

// PruneVersions drops the versions of vs (ascending by epoch) that neither
// the latest view nor any snapshot epoch in pinned (ascending) can read. With
// dropLeadingTombs (vs holds every version of the key, nothing older exists
// elsewhere) it also drops leading tombstones, which then hide nothing. It
// reuses vs's storage.
func PruneVersions(vs []Version, pinned []Epoch, dropLeadingTombs bool) []Version {
	if len(vs) == 0 {
		return vs
	}
	out := vs[:0]
	for i := 0; i < len(vs)-1; i++ {
		next := vs[i+1].Epoch
		// Is there a pinned s with vs[i].Epoch ≤ s < next?
		j, _ := slices.BinarySearch(pinned, vs[i].Epoch)
		if j < len(pinned) && pinned[j] < next {
			out = append(out, vs[i])
		}
	}
	out = append(out, vs[len(vs)-1])
	k := 0
	for dropLeadingTombs && k < len(out) && out[k].Tomb {
		k++
	}
	if k > 0 {
		n := copy(out, out[k:])
		clear(out[n:])
		out = out[:n]
	}
	return out
}

// BuildRows decodes value rows into a batch of the codec's schema; rows with
// found[i] false become NULL rows. It decodes column at a time, keeping a
// cursor per row, and assembles fixed-width and string columns directly
// from Go slices (no builders: a one-row lookup costs a few allocations);
// other types go through an Arrow builder of alloc. The caller releases the
// batch.
func BuildRows(alloc memory.Allocator, codec *RowCodec, vals [][]byte, found []bool) (arrow.RecordBatch, error) {
	if len(vals) == 1 {
		return buildOne(alloc, codec, vals[0], found[0])
	}
	return buildRows(alloc, codec, vals, found)
}

// buildRows is BuildRows' general path (any number of rows).
func buildRows(alloc memory.Allocator, codec *RowCodec, vals [][]byte, found []bool) (arrow.RecordBatch, error) {
	n := len(vals)
	pos := make([]int, n)
	fields := codec.schema.Fields()
	cols := make([]arrow.Array, 0, len(fields))
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	for _, f := range fields {
		var col arrow.Array
		var err error
		switch w := bodyWidth(f.Type.ID()); {
		case w > 0:
			col, err = decodeFixedCol(f.Type, w, vals, found, pos)
		case f.Type.ID() == arrow.STRING || f.Type.ID() == arrow.BINARY:
			col, err = decodeBinaryCol(f.Type, vals, found, pos)
		default:
			col, err = decodeWithBuilder(alloc, f.Type, vals, found, pos)
		}
		if err != nil {
			release()
			return nil, err
		}
		cols = append(cols, col)
	}
	for i, v := range vals {
		if found[i] && pos[i] != len(v) {
			release()
			return nil, ErrCorruptRow
		}
	}
	rec := array.NewRecordBatch(codec.schema, cols, int64(n))
	release()
	return rec, nil
}

// bodyWidth is the byte width of a fixed-width type's values whose Arrow
// layout is the row encoding's little-endian body (0 otherwise; booleans are
// bit-packed in Arrow).
func bodyWidth(id arrow.Type) int {
	switch id {
	case arrow.INT8, arrow.UINT8:
		return 1
	case arrow.INT16, arrow.UINT16:
		return 2
	case arrow.INT32, arrow.UINT32, arrow.DATE32, arrow.TIME32, arrow.FLOAT32:
		return 4
	case arrow.INT64, arrow.UINT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION, arrow.FLOAT64:
		return 8
	}
	return 0
}

// flagAt reads the flag byte of row i at its cursor: present reports a
// value follows; ok false means the row is malformed.
func flagAt(v []byte, p int) (present, ok bool) {
	if p >= len(v) {
		return false, false
	}
	return v[p] != 0, true
}

func decodeFixedCol(dt arrow.DataType, w int, vals [][]byte, found []bool, pos []int) (arrow.Array, error) {
	n := len(vals)
	body := make([]byte, w*n)
	var valid []byte
	nulls := 0
	for i, v := range vals {
		present := false
		if found[i] {
			var ok bool
			if present, ok = flagAt(v, pos[i]); !ok {
				return nil, ErrCorruptRow
			}
			pos[i]++
		}
		if !present {
			if valid == nil {
				valid = make([]byte, bitutil.BytesForBits(int64(n)))
				bitutil.SetBitsTo(valid, 0, int64(n), true)
			}
			bitutil.ClearBit(valid, i)
			nulls++
			continue
		}
		p := pos[i]
		if p+w > len(v) {
			return nil, ErrCorruptRow
		}
		// The row body is little-endian, as Arrow's buffers on the
		// little-endian machines Go targets here.
		copy(body[i*w:], v[p:p+w])
		pos[i] = p + w
	}
	return makeArray(dt, n, nulls, valid, body, nil), nil
}

func decodeBinaryCol(dt arrow.DataType, vals [][]byte, found []bool, pos []int) (arrow.Array, error) {
	n := len(vals)
	offs := make([]int32, n+1)
	total := 0
	for i, v := range vals {
		if found[i] {
			total += len(v)
		}
	}
	data := make([]byte, 0, total)
	var valid []byte
	nulls := 0
	for i, v := range vals {
		offs[i] = int32(len(data))
		present := false
		if found[i] {
			var ok bool
			if present, ok = flagAt(v, pos[i]); !ok {
				return nil, ErrCorruptRow
			}
			pos[i]++
		}
		if !present {
			if valid == nil {
				valid = make([]byte, bitutil.BytesForBits(int64(n)))
				bitutil.SetBitsTo(valid, 0, int64(n), true)
			}
			bitutil.ClearBit(valid, i)
			nulls++
			continue
		}
		p := pos[i]
		l, w := binary.Uvarint(v[p:])
		if w <= 0 || l > uint64(len(v)-p-w) {
			return nil, ErrCorruptRow
		}
		p += w
		data = append(data, v[p:p+int(l)]...)
		pos[i] = p + int(l)
	}
	offs[n] = int32(len(data))
	return makeArray(dt, n, nulls, valid, arrow.Int32Traits.CastToBytes(offs), data), nil
}

// makeArray wraps Go slices as an Arrow array (validity may be nil when
// nulls is 0; data is the third buffer of binary layouts).
func makeArray(dt arrow.DataType, n, nulls int, valid, body, data []byte) arrow.Array {
	var vb *memory.Buffer
	if valid != nil {
		vb = memory.NewBufferBytes(valid)
	}
	bufs := []*memory.Buffer{vb, memory.NewBufferBytes(body)}
	if data != nil {
		bufs = append(bufs, memory.NewBufferBytes(data))
	}
	d := array.NewData(dt, n, bufs, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

func decodeWithBuilder(alloc memory.Allocator, dt arrow.DataType, vals [][]byte, found []bool, pos []int) (arrow.Array, error) {
	b := array.NewBuilder(alloc, dt)
	defer b.Release()
	b.Reserve(len(vals))
	for i, v := range vals {
		if !found[i] {
			b.AppendNull()
			continue
		}
		var err error
		if pos[i], err = decodeValue(b, v, pos[i]); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

// CheckWrite validates the arguments of Table.Write; backends call it.
func CheckWrite(codec *RowCodec, keys [][]byte, ops []Op, values arrow.RecordBatch) error {
	if ops != nil && len(ops) != len(keys) {
		return pgerror.Internal("state: %d ops for %d keys", len(ops), len(keys))
	}
	needVals := ops == nil
	for _, op := range ops {
		if op == OpPut {
			needVals = true
		} else if op != OpDelete {
			return pgerror.Internal("state: unknown op %d", op)
		}
	}
	if needVals && len(keys) > 0 {
		if values == nil || int(values.NumRows()) != len(keys) {
			return pgerror.Internal("state: value batch has wrong row count for %d keys", len(keys))
		}
		if err := codec.CheckBatch(values); err != nil {
			return err
		}
	}
	return nil
}
