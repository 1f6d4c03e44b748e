package agg

import (
	"math"
	"math/big"
	"math/bits"
)

// exactSum is an exact sum of binary floating-point terms: the value is
// v × 2^exp, where v is a signed 128-bit integer (hi:lo) or, once that is
// too narrow, the big.Int big. Every finite float64 is m × 2^k for integers
// m, k, so adding one shifts m to the state's exponent (lowering exp first
// when k < exp) and adds: no rounding ever happens, and subtracting a term
// restores exactly the value the state had without it. The state's
// exponent only decreases; its width grows with the spread between the
// largest and smallest magnitudes added (at most ~2100 bits for float64,
// ~4300 for squares).
type exactSum struct {
	lo  uint64
	hi  int64
	big *big.Int // when non-nil, the value (hi:lo unused)
	exp int32
}

// wideLimit is the largest magnitude bit length kept in hi:lo before an
// addition, so that the sum of two such values cannot overflow 128 bits.
const wideLimit = 124

func (s *exactSum) isZero() bool {
	if s.big != nil {
		return s.big.Sign() == 0
	}
	return s.lo == 0 && s.hi == 0
}

// neg128 negates a two's complement 128-bit integer.
func neg128(hi int64, lo uint64) (int64, uint64) {
	lo2 := ^lo + 1
	hi2 := ^hi
	if lo2 == 0 {
		hi2++
	}
	return hi2, lo2
}

// bitLen128 is the bit length of |hi:lo|.
func bitLen128(hi int64, lo uint64) int {
	if hi < 0 {
		hi, lo = neg128(hi, lo)
	}
	if hi != 0 {
		return 64 + bits.Len64(uint64(hi))
	}
	return bits.Len64(lo)
}

// lsh128 shifts hi:lo left by n < 128 bits (the caller checked it fits).
func lsh128(hi int64, lo uint64, n uint) (int64, uint64) {
	switch {
	case n == 0:
		return hi, lo
	case n < 64:
		return hi<<n | int64(lo>>(64-n)), lo << n
	default:
		return int64(lo << (n - 64)), 0
	}
}

// setInt128 sets z to hi:lo.
func setInt128(z *big.Int, hi int64, lo uint64) *big.Int {
	if hi == int64(lo)>>63 {
		return z.SetInt64(int64(lo))
	}
	neg := hi < 0
	if neg {
		hi, lo = neg128(hi, lo)
	}
	z.SetUint64(uint64(hi))
	z.Lsh(z, 64)
	z.Or(z, new(big.Int).SetUint64(lo))
	if neg {
		z.Neg(z)
	}
	return z
}

// promote moves the value from hi:lo into big.
func (s *exactSum) promote() {
	s.big = setInt128(new(big.Int), s.hi, s.lo)
	s.hi, s.lo = 0, 0
}

// lower rescales the state to exponent s.exp-d (d > 0).
func (s *exactSum) lower(d uint) {
	if s.big == nil {
		if bitLen128(s.hi, s.lo)+int(d) <= wideLimit {
			s.hi, s.lo = lsh128(s.hi, s.lo, d)
			s.exp -= int32(d)
			return
		}
		s.promote()
	}
	s.big.Lsh(s.big, d)
	s.exp -= int32(d)
}

// add adds vhi:vlo × 2^k (|v| < 2^107). scratch is reused between calls.
func (s *exactSum) add(vhi int64, vlo uint64, k int32, scratch *big.Int) {
	if vhi == 0 && vlo == 0 {
		return
	}
	if s.isZero() {
		s.big = nil
		s.hi, s.lo, s.exp = vhi, vlo, k
		return
	}
	if k < s.exp {
		s.lower(uint(s.exp - k))
	}
	sh := uint(k - s.exp)
	if s.big == nil {
		if bitLen128(vhi, vlo)+int(sh) <= wideLimit && bitLen128(s.hi, s.lo) <= wideLimit {
			h, l := lsh128(vhi, vlo, sh)
			var c uint64
			s.lo, c = bits.Add64(s.lo, l, 0)
			s.hi += h + int64(c)
			return
		}
		s.promote()
	}
	setInt128(scratch, vhi, vlo)
	scratch.Lsh(scratch, sh)
	s.big.Add(s.big, scratch)
}

// addSmall adds m × 2^k (|m| < 2^53): add with the common case inlined —
// the state is 128-bit, at most 2^122 in magnitude, and m shifted to its
// exponent fits in 117 bits, so the sum cannot overflow.
func (s *exactSum) addSmall(m int64, k int32, scratch *big.Int) {
	if s.big == nil && k >= s.exp && s.hi < 1<<58 && s.hi > -(1<<58) && (s.hi != 0 || s.lo != 0) {
		if sh := uint(k - s.exp); sh <= 64 {
			var h int64
			var l uint64
			switch {
			case sh == 0:
				h, l = m>>63, uint64(m)
			case sh < 64:
				h, l = m>>(64-sh), uint64(m)<<sh
			default:
				h, l = m, 0
			}
			var c uint64
			s.lo, c = bits.Add64(s.lo, l, 0)
			s.hi += h + int64(c)
			return
		}
	}
	s.add(m>>63, uint64(m), k, scratch)
}

// int returns the state's integer (v of v × 2^exp), in z unless it is big.
func (s *exactSum) int(z *big.Int) *big.Int {
	if s.big != nil {
		return s.big
	}
	return setInt128(z, s.hi, s.lo)
}

// float64 returns the value rounded once to the nearest float64 (ties to
// even; ±Inf beyond the range).
func (s *exactSum) float64() float64 {
	if s.big == nil && s.hi == int64(s.lo)>>63 {
		v := int64(s.lo)
		if v == 0 {
			return 0
		}
		// |v| ≤ 2^53 converts exactly; the result is a normal float64.
		if v <= 1<<53 && v >= -(1<<53) && s.exp >= -1022 && s.exp <= 1023-54 {
			return math.Ldexp(float64(v), int(s.exp))
		}
	}
	f := s.bigFloat()
	x, _ := f.Float64()
	return x
}

// float32 returns the value rounded once to the nearest float32.
func (s *exactSum) float32() float32 {
	if s.big == nil && s.hi == int64(s.lo)>>63 {
		v := int64(s.lo)
		if v == 0 {
			return 0
		}
		// Exact as a float64 and within float32's normal range: one rounding.
		if v <= 1<<53 && v >= -(1<<53) && s.exp >= -126 && int(s.exp)+bits.Len64(uint64(max(v, -v))) <= 127 {
			return float32(math.Ldexp(float64(v), int(s.exp)))
		}
	}
	f := s.bigFloat()
	x, _ := f.Float32()
	return x
}

func (s *exactSum) bigFloat() *big.Float {
	f := new(big.Float).SetInt(s.int(new(big.Int)))
	return f.SetMantExp(f, int(s.exp))
}

// splitFloat returns m, k with x = m × 2^k and m odd (x finite, non-zero).
func splitFloat(x float64) (int64, int32) {
	b := math.Float64bits(x)
	e := int32(b>>52) & 0x7ff
	m := int64(b & (1<<52 - 1))
	if e == 0 {
		e = 1
	} else {
		m |= 1 << 52
	}
	k := e - 1075
	tz := bits.TrailingZeros64(uint64(m))
	m >>= uint(tz)
	k += int32(tz)
	if b>>63 != 0 {
		m = -m
	}
	return m, k
}
