package vec

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/sql/types"
)

// Numeric key classes, in PostgreSQL's order (NaN above +Infinity).
const (
	numNegInf byte = 0x01
	numNeg    byte = 0x02
	numZero   byte = 0x03
	numPos    byte = 0x04
	numPosInf byte = 0x05
	numNaN    byte = 0x06
)

// AppendNumericKey appends a memcomparable encoding of the numeric value
// written as decimal text s (PostgreSQL numeric output, apd String() form with
// an optional exponent, "NaN", "Infinity", "-Infinity"): equal values (1.0,
// 1.00, 1E+0) give equal bytes and bytewise order is numeric order. The
// encoding is self-delimiting. ok is false when s is not a number; the
// raw text is then appended after a 0xFF marker so distinct garbage stays
// distinct.
func AppendNumericKey(buf []byte, s string) (_ []byte, ok bool) {
	neg := false
	p := s
	if len(p) > 0 && (p[0] == '-' || p[0] == '+') {
		neg = p[0] == '-'
		p = p[1:]
	}
	switch strings.ToLower(p) {
	case "nan":
		return append(buf, numNaN), true
	case "infinity", "inf":
		if neg {
			return append(buf, numNegInf), true
		}
		return append(buf, numPosInf), true
	}
	// Split mantissa digits and exponent.
	intEnd := 0
	for intEnd < len(p) && p[intEnd] >= '0' && p[intEnd] <= '9' {
		intEnd++
	}
	fracStart, fracEnd := intEnd, intEnd
	if fracStart < len(p) && p[fracStart] == '.' {
		fracStart++
		fracEnd = fracStart
		for fracEnd < len(p) && p[fracEnd] >= '0' && p[fracEnd] <= '9' {
			fracEnd++
		}
	}
	exp10 := 0
	rest := p[fracEnd:]
	if len(rest) > 0 {
		if rest[0] != 'e' && rest[0] != 'E' || len(rest) < 2 {
			return appendBadNumeric(buf, s), false
		}
		r := rest[1:]
		eneg := false
		if r[0] == '-' || r[0] == '+' {
			eneg = r[0] == '-'
			r = r[1:]
		}
		if len(r) == 0 {
			return appendBadNumeric(buf, s), false
		}
		for _, c := range []byte(r) {
			if c < '0' || c > '9' {
				return appendBadNumeric(buf, s), false
			}
			if exp10 < 1<<28 {
				exp10 = exp10*10 + int(c-'0')
			}
		}
		if eneg {
			exp10 = -exp10
		}
	}
	if intEnd == 0 && fracEnd == fracStart {
		return appendBadNumeric(buf, s), false
	}
	// digit(k) over the concatenation of integer and fraction digits.
	nInt := intEnd
	nAll := intEnd + (fracEnd - fracStart)
	digit := func(k int) byte {
		if k < nInt {
			return p[k]
		}
		return p[fracStart+k-nInt]
	}
	lz := 0
	for lz < nAll && digit(lz) == '0' {
		lz++
	}
	if lz == nAll {
		return append(buf, numZero), true
	}
	last := nAll - 1
	for digit(last) == '0' {
		last--
	}
	e := nInt - lz + exp10
	if e > math.MaxInt32/2 {
		e = math.MaxInt32 / 2
	} else if e < math.MinInt32/2 {
		e = math.MinInt32 / 2
	}
	eu := uint32(int32(e)) ^ 0x80000000
	if neg {
		buf = append(buf, numNeg)
		buf = binary.BigEndian.AppendUint32(buf, ^eu)
		for k := lz; k <= last; k++ {
			buf = append(buf, ^digit(k))
		}
		return append(buf, 0xFF), true
	}
	buf = append(buf, numPos)
	buf = binary.BigEndian.AppendUint32(buf, eu)
	for k := lz; k <= last; k++ {
		buf = append(buf, digit(k))
	}
	return append(buf, 0x00), true
}

func appendBadNumeric(buf []byte, s string) []byte {
	buf = append(buf, 0xFF)
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// trimBpchar drops the trailing spaces that bpchar comparison ignores.
func trimBpchar(s []byte) []byte {
	n := len(s)
	for n > 0 && s[n-1] == ' ' {
		n--
	}
	return s[:n]
}

// floatKey maps a float64 to a uint64 whose unsigned order is PostgreSQL's
// float order (-Inf < … < -0 = 0 < … < +Inf < NaN), equal for -0/0 and for
// every NaN.
func floatKey(f float64) uint64 {
	if f != f {
		return math.MaxUint64
	}
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// intervalSpan returns PostgreSQL's comparison value of an interval (months
// count as 30 days, days as 24 hours) as (whole days, microseconds in day).
func intervalSpan(v arrow.MonthDayNanoInterval) (int64, int64) {
	micros := v.Nanoseconds / 1000
	days := int64(v.Months)*30 + int64(v.Days)
	q := micros / types.MicrosPerDay
	r := micros % types.MicrosPerDay
	if r < 0 {
		r += types.MicrosPerDay
		q--
	}
	return days + q, r
}

func cmpInterval(a, b arrow.MonthDayNanoInterval) int {
	ad, ar := intervalSpan(a)
	bd, br := intervalSpan(b)
	switch {
	case ad < bd:
		return -1
	case ad > bd:
		return 1
	case ar < br:
		return -1
	case ar > br:
		return 1
	}
	return 0
}
