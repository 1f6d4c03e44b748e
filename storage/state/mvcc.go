package state

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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
// found[i] false become NULL rows. It decodes column at a time (one type
// switch per column, unchecked appends for the common fixed-width types),
// keeping a cursor per row. The caller releases the batch.
func BuildRows(alloc memory.Allocator, codec *RowCodec, vals [][]byte, found []bool) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(alloc, codec.schema)
	defer b.Release()
	n := len(vals)
	b.Reserve(n)
	total := 0
	for _, v := range vals {
		total += len(v)
	}
	pos := make([]int, n)
	for _, f := range b.Fields() {
		var err error
		switch fb := f.(type) {
		case *array.Int64Builder:
			err = decodeFixed(fb, vals, found, pos, 8, func(p []byte) { fb.UnsafeAppend(int64(binary.LittleEndian.Uint64(p))) })
		case *array.Float64Builder:
			err = decodeFixed(fb, vals, found, pos, 8, func(p []byte) { fb.UnsafeAppend(math.Float64frombits(binary.LittleEndian.Uint64(p))) })
		case *array.TimestampBuilder:
			err = decodeFixed(fb, vals, found, pos, 8, func(p []byte) { fb.UnsafeAppend(arrow.Timestamp(binary.LittleEndian.Uint64(p))) })
		case *array.Int32Builder:
			err = decodeFixed(fb, vals, found, pos, 4, func(p []byte) { fb.UnsafeAppend(int32(binary.LittleEndian.Uint32(p))) })
		default:
			switch vb := f.(type) {
			case *array.StringBuilder:
				vb.ReserveData(total)
			case *array.BinaryBuilder:
				vb.ReserveData(total)
			}
			for i, v := range vals {
				if !found[i] {
					f.AppendNull()
					continue
				}
				if pos[i], err = decodeValue(f, v, pos[i]); err != nil {
					break
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	for i, v := range vals {
		if found[i] && pos[i] != len(v) {
			return nil, ErrCorruptRow
		}
	}
	return b.NewRecordBatch(), nil
}

// decodeFixed decodes one fixed-width column (body width w) of every row
// into fb (reserved for len(vals) values); put appends a present value.
func decodeFixed(fb array.Builder, vals [][]byte, found []bool, pos []int, w int, put func([]byte)) error {
	for i, v := range vals {
		p := pos[i]
		if !found[i] {
			fb.AppendNull()
			continue
		}
		if p >= len(v) {
			return ErrCorruptRow
		}
		if v[p] == 0 {
			fb.AppendNull()
			pos[i] = p + 1
			continue
		}
		if p+1+w > len(v) {
			return ErrCorruptRow
		}
		put(v[p+1 : p+1+w])
		pos[i] = p + 1 + w
	}
	return nil
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
