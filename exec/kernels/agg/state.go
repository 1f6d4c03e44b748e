package agg

import (
	"encoding/binary"
	"math/big"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Group state encodings (kernels.GroupStater). Every encoding starts with
// a version byte, stateV1; integers are zigzag varints (binary.AppendVarint)
// unless noted, counts of following items are uvarints, and the whole
// input must be consumed. See doc.go for the per-aggregate layouts.
const stateV1 = 1

// errCorrupt is the XX001 error of a malformed group state.
func errCorrupt(what string) error {
	return pgerror.New(pgerror.DataCorrupted, "aggregate state is corrupt: %s", what)
}

// stateReader decodes a group state. The first failure is kept in err;
// later reads return zero values, so a decoder checks err once at the end
// (and before any allocation sized from the input, through count).
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) fail(what string) {
	if r.err == nil {
		r.err = errCorrupt(what)
	}
	r.b = nil
}

// version reads and checks the version byte.
func (r *stateReader) version() {
	if r.byte() != stateV1 && r.err == nil {
		r.fail("unknown version")
	}
}

func (r *stateReader) byte() byte {
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *stateReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items that take at least minBytes each, bounded
// by the input left (so a corrupt count cannot make a huge allocation).
func (r *stateReader) count(minBytes int) int {
	v := r.uvarint()
	if r.err != nil {
		return 0
	}
	if v > uint64(len(r.b)/max(minBytes, 1)) {
		r.fail("count exceeds input")
		return 0
	}
	return int(v)
}

func (r *stateReader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// bytes reads a uvarint length and that many bytes (aliasing the input).
func (r *stateReader) bytes() []byte {
	n := r.count(1)
	if r.err != nil {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// nonNeg reads a varint that must be >= 0 (a count of live inputs).
func (r *stateReader) nonNeg() int64 {
	v := r.varint()
	if v < 0 {
		r.fail("negative count")
		return 0
	}
	return v
}

// int32v reads a varint that must fit an int32 in [lo, hi].
func (r *stateReader) int32v(lo, hi int32) int32 {
	v := r.varint()
	if v < int64(lo) || v > int64(hi) {
		r.fail("value out of range")
		return 0
	}
	return int32(v)
}

// done reports the first failure, or trailing bytes.
func (r *stateReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	return r.err
}

// newStateReader starts decoding src and reads its version byte.
func newStateReader(src []byte) *stateReader {
	r := &stateReader{b: src}
	r.version()
	return r
}

// Big integers: a kind byte, then
//
//	0  varint value (fits an int64)
//	1  positive: uvarint length, big-endian magnitude
//	2  negative: uvarint length, big-endian magnitude
const (
	bigSmall = 0
	bigPos   = 1
	bigNeg   = 2
)

// maxBigBytes bounds a decoded big integer (far above any real state).
const maxBigBytes = 1 << 20

func appendBigInt(dst []byte, z *big.Int) []byte {
	if z.IsInt64() {
		return binary.AppendVarint(append(dst, bigSmall), z.Int64())
	}
	kind := byte(bigPos)
	if z.Sign() < 0 {
		kind = bigNeg
	}
	dst = append(dst, kind)
	n := (z.BitLen() + 7) / 8
	dst = binary.AppendUvarint(dst, uint64(n))
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	z.FillBytes(dst[start:]) // FillBytes writes |z|
	return dst
}

func (r *stateReader) bigInt(z *big.Int) {
	switch kind := r.byte(); kind {
	case bigSmall:
		z.SetInt64(r.varint())
	case bigPos, bigNeg:
		b := r.bytes()
		if len(b) > maxBigBytes {
			r.fail("integer too large")
			return
		}
		if len(b) == 0 || b[0] == 0 {
			r.fail("non-canonical integer")
			return
		}
		z.SetBytes(b)
		if kind == bigNeg {
			z.Neg(z)
		}
	default:
		r.fail("bad integer kind")
	}
}

// exactSum: a kind byte, then
//
//	0  zero (nothing follows; the exponent is reset, which no result
//	   depends on)
//	1  128-bit: varint exponent, varint high word, varint low word
//	2  big: varint exponent, big integer (appendBigInt)
const (
	esZero = 0
	esWide = 1
	esBig  = 2
)

// maxSumExp bounds a decoded exactSum exponent: float64 terms have
// exponents in [-1074, 971], squares twice that.
const maxSumExp = 4400

func appendExactSum(dst []byte, s *exactSum) []byte {
	switch {
	case s.big != nil:
		dst = binary.AppendVarint(append(dst, esBig), int64(s.exp))
		return appendBigInt(dst, s.big)
	case s.hi == 0 && s.lo == 0:
		return append(dst, esZero)
	}
	dst = binary.AppendVarint(append(dst, esWide), int64(s.exp))
	dst = binary.AppendVarint(dst, s.hi)
	return binary.AppendVarint(dst, int64(s.lo))
}

func (r *stateReader) exactSum(s *exactSum) {
	*s = exactSum{}
	switch r.byte() {
	case esZero:
	case esWide:
		s.exp = r.int32v(-maxSumExp, maxSumExp)
		s.hi = r.varint()
		s.lo = uint64(r.varint())
		if r.err == nil && bitLen128(s.hi, s.lo) > wideLimit+1 {
			r.fail("128-bit sum too wide")
		}
	case esBig:
		s.exp = r.int32v(-maxSumExp, maxSumExp)
		s.big = new(big.Int)
		r.bigInt(s.big)
	default:
		r.fail("bad sum kind")
	}
}
