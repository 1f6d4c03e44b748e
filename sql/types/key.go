package types

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/zeebo/xxh3"
)

// Key encoding (memcomparable): every value starts with a marker byte,
// keyNotNull or keyNull, so NULLs sort last; each encoding is
// self-delimiting, so keys of several columns can be concatenated.
//
//	bool             0x00 | 0x01
//	integers, oid,   8 bytes big endian, sign bit flipped
//	date/time/ts
//	float            8 bytes: IEEE bits, all bits flipped for negatives,
//	                 sign bit set for positives; -0 as 0; every NaN as
//	                 the largest key
//	numeric          class byte (1 -Inf, 2 negative, 3 zero, 4 positive,
//	                 5 +Inf, 6 NaN); for non-zero finite values the
//	                 8-byte adjusted exponent (sign flipped) and the
//	                 significant decimal digits (trailing zeros dropped)
//	                 as bytes 1..10 ended by 0x00; negatives complement
//	                 exponent and digits (terminator 0xFF)
//	text, bytea      bytes with 0x00 escaped as 0x00 0xFF, ended by
//	                 0x00 0x01 (bpchar drops trailing spaces first)
//	interval         8-byte day span and 8-byte micros within the day
//	array            per element 0x01 then the element key, ended by 0x00
//	jsonb            structural, see appendKeyJSON in jsonb.go
const (
	keyNotNull = 0x01
	keyNull    = 0x02
)

// AppendKey appends a memcomparable encoding of d (nil allowed) of type t to
// buf: bytewise order of encodings equals Compare order with NULLs last, and
// equal encodings mean equal (in the sense of GROUP BY / DISTINCT) values.
func AppendKey(buf []byte, d Datum, t T) []byte {
	if d == nil {
		return append(buf, keyNull)
	}
	buf = append(buf, keyNotNull)
	switch v := d.(type) {
	case bool:
		if v {
			return append(buf, 1)
		}
		return append(buf, 0)
	case int64:
		return appendKeyInt(buf, v)
	case float64:
		return appendKeyFloat(buf, v)
	case *apd.Decimal:
		return appendKeyNumeric(buf, v)
	case string:
		if t.Family == FamBpchar {
			v = strings.TrimRight(v, " ")
		}
		if t.Family == FamJSONB {
			return appendKeyJSONB(buf, v)
		}
		return appendKeyBytes(buf, v)
	case []byte:
		return appendKeyBytes(buf, string(v))
	case Date:
		return appendKeyInt(buf, int64(v))
	case TimeOfDay:
		return appendKeyInt(buf, int64(v))
	case Timestamp:
		return appendKeyInt(buf, int64(v))
	case TimestampTZ:
		return appendKeyInt(buf, int64(v))
	case Interval:
		days, rem := intervalSpan(v)
		buf = appendKeyInt(buf, days)
		return appendKeyInt(buf, rem)
	case *Array:
		et := v.Elem
		if t.Family == FamArray {
			et = t.ElemType()
		}
		for _, e := range v.Elems {
			buf = append(buf, 0x01)
			buf = AppendKey(buf, e, et)
		}
		return append(buf, 0x00)
	}
	// Unknown Go type: encode its text so the key is still deterministic.
	return appendKeyBytes(buf, FormatText(nil, d, t))
}

func appendKeyInt(buf []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(buf, uint64(v)^(1<<63))
}

func appendKeyFloat(buf []byte, f float64) []byte {
	if math.IsNaN(f) {
		return binary.BigEndian.AppendUint64(buf, math.MaxUint64)
	}
	if f == 0 {
		f = 0 // -0 → +0
	}
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(buf, u)
}

func appendKeyBytes(buf []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			buf = append(buf, s...)
			break
		}
		buf = append(buf, s[:i]...)
		buf = append(buf, 0x00, 0xFF)
		s = s[i+1:]
	}
	return append(buf, 0x00, 0x01)
}

func appendKeyNumeric(buf []byte, d *apd.Decimal) []byte {
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return append(buf, 6)
	case apd.Infinite:
		if d.Negative {
			return append(buf, 1)
		}
		return append(buf, 5)
	}
	if d.IsZero() {
		return append(buf, 3)
	}
	digits := d.Coeff.String()
	// Adjusted exponent: position of the most significant digit.
	adj := int64(len(digits)) + int64(d.Exponent)
	digits = strings.TrimRight(digits, "0")
	if d.Negative {
		buf = append(buf, 2)
		buf = appendKeyInt(buf, ^adj)
		for i := 0; i < len(digits); i++ {
			buf = append(buf, 0xFF-(digits[i]-'0'+1))
		}
		return append(buf, 0xFF)
	}
	buf = append(buf, 4)
	buf = appendKeyInt(buf, adj)
	for i := 0; i < len(digits); i++ {
		buf = append(buf, digits[i]-'0'+1)
	}
	return append(buf, 0x00)
}

// Hash64 returns a hash of d (of type t) consistent with DatumEqual: equal
// values (1.0 and 1.00, 'a' and 'a  ' as char, -0 and 0) hash alike.
func Hash64(d Datum, t T) uint64 {
	var scratch [64]byte
	return xxh3.Hash(AppendKey(scratch[:0], d, t))
}
