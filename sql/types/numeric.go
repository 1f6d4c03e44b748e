package types

import (
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Limits of PostgreSQL's numeric format: at most this many decimal digits
// before the decimal point and after it.
const (
	numericMaxIntDigits = 131072
	numericMaxScale     = 16383
)

// NumericContext returns a fresh apd context for numeric arithmetic:
// precision 1000 digits, rounding half away from zero (PostgreSQL's rule),
// exponent limits wide enough for every numeric value. Each call returns a
// new context, so callers may adjust it freely.
func NumericContext() *apd.Context {
	return &apd.Context{
		Precision:   1000,
		MaxExponent: apd.MaxExponent,
		MinExponent: apd.MinExponent,
		Traps:       apd.DefaultTraps,
		Rounding:    apd.RoundHalfUp,
	}
}

// wideContext is used for exact conversions (quantize) of values of any
// size within numeric's limits.
func wideContext(r apd.Rounder) *apd.Context {
	return &apd.Context{
		Precision:   numericMaxIntDigits + numericMaxScale + 8,
		MaxExponent: apd.MaxExponent,
		MinExponent: apd.MinExponent,
		Traps:       apd.DefaultTraps,
		Rounding:    r,
	}
}

// NumericFromInt returns v as a numeric Datum.
func NumericFromInt(v int64) *apd.Decimal { return apd.New(v, 0) }

// NumericFromString parses s with numeric's input syntax (see ParseText).
func NumericFromString(s string) (*apd.Decimal, error) {
	return parseNumeric(s, NumericT)
}

// parseNumeric implements numeric_in: optional spaces, sign, digits with an
// optional point, optional exponent; or NaN / Infinity spellings.
func parseNumeric(s string, t T) (*apd.Decimal, error) {
	str := strings.TrimSpace(s)
	switch strings.ToLower(str) {
	case "nan":
		return &apd.Decimal{Form: apd.NaN}, nil
	case "infinity", "+infinity", "inf", "+inf":
		return &apd.Decimal{Form: apd.Infinite}, nil
	case "-infinity", "-inf":
		return &apd.Decimal{Form: apd.Infinite, Negative: true}, nil
	}
	if !validNumericSyntax(str) {
		return nil, errSyntax(t, s)
	}
	d, _, err := apd.NewFromString(str)
	if err != nil {
		// The syntax is valid, so the exponent is beyond apd's range.
		return nil, pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
	}
	if err := checkNumericLimits(d); err != nil {
		return nil, err
	}
	normalizeZero(d)
	return d, nil
}

func validNumericSyntax(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ed := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			ed++
		}
		if ed == 0 {
			return false
		}
	}
	return i == len(s)
}

// checkNumericLimits rejects values PostgreSQL's numeric cannot hold.
func checkNumericLimits(d *apd.Decimal) error {
	if d.Form != apd.Finite {
		return nil
	}
	if d.Exponent < -numericMaxScale {
		return pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
	}
	if !d.IsZero() && d.NumDigits()+int64(d.Exponent) > numericMaxIntDigits {
		return pgerror.New(pgerror.NumericValueOutOfRange, "value overflows numeric format")
	}
	if d.IsZero() && d.Exponent > 0 {
		d.Exponent = 0
	}
	return nil
}

// normalizeZero clears the sign of a zero: numeric has no negative zero.
func normalizeZero(d *apd.Decimal) {
	if d.Form == apd.Finite && d.Negative && d.IsZero() {
		d.Negative = false
	}
	if d.Form == apd.NaN {
		d.Negative = false
	}
}

// appendNumeric appends numeric_out's rendering of d: never in exponent
// form, with the value's scale, "NaN", "Infinity" or "-Infinity".
func appendNumeric(buf []byte, d *apd.Decimal) []byte {
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return append(buf, "NaN"...)
	case apd.Infinite:
		if d.Negative {
			return append(buf, "-Infinity"...)
		}
		return append(buf, "Infinity"...)
	}
	if d.IsZero() && d.Negative {
		var z apd.Decimal
		z.Set(d)
		z.Negative = false
		d = &z
	}
	if d.Exponent > 0 {
		// 1E+3 is 1000 with scale 0.
		var z apd.Decimal
		if _, err := wideContext(apd.RoundHalfUp).Quantize(&z, d, 0); err == nil {
			d = &z
		}
	}
	return append(buf, d.Text('f')...)
}

// applyNumericTypmod rounds d to numeric(p,s) half away from zero and
// rejects values with too many integer digits (22003).
func applyNumericTypmod(d *apd.Decimal, t T) (*apd.Decimal, error) {
	p, s, ok := t.NumericPrecisionScale()
	if !ok {
		return d, nil
	}
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return d, nil
	case apd.Infinite:
		return nil, pgerror.New(pgerror.NumericValueOutOfRange, "numeric field overflow").
			WithDetail("A field with precision %d, scale %d cannot hold an infinite value.", p, s)
	}
	out := d
	if d.Exponent != int32(-s) {
		out = new(apd.Decimal)
		if _, err := wideContext(apd.RoundHalfUp).Quantize(out, d, int32(-s)); err != nil {
			return nil, pgerror.New(pgerror.NumericValueOutOfRange, "numeric field overflow").
				WithDetail("A field with precision %d, scale %d must round to an absolute value less than %s.", p, s, pow10Text(p-s))
		}
		normalizeZero(out)
	}
	if !out.IsZero() && out.NumDigits()+int64(out.Exponent) > int64(p-s) {
		return nil, pgerror.New(pgerror.NumericValueOutOfRange, "numeric field overflow").
			WithDetail("A field with precision %d, scale %d must round to an absolute value less than %s.", p, s, pow10Text(p-s))
	}
	return out, nil
}

func pow10Text(n int) string {
	if n == 0 {
		return "1"
	}
	return "10^" + itoa(int64(n))
}

func itoa(v int64) string {
	var b [20]byte
	i := len(b)
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
