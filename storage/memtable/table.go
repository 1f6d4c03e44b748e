package memtable

import (
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
)

// mergeBelow is the size under which the last chunk is extended by appends
// instead of starting a new chunk (keeps single-row INSERTs from creating
// one chunk per row).
const mergeBelow = 8192

// chunk is an immutable batch plus its deletion bitmap (nil: none deleted).
type chunk struct {
	rb      arrow.RecordBatch
	deleted []byte // bit i set: row i deleted
	live    int
}

// Table holds one table's rows.
type Table struct {
	mu     sync.RWMutex
	schema *arrow.Schema
	chunks []*chunk
	mem    memory.Allocator
	rows   int64
}

// NewTable returns an empty table with the given Arrow schema.
func NewTable(schema *arrow.Schema, mem memory.Allocator) *Table {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Table{schema: schema, mem: mem}
}

// Schema returns the table's Arrow schema.
func (t *Table) Schema() *arrow.Schema { return t.schema }

// Rows returns the number of live rows.
func (t *Table) Rows() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.rows
}

// RowID packs a chunk index and row.
func RowID(chunk, row int) int64 { return int64(chunk)<<32 | int64(row) }

func splitRowID(id int64) (int, int) { return int(id >> 32), int(id & 0xffffffff) }

// Append adds the rows of rb (which must have the table's schema) and
// returns their row ids. rb is retained or copied; the caller keeps its reference.
func (t *Table) Append(rb arrow.RecordBatch) ([]int64, error) {
	if rb.NumRows() == 0 {
		return nil, nil
	}
	if int(rb.NumCols()) != t.schema.NumFields() {
		return nil, fmt.Errorf("memtable: batch has %d columns, table %d", rb.NumCols(), t.schema.NumFields())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int(rb.NumRows())
	ids := make([]int64, n)
	last := len(t.chunks) - 1
	if last >= 0 && t.chunks[last].rb.NumRows() < mergeBelow {
		old := t.chunks[last]
		base := int(old.rb.NumRows())
		cols := make([]arrow.Array, rb.NumCols())
		for i := range cols {
			c, err := vec.ConcatErr(t.mem, []arrow.Array{old.rb.Column(i), rb.Column(i)})
			if err != nil {
				for _, x := range cols[:i] {
					x.Release()
				}
				return nil, fmt.Errorf("memtable: append: %w", err)
			}
			cols[i] = c
		}
		nrb := array.NewRecordBatch(t.schema, cols, int64(base+n))
		for _, c := range cols {
			c.Release()
		}
		var del []byte
		if old.deleted != nil {
			del = make([]byte, bitutil.BytesForBits(int64(base+n)))
			copy(del, old.deleted)
		}
		t.chunks[last] = &chunk{rb: nrb, deleted: del, live: old.live + n}
		// The old chunk may still be referenced by a running scan snapshot;
		// it is released when that snapshot is (see Snapshot.Release).
		old.rb.Release()
		for i := range ids {
			ids[i] = RowID(last, base+i)
		}
	} else {
		rb.Retain()
		t.chunks = append(t.chunks, &chunk{rb: rb, live: n})
		for i := range ids {
			ids[i] = RowID(len(t.chunks)-1, i)
		}
	}
	t.rows += int64(n)
	return ids, nil
}

// Delete marks rows deleted. Ids of rows already deleted are ignored.
func (t *Table) Delete(ids []int64) {
	t.setDeleted(ids, true)
}

// Undelete revives deleted rows (transaction rollback).
func (t *Table) Undelete(ids []int64) {
	t.setDeleted(ids, false)
}

func (t *Table) setDeleted(ids []int64, del bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	byChunk := map[int][]int{}
	for _, id := range ids {
		c, r := splitRowID(id)
		if c < len(t.chunks) && r < int(t.chunks[c].rb.NumRows()) {
			byChunk[c] = append(byChunk[c], r)
		}
	}
	for c, rows := range byChunk {
		old := t.chunks[c]
		n := int(old.rb.NumRows())
		bits := make([]byte, bitutil.BytesForBits(int64(n)))
		if old.deleted != nil {
			copy(bits, old.deleted)
		}
		live := old.live
		for _, r := range rows {
			was := bitutil.BitIsSet(bits, r)
			if del && !was {
				bitutil.SetBit(bits, r)
				live--
				t.rows--
			} else if !del && was {
				bitutil.ClearBit(bits, r)
				live++
				t.rows++
			}
		}
		if live == n {
			bits = nil
		}
		old.rb.Retain()
		t.chunks[c] = &chunk{rb: old.rb, deleted: bits, live: live}
		old.rb.Release()
	}
}

// Truncate removes every row.
func (t *Table) Truncate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.chunks {
		c.rb.Release()
	}
	t.chunks = nil
	t.rows = 0
}

// Snapshot is a consistent view of a table's rows at one moment.
type Snapshot struct {
	chunks []*chunk
}

// Snapshot captures the current rows. The caller must Release it.
func (t *Table) Snapshot() *Snapshot {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := &Snapshot{chunks: append([]*chunk(nil), t.chunks...)}
	for _, c := range s.chunks {
		c.rb.Retain()
	}
	return s
}

// Release drops the snapshot's references.
func (s *Snapshot) Release() {
	for _, c := range s.chunks {
		c.rb.Release()
	}
	s.chunks = nil
}

// NumChunks is the number of chunks in the snapshot.
func (s *Snapshot) NumChunks() int { return len(s.chunks) }

// Chunk returns chunk i's live rows: the selected columns (nil: all), plus
// a trailing int64 row-id column when rowID is set. The result is owned by
// the caller. ok is false when the chunk has no live rows.
func (s *Snapshot) Chunk(i int, cols []int, rowID bool, mem memory.Allocator) (arrow.RecordBatch, bool) {
	c := s.chunks[i]
	if c.live == 0 {
		return nil, false
	}
	n := int(c.rb.NumRows())
	if cols == nil {
		cols = make([]int, c.rb.NumCols())
		for j := range cols {
			cols[j] = j
		}
	}
	fields := make([]arrow.Field, 0, len(cols)+1)
	arrs := make([]arrow.Array, 0, len(cols)+1)
	for _, j := range cols {
		fields = append(fields, c.rb.Schema().Field(j))
		arrs = append(arrs, c.rb.Column(j))
	}
	if rowID {
		b := array.NewInt64Builder(mem)
		b.Resize(n)
		for r := 0; r < n; r++ {
			b.UnsafeAppend(RowID(i, r))
		}
		ids := b.NewArray()
		b.Release()
		fields = append(fields, arrow.Field{Name: "_rowid", Type: arrow.PrimitiveTypes.Int64})
		arrs = append(arrs, ids)
		defer ids.Release()
	}
	rb := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(n))
	if c.deleted == nil {
		return rb, true
	}
	mb := array.NewBooleanBuilder(mem)
	mb.Resize(n)
	for r := 0; r < n; r++ {
		mb.UnsafeAppend(!bitutil.BitIsSet(c.deleted, r))
	}
	mask := mb.NewBooleanArray()
	mb.Release()
	out := vec.FilterBatch(mem, rb, mask)
	mask.Release()
	rb.Release()
	return out, true
}

// Fetch returns the rows with the given ids (live or deleted), in the order
// of ids, as one batch of the table's schema owned by the caller. Unknown
// ids are skipped.
func (t *Table) Fetch(ids []int64) arrow.RecordBatch {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var parts []arrow.RecordBatch
	for i := 0; i < len(ids); {
		ci, _ := splitRowID(ids[i])
		var idx []int32
		for i < len(ids) {
			c, r := splitRowID(ids[i])
			if c != ci {
				break
			}
			if c < len(t.chunks) && r < int(t.chunks[c].rb.NumRows()) {
				idx = append(idx, int32(r))
			}
			i++
		}
		if ci < len(t.chunks) && len(idx) > 0 {
			parts = append(parts, vec.TakeBatch(t.mem, t.chunks[ci].rb, idx))
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	n := int64(0)
	cols := make([]arrow.Array, t.schema.NumFields())
	for j := range cols {
		arrs := make([]arrow.Array, len(parts))
		for k, p := range parts {
			arrs[k] = p.Column(j)
		}
		if len(parts) == 0 {
			b := array.NewBuilder(t.mem, t.schema.Field(j).Type)
			cols[j] = b.NewArray()
			b.Release()
			continue
		}
		cols[j] = vec.Concat(t.mem, arrs)
	}
	for _, p := range parts {
		n += p.NumRows()
		p.Release()
	}
	out := array.NewRecordBatch(t.schema, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return out
}
