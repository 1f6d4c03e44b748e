package keys

import (
	"strings"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Numeric classes, in SQL order (PostgreSQL sorts NaN above +Infinity).
const (
	numNegInf = 0x01
	numNeg    = 0x02
	numZero   = 0x03
	numPos    = 0x04
	numPosInf = 0x05
	numNaN    = 0x06
)

// AppendNumericText appends the body of a numeric given as text. A finite
// nonzero value 0.d1d2…dn × 10^E is written as its class, E (negated for
// negative values) as an order-preserving int32, and the significant digits
// (complemented for negative values) with a terminator that sorts a shorter
// digit string correctly against its extensions.
func AppendNumericText(dst []byte, s string) ([]byte, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "nan":
		return append(dst, numNaN), nil
	case "infinity", "+infinity", "inf", "+inf":
		return append(dst, numPosInf), nil
	case "-infinity", "-inf":
		return append(dst, numNegInf), nil
	}
	bad := func() ([]byte, error) {
		return nil, pgerror.New(pgerror.InvalidTextRepresentation, "invalid input syntax for type numeric: %q", s)
	}
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	// Collect digits, remembering where the decimal point falls.
	var digits []byte
	intDigits := 0 // digits before the point, leading zeros excluded
	seenPoint, seenDigit := false, false
	i := 0
	for ; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			seenDigit = true
			if len(digits) == 0 && c == '0' {
				if seenPoint {
					intDigits-- // a leading zero after the point lowers the exponent
				}
				continue
			}
			digits = append(digits, c)
			if !seenPoint {
				intDigits++
			}
		case c == '.' && !seenPoint:
			seenPoint = true
		default:
			goto exp
		}
	}
exp:
	if !seenDigit {
		return bad()
	}
	e := int64(intDigits)
	if i < len(t) {
		if t[i] != 'e' && t[i] != 'E' {
			return bad()
		}
		i++
		eneg := false
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			eneg = t[i] == '-'
			i++
		}
		if i == len(t) {
			return bad()
		}
		var x int64
		for ; i < len(t); i++ {
			c := t[i]
			if c < '0' || c > '9' {
				return bad()
			}
			x = x*10 + int64(c-'0')
			if x > 1<<30 {
				return nil, pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
			}
		}
		if eneg {
			x = -x
		}
		e += x
	}
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		return append(dst, numZero), nil
	}
	if e > 1<<30 || e < -(1<<30) {
		return nil, pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
	}
	if !neg {
		dst = append(dst, numPos)
		dst = AppendInt32(dst, int32(e))
		dst = append(dst, digits...)
		return append(dst, 0x00), nil
	}
	dst = append(dst, numNeg)
	dst = AppendInt32(dst, int32(-e))
	for _, d := range digits {
		dst = append(dst, 0xff-d)
	}
	return append(dst, 0xff), nil
}
