package types

import (
	"bytes"
	"math"
	"strings"

	"github.com/cockroachdb/apd/v3"
)

// Compare orders two non-nil Datums of the same type t (-1, 0, 1) as
// PostgreSQL's default b-tree operator class does (NaN greater than all
// floats and equal to itself, -0 equal to 0, numeric by value, text
// compared bytewise as in the C collation, bpchar ignoring trailing spaces,
// intervals by their 30-day-month span, arrays element-wise with NULL
// elements last, then by length). A nil operand sorts after any non-nil
// one. Datums of an unexpected Go type compare by Go type name, so Compare
// never panics.
func Compare(a, b Datum, t T) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return 1
		}
		return -1
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmpOrdered(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return compareFloat(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	case string:
		if y, ok := b.(string); ok {
			if t.Family == FamBpchar {
				return strings.Compare(strings.TrimRight(x, " "), strings.TrimRight(y, " "))
			}
			if t.Family == FamJSONB {
				return compareJSONB(x, y)
			}
			return strings.Compare(x, y)
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y)
		}
	case *apd.Decimal:
		if y, ok := b.(*apd.Decimal); ok {
			return compareNumeric(x, y)
		}
	case Date:
		if y, ok := b.(Date); ok {
			return cmpOrdered(x, y)
		}
	case TimeOfDay:
		if y, ok := b.(TimeOfDay); ok {
			return cmpOrdered(x, y)
		}
	case Timestamp:
		if y, ok := b.(Timestamp); ok {
			return cmpOrdered(x, y)
		}
	case TimestampTZ:
		if y, ok := b.(TimestampTZ); ok {
			return cmpOrdered(x, y)
		}
	case Interval:
		if y, ok := b.(Interval); ok {
			xd, xr := intervalSpan(x)
			yd, yr := intervalSpan(y)
			if c := cmpOrdered(xd, yd); c != 0 {
				return c
			}
			return cmpOrdered(xr, yr)
		}
	case *Array:
		if y, ok := b.(*Array); ok {
			et := x.Elem
			if t.Family == FamArray {
				et = t.ElemType()
			}
			n := min(len(x.Elems), len(y.Elems))
			for i := 0; i < n; i++ {
				if c := Compare(x.Elems[i], y.Elems[i], et); c != 0 {
					return c
				}
			}
			return cmpOrdered(len(x.Elems), len(y.Elems))
		}
	}
	return strings.Compare(goTypeName(a), goTypeName(b))
}

func goTypeName(d Datum) string {
	switch d.(type) {
	case int64:
		return "int64"
	case float64:
		return "float64"
	case string:
		return "string"
	}
	return "other"
}

type ordered interface {
	~int | ~int32 | ~int64 | ~uint64 | ~string
}

func cmpOrdered[V ordered](x, y V) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func compareFloat(x, y float64) int {
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// numericRank orders numeric forms: -Inf < finite < +Inf < NaN.
func numericRank(d *apd.Decimal) int {
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return 3
	case apd.Infinite:
		if d.Negative {
			return 0
		}
		return 2
	}
	return 1
}

func compareNumeric(x, y *apd.Decimal) int {
	rx, ry := numericRank(x), numericRank(y)
	if rx != ry || rx != 1 {
		return cmpOrdered(rx, ry)
	}
	return x.Cmp(y)
}

// intervalSpan normalizes an interval to (days, micros within the day)
// with 30-day months, as PostgreSQL's interval comparison does with a
// 128-bit span; the pair compares lexicographically like that span.
func intervalSpan(iv Interval) (int64, int64) {
	days := int64(iv.Months)*30 + int64(iv.Days)
	q, r := floorDiv(iv.Micros, MicrosPerDay)
	return days + q, r
}

// DatumEqual reports whether a and b (of type t) are equal in the sense of
// GROUP BY / DISTINCT: Compare == 0, and two NULLs are equal (not
// distinct).
func DatumEqual(a, b Datum, t T) bool { return Compare(a, b, t) == 0 }
