package state

import (
	"encoding/binary"
	"math"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// memCol stores one value column of a MemoryTable, one value per version
// slot. The table's locks guard it.
type memCol interface {
	// prepare returns the arena bytes putting column a (rows whose op is
	// OpPut) will add; put follows with the same array.
	prepare(a arrow.Array, ops []Op) int64
	// put stores row i of a in slot dst[i] (skipping dst[i] < 0).
	put(dst []int32, a arrow.Array)
	// gather builds the array of the slots' values (src[i] < 0: NULL).
	gather(alloc memory.Allocator, src []int32) (arrow.Array, error)
	// resize makes room for n slots.
	resize(n int)
	// clear forgets the values of slots ss (they were freed).
	clear(ss []int32)
	// slotBytes is the fixed bytes per slot; arenaBytes the arena's size.
	slotBytes() int64
	arenaBytes() int64
	// compact rewrites the arena once half of it, and at least min bytes,
	// are garbage.
	compact(nslots int, min int64)
}

func newMemCol(f arrow.Field) (memCol, error) {
	switch w := bodyWidth(f.Type.ID()); {
	case w == 1:
		return &fixedCol[uint8]{dt: f.Type}, nil
	case w == 2:
		return &fixedCol[uint16]{dt: f.Type}, nil
	case w == 4:
		return &fixedCol[uint32]{dt: f.Type}, nil
	case w == 8:
		return &fixedCol[uint64]{dt: f.Type}, nil
	}
	switch f.Type.ID() {
	case arrow.BOOL:
		return &boolCol{}, nil
	case arrow.STRING, arrow.BINARY:
		return &varCol{dt: f.Type}, nil
	}
	sch := arrow.NewSchema([]arrow.Field{f}, nil)
	codec, err := NewRowCodec(sch)
	if err != nil {
		return nil, err
	}
	return &encCol{codec: codec}, nil
}

// validity returns the Arrow validity bitmap of n rows whose row i is
// valid when ok(i); nil when every row is.
func validity(n, nulls int, ok func(i int) bool) []byte {
	if nulls == 0 {
		return nil
	}
	v := make([]byte, bitutil.BytesForBits(int64(n)))
	for i := 0; i < n; i++ {
		if ok(i) {
			bitutil.SetBit(v, i)
		}
	}
	return v
}

// fixedCol holds a fixed-width column as a plain slice; valid stays nil
// until the column first stores a NULL.
type fixedCol[T uint8 | uint16 | uint32 | uint64] struct {
	dt    arrow.DataType
	vals  segArr[T]
	valid segArr[bool] // n == 0 until the first NULL
}

func (c *fixedCol[T]) prepare(arrow.Array, []Op) int64 { return 0 }

func (c *fixedCol[T]) put(dst []int32, a arrow.Array) {
	d := a.Data()
	var src []T
	if buf := d.Buffers()[1]; buf != nil && buf.Len() > 0 {
		raw := buf.Bytes()
		var z T
		src = unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/int(unsafe.Sizeof(z)))
		src = src[d.Offset():]
	}
	if a.NullN() == 0 {
		src = src[:len(dst)]
		if c.valid.n == 0 && len(c.vals.s) == 1 {
			// One segment: index it as a plain slice.
			flat := c.vals.s[0]
			for i, s := range dst {
				if s >= 0 {
					flat[s] = src[i]
				}
			}
			return
		}
		if c.valid.n == 0 {
			for i, s := range dst {
				if s >= 0 {
					c.vals.set(s, src[i])
				}
			}
			return
		}
		for i, s := range dst {
			if s >= 0 {
				c.vals.set(s, src[i])
				c.valid.set(s, true)
			}
		}
		return
	}
	if c.valid.n == 0 {
		c.valid.resize(c.vals.n)
		for i := range int32(c.vals.n) {
			c.valid.set(i, true)
		}
	}
	for i, s := range dst {
		if s < 0 {
			continue
		}
		if a.IsValid(i) {
			c.vals.set(s, src[i])
			c.valid.set(s, true)
		} else {
			c.vals.set(s, 0)
			c.valid.set(s, false)
		}
	}
}

func (c *fixedCol[T]) gather(_ memory.Allocator, src []int32) (arrow.Array, error) {
	n := len(src)
	out := make([]T, n)
	nulls := 0
	if c.valid.n == 0 && len(c.vals.s) == 1 {
		flat := c.vals.s[0]
		for i, s := range src {
			if s >= 0 {
				out[i] = flat[s]
			} else {
				nulls++
			}
		}
	} else if c.valid.n == 0 {
		for i, s := range src {
			if s >= 0 {
				out[i] = c.vals.get(s)
			} else {
				nulls++
			}
		}
	} else {
		for i, s := range src {
			if s >= 0 && c.valid.get(s) {
				out[i] = c.vals.get(s)
			} else {
				nulls++
			}
		}
	}
	valid := validity(n, nulls, func(i int) bool { return src[i] >= 0 && (c.valid.n == 0 || c.valid.get(src[i])) })
	var z T
	body := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), n*int(unsafe.Sizeof(z)))
	return makeArray(c.dt, n, nulls, valid, body, nil), nil
}

func (c *fixedCol[T]) resize(n int) {
	c.vals.resize(n)
	if c.valid.n != 0 {
		c.valid.resize(n)
	}
}

func (c *fixedCol[T]) clear([]int32) {}

func (c *fixedCol[T]) slotBytes() int64 {
	var z T
	n := int64(unsafe.Sizeof(z))
	if c.valid.n != 0 {
		n++
	}
	return n
}

func (c *fixedCol[T]) arenaBytes() int64  { return 0 }
func (c *fixedCol[T]) compact(int, int64) {}

// boolCol holds a boolean column a byte per slot: 0 false, 1 true, 2 NULL.
type boolCol struct{ vals segArr[uint8] }

func (c *boolCol) prepare(arrow.Array, []Op) int64 { return 0 }

func (c *boolCol) put(dst []int32, a arrow.Array) {
	b := a.(*array.Boolean)
	for i, s := range dst {
		switch {
		case s < 0:
		case b.IsNull(i):
			c.vals.set(s, 2)
		case b.Value(i):
			c.vals.set(s, 1)
		default:
			c.vals.set(s, 0)
		}
	}
}

func (c *boolCol) gather(_ memory.Allocator, src []int32) (arrow.Array, error) {
	n := len(src)
	body := make([]byte, bitutil.BytesForBits(int64(n)))
	nulls := 0
	for i, s := range src {
		switch {
		case s < 0 || c.vals.get(s) == 2:
			nulls++
		case c.vals.get(s) == 1:
			bitutil.SetBit(body, i)
		}
	}
	valid := validity(n, nulls, func(i int) bool { return src[i] >= 0 && c.vals.get(src[i]) != 2 })
	return makeArray(arrow.FixedWidthTypes.Boolean, n, nulls, valid, body, nil), nil
}

func (c *boolCol) resize(n int)       { c.vals.resize(n) }
func (c *boolCol) clear([]int32)      {}
func (c *boolCol) slotBytes() int64   { return 1 }
func (c *boolCol) arenaBytes() int64  { return 0 }
func (c *boolCol) compact(int, int64) {}

// varRef locates a value in an arena; n == nullRef marks NULL.
type varRef struct {
	off uint64
	n   uint32
}

const nullRef = math.MaxUint32

// arena is an append-only byte store whose overwritten values become
// garbage until compact rewrites it.
type arena struct {
	refs    segArr[varRef]
	data    []byte
	garbage int64
}

// set stores v as slot s's value: over the old value when it fits (a
// slot is only written while no reader can see it), else appended.
func (r *arena) set(s int32, v []byte) {
	ref := r.refs.at(s)
	if old := ref.n; old != nullRef {
		if uint32(len(v)) <= old {
			copy(r.data[ref.off:ref.off+uint64(old)], v)
			ref.n = uint32(len(v))
			r.garbage += int64(old) - int64(len(v))
			return
		}
		r.garbage += int64(old)
	}
	*ref = varRef{off: uint64(len(r.data)), n: uint32(len(v))}
	r.data = append(r.data, v...)
}

func (r *arena) setNull(s int32) {
	if old := r.refs.at(s).n; old != nullRef {
		r.garbage += int64(old)
	}
	r.refs.set(s, varRef{n: nullRef})
}

func (r *arena) get(s int32) ([]byte, bool) {
	ref := r.refs.get(s)
	if ref.n == nullRef {
		return nil, false
	}
	return r.data[ref.off : ref.off+uint64(ref.n) : ref.off+uint64(ref.n)], true
}

func (r *arena) resize(n int) {
	old := r.refs.n
	r.refs.resize(n)
	for i := old; i < n; i++ {
		r.refs.set(int32(i), varRef{n: nullRef})
	}
}

func (r *arena) clear(ss []int32) {
	for _, s := range ss {
		r.setNull(s)
	}
}
func (r *arena) slotBytes() int64  { return int64(unsafe.Sizeof(varRef{})) }
func (r *arena) arenaBytes() int64 { return int64(len(r.data)) }
func (r *arena) compact(nslots int, min int64) {
	if r.garbage < min || r.garbage*2 < int64(len(r.data)) {
		return
	}
	data := make([]byte, 0, int64(len(r.data))-r.garbage)
	for s := range int32(nslots) {
		if ref := r.refs.at(s); ref.n != nullRef {
			old := ref.off
			ref.off = uint64(len(data))
			data = append(data, r.data[old:old+uint64(ref.n)]...)
		}
	}
	r.data, r.garbage = data, 0
}

// varCol holds a string or binary column in an arena.
type varCol struct {
	dt arrow.DataType
	arena
}

// strGetter reads value i of a string or binary array without copying.
func strGetter(a arrow.Array) func(i int) string {
	if s, ok := a.(*array.String); ok {
		return s.Value
	}
	return a.(*array.Binary).ValueString
}

// varBuffers returns the offsets (len+1, relative to the array's slice)
// and the value bytes of a string or binary array.
func varBuffers(a arrow.Array) ([]int32, []byte) {
	if s, ok := a.(*array.String); ok {
		return s.ValueOffsets(), s.ValueBytes()
	}
	b := a.(*array.Binary)
	return b.ValueOffsets(), b.ValueBytes()
}

func (c *varCol) prepare(a arrow.Array, ops []Op) int64 {
	offs, _ := varBuffers(a)
	n := a.Len()
	if n == 0 {
		return 0
	}
	if ops == nil && a.NullN() == 0 {
		return int64(offs[n] - offs[0])
	}
	var total int64
	for i := range n {
		if (ops == nil || ops[i] == OpPut) && a.IsValid(i) {
			total += int64(offs[i+1] - offs[i])
		}
	}
	return total
}

func (c *varCol) put(dst []int32, a arrow.Array) {
	offs, data := varBuffers(a)
	if len(dst) == 0 {
		return
	}
	offs = offs[:len(dst)+1]
	base := offs[0]
	hasNulls := a.NullN() > 0
	for i, s := range dst {
		switch {
		case s < 0:
		case hasNulls && a.IsNull(i):
			c.setNull(s)
		default:
			c.set(s, data[offs[i]-base:offs[i+1]-base])
		}
	}
}

func (c *varCol) gather(_ memory.Allocator, src []int32) (arrow.Array, error) {
	n := len(src)
	total, nulls := 0, 0
	for _, s := range src {
		if s >= 0 && c.refs.at(s).n != nullRef {
			total += int(c.refs.at(s).n)
		} else {
			nulls++
		}
	}
	if total > math.MaxInt32 {
		return nil, pgerror.New(pgerror.ProgramLimitExceeded, "state lookup result of %d bytes exceeds the 2 GiB column limit", total)
	}
	offs := make([]int32, n+1)
	// Values of up to 8 bytes move as one word load and store where both
	// buffers have 8 bytes from the position on (data has 8 bytes of
	// slack; the arena is read up to its capacity); the store's excess is
	// overwritten by the next value or lies beyond the array.
	buf := make([]byte, total+8)
	pos, refs, arena := 0, &c.refs, c.data[:cap(c.data)]
	for i, s := range src {
		offs[i] = int32(pos)
		if s < 0 {
			continue
		}
		r := refs.get(s)
		if r.n == nullRef {
			continue
		}
		if r.n <= 8 && r.off+8 <= uint64(len(arena)) && pos+8 <= len(buf) {
			binary.LittleEndian.PutUint64(buf[pos:], binary.LittleEndian.Uint64(arena[r.off:]))
			pos += int(r.n)
			continue
		}
		pos += copy(buf[pos:], arena[r.off:r.off+uint64(r.n)])
	}
	offs[n] = int32(pos)
	data := buf[:total:total]
	valid := validity(n, nulls, func(i int) bool { return src[i] >= 0 && c.refs.at(src[i]).n != nullRef })
	return makeArray(c.dt, n, nulls, valid, arrow.Int32Traits.CastToBytes(offs), data), nil
}

// encCol holds a column of any other type as RowCodec encodings of its
// values (flag byte and body) in an arena.
type encCol struct {
	codec   *RowCodec
	scratch []byte
	offs    []int
	skip    []bool
	arena
}

func (c *encCol) prepare(a arrow.Array, ops []Op) int64 {
	n := a.Len()
	rec := array.NewRecordBatch(c.codec.schema, []arrow.Array{a}, int64(n))
	defer rec.Release()
	var skip []bool
	if ops != nil {
		skip = slices.Grow(c.skip[:0], n)[:n]
		c.skip = skip
		for i, op := range ops {
			skip[i] = op != OpPut
		}
	}
	c.offs = slices.Grow(c.offs[:0], n+1)[:n+1]
	c.scratch = c.codec.EncodeRows(c.scratch[:0], rec, skip, c.offs)
	return int64(len(c.scratch))
}

func (c *encCol) put(dst []int32, _ arrow.Array) {
	for i, s := range dst {
		if s >= 0 {
			c.set(s, c.scratch[c.offs[i]:c.offs[i+1]])
		}
	}
}

func (c *encCol) gather(alloc memory.Allocator, src []int32) (arrow.Array, error) {
	vals := make([][]byte, len(src))
	found := make([]bool, len(src))
	for i, s := range src {
		if s >= 0 {
			vals[i], found[i] = c.get(s)
		}
	}
	rec, err := BuildRows(alloc, c.codec, vals, found)
	if err != nil {
		return nil, err
	}
	col := rec.Column(0)
	col.Retain()
	rec.Release()
	return col, nil
}
