package types

import "fmt"

// Interval typmods use PostgreSQL's encoding: the field range mask in the
// upper 16 bits and the fractional-second precision in the lower 16 (T.Mod
// holds the PostgreSQL typmod itself for intervals). INTERVAL '5' MINUTE is
// IntervalT.WithMod(IntervalTypmod(IntervalMaskMinute, -1)).
const (
	IntervalMaskMonth     = int32(1 << 1)
	IntervalMaskYear      = int32(1 << 2)
	IntervalMaskDay       = int32(1 << 3)
	IntervalMaskHour      = int32(1 << 10)
	IntervalMaskMinute    = int32(1 << 11)
	IntervalMaskSecond    = int32(1 << 12)
	IntervalFullRange     = int32(0x7FFF)
	IntervalFullPrecision = int32(0xFFFF)
)

// IntervalTypmod builds an interval typmod from a range mask (a union of
// IntervalMask* bits, or IntervalFullRange) and a fractional-second
// precision (0..6, or -1 for none).
func IntervalTypmod(rangeMask int32, precision int) int32 {
	p := IntervalFullPrecision
	if precision >= 0 {
		p = int32(precision)
	}
	return (rangeMask&0x7FFF)<<16 | p
}

// intervalRange returns the range mask and precision of an interval type
// (full range and precision when unmodified).
func intervalRange(t T) (rangeMask int32, precision int32) {
	if t.Family != FamInterval || t.Mod < 0 {
		return IntervalFullRange, IntervalFullPrecision
	}
	return (t.Mod >> 16) & 0x7FFF, t.Mod & 0xFFFF
}

// intervalLowestUnit is the unit a bare number takes under a range.
func intervalLowestUnit(rangeMask int32) int {
	switch {
	case rangeMask == IntervalFullRange || rangeMask&IntervalMaskSecond != 0:
		return ivSecond
	case rangeMask&IntervalMaskMinute != 0:
		return ivMinute
	case rangeMask&IntervalMaskHour != 0:
		return ivHour
	case rangeMask&IntervalMaskDay != 0:
		return ivDay
	case rangeMask&IntervalMaskMonth != 0:
		return ivMonth
	case rangeMask&IntervalMaskYear != 0:
		return ivYear
	}
	return ivSecond
}

// applyIntervalTypmod drops the fields below the range's lowest field
// (truncating toward zero) and rounds seconds to the precision, as
// PostgreSQL's interval length coercion does.
func applyIntervalTypmod(iv Interval, t T) Interval {
	rangeMask, prec := intervalRange(t)
	if rangeMask != IntervalFullRange {
		switch intervalLowestUnit(rangeMask) {
		case ivYear:
			iv = Interval{Months: iv.Months / 12 * 12}
		case ivMonth:
			iv = Interval{Months: iv.Months}
		case ivDay:
			iv.Micros = 0
		case ivHour:
			iv.Micros = iv.Micros / MicrosPerHour * MicrosPerHour
		case ivMinute:
			iv.Micros = iv.Micros / MicrosPerMinute * MicrosPerMinute
		}
	}
	if prec != IntervalFullPrecision && prec < 6 {
		iv.Micros = roundMicros(iv.Micros, prec)
	}
	return iv
}

// intervalTypeString renders an interval type as format_type does.
func intervalTypeString(t T) string {
	rangeMask, prec := intervalRange(t)
	s := "interval"
	names := []struct {
		mask int32
		name string
	}{
		{IntervalMaskYear, "year"}, {IntervalMaskYear | IntervalMaskMonth, "year to month"},
		{IntervalMaskMonth, "month"}, {IntervalMaskDay, "day"}, {IntervalMaskHour, "hour"},
		{IntervalMaskMinute, "minute"}, {IntervalMaskSecond, "second"},
		{IntervalMaskDay | IntervalMaskHour, "day to hour"},
		{IntervalMaskDay | IntervalMaskHour | IntervalMaskMinute, "day to minute"},
		{IntervalMaskDay | IntervalMaskHour | IntervalMaskMinute | IntervalMaskSecond, "day to second"},
		{IntervalMaskHour | IntervalMaskMinute, "hour to minute"},
		{IntervalMaskHour | IntervalMaskMinute | IntervalMaskSecond, "hour to second"},
		{IntervalMaskMinute | IntervalMaskSecond, "minute to second"},
	}
	if rangeMask != IntervalFullRange {
		for _, n := range names {
			if n.mask == rangeMask {
				s += " " + n.name
				break
			}
		}
	}
	if prec != IntervalFullPrecision {
		s += fmt.Sprintf("(%d)", prec)
	}
	return s
}
