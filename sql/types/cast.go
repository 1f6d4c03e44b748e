package types

import (
	"math"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// castRule is one row of the pg_cast subset we support.
type castRule struct {
	from, to Family
	ctx      CastContext
}

// castTable mirrors pg_cast (PostgreSQL 15) for the supported families.
// Conversions through text I/O (anything → string types on assignment,
// string types → anything explicitly) are added by CastKind.
var castTable = func() map[[2]Family]CastContext {
	i, a, e := CastImplicit, CastAssignment, CastExplicit
	rules := []castRule{
		{FamBool, FamInt4, e}, {FamInt4, FamBool, e},
		{FamInt2, FamInt4, i}, {FamInt2, FamInt8, i}, {FamInt2, FamFloat4, i}, {FamInt2, FamFloat8, i}, {FamInt2, FamNumeric, i},
		{FamInt4, FamInt8, i}, {FamInt4, FamFloat4, i}, {FamInt4, FamFloat8, i}, {FamInt4, FamNumeric, i}, {FamInt4, FamInt2, a},
		{FamInt8, FamFloat4, i}, {FamInt8, FamFloat8, i}, {FamInt8, FamNumeric, i}, {FamInt8, FamInt4, a}, {FamInt8, FamInt2, a},
		{FamNumeric, FamFloat4, i}, {FamNumeric, FamFloat8, i}, {FamNumeric, FamInt2, a}, {FamNumeric, FamInt4, a}, {FamNumeric, FamInt8, a},
		{FamFloat4, FamFloat8, i}, {FamFloat4, FamInt2, a}, {FamFloat4, FamInt4, a}, {FamFloat4, FamInt8, a}, {FamFloat4, FamNumeric, a},
		{FamFloat8, FamFloat4, a}, {FamFloat8, FamInt2, a}, {FamFloat8, FamInt4, a}, {FamFloat8, FamInt8, a}, {FamFloat8, FamNumeric, a},
		{FamInt2, FamOid, i}, {FamInt4, FamOid, i}, {FamInt8, FamOid, i},
		{FamInt2, FamRegclass, i}, {FamInt4, FamRegclass, i}, {FamInt8, FamRegclass, i},
		{FamInt2, FamRegtype, i}, {FamInt4, FamRegtype, i}, {FamInt8, FamRegtype, i},
		{FamOid, FamInt4, a}, {FamOid, FamInt8, a}, {FamOid, FamRegclass, i}, {FamOid, FamRegtype, i},
		{FamRegclass, FamOid, i}, {FamRegclass, FamInt4, a}, {FamRegclass, FamInt8, a},
		{FamRegtype, FamOid, i}, {FamRegtype, FamInt4, a}, {FamRegtype, FamInt8, a},
		{FamText, FamVarchar, i}, {FamText, FamBpchar, i}, {FamText, FamName, i}, {FamText, FamRegclass, i},
		{FamVarchar, FamText, i}, {FamVarchar, FamBpchar, i}, {FamVarchar, FamName, i}, {FamVarchar, FamRegclass, i},
		{FamBpchar, FamText, i}, {FamBpchar, FamVarchar, i}, {FamBpchar, FamName, i},
		{FamName, FamText, i}, {FamName, FamVarchar, a}, {FamName, FamBpchar, a},
		{FamDate, FamTimestamp, i}, {FamDate, FamTimestampTZ, i},
		{FamTimestamp, FamTimestampTZ, i}, {FamTimestamp, FamDate, a}, {FamTimestamp, FamTime, a},
		{FamTimestampTZ, FamTimestamp, a}, {FamTimestampTZ, FamDate, a}, {FamTimestampTZ, FamTime, a},
		{FamTime, FamInterval, i}, {FamInterval, FamTime, a},
		{FamJSONB, FamBool, e}, {FamJSONB, FamNumeric, e}, {FamJSONB, FamInt2, e}, {FamJSONB, FamInt4, e},
		{FamJSONB, FamInt8, e}, {FamJSONB, FamFloat4, e}, {FamJSONB, FamFloat8, e},
	}
	m := make(map[[2]Family]CastContext, len(rules))
	for _, r := range rules {
		m[[2]Family{r.from, r.to}] = r.ctx
	}
	return m
}()

// castableByIO reports whether a type has text input/output functions, so
// that PostgreSQL's automatic I/O conversion casts apply.
func castableByIO(f Family) bool {
	switch f {
	case FamRecord, FamVoid, FamAny, FamAnyArray:
		return false
	}
	return f < numFamilies
}

// CastKind tells whether PostgreSQL allows a cast from → to implicitly,
// on assignment, or only explicitly (or not at all).
func CastKind(from, to T) CastContext {
	if to.Family == FamAny {
		return CastImplicit
	}
	if from.Family == FamUnknown {
		if castableByIO(to.Family) {
			return CastImplicit
		}
		return CastNone
	}
	if from.Family == to.Family {
		if from.Family == FamArray && from.Elem != to.Elem {
			return CastKind(from.ElemType(), to.ElemType())
		}
		// Length coercion (typmod) casts are implicit.
		return CastImplicit
	}
	if to.Family == FamAnyArray && from.Family == FamArray {
		return CastImplicit
	}
	if k, ok := castTable[[2]Family{from.Family, to.Family}]; ok {
		return k
	}
	if !castableByIO(from.Family) || !castableByIO(to.Family) {
		return CastNone
	}
	if to.IsString() {
		return CastAssignment
	}
	if from.IsString() {
		return CastExplicit
	}
	return CastNone
}

// Cast converts d from type `from` to type `to` with PostgreSQL's semantics
// (explicit cast when explicit is true, assignment cast otherwise): int
// overflow 22003, float→int rounds half to even, numeric rounding, text
// parsing through ParseText, anything → text through FormatText,
// varchar(n) truncation on explicit cast and 22001 on assignment, bpchar
// padding, timestamp ↔ timestamptz through c's zone. nil stays nil.
//
// Cast does not check CastKind: callers decide whether the cast is allowed
// in their context. A pair with no conversion yields 42846.
func Cast(c *Ctx, d Datum, from, to T, explicit bool) (Datum, error) {
	if d == nil {
		return nil, nil
	}
	if from == to {
		return d, nil
	}
	if from.Family == to.Family && from.Family != FamArray {
		return applyTypmod(d, to, explicit)
	}
	v, err := castValue(c, d, from, to, explicit)
	if err != nil {
		return nil, err
	}
	return applyTypmod(v, to, explicit)
}

func errCannotCast(from, to T) error {
	return pgerror.New("42846", "cannot cast type %s to %s", from, to)
}

// applyTypmod enforces to's modifier on a value already of to's family.
func applyTypmod(d Datum, to T, explicit bool) (Datum, error) {
	if to.Mod < 0 && to.Family != FamName {
		return d, nil
	}
	switch to.Family {
	case FamVarchar, FamBpchar, FamName:
		s, ok := d.(string)
		if !ok {
			return nil, errBadDatum(d, to)
		}
		return applyStringTypmod(s, to, explicit)
	case FamNumeric:
		n, ok := d.(*apd.Decimal)
		if !ok {
			return nil, errBadDatum(d, to)
		}
		return applyNumericTypmod(n, to)
	case FamTime:
		if v, ok := d.(TimeOfDay); ok {
			return roundTimeTypmod(v, to), nil
		}
	case FamInterval:
		if v, ok := d.(Interval); ok {
			return applyIntervalTypmod(v, to), nil
		}
	case FamTimestamp:
		if v, ok := d.(Timestamp); ok {
			return roundTimestampTypmod(v, to)
		}
	case FamTimestampTZ:
		if v, ok := d.(TimestampTZ); ok {
			r, err := roundTimestampTypmod(Timestamp(v), to)
			if err != nil {
				return nil, err
			}
			return TimestampTZ(r.(Timestamp)), nil
		}
	}
	return d, nil
}

func intRange(f Family) (int64, int64) {
	switch f {
	case FamInt2:
		return math.MinInt16, math.MaxInt16
	case FamInt4:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

func castValue(c *Ctx, d Datum, from, to T, explicit bool) (Datum, error) {
	// Unknown literals and string types parse with the target's input
	// function; anything renders to string types with its output function.
	if from.Family == FamUnknown {
		s, ok := d.(string)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		return ParseText(c, s, to.Unmodified())
	}
	if to.IsString() || to.Family == FamUnknown {
		if from.Family == FamBpchar {
			s, ok := d.(string)
			if !ok {
				return nil, errBadDatum(d, from)
			}
			if to.Family == FamBpchar {
				return s, nil
			}
			return strings.TrimRight(s, " "), nil
		}
		switch v := d.(type) {
		case string:
			return v, nil
		case bool:
			// booltext spells the words out, unlike boolout.
			if v {
				return "true", nil
			}
			return "false", nil
		}
		return FormatText(c, d, from), nil
	}
	if from.IsString() {
		s, ok := d.(string)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		return ParseText(c, s, to.Unmodified())
	}
	switch from.Family {
	case FamJSONB:
		if to.Family == FamBool {
			j, err := ParseJSONBDatum(d)
			if err != nil {
				return nil, err
			}
			if b, ok := j.Bool(); ok {
				return b, nil
			}
			return nil, pgerror.New(pgerror.InvalidParameterValue, "cannot cast jsonb %s to type boolean", j.kindName())
		}
		n, err := jsonbToNumeric(d, to)
		if err != nil {
			return nil, err
		}
		if to.Family == FamNumeric {
			return n, nil
		}
		return castFromNumeric(n, to)
	case FamBool:
		b, ok := d.(bool)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		if to.IsInteger() {
			if b {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case FamInt2, FamInt4, FamInt8, FamOid, FamRegclass, FamRegtype:
		v, ok := d.(int64)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		return castFromInt(v, from, to)
	case FamFloat4, FamFloat8:
		f, ok := d.(float64)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		return castFromFloat(f, from, to)
	case FamNumeric:
		n, ok := d.(*apd.Decimal)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		return castFromNumeric(n, to)
	case FamDate:
		v, ok := d.(Date)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		var ts Timestamp
		switch v {
		case DateInfinity:
			ts = TimestampInfinity
		case DateNegInfinity:
			ts = TimestampNegInfinity
		default:
			ts = Timestamp(int64(v) * MicrosPerDay)
		}
		switch to.Family {
		case FamTimestamp:
			return ts, nil
		case FamTimestampTZ:
			return localToTZ(ts, c.Location()), nil
		}
	case FamTimestamp:
		v, ok := d.(Timestamp)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		return castFromTimestamp(c, v, to)
	case FamTimestampTZ:
		v, ok := d.(TimestampTZ)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		if to.Family == FamTimestamp {
			ts, _ := tzToLocal(v, c.Location())
			return ts, nil
		}
		if v == TimestampTZInfinity || v == TimestampTZNegInfinity {
			if to.Family == FamDate {
				if v == TimestampTZInfinity {
					return DateInfinity, nil
				}
				return DateNegInfinity, nil
			}
			return nil, pgerror.New(pgerror.FeatureNotSupported, "cannot convert infinite timestamp to %s", to)
		}
		ts, _ := tzToLocal(v, c.Location())
		return castFromTimestamp(c, ts, to)
	case FamTime:
		v, ok := d.(TimeOfDay)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		if to.Family == FamInterval {
			return Interval{Micros: int64(v)}, nil
		}
	case FamInterval:
		v, ok := d.(Interval)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		if to.Family == FamTime {
			_, r := floorDiv(v.Micros, MicrosPerDay)
			return TimeOfDay(r), nil
		}
	case FamArray:
		a, ok := d.(*Array)
		if !ok {
			return nil, errBadDatum(d, from)
		}
		if to.Family == FamArray {
			out := &Array{Elem: to.ElemType(), Elems: make([]Datum, len(a.Elems))}
			for i, e := range a.Elems {
				v, err := Cast(c, e, from.ElemType(), to.ElemType(), explicit)
				if err != nil {
					return nil, err
				}
				out.Elems[i] = v
			}
			return out, nil
		}
	}
	return nil, errCannotCast(from, to)
}

func castFromInt(v int64, from, to T) (Datum, error) {
	switch to.Family {
	case FamInt2, FamInt4, FamInt8:
		if from.Family == FamOid || from.Family == FamRegclass || from.Family == FamRegtype {
			if to.Family == FamInt4 {
				return int64(int32(uint32(v))), nil
			}
			if to.Family == FamInt2 {
				return nil, errCannotCast(from, to)
			}
			return v, nil
		}
		lo, hi := intRange(to.Family)
		if v < lo || v > hi {
			return nil, errOutOfRange(to)
		}
		return v, nil
	case FamOid, FamRegclass, FamRegtype:
		switch from.Family {
		case FamInt2, FamInt4:
			return int64(uint32(int32(v))), nil
		case FamInt8:
			if v < 0 || v > math.MaxUint32 {
				return nil, pgerror.New(pgerror.NumericValueOutOfRange, "OID out of range")
			}
		}
		return v, nil
	case FamFloat4:
		return float64(float32(v)), nil
	case FamFloat8:
		return float64(v), nil
	case FamNumeric:
		return NumericFromInt(v), nil
	case FamBool:
		if from.Family == FamInt4 {
			return v != 0, nil
		}
	}
	return nil, errCannotCast(from, to)
}

func castFromFloat(f float64, from, to T) (Datum, error) {
	switch to.Family {
	case FamInt2, FamInt4, FamInt8:
		r := math.RoundToEven(f)
		lo, hi := intRange(to.Family)
		// float64(hi) may round up to 2^63, so compare with < on the
		// upper bound of int8.
		if math.IsNaN(r) || r < float64(lo) || (to.Family == FamInt8 && r >= 9223372036854775808.0) || (to.Family != FamInt8 && r > float64(hi)) {
			return nil, errOutOfRange(to)
		}
		return int64(r), nil
	case FamFloat4:
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return f, nil
		}
		r := float64(float32(f))
		if math.IsInf(r, 0) {
			return nil, pgerror.New(pgerror.NumericValueOutOfRange, "value out of range: overflow")
		}
		if r == 0 && f != 0 {
			return nil, pgerror.New(pgerror.NumericValueOutOfRange, "value out of range: underflow")
		}
		return r, nil
	case FamFloat8:
		return f, nil
	case FamNumeric:
		switch {
		case math.IsNaN(f):
			return &apd.Decimal{Form: apd.NaN}, nil
		case math.IsInf(f, 1):
			return &apd.Decimal{Form: apd.Infinite}, nil
		case math.IsInf(f, -1):
			return &apd.Decimal{Form: apd.Infinite, Negative: true}, nil
		}
		// float8_numeric / float4_numeric print with DBL_DIG / FLT_DIG
		// significant digits.
		digits := 15
		if from.Family == FamFloat4 {
			digits = 6
		}
		var buf [40]byte
		s := strconvFormatG(buf[:0], f, digits)
		d, _, err := apd.NewFromString(string(s))
		if err != nil {
			return nil, pgerror.Internal("types: float %v to numeric: %v", f, err)
		}
		normalizeZero(d)
		if d.Exponent > 0 {
			var z apd.Decimal
			if _, err := wideContext(apd.RoundHalfUp).Quantize(&z, d, 0); err == nil {
				d = &z
			}
		}
		return d, nil
	}
	return nil, errCannotCast(from, to)
}

func castFromNumeric(n *apd.Decimal, to T) (Datum, error) {
	switch to.Family {
	case FamInt2, FamInt4, FamInt8:
		switch n.Form {
		case apd.NaN, apd.NaNSignaling:
			return nil, pgerror.New(pgerror.FeatureNotSupported, "cannot convert NaN to %s", typeLabel(to))
		case apd.Infinite:
			return nil, pgerror.New(pgerror.FeatureNotSupported, "cannot convert infinity to %s", typeLabel(to))
		}
		if n.NumDigits()+int64(n.Exponent) > 20 {
			return nil, errOutOfRange(to)
		}
		var r apd.Decimal
		if _, err := wideContext(apd.RoundHalfUp).Quantize(&r, n, 0); err != nil {
			return nil, errOutOfRange(to)
		}
		v, err := r.Int64()
		if err != nil {
			return nil, errOutOfRange(to)
		}
		lo, hi := intRange(to.Family)
		if v < lo || v > hi {
			return nil, errOutOfRange(to)
		}
		return v, nil
	case FamFloat4, FamFloat8:
		switch n.Form {
		case apd.NaN, apd.NaNSignaling:
			return math.NaN(), nil
		case apd.Infinite:
			if n.Negative {
				return math.Inf(-1), nil
			}
			return math.Inf(1), nil
		}
		bits := 64
		if to.Family == FamFloat4 {
			bits = 32
		}
		f, err := parseFloat(string(appendNumericExp(nil, n)), to, bits)
		if err != nil {
			// Report the value as numeric_out prints it, as PostgreSQL does.
			return nil, pgerror.New(pgerror.NumericValueOutOfRange, "\"%s\" is out of range for type %s", appendNumeric(nil, n), typeLabel(to))
		}
		return f, nil
	}
	return nil, errCannotCast(NumericT, to)
}

// appendNumericExp renders a finite numeric in exponent form (compact for
// huge exponents).
func appendNumericExp(buf []byte, n *apd.Decimal) []byte {
	return append(buf, n.Text('e')...)
}

func castFromTimestamp(c *Ctx, v Timestamp, to T) (Datum, error) {
	switch to.Family {
	case FamTimestampTZ:
		return localToTZ(v, c.Location()), nil
	case FamDate:
		switch v {
		case TimestampInfinity:
			return DateInfinity, nil
		case TimestampNegInfinity:
			return DateNegInfinity, nil
		}
		days, _ := floorDiv(int64(v), MicrosPerDay)
		return Date(days), nil
	case FamTime:
		if v == TimestampInfinity || v == TimestampNegInfinity {
			return nil, pgerror.New(pgerror.FeatureNotSupported, "cannot convert infinite timestamp to time")
		}
		_, r := floorDiv(int64(v), MicrosPerDay)
		return TimeOfDay(r), nil
	}
	return nil, errCannotCast(TimestampT, to)
}
