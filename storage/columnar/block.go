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

// blockBuilder accumulates sorted entries into Arrow builders.
type blockBuilder struct {
	rb   *array.RecordBuilder
	kb   *array.BinaryBuilder
	eb   *array.Uint64Builder
	tb   *array.BooleanBuilder
	vb   *array.BinaryBuilder
	rows int
	// The previous block's size: the next one reserves as much up front
	// instead of growing its builders by doubling.
	lastRows, lastKeys, lastVals int
}

func newBlockBuilder(mem memory.Allocator) *blockBuilder {
	rb := array.NewRecordBuilder(mem, entrySchema)
	return &blockBuilder{rb: rb, kb: rb.Field(0).(*array.BinaryBuilder), eb: rb.Field(1).(*array.Uint64Builder),
		tb: rb.Field(2).(*array.BooleanBuilder), vb: rb.Field(3).(*array.BinaryBuilder)}
}

func (bb *blockBuilder) add(key []byte, epoch uint64, tomb bool, val []byte) {
	if bb.rows == 0 && bb.lastRows > 0 {
		bb.kb.Reserve(bb.lastRows)
		bb.kb.ReserveData(bb.lastKeys)
		bb.eb.Reserve(bb.lastRows)
		bb.tb.Reserve(bb.lastRows)
		bb.vb.Reserve(bb.lastRows)
		bb.vb.ReserveData(bb.lastVals)
	}
	bb.kb.Append(key)
	bb.eb.Append(epoch)
	bb.tb.Append(tomb)
	bb.vb.Append(val)
	bb.rows++
}

// finish returns the block built so far and resets the builder.
func (bb *blockBuilder) finish() *block {
	bb.lastRows, bb.lastKeys, bb.lastVals = bb.rows, bb.kb.DataLen(), bb.vb.DataLen()
	bb.rows = 0
	return newBlock(bb.rb.NewRecordBatch())
}

func (bb *blockBuilder) release() { bb.rb.Release() }

// encodeBlock serializes a block as a self-contained Arrow IPC stream.
func encodeBlock(b *block) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(entrySchema))
	if err := w.Write(b.rec); err != nil {
		return nil, fmt.Errorf("columnar: encode block: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("columnar: encode block: %w", err)
	}
	return buf.Bytes(), nil
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
