package agg

import (
	"encoding/binary"
	"math/big"

	"github.com/sabotsql/sabotsql/exec/kernels/statecodec"
)

// Group state encodings (kernels.GroupStater). Every encoding starts with
// a version byte, stateV1; integers are zigzag varints (binary.AppendVarint)
// unless noted, counts of following items are uvarints, and the whole
// input must be consumed. See doc.go for the per-aggregate layouts.
const stateV1 = statecodec.V1

// errCorrupt is the XX001 error of a malformed group state.
func errCorrupt(what string) error { return statecodec.Corrupt("", what) }

// stateReader decodes a group state (statecodec.Reader) and adds the
// decoders of this package's composite fields.
type stateReader struct{ statecodec.Reader }

// newStateReader starts decoding src and reads its version byte.
func newStateReader(src []byte) *stateReader {
	r := &stateReader{}
	r.Init("", src)
	return r
}

// newRawStateReader decodes src with no version byte.
func newRawStateReader(src []byte) *stateReader {
	r := &stateReader{}
	r.InitRaw("", src)
	return r
}

// Counts of special inputs (NaN, infinities, -0): a flag byte, then
// when it is hasSpecials the counts as varints; 0 when all are zero.
const hasSpecials = 1

func appendSpecials(dst []byte, counts ...int64) []byte {
	var or int64
	for _, c := range counts {
		or |= c
	}
	if or == 0 {
		return append(dst, 0)
	}
	dst = append(dst, hasSpecials)
	for _, c := range counts {
		dst = binary.AppendVarint(dst, c)
	}
	return dst
}

// specials decodes appendSpecials' output into counts, reading each with
// read (Varint, or NonNeg where counts must not be negative).
func (r *stateReader) specials(read func() int64, counts ...*int64) {
	switch r.Byte() {
	case 0:
	case hasSpecials:
		for _, c := range counts {
			*c = read()
		}
	default:
		r.Fail("bad flags")
	}
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
	switch kind := r.Byte(); kind {
	case bigSmall:
		z.SetInt64(r.Varint())
	case bigPos, bigNeg:
		b := r.Bytes()
		if len(b) > maxBigBytes {
			r.Fail("integer too large")
			return
		}
		if len(b) == 0 || b[0] == 0 {
			r.Fail("non-canonical integer")
			return
		}
		z.SetBytes(b)
		if kind == bigNeg {
			z.Neg(z)
		}
	default:
		r.Fail("bad integer kind")
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
	switch r.Byte() {
	case esZero:
	case esWide:
		s.exp = r.Int32(-maxSumExp, maxSumExp)
		s.hi = r.Varint()
		s.lo = uint64(r.Varint())
		if r.Err() == nil && bitLen128(s.hi, s.lo) > wideLimit+1 {
			r.Fail("128-bit sum too wide")
		}
	case esBig:
		s.exp = r.Int32(-maxSumExp, maxSumExp)
		s.big = new(big.Int)
		r.bigInt(s.big)
	default:
		r.Fail("bad sum kind")
	}
}
