package statecodec

import (
	"encoding/binary"
	"math"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// V1 is the version byte every group state starts with.
const V1 = 1

// Corrupt is the XX001 error of a malformed group state of aggregate fn
// (fn may be empty when the caller's context names it). It is kept out of
// line: inlined into the readers' failure paths, the error's construction
// made every successful read pay for its stack frame (3x on small states).
//
//go:noinline
func Corrupt(fn, what string) error {
	if fn == "" {
		return pgerror.New(pgerror.DataCorrupted, "aggregate state is corrupt: %s", what)
	}
	return pgerror.New(pgerror.DataCorrupted, "%s: aggregate state is corrupt: %s", fn, what)
}

// Writer appends a group state to B.
type Writer struct{ B []byte }

// NewWriter appends the version byte to dst.
func NewWriter(dst []byte) Writer { return Writer{B: append(dst, V1)} }

// NewTagWriter appends the version byte and an accumulator tag to dst.
func NewTagWriter(dst []byte, tag byte) Writer { return Writer{B: append(dst, V1, tag)} }

// Byte appends one byte.
func (w *Writer) Byte(c byte) { w.B = append(w.B, c) }

// Varint appends a zigzag varint.
func (w *Writer) Varint(v int64) { w.B = binary.AppendVarint(w.B, v) }

// Uvarint appends an unsigned varint.
func (w *Writer) Uvarint(v uint64) { w.B = binary.AppendUvarint(w.B, v) }

// U64 appends 8 little-endian bytes.
func (w *Writer) U64(v uint64) { w.B = binary.LittleEndian.AppendUint64(w.B, v) }

// F64 appends the IEEE bits of v (NaN payloads and signed zeros survive).
func (w *Writer) F64(v float64) { w.U64(math.Float64bits(v)) }

// Bool appends one byte, 0 or 1.
func (w *Writer) Bool(v bool) {
	if v {
		w.B = append(w.B, 1)
	} else {
		w.B = append(w.B, 0)
	}
}

// Bytes appends a uvarint length and p.
func (w *Writer) Bytes(p []byte) {
	w.B = binary.AppendUvarint(w.B, uint64(len(p)))
	w.B = append(w.B, p...)
}

// Reader decodes a group state; see the package invariants.
type Reader struct {
	fn  string
	b   []byte
	err error
}

// Init starts decoding src and checks its version byte; fn names the
// aggregate in errors (may be empty). Readers are initialized in place,
// field by field: returning or assigning the whole struct compiled to
// overlapping copies that stalled store forwarding, which cost more than
// decoding a small state.
func (r *Reader) Init(fn string, src []byte) {
	r.fn, r.b, r.err = fn, src, nil
	if len(src) == 0 || src[0] != V1 {
		r.badVersion()
		return
	}
	r.b = src[1:]
}

// badVersion fails Init's version check (out of line, so Init inlines).
func (r *Reader) badVersion() {
	if len(r.b) == 0 {
		r.Fail("truncated")
	} else {
		r.Fail("unknown version")
	}
}

// InitTag starts decoding src and checks its version and tag bytes.
func (r *Reader) InitTag(fn string, src []byte, tag byte) {
	r.fn, r.b, r.err = fn, src, nil
	switch {
	case len(src) < 2:
		r.Fail("truncated header")
	case src[0] != V1:
		r.Fail("unknown version")
	case src[1] != tag:
		r.Fail("state of another aggregate")
	default:
		r.b = src[2:]
	}
}

// InitRaw starts decoding src with no header (a nested field's bytes).
func (r *Reader) InitRaw(fn string, src []byte) { r.fn, r.b, r.err = fn, src, nil }

// Fail records what as the error unless one is already kept, and drops
// the rest of the input.
func (r *Reader) Fail(what string) {
	if r.err == nil {
		r.err = Corrupt(r.fn, what)
	}
	r.b = nil
}

// Err is the first failure, or nil.
func (r *Reader) Err() error { return r.err }

// Rest is the input not yet read (aliasing it).
func (r *Reader) Rest() []byte { return r.b }

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.b) == 0 {
		r.Fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Fixed reads n >= 0 bytes (aliasing the input). On failure it returns n
// zero bytes, so a fixed-width decoder may index the result unchecked.
func (r *Reader) Fixed(n int) []byte {
	if len(r.b) < n {
		r.Fail("truncated")
		return make([]byte, n)
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// Varint reads a zigzag varint.
func (r *Reader) Varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.Fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.Fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Count reads a uvarint count of items that take at least minBytes each,
// bounded by the input left (so a corrupt count cannot make a huge
// allocation).
func (r *Reader) Count(minBytes int) int {
	v := r.Uvarint()
	if r.err != nil {
		return 0
	}
	if v > uint64(len(r.b)/max(minBytes, 1)) {
		r.Fail("count exceeds input")
		return 0
	}
	return int(v)
}

// U64 reads 8 little-endian bytes.
func (r *Reader) U64() uint64 {
	if len(r.b) < 8 {
		r.Fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// F64 reads the IEEE bits of a float64.
func (r *Reader) F64() float64 { return math.Float64frombits(r.U64()) }

// Bool reads one byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	c := r.Byte()
	if c > 1 {
		r.Fail("bad boolean")
	}
	return c == 1
}

// Bytes reads a uvarint length and that many bytes (aliasing the input).
func (r *Reader) Bytes() []byte {
	n := r.Count(1)
	if r.err != nil {
		return nil
	}
	return r.Fixed(n)
}

// NonNeg reads a varint that must be >= 0 (a count of live inputs).
func (r *Reader) NonNeg() int64 {
	v := r.Varint()
	if v < 0 {
		r.Fail("negative count")
		return 0
	}
	return v
}

// Int32 reads a varint that must lie in [lo, hi].
func (r *Reader) Int32(lo, hi int32) int32 {
	v := r.Varint()
	if v < int64(lo) || v > int64(hi) {
		r.Fail("value out of range")
		return 0
	}
	return int32(v)
}

// Check fails with what unless ok; it does nothing after a failure (so
// ok may be computed from zero values).
func (r *Reader) Check(ok bool, what string) {
	if r.err == nil && !ok {
		r.Fail(what)
	}
}

// Done reports the first failure, or trailing bytes.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) != 0 {
		r.Fail("trailing bytes")
	}
	return r.err
}
