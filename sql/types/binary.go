package types

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Numeric binary sign words (numeric_send).
const (
	numericPos    = 0x0000
	numericNeg    = 0x4000
	numericNaN    = 0xC000
	numericPInf   = 0xD000
	numericNInf   = 0xF000
	numericDigits = 4 // decimal digits per base-10000 digit
)

// EncodeBinary renders d (non-nil, of type t) in PostgreSQL's binary send
// format, as used by the wire protocol.
func EncodeBinary(c *Ctx, d Datum, t T) ([]byte, error) {
	return AppendBinary(nil, c, d, t)
}

// AppendBinary appends EncodeBinary's output to buf.
func AppendBinary(buf []byte, c *Ctx, d Datum, t T) ([]byte, error) {
	if d == nil {
		return nil, pgerror.Internal("types: EncodeBinary of NULL")
	}
	switch t.Family {
	case FamBool:
		if v, ok := d.(bool); ok {
			if v {
				return append(buf, 1), nil
			}
			return append(buf, 0), nil
		}
	case FamInt2:
		if v, ok := d.(int64); ok {
			return binary.BigEndian.AppendUint16(buf, uint16(v)), nil
		}
	case FamInt4:
		if v, ok := d.(int64); ok {
			return binary.BigEndian.AppendUint32(buf, uint32(v)), nil
		}
	case FamInt8:
		if v, ok := d.(int64); ok {
			return binary.BigEndian.AppendUint64(buf, uint64(v)), nil
		}
	case FamOid, FamRegclass, FamRegtype:
		if v, ok := d.(int64); ok {
			return binary.BigEndian.AppendUint32(buf, uint32(v)), nil
		}
	case FamFloat4:
		if v, ok := d.(float64); ok {
			if math.IsNaN(v) {
				return binary.BigEndian.AppendUint32(buf, 0x7fc00000), nil
			}
			return binary.BigEndian.AppendUint32(buf, math.Float32bits(float32(v))), nil
		}
	case FamFloat8:
		if v, ok := d.(float64); ok {
			if math.IsNaN(v) {
				return binary.BigEndian.AppendUint64(buf, 0x7ff8000000000000), nil
			}
			return binary.BigEndian.AppendUint64(buf, math.Float64bits(v)), nil
		}
	case FamNumeric:
		if v, ok := d.(*apd.Decimal); ok {
			return appendNumericBinary(buf, v), nil
		}
	case FamText, FamVarchar, FamBpchar, FamName, FamUnknown:
		if v, ok := d.(string); ok {
			return append(buf, v...), nil
		}
	case FamBytea:
		if v, ok := d.([]byte); ok {
			return append(buf, v...), nil
		}
	case FamDate:
		if v, ok := d.(Date); ok {
			var days int64
			switch v {
			case DateInfinity:
				days = math.MaxInt32
			case DateNegInfinity:
				days = math.MinInt32
			default:
				days = int64(v) - pgEpochDays
			}
			return binary.BigEndian.AppendUint32(buf, uint32(int32(days))), nil
		}
	case FamTime:
		if v, ok := d.(TimeOfDay); ok {
			return binary.BigEndian.AppendUint64(buf, uint64(v)), nil
		}
	case FamTimestamp:
		if v, ok := d.(Timestamp); ok {
			return binary.BigEndian.AppendUint64(buf, uint64(tsToPG(int64(v)))), nil
		}
	case FamTimestampTZ:
		if v, ok := d.(TimestampTZ); ok {
			return binary.BigEndian.AppendUint64(buf, uint64(tsToPG(int64(v)))), nil
		}
	case FamInterval:
		if v, ok := d.(Interval); ok {
			buf = binary.BigEndian.AppendUint64(buf, uint64(v.Micros))
			buf = binary.BigEndian.AppendUint32(buf, uint32(v.Days))
			return binary.BigEndian.AppendUint32(buf, uint32(v.Months)), nil
		}
	case FamArray:
		if v, ok := d.(*Array); ok {
			return appendArrayBinary(buf, c, v, t)
		}
	case FamVoid:
		return buf, nil
	case FamJSONB:
		// jsonb_send: version 1, then the text form.
		if v, ok := d.(string); ok {
			return append(append(buf, 1), v...), nil
		}
	}
	return nil, errBadDatum(d, t)
}

func tsToPG(v int64) int64 {
	if v == math.MaxInt64 || v == math.MinInt64 {
		return v
	}
	return v - pgEpochMicros
}

func tsFromPG(v int64) int64 {
	if v == math.MaxInt64 || v == math.MinInt64 {
		return v
	}
	return v + pgEpochMicros
}

// appendNumericBinary writes numeric_send's format: ndigits, weight, sign,
// dscale (int16 each), then ndigits base-10000 digits, most significant
// first; weight is the power of 10000 of the first digit.
func appendNumericBinary(buf []byte, d *apd.Decimal) []byte {
	put := func(v uint16) { buf = binary.BigEndian.AppendUint16(buf, v) }
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		put(0)
		put(0)
		put(numericNaN)
		put(0)
		return buf
	case apd.Infinite:
		put(0)
		put(0)
		if d.Negative {
			put(numericNInf)
		} else {
			put(numericPInf)
		}
		put(0x20) // numeric_send reports this dscale for infinities
		return buf
	}
	dscale := 0
	if d.Exponent < 0 {
		dscale = int(-d.Exponent)
	}
	sign := uint16(numericPos)
	if d.Negative && !d.IsZero() {
		sign = numericNeg
	}
	if d.IsZero() {
		put(0)
		put(0)
		put(sign)
		put(uint16(dscale))
		return buf
	}
	digits := d.Coeff.String()
	// Number of decimal digits before the point.
	intDigits := len(digits) + int(d.Exponent)
	// Pad on the left so the point falls on a group boundary.
	padL := ((intDigits % numericDigits) + numericDigits) % numericDigits
	if padL != 0 {
		padL = numericDigits - padL
	}
	full := strings.Repeat("0", padL) + digits
	if intDigits > len(digits) {
		full += strings.Repeat("0", intDigits-len(digits))
	}
	if r := len(full) % numericDigits; r != 0 {
		full += strings.Repeat("0", numericDigits-r)
	}
	groups := make([]uint16, 0, len(full)/numericDigits)
	for i := 0; i < len(full); i += numericDigits {
		g := 0
		for j := 0; j < numericDigits; j++ {
			g = g*10 + int(full[i+j]-'0')
		}
		groups = append(groups, uint16(g))
	}
	weight := (intDigits+padL)/numericDigits - 1
	for len(groups) > 0 && groups[0] == 0 {
		groups = groups[1:]
		weight--
	}
	for len(groups) > 0 && groups[len(groups)-1] == 0 {
		groups = groups[:len(groups)-1]
	}
	put(uint16(len(groups)))
	put(uint16(int16(weight)))
	put(sign)
	put(uint16(dscale))
	for _, g := range groups {
		put(g)
	}
	return buf
}

func decodeNumericBinary(b []byte) (*apd.Decimal, error) {
	if len(b) < 8 {
		return nil, errBinary("insufficient data left in message")
	}
	ndigits := int(binary.BigEndian.Uint16(b[0:]))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	dscale := int(binary.BigEndian.Uint16(b[6:]))
	if int(int16(ndigits)) < 0 {
		return nil, errBinary("invalid length in external \"numeric\" value")
	}
	if len(b) != 8+2*ndigits {
		return nil, errBinary("invalid length in external \"numeric\" value")
	}
	switch sign {
	case numericNaN:
		return &apd.Decimal{Form: apd.NaN}, nil
	case numericPInf:
		return &apd.Decimal{Form: apd.Infinite}, nil
	case numericNInf:
		return &apd.Decimal{Form: apd.Infinite, Negative: true}, nil
	case numericPos, numericNeg:
	default:
		return nil, errBinary("invalid sign in external \"numeric\" value")
	}
	if dscale > numericMaxScale {
		return nil, errBinary("invalid scale in external \"numeric\" value")
	}
	var sb strings.Builder
	sb.Grow(ndigits*numericDigits + 1)
	for i := 0; i < ndigits; i++ {
		g := binary.BigEndian.Uint16(b[8+2*i:])
		if g >= 10000 {
			return nil, errBinary("invalid digit in external \"numeric\" value")
		}
		var tmp [4]byte
		for j := 3; j >= 0; j-- {
			tmp[j] = byte('0' + g%10)
			g /= 10
		}
		sb.Write(tmp[:])
	}
	if ndigits == 0 {
		sb.WriteByte('0')
	}
	exp := int64(weight-ndigits+1) * numericDigits
	if ndigits == 0 {
		exp = 0
	}
	var coeff apd.BigInt
	if _, ok := coeff.SetString(sb.String(), 10); !ok {
		return nil, errBinary("invalid digit in external \"numeric\" value")
	}
	d := apd.NewWithBigInt(&coeff, int32(exp))
	d.Negative = sign == numericNeg
	if int64(d.Exponent) != int64(-dscale) {
		// Digits hidden by dscale are truncated away, as numeric_recv does.
		var z apd.Decimal
		if _, err := wideContext(apd.RoundDown).Quantize(&z, d, int32(-dscale)); err != nil {
			return nil, errBinary("invalid external \"numeric\" value")
		}
		d = &z
	}
	if err := checkNumericLimits(d); err != nil {
		return nil, err
	}
	normalizeZero(d)
	return d, nil
}

func appendArrayBinary(buf []byte, c *Ctx, a *Array, t T) ([]byte, error) {
	et := t.ElemType()
	if len(a.Elems) == 0 {
		buf = binary.BigEndian.AppendUint32(buf, 0)
		buf = binary.BigEndian.AppendUint32(buf, 0)
		return binary.BigEndian.AppendUint32(buf, et.Oid()), nil
	}
	hasNull := uint32(0)
	for _, e := range a.Elems {
		if e == nil {
			hasNull = 1
			break
		}
	}
	buf = binary.BigEndian.AppendUint32(buf, 1)
	buf = binary.BigEndian.AppendUint32(buf, hasNull)
	buf = binary.BigEndian.AppendUint32(buf, et.Oid())
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(a.Elems)))
	buf = binary.BigEndian.AppendUint32(buf, 1)
	for _, e := range a.Elems {
		if e == nil {
			buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32)
			continue
		}
		at := len(buf)
		buf = append(buf, 0, 0, 0, 0)
		var err error
		buf, err = AppendBinary(buf, c, e, et)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
	}
	return buf, nil
}

// DecodeBinary parses PostgreSQL's binary recv format of t. Malformed
// input yields 22P03 (invalid_binary_representation), never a panic.
func DecodeBinary(c *Ctx, b []byte, t T) (Datum, error) {
	need := func(n int) error {
		if len(b) != n {
			return errBinary("incorrect binary data format for type %s", typeLabel(t))
		}
		return nil
	}
	switch t.Family {
	case FamBool:
		if err := need(1); err != nil {
			return nil, err
		}
		return b[0] != 0, nil
	case FamInt2:
		if err := need(2); err != nil {
			return nil, err
		}
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	case FamInt4:
		if err := need(4); err != nil {
			return nil, err
		}
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	case FamInt8:
		if err := need(8); err != nil {
			return nil, err
		}
		return int64(binary.BigEndian.Uint64(b)), nil
	case FamOid, FamRegclass, FamRegtype:
		if err := need(4); err != nil {
			return nil, err
		}
		return int64(binary.BigEndian.Uint32(b)), nil
	case FamFloat4:
		if err := need(4); err != nil {
			return nil, err
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
	case FamFloat8:
		if err := need(8); err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case FamNumeric:
		d, err := decodeNumericBinary(b)
		if err != nil {
			return nil, err
		}
		return applyNumericTypmod(d, t)
	case FamText, FamVarchar, FamBpchar, FamName, FamUnknown:
		s := string(b)
		if err := validText(s); err != nil {
			return nil, err
		}
		return applyStringTypmod(s, t, false)
	case FamBytea:
		out := make([]byte, len(b))
		copy(out, b)
		return out, nil
	case FamDate:
		if err := need(4); err != nil {
			return nil, err
		}
		v := int64(int32(binary.BigEndian.Uint32(b)))
		switch v {
		case math.MaxInt32:
			return DateInfinity, nil
		case math.MinInt32:
			return DateNegInfinity, nil
		}
		days := v + pgEpochDays
		if days < minDate || days > maxDate {
			return nil, pgerror.New(pgerror.DatetimeFieldOverflow, "date out of range")
		}
		return Date(days), nil
	case FamTime:
		if err := need(8); err != nil {
			return nil, err
		}
		v := int64(binary.BigEndian.Uint64(b))
		if v < 0 || v > MicrosPerDay {
			return nil, pgerror.New(pgerror.NumericValueOutOfRange, "time out of range")
		}
		return roundTimeTypmod(TimeOfDay(v), t), nil
	case FamTimestamp, FamTimestampTZ:
		if err := need(8); err != nil {
			return nil, err
		}
		v := int64(binary.BigEndian.Uint64(b))
		if v != math.MaxInt64 && v != math.MinInt64 {
			if v < minTimestamp-pgEpochMicros || v >= maxTimestamp-pgEpochMicros {
				return nil, pgerror.New(pgerror.DatetimeFieldOverflow, "timestamp out of range")
			}
		}
		ts := Timestamp(tsFromPG(v))
		r, err := roundTimestampTypmod(ts, t)
		if err != nil {
			return nil, err
		}
		if t.Family == FamTimestampTZ {
			return TimestampTZ(r.(Timestamp)), nil
		}
		return r, nil
	case FamInterval:
		if err := need(16); err != nil {
			return nil, err
		}
		return Interval{
			Micros: int64(binary.BigEndian.Uint64(b)),
			Days:   int32(binary.BigEndian.Uint32(b[8:])),
			Months: int32(binary.BigEndian.Uint32(b[12:])),
		}, nil
	case FamArray:
		return decodeArrayBinary(c, b, t)
	case FamVoid:
		return nil, nil
	case FamJSONB:
		if len(b) == 0 || b[0] != 1 {
			v := -1
			if len(b) > 0 {
				v = int(b[0])
			}
			return nil, errBinary("unsupported jsonb version number %d", v)
		}
		return ParseJSONB(string(b[1:]))
	}
	return nil, pgerror.Unsupported("binary format of type %s is not supported", t)
}

func decodeArrayBinary(c *Ctx, b []byte, t T) (Datum, error) {
	et := t.ElemType()
	if len(b) < 12 {
		return nil, errBinary("insufficient data left in message")
	}
	ndim := int32(binary.BigEndian.Uint32(b))
	flags := binary.BigEndian.Uint32(b[4:])
	elemOid := binary.BigEndian.Uint32(b[8:])
	b = b[12:]
	if flags > 1 {
		return nil, errBinary("invalid array flags")
	}
	if elemOid != et.Oid() {
		return nil, pgerror.New(pgerror.DatatypeMismatch, "wrong element type")
	}
	out := &Array{Elem: et, Elems: []Datum{}}
	switch {
	case ndim == 0:
		if len(b) != 0 {
			return nil, errBinary("incorrect binary data format in array")
		}
		return out, nil
	case ndim < 0 || ndim > 6:
		return nil, errBinary("invalid number of dimensions: %d", ndim)
	case ndim > 1:
		return nil, pgerror.Unsupported("multidimensional arrays are not supported")
	}
	if len(b) < 8 {
		return nil, errBinary("insufficient data left in message")
	}
	n := int32(binary.BigEndian.Uint32(b))
	b = b[8:] // dimension size and lower bound
	if n < 0 || int64(n)*4 > int64(len(b)) {
		return nil, errBinary("insufficient data left in message")
	}
	out.Elems = make([]Datum, 0, n)
	for i := int32(0); i < n; i++ {
		if len(b) < 4 {
			return nil, errBinary("insufficient data left in message")
		}
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l == -1 {
			out.Elems = append(out.Elems, nil)
			continue
		}
		if l < 0 || int(l) > len(b) {
			return nil, errBinary("insufficient data left in message")
		}
		e, err := DecodeBinary(c, b[:l], et)
		if err != nil {
			return nil, err
		}
		out.Elems = append(out.Elems, e)
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, errBinary("incorrect binary data format in array")
	}
	return out, nil
}
