package types

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// FormatText renders d (of type t) in PostgreSQL's text output format, as
// psql would show it: booleans "t"/"f", floats in shortest round-trip form
// ("Infinity", "NaN"), numeric with its scale, dates/timestamps ISO style,
// intervals in postgres style ("1 day 02:00:00"), bytea as \x hex, arrays as
// {a,b}. A nil d renders as "" (callers send NULL separately).
func FormatText(c *Ctx, d Datum, t T) string {
	if s, ok := d.(string); ok {
		return s
	}
	return string(AppendText(nil, c, d, t))
}

// AppendText appends FormatText's output to buf.
func AppendText(buf []byte, c *Ctx, d Datum, t T) []byte {
	if d == nil {
		return buf
	}
	switch v := d.(type) {
	case bool:
		if v {
			return append(buf, 't')
		}
		return append(buf, 'f')
	case int64:
		if (t.Family == FamRegclass || t.Family == FamRegtype) && c != nil && c.ObjectName != nil {
			if name, ok := c.ObjectName(t, v); ok {
				return append(buf, name...)
			}
		}
		return strconv.AppendInt(buf, v, 10)
	case float64:
		if t.Family == FamFloat4 {
			return appendFloat(buf, v, 32)
		}
		return appendFloat(buf, v, 64)
	case *apd.Decimal:
		return appendNumeric(buf, v)
	case string:
		return append(buf, v...)
	case []byte:
		return appendByteaHex(buf, v)
	case Date:
		return appendDate(buf, v)
	case TimeOfDay:
		return appendTimeOfDay(buf, int64(v))
	case Timestamp:
		return appendTimestamp(buf, v)
	case TimestampTZ:
		return appendTimestampTZ(buf, v, c.Location())
	case Interval:
		return appendInterval(buf, v)
	case *Array:
		return appendArray(buf, c, v)
	case int32:
		return strconv.AppendInt(buf, int64(v), 10)
	case int:
		return strconv.AppendInt(buf, int64(v), 10)
	}
	return fmt.Appendf(buf, "%v", d)
}

// appendFloat renders like float8out/float4out with extra_float_digits=1:
// the shortest string that round-trips, in exponent form when the decimal
// exponent is below -4 or at least 15 (float8) / 6 (float4).
func appendFloat(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	var scratch [32]byte
	limit := 15
	var e []byte
	if bits == 32 {
		limit = 6
		e = shortestFloat(scratch[:0], float64(float32(f)), 32)
	} else {
		e = shortestFloat(scratch[:0], f, 64)
	}
	// e is d[.ddd]e±XX.
	k := len(e) - 1
	for e[k] != 'e' {
		k--
	}
	exp := 0
	for _, c := range e[k+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[k+1] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= limit {
		return append(buf, e...)
	}
	// Fixed notation from the same digits.
	mant := e[:k]
	neg := mant[0] == '-'
	if neg {
		buf = append(buf, '-')
		mant = mant[1:]
	}
	var digits [24]byte
	nd := 0
	for _, c := range mant {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	if exp < 0 {
		buf = append(buf, '0', '.')
		for i := 0; i < -exp-1; i++ {
			buf = append(buf, '0')
		}
		return append(buf, digits[:nd]...)
	}
	intDigits := exp + 1
	if nd <= intDigits {
		buf = append(buf, digits[:nd]...)
		for i := nd; i < intDigits; i++ {
			buf = append(buf, '0')
		}
		return buf
	}
	buf = append(buf, digits[:intDigits]...)
	buf = append(buf, '.')
	return append(buf, digits[intDigits:nd]...)
}

// shortestFloat appends the shortest 'e' rendering of f (of the given bit
// size) that reads back as f, excluding decimals exactly halfway to a
// neighbouring float: PostgreSQL's float4out/float8out (Ryu) never emit
// those, while strconv does when f's mantissa is even.
func shortestFloat(buf []byte, f float64, bits int) []byte {
	start := len(buf)
	buf = strconv.AppendFloat(buf, f, 'e', -1, bits)
	if !onMidpoint(buf[start:], f, bits) {
		return buf
	}
	nd := 0
	for _, c := range buf[start:] {
		if c == 'e' {
			break
		}
		if c >= '0' && c <= '9' {
			nd++
		}
	}
	maxDigits := 17
	if bits == 32 {
		maxDigits = 9
	}
	for p := nd + 1; p <= maxDigits; p++ {
		buf = strconv.AppendFloat(buf[:start], f, 'e', p-1, bits)
		if !onMidpoint(buf[start:], f, bits) {
			break
		}
	}
	return buf
}

// onMidpoint reports whether decimal s equals the midpoint between f and
// one of its neighbours of the given bit size.
func onMidpoint(s []byte, f float64, bits int) bool {
	// A midpoint below 2^(mantissa bits + 1) has more significant decimal
	// digits than a shortest rendering can have (its binary fraction
	// needs as many decimal places), so only large values need checking.
	limit := float64(1 << 53)
	if bits == 32 {
		limit = 1 << 24
	}
	if math.IsInf(f, 0) || math.Abs(f) < limit {
		return false
	}
	var up, down float64
	if bits == 32 {
		f32 := float32(f)
		up = float64(math.Nextafter32(f32, float32(math.Inf(1))))
		down = float64(math.Nextafter32(f32, float32(math.Inf(-1))))
		// float32 midpoints are exact in float64: compare cheaply first.
		v, err := strconv.ParseFloat(string(s), 64)
		if err != nil || (v != (f+up)/2 && v != (f+down)/2) {
			return false
		}
	} else {
		up = math.Nextafter(f, math.Inf(1))
		down = math.Nextafter(f, math.Inf(-1))
	}
	r, ok := new(big.Rat).SetString(string(s))
	if !ok {
		return false
	}
	fr := new(big.Rat).SetFloat64(f)
	for _, n := range []float64{up, down} {
		if math.IsInf(n, 0) {
			continue
		}
		mid := new(big.Rat).Add(fr, new(big.Rat).SetFloat64(n))
		mid.Quo(mid, big.NewRat(2, 1))
		if r.Cmp(mid) == 0 {
			return true
		}
	}
	return false
}

const hexDigits = "0123456789abcdef"

func appendByteaHex(buf []byte, b []byte) []byte {
	buf = append(buf, '\\', 'x')
	for _, c := range b {
		buf = append(buf, hexDigits[c>>4], hexDigits[c&15])
	}
	return buf
}

// ParseText parses s with t's PostgreSQL input function (e.g. ' 12 ' as
// integer, '2024-01-02 03:04:05+02' as timestamptz, '1 day' as interval),
// returning 22P02/22003/22007/22008 errors as PostgreSQL does. Varchar(n)
// and char(n) limits are applied as on assignment (22001), numeric(p,s)
// rounds to s.
func ParseText(c *Ctx, s string, t T) (Datum, error) {
	switch t.Family {
	case FamBool:
		return parseBool(s)
	case FamInt2:
		return parseInt(s, t, math.MinInt16, math.MaxInt16)
	case FamInt4:
		return parseInt(s, t, math.MinInt32, math.MaxInt32)
	case FamInt8:
		return parseInt(s, t, math.MinInt64, math.MaxInt64)
	case FamOid, FamRegclass, FamRegtype:
		return parseOid(s, t)
	case FamFloat4:
		return parseFloat(s, t, 32)
	case FamFloat8:
		return parseFloat(s, t, 64)
	case FamNumeric:
		d, err := parseNumeric(s, t)
		if err != nil {
			return nil, err
		}
		return applyNumericTypmod(d, t)
	case FamText, FamUnknown:
		if err := validText(s); err != nil {
			return nil, err
		}
		return s, nil
	case FamVarchar, FamBpchar, FamName:
		if err := validText(s); err != nil {
			return nil, err
		}
		return applyStringTypmod(s, t, false)
	case FamBytea:
		return parseBytea(s)
	case FamDate:
		return parseDate(c, s)
	case FamTime:
		v, err := parseTime(c, s)
		if err != nil {
			return nil, err
		}
		return roundTimeTypmod(v, t), nil
	case FamTimestamp:
		v, err := parseTimestamp(c, s)
		if err != nil {
			return nil, err
		}
		return roundTimestampTypmod(v, t)
	case FamTimestampTZ:
		v, err := parseTimestampTZ(c, s)
		if err != nil {
			return nil, err
		}
		r, err := roundTimestampTypmod(Timestamp(v), t)
		if err != nil {
			return nil, err
		}
		return TimestampTZ(r.(Timestamp)), nil
	case FamInterval:
		d, err := parseInterval(s, t)
		if err != nil {
			return nil, err
		}
		return applyIntervalTypmod(d.(Interval), t), nil
	case FamArray:
		return parseArray(c, s, t)
	case FamVoid:
		return nil, nil
	case FamJSONB:
		return ParseJSONB(s)
	}
	return nil, pgerror.Unsupported("cannot parse values of type %s", t)
}

// validText rejects strings PostgreSQL's UTF8 encoding check rejects.
func validText(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 {
			return pgerror.New(pgerror.CharacterNotInRepertoire, `invalid byte sequence for encoding "UTF8": 0x00`)
		}
		if c >= utf8.RuneSelf {
			if !utf8.ValidString(s[i:]) {
				return pgerror.New(pgerror.CharacterNotInRepertoire, `invalid byte sequence for encoding "UTF8"`)
			}
			return validNoNul(s[i:])
		}
	}
	return nil
}

func validNoNul(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return pgerror.New(pgerror.CharacterNotInRepertoire, `invalid byte sequence for encoding "UTF8": 0x00`)
	}
	return nil
}

func isPGSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func trimPGSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isPGSpace(s[i]) {
		i++
	}
	for j > i && isPGSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// parseBool implements boolin: unambiguous prefixes of true/false/yes/no,
// on/off, 1/0, case-insensitive, surrounding spaces ignored.
func parseBool(s string) (Datum, error) {
	v := strings.ToLower(trimPGSpace(s))
	if v != "" {
		switch {
		case strings.HasPrefix("true", v):
			return true, nil
		case strings.HasPrefix("false", v):
			return false, nil
		case strings.HasPrefix("yes", v):
			return true, nil
		case strings.HasPrefix("no", v):
			return false, nil
		case v == "on":
			return true, nil
		case len(v) >= 2 && strings.HasPrefix("off", v):
			return false, nil
		case v == "1":
			return true, nil
		case v == "0":
			return false, nil
		}
	}
	return nil, errSyntax(BoolT, s)
}

// parseInt implements int2in/int4in/int8in (decimal only, as PostgreSQL 15).
func parseInt(s string, t T, lo, hi int64) (Datum, error) {
	v := trimPGSpace(s)
	i := 0
	neg := false
	if i < len(v) && (v[i] == '+' || v[i] == '-') {
		neg = v[i] == '-'
		i++
	}
	if i == len(v) {
		return nil, errSyntax(t, s)
	}
	var acc uint64
	overflow := false
	for ; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return nil, errSyntax(t, s)
		}
		if acc > (math.MaxUint64-9)/10 {
			overflow = true
			continue
		}
		acc = acc*10 + uint64(c-'0')
	}
	if overflow {
		return nil, errValueRange(t, s)
	}
	var r int64
	if neg {
		if acc > uint64(math.MaxInt64)+1 {
			return nil, errValueRange(t, s)
		}
		r = int64(-acc)
	} else {
		if acc > math.MaxInt64 {
			return nil, errValueRange(t, s)
		}
		r = int64(acc)
	}
	if r < lo || r > hi {
		return nil, errValueRange(t, s)
	}
	return r, nil
}

// parseOid implements oidin: an unsigned 32-bit value (negative values down
// to -2^31 wrap around as in PostgreSQL).
func parseOid(s string, t T) (Datum, error) {
	v := trimPGSpace(s)
	if v == "" {
		return nil, errSyntax(t, s)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, errValueRange(OidT, s)
		}
		return nil, errSyntax(t, s)
	}
	if n < math.MinInt32 || n > math.MaxUint32 {
		return nil, errValueRange(OidT, s)
	}
	if n < 0 {
		n = int64(uint32(int32(n)))
	}
	return n, nil
}

// canonicalNaN has the bit pattern PostgreSQL's NaN literal produces.
var canonicalNaN = math.Float64frombits(0x7ff8000000000000)

// parseFloat implements float4in/float8in.
func parseFloat(s string, t T, bits int) (Datum, error) {
	v := trimPGSpace(s)
	switch strings.ToLower(v) {
	case "nan", "+nan", "-nan":
		return canonicalNaN, nil
	case "infinity", "+infinity", "inf", "+inf":
		return math.Inf(1), nil
	case "-infinity", "-inf":
		return math.Inf(-1), nil
	}
	if !validFloatSyntax(v) {
		return nil, errSyntax(t, s)
	}
	f, err := strconv.ParseFloat(v, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, pgerror.New(pgerror.NumericValueOutOfRange, "\"%s\" is out of range for type %s", s, typeLabel(t))
		}
		return nil, errSyntax(t, s)
	}
	if f == 0 && hasNonZeroMantissa(v) {
		// strtod reports underflow to zero as a range error.
		return nil, pgerror.New(pgerror.NumericValueOutOfRange, "\"%s\" is out of range for type %s", s, typeLabel(t))
	}
	return f, nil
}

// validFloatSyntax accepts decimal floating point: sign, digits, optional
// point and exponent (hex floats and underscores are not accepted).
func validFloatSyntax(s string) bool {
	if strings.ContainsAny(s, "_xXpP") {
		return false
	}
	return validNumericSyntax(s)
}

func hasNonZeroMantissa(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 'e' || c == 'E' {
			return false
		}
		if c >= '1' && c <= '9' {
			return true
		}
	}
	return false
}

// parseBytea implements byteain: \x hex format or the escape format.
func parseBytea(s string) (Datum, error) {
	if len(s) >= 2 && s[0] == '\\' && s[1] == 'x' {
		out := make([]byte, 0, (len(s)-2)/2)
		for i := 2; i < len(s); {
			c := s[i]
			if isPGSpace(c) {
				i++
				continue
			}
			hi, ok := unhex(c)
			if !ok {
				return nil, pgerror.New(pgerror.InvalidParameterValue, "invalid hexadecimal digit: \"%s\"", string(s[i:i+utf8Len(s[i:])]))
			}
			if i+1 >= len(s) {
				return nil, pgerror.New(pgerror.InvalidParameterValue, "invalid hexadecimal data: odd number of digits")
			}
			lo, ok := unhex(s[i+1])
			if !ok {
				if isPGSpace(s[i+1]) {
					return nil, pgerror.New(pgerror.InvalidParameterValue, "invalid hexadecimal data: odd number of digits")
				}
				return nil, pgerror.New(pgerror.InvalidParameterValue, "invalid hexadecimal digit: \"%s\"", string(s[i+1:i+1+utf8Len(s[i+1:])]))
			}
			out = append(out, hi<<4|lo)
			i += 2
		}
		return out, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '\\' {
			out = append(out, '\\')
			i += 2
			continue
		}
		if i+3 < len(s) && isOct03(s[i+1]) && isOct(s[i+2]) && isOct(s[i+3]) {
			out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 4
			continue
		}
		return nil, pgerror.New(pgerror.InvalidTextRepresentation, "invalid input syntax for type bytea")
	}
	return out, nil
}

func utf8Len(s string) int {
	_, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return 0
	}
	return n
}

func isOct(c byte) bool   { return c >= '0' && c <= '7' }
func isOct03(c byte) bool { return c >= '0' && c <= '3' }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// applyStringTypmod enforces varchar(n)/char(n)/name limits. On assignment
// (explicit false) an over-long value is an error unless the excess is all
// spaces; an explicit cast truncates silently. char(n) pads with spaces.
func applyStringTypmod(s string, t T, explicit bool) (Datum, error) {
	if t.Family == FamName {
		return truncateBytes(s, 63), nil
	}
	if t.Mod < 0 || (t.Family != FamVarchar && t.Family != FamBpchar) {
		return s, nil
	}
	n := int(t.Mod)
	cut := runeOffset(s, n)
	if cut < len(s) {
		if !explicit && strings.TrimRight(s[cut:], " ") != "" {
			return nil, pgerror.New(pgerror.StringDataRightTruncation, "value too long for type %s", t.String())
		}
		s = s[:cut]
	}
	if t.Family == FamBpchar {
		if k := utf8.RuneCountInString(s); k < n {
			s += strings.Repeat(" ", n-k)
		}
	}
	return s, nil
}

// runeOffset returns the byte offset just past the first n characters of s
// (len(s) if s is shorter).
func runeOffset(s string, n int) int {
	if len(s) <= n {
		return len(s)
	}
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return i
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// strconvFormatG formats f with the given number of significant digits in
// %g style (as C's printf("%.*g")).
func strconvFormatG(buf []byte, f float64, digits int) []byte {
	return strconv.AppendFloat(buf, f, 'g', digits, 64)
}
