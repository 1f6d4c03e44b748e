package stream

import (
	"context"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
)

// The typed write path of a keyed view: when the view's key is one
// fixed-width column and its table offers state.FixedTable for that key
// layout (every value column fixed-width), a chunk without NULLs is
// written as key words and value words — no key encoding, no Arrow batch
// gathered for update pairs, and 8-byte value columns passed without a
// copy. A chunk with a NULL key or value takes the generic path; both
// write the same keys and rows.

// viewFixed is a keyed view's typed writer.
type viewFixed struct {
	fv    state.FixedView
	words func(a arrow.Array, dst []uint64) // key column → key words

	// Scratch reused across chunks.
	keys    []uint64
	ops     []state.Op
	src     [][]uint64 // applyFixed scratch: the value words before the moves
	cols    [][]uint64 // value words handed to WriteFixed
	wide    [][]uint64 // per column: widened or gathered words
	inPlace []bool     // per column: its words view the batch (8 bytes wide)
	keyType arrow.Type
	chunks  int // chunks written through the typed path
}

// newViewFixed returns the typed writer of a view keyed by column kc of
// type dt over table, or nil when the key type or the table does not
// allow it.
func newViewFixed(table state.Table, dt arrow.DataType, ncols int) *viewFixed {
	ft, ok := table.(state.FixedTable)
	if !ok {
		return nil
	}
	width, words := fixedKeyWords(dt)
	if words == nil {
		return nil
	}
	fv, ok := ft.Fixed(state.FixedKeyLayout{Prefix: keys.AppendMarker(nil), Width: width})
	if !ok {
		return nil
	}
	return &viewFixed{fv: fv, words: words, cols: make([][]uint64, ncols), wide: make([][]uint64, ncols), inPlace: make([]bool, ncols), keyType: dt.ID()}
}

// fixedKeyWords returns the key width and the function that turns a
// NULL-free key column of type dt into key words whose low width bytes,
// big-endian, are the column's memcomparable body as package keys encodes
// it; nil when dt has no fixed-width body.
func fixedKeyWords(dt arrow.DataType) (int, func(arrow.Array, []uint64)) {
	switch dt.ID() {
	case arrow.INT8:
		return 1, signedWords[int8]
	case arrow.INT16:
		return 2, signedWords[int16]
	case arrow.INT32, arrow.DATE32, arrow.TIME32:
		return 4, signedWords[int32]
	case arrow.INT64, arrow.DATE64, arrow.TIMESTAMP, arrow.TIME64, arrow.DURATION:
		return 8, signedWords[int64]
	case arrow.UINT8:
		return 1, unsignedWords[uint8]
	case arrow.UINT16:
		return 2, unsignedWords[uint16]
	case arrow.UINT32:
		return 4, unsignedWords[uint32]
	case arrow.UINT64:
		return 8, unsignedWords[uint64]
	case arrow.FLOAT32:
		return 8, func(a arrow.Array, dst []uint64) {
			for i, v := range rawValues[float32](a) {
				dst[i] = floatKeyWord(float64(v))
			}
		}
	case arrow.FLOAT64:
		return 8, func(a arrow.Array, dst []uint64) {
			for i, v := range rawValues[float64](a) {
				dst[i] = floatKeyWord(v)
			}
		}
	}
	return 0, nil
}

// signedWords: the sign bit flipped (keys.AppendInt64 and friends); the
// bits above the width are ignored by the layout.
func signedWords[T int8 | int16 | int32 | int64](a arrow.Array, dst []uint64) {
	sign := uint64(1) << (8*unsafe.Sizeof(T(0)) - 1)
	for i, v := range rawValues[T](a) {
		dst[i] = uint64(v) ^ sign
	}
}

func unsignedWords[T uint8 | uint16 | uint32 | uint64](a arrow.Array, dst []uint64) {
	for i, v := range rawValues[T](a) {
		dst[i] = uint64(v)
	}
}

// floatKeyWord is keys.AppendFloat64's body as a word.
func floatKeyWord(f float64) uint64 {
	var u uint64
	switch {
	case f != f:
		u = 0x7ff8000000000000
	case f == 0:
		u = 0
	default:
		u = math.Float64bits(f)
	}
	if u&(1<<63) != 0 {
		return ^u
	}
	return u | 1<<63
}

// rawValues views a fixed-width array's values (its offset applied) as a
// []T of its length.
func rawValues[T any](a arrow.Array) []T {
	d := a.Data()
	bufs := d.Buffers()
	if len(bufs) < 2 || bufs[1] == nil || a.Len() == 0 {
		return nil
	}
	raw := bufs[1].Bytes()
	var z T
	all := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/int(unsafe.Sizeof(z)))
	return all[d.Offset() : d.Offset()+a.Len()]
}

// valueWords sets x.cols to the value words of b's columns: 8-byte columns
// viewed in place, narrower ones widened into scratch. It reports false
// when a column holds a NULL or is not fixed-width.
func (x *viewFixed) valueWords(b arrow.RecordBatch) bool {
	n := int(b.NumRows())
	for j, col := range b.Columns() {
		if col.NullN() > 0 {
			return false
		}
		switch w := valueWidth(col.DataType()); w {
		case 8:
			x.cols[j], x.inPlace[j] = rawValues[uint64](col), true
		case 4:
			x.cols[j] = widen(x, j, rawValues[uint32](col), n)
		case 2:
			x.cols[j] = widen(x, j, rawValues[uint16](col), n)
		case 1:
			x.cols[j] = widen(x, j, rawValues[uint8](col), n)
		default:
			return false
		}
	}
	return true
}

func widen[T uint8 | uint16 | uint32](x *viewFixed, j int, v []T, n int) []uint64 {
	out := grow(x.wide[j], n)
	x.wide[j], x.inPlace[j] = out, false
	for i, w := range v[:n] {
		out[i] = uint64(w)
	}
	return out
}

// valueWidth is the byte width of a fixed-width value type (0: other).
func valueWidth(dt arrow.DataType) int {
	switch dt.ID() {
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

// applyFixed writes a keyed view's chunk through the typed path, with the
// same update-pair folding as applyKeyed. It reports false (having written
// nothing) when the chunk holds a NULL.
func (m *Materialize) applyFixed(ctx context.Context, c *Chunk) (bool, error) {
	x := m.fixed
	kcol := c.Batch.Column(m.keyCols[0])
	if kcol.NullN() > 0 || kcol.DataType().ID() != x.keyType || !x.valueWords(c.Batch) {
		return false, nil
	}
	x.chunks++
	n := len(c.Ops)
	ks := grow(x.keys, n)
	x.keys = ks
	x.words(kcol, ks)
	cops := c.Ops[:n]
	ops := grow(x.ops, n)[:n]
	x.ops = ops
	// Rows before the first update pair stay where they are.
	i := 0
	for ; i < n; i++ {
		op := cops[i]
		if removes(op) && i+1 < n && !removes(cops[i+1]) && ks[i] == ks[i+1] {
			break
		}
		ops[i] = state.OpPut
		if removes(op) {
			ops[i] = state.OpDelete
		}
	}
	if i == n {
		return true, x.fv.WriteFixed(ctx, ks, ops, x.cols)
	}
	// From the first pair on, one pass folds each pair into its insert
	// and moves the kept rows' keys and values down (a row moves down or
	// stays, so widened columns compact in place; columns viewing the
	// batch are copied into their own buffers).
	src := grow(x.src, len(x.cols))
	x.src = src
	for j, col := range x.cols {
		src[j] = col
		if x.inPlace[j] {
			dst := grow(x.wide[j], n)
			copy(dst[:i], col[:i])
			x.wide[j], x.inPlace[j], x.cols[j] = dst, false, dst
		}
	}
	out := i
	if len(src) == 2 {
		// A key and one value column (an aggregate's view of one call).
		s0, d0 := src[0][:n], x.cols[0][:n]
		s1, d1 := src[1][:n], x.cols[1][:n]
		for ; i < n; i++ {
			op := cops[i]
			if removes(op) && i+1 < n && !removes(cops[i+1]) && ks[i] == ks[i+1] {
				i++
				op = cops[i]
			}
			ks[out] = ks[i]
			d0[out], d1[out] = s0[i], s1[i]
			ops[out] = state.OpPut
			if removes(op) {
				ops[out] = state.OpDelete
			}
			out++
		}
	} else {
		for ; i < n; i++ {
			op := cops[i]
			if removes(op) && i+1 < n && !removes(cops[i+1]) && ks[i] == ks[i+1] {
				i++
				op = cops[i]
			}
			ks[out] = ks[i]
			for j, s := range src {
				x.cols[j][out] = s[i]
			}
			ops[out] = state.OpPut
			if removes(op) {
				ops[out] = state.OpDelete
			}
			out++
		}
	}
	for j := range x.cols {
		x.cols[j] = x.cols[j][:out]
	}
	clear(src)
	return true, x.fv.WriteFixed(ctx, ks[:out], ops[:out], x.cols)
}

// removes reports whether op takes a row out of the view (Delete,
// UpdateDelete): Op.Sign() < 0 as one unsigned compare.
func removes(op Op) bool { return uint8(op-Delete) <= uint8(UpdateDelete-Delete) }
