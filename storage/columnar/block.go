package columnar

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
)

// entrySchema is the schema of every block: one row per (key, epoch)
// version, sorted by key ascending then epoch descending.
var entrySchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "epoch", Type: arrow.PrimitiveTypes.Uint64},
	{Name: "tomb", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "val", Type: arrow.BinaryTypes.Binary},
}, nil)

// block is a decoded, immutable, sorted run of entries.
type block struct {
	rec    arrow.RecordBatch
	keys   *array.Binary
	epochs []uint64
	tombs  *array.Boolean
	vals   *array.Binary
	koffs  []int32 // key offsets and bytes, for seek
	kdata  []byte
	size   int64 // bytes charged to the budget while cached
}

func newBlock(rec arrow.RecordBatch) *block {
	b := &block{
		rec:    rec,
		keys:   rec.Column(0).(*array.Binary),
		epochs: rec.Column(1).(*array.Uint64).Uint64Values(),
		tombs:  rec.Column(2).(*array.Boolean),
		vals:   rec.Column(3).(*array.Binary),
	}
	b.koffs, b.kdata = b.keys.ValueOffsets(), b.keys.ValueBytes()
	b.size = int64(len(b.keys.ValueBytes())+len(b.vals.ValueBytes())) + int64(rec.NumRows())*(8+8+8+1) + 256
	return b
}

// key is key i read straight from the offsets (ValueBytes starts at
// koffs[0]), cheaper than Binary.Value in the binary search.
func (b *block) key(i int) []byte {
	base := b.koffs[0]
	return b.kdata[b.koffs[i]-base : b.koffs[i+1]-base]
}

func (b *block) len() int { return len(b.epochs) }

// seek returns the first row with key ≥ k.
func (b *block) seek(k []byte) int {
	return sort.Search(b.len(), func(i int) bool { return bytes.Compare(b.key(i), k) >= 0 })
}

// blockBuilder accumulates sorted entries in plain Go slices, which finish
// wraps as the buffers of an Arrow record batch without copying. The
// slices are reused by the next block, so a finished block is valid only
// until the next add (the run writer encodes it at once).
type blockBuilder struct {
	koffs  []int32
	kdata  []byte
	epochs []uint64
	tombs  []byte // validity-style bitmap, LSB first
	voffs  []int32
	vdata  []byte
	rows   int
}

func newBlockBuilder() *blockBuilder {
	return &blockBuilder{koffs: []int32{0}, voffs: []int32{0}}
}

func (bb *blockBuilder) add(key []byte, epoch uint64, tomb bool, val []byte) {
	bb.kdata = append(bb.kdata, key...)
	bb.koffs = append(bb.koffs, int32(len(bb.kdata)))
	bb.epochs = append(bb.epochs, epoch)
	if bb.rows%8 == 0 {
		bb.tombs = append(bb.tombs, 0)
	}
	if tomb {
		bb.tombs[bb.rows/8] |= 1 << (bb.rows % 8)
	}
	bb.vdata = append(bb.vdata, val...)
	bb.voffs = append(bb.voffs, int32(len(bb.vdata)))
	bb.rows++
}

// finish returns the block built so far (valid until the next add) and
// resets the builder.
func (bb *blockBuilder) finish() *block {
	n := bb.rows
	bin := func(offs []int32, data []byte) arrow.ArrayData {
		return array.NewData(arrow.BinaryTypes.Binary, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}, nil, 0, 0)
	}
	cols := []arrow.Array{
		array.NewBinaryData(bin(bb.koffs, bb.kdata)),
		array.NewUint64Data(array.NewData(arrow.PrimitiveTypes.Uint64, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Uint64Traits.CastToBytes(bb.epochs))}, nil, 0, 0)),
		array.NewBooleanData(array.NewData(arrow.FixedWidthTypes.Boolean, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(bb.tombs)}, nil, 0, 0)),
		array.NewBinaryData(bin(bb.voffs, bb.vdata)),
	}
	rec := array.NewRecordBatch(entrySchema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	bb.koffs, bb.kdata, bb.epochs = bb.koffs[:1], bb.kdata[:0], bb.epochs[:0]
	bb.tombs, bb.voffs, bb.vdata, bb.rows = bb.tombs[:0], bb.voffs[:1], bb.vdata[:0], 0
	return newBlock(rec)
}

// encodeBlock appends a block to buf as a self-contained Arrow IPC stream.
func encodeBlock(buf *bytes.Buffer, b *block) error {
	w := ipc.NewWriter(buf, ipc.WithSchema(entrySchema))
	if err := w.Write(b.rec); err != nil {
		return fmt.Errorf("columnar: encode block: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("columnar: encode block: %w", err)
	}
	return nil
}

// decodeBlock parses an IPC stream written by encodeBlock. The caller has
// verified the checksum; a parse failure still means corruption.
func decodeBlock(data []byte) (_ *block, err error) {
	r, err := ipc.NewReader(bytes.NewReader(data), ipc.WithSchema(entrySchema), ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		return nil, err
	}
	defer r.Release()
	if !r.Next() {
		if r.Err() != nil {
			return nil, r.Err()
		}
		return nil, fmt.Errorf("empty block")
	}
	rec := r.RecordBatch()
	if !rec.Schema().Equal(entrySchema) {
		return nil, fmt.Errorf("block schema %s", rec.Schema())
	}
	rec.Retain()
	return newBlock(rec), nil
}

// versionIn finds the newest version of k with epoch ≤ at in block b.
func versionIn(b *block, k []byte, at state.Epoch) (state.Version, bool) {
	for i := b.seek(k); i < b.len() && bytes.Equal(b.key(i), k); i++ {
		if state.Epoch(b.epochs[i]) <= at {
			return state.Version{Epoch: state.Epoch(b.epochs[i]), Tomb: b.tombs.Value(i), Val: b.vals.Value(i)}, true
		}
	}
	return state.Version{}, false
}
