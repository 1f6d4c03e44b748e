package state

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// buildOne is BuildRows for a single row (a point lookup's result): one
// pass over the row with one cursor, every column's buffers cut from one
// allocation sized from the row, the buffer lists from another, and NULL
// columns sharing one cleared validity byte. Types without a direct
// layout (large strings, intervals, lists) go through a builder as in the
// general path. It returns exactly what buildRows returns for the row.
func buildOne(alloc memory.Allocator, codec *RowCodec, v []byte, found bool) (arrow.RecordBatch, error) {
	// Schema.Field and NumFields, not Fields, which copies the slice.
	schema := codec.schema
	nf := schema.NumFields()
	// Per column at most 8 bytes of fixed-width body or two int32
	// offsets, and string bytes, which the row holds (so len(v) bounds
	// them); every cut starts 8-byte aligned (at most 7 bytes of padding
	// per column). The first 8 bytes are the shared all-NULL validity
	// bitmap (zero).
	slab := make([]byte, 8+16*nf+len(v))
	nullBits := slab[0:1:1]
	next := 8
	cut := func(n int) []byte {
		b := slab[next : next+n : next+n]
		next += (n + 7) &^ 7
		return b
	}
	bufs := make([]*memory.Buffer, 3*nf)
	cols := make([]arrow.Array, nf)
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	p := 0
	for c := range nf {
		f := schema.Field(c)
		id := f.Type.ID()
		w := bodyWidth(id)
		if w == 0 && id != arrow.BOOL && id != arrow.STRING && id != arrow.BINARY {
			vals, fs, pos := [1][]byte{v}, [1]bool{found}, [1]int{p}
			col, err := decodeWithBuilder(alloc, f.Type, vals[:], fs[:], pos[:])
			if err != nil {
				release()
				return nil, err
			}
			cols[c], p = col, pos[0]
			continue
		}
		present := false
		if found {
			if p >= len(v) {
				release()
				return nil, ErrCorruptRow
			}
			present = v[p] != 0
			p++
		}
		cb := bufs[3*c : 3*c+3 : 3*c+3]
		var body, data []byte
		nulls := 0
		switch {
		case !present:
			cb[0] = memory.NewBufferBytes(nullBits)
			nulls = 1
			if w > 0 {
				body = cut(w)
			} else if id == arrow.BOOL {
				body = cut(1)
			} else {
				body = cut(8) // offsets 0, 0
			}
		case w > 0:
			if p+w > len(v) {
				release()
				return nil, ErrCorruptRow
			}
			body = cut(w)
			copy(body, v[p:p+w])
			p += w
		case id == arrow.BOOL:
			if p >= len(v) {
				release()
				return nil, ErrCorruptRow
			}
			body = cut(1)
			if v[p] != 0 {
				body[0] = 1
			}
			p++
		default: // STRING, BINARY
			l, lw := binary.Uvarint(v[p:])
			if lw <= 0 || l > uint64(len(v)-p-lw) {
				release()
				return nil, ErrCorruptRow
			}
			p += lw
			body = cut(8)
			binary.LittleEndian.PutUint32(body[4:], uint32(l))
			data = cut(int(l))
			copy(data, v[p:p+int(l)])
			p += int(l)
		}
		cb[1] = memory.NewBufferBytes(body)
		if id == arrow.STRING || id == arrow.BINARY {
			cb[2] = memory.NewBufferBytes(data)
		} else {
			cb = cb[:2]
		}
		d := array.NewData(f.Type, 1, cb, nil, nulls, 0)
		cols[c] = array.MakeFromData(d)
		d.Release()
	}
	if found && p != len(v) {
		release()
		return nil, ErrCorruptRow
	}
	rec := array.NewRecordBatch(schema, cols, 1)
	release()
	return rec, nil
}
