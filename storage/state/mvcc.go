package state

import (
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
// found[i] false become NULL rows. The caller releases the batch.
func BuildRows(alloc memory.Allocator, codec *RowCodec, vals [][]byte, found []bool) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(alloc, codec.schema)
	defer b.Release()
	b.Reserve(len(vals))
	total := 0
	for _, v := range vals {
		total += len(v)
	}
	for _, f := range b.Fields() {
		switch fb := f.(type) {
		case *array.StringBuilder:
			fb.ReserveData(total)
		case *array.BinaryBuilder:
			fb.ReserveData(total)
		}
	}
	for i, v := range vals {
		if !found[i] {
			codec.AppendNullRow(b)
			continue
		}
		if err := codec.DecodeInto(b, v); err != nil {
			return nil, err
		}
	}
	return b.NewRecordBatch(), nil
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
