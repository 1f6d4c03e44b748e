package funcs

import (
	"math"
	"strconv"

	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/sql/types"
)

// partVal is one extracted field: the exact value coef/10^scale that
// extract() returns as numeric, and the double precision value date_part()
// returns (computed as PostgreSQL computes it, which can differ from
// coef/10^scale in the last bit).
type partVal struct {
	coef  int64
	scale int8
	fl    float64
	inf   int8 // +1 or -1 when the value is ±Infinity
	null  bool
	dec   *apd.Decimal // exact value when coef would overflow
}

func intPart(v int64) partVal { return partVal{coef: v, fl: float64(v)} }

// numeric returns the value as extract() reports it.
func (p partVal) numeric() types.Datum {
	switch {
	case p.null:
		return nil
	case p.inf != 0:
		return &apd.Decimal{Form: apd.Infinite, Negative: p.inf < 0}
	case p.dec != nil:
		return p.dec
	}
	return apd.New(p.coef, -int32(p.scale))
}

// float returns the value as date_part() reports it.
func (p partVal) float() types.Datum {
	switch {
	case p.null:
		return nil
	case p.inf != 0:
		return math.Inf(int(p.inf))
	}
	return p.fl
}

// appendScaled appends coef/10^scale in canonical decimal text (numeric's
// Arrow representation), e.g. 5000000,6 → "5.000000".
func appendScaled(dst []byte, coef int64, scale int8) []byte {
	if scale <= 0 {
		return strconv.AppendInt(dst, coef, 10)
	}
	neg := coef < 0
	u := uint64(coef)
	if neg {
		u = -u
		dst = append(dst, '-')
	}
	var buf [24]byte
	digits := strconv.AppendUint(buf[:0], u, 10)
	s := int(scale)
	if len(digits) <= s {
		dst = append(dst, '0', '.')
		for i := len(digits); i < s; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-s]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-s:]...)
}

// isoWeekday returns ISO day of week (Monday 1 … Sunday 7) of a day number.
func isoWeekday(days int64) int {
	_, r := floorDiv(days+3, 7)
	return int(r) + 1
}

// isoWeek returns the ISO 8601 week-numbering year (astronomical) and week.
func isoWeek(days int64) (year, week int) {
	thu := days - int64(isoWeekday(days)) + 4
	y, _, _ := civil(thu)
	jan1 := daysFromCivil(y, 1, 1)
	return y, int((thu-jan1)/7) + 1
}

// decadeOf, centuryOf and millenniumOf take an astronomical year; decade 0
// starts in 1 BC, century 1 in AD 1 and century -1 ends in 1 BC.
func decadeOf(y int) int64 {
	if y >= 0 {
		return int64(y / 10)
	}
	return -int64((8 - (y - 1)) / 10)
}

func centuryOf(y int) int64 {
	if y > 0 {
		return int64((y + 99) / 100)
	}
	return -int64((99 - (y - 1)) / 100)
}

func millenniumOf(y int) int64 {
	if y > 0 {
		return int64((y + 999) / 1000)
	}
	return -int64((999 - (y - 1)) / 1000)
}

// monotonicUnit reports the units whose value grows with time, which are
// ±Infinity for infinite inputs (the others are NULL).
func monotonicUnit(u unit) bool {
	switch u {
	case uEpoch, uYear, uDecade, uCentury, uMillennium, uJulian, uIsoyear:
		return true
	}
	return false
}

// tsPart extracts unit u from a naive timestamp (the local clock reading for
// timestamptz, whose offset is offSec seconds east of UTC).
func tsPart(u unit, name string, local int64, tz bool, offSec int64) (partVal, error) {
	typ := tnTimestamp
	if tz {
		typ = tnTimestampTZ
	}
	switch u {
	case uUnknown:
		return partVal{}, errUnitUnknown(name, typ)
	case uTimezone, uTimezoneHour, uTimezoneMinute:
		if !tz {
			return partVal{}, errUnitUnsupported(name, typ)
		}
	}
	if !tsFinite(local) {
		if monotonicUnit(u) {
			if local > 0 {
				return partVal{inf: 1}, nil
			}
			return partVal{inf: -1}, nil
		}
		return partVal{null: true}, nil
	}
	switch u {
	case uEpoch:
		utc := local - offSec*types.MicrosPerSecond
		return partVal{coef: utc, scale: 6, fl: float64(utc) / 1e6}, nil
	case uTimezone:
		return intPart(offSec), nil
	case uTimezoneHour:
		return intPart(offSec / 3600), nil
	case uTimezoneMinute:
		return intPart((offSec / 60) % 60), nil
	}
	days, rem := floorDiv(local, types.MicrosPerDay)
	switch u {
	case uJulian:
		return julianPart(days, rem), nil
	case uMicrosecond, uMillisecond, uSecond:
		us := rem % types.MicrosPerMinute
		sec, fsec := us/types.MicrosPerSecond, us%types.MicrosPerSecond
		switch u {
		case uMicrosecond:
			return partVal{coef: us, fl: float64(sec)*1e6 + float64(fsec)}, nil
		case uMillisecond:
			return partVal{coef: us, scale: 3, fl: float64(sec)*1000.0 + float64(fsec)/1000.0}, nil
		default:
			return partVal{coef: us, scale: 6, fl: float64(sec) + float64(fsec)/1e6}, nil
		}
	case uMinute:
		return intPart((rem / types.MicrosPerMinute) % 60), nil
	case uHour:
		return intPart(rem / types.MicrosPerHour), nil
	case uDow:
		return intPart(int64(isoWeekday(days) % 7)), nil
	case uIsodow:
		return intPart(int64(isoWeekday(days))), nil
	case uWeek:
		_, w := isoWeek(days)
		return intPart(int64(w)), nil
	case uIsoyear:
		y, _ := isoWeek(days)
		return intPart(int64(pgYear(y))), nil
	}
	y, m, d := civil(days)
	switch u {
	case uDay:
		return intPart(int64(d)), nil
	case uMonth:
		return intPart(int64(m)), nil
	case uQuarter:
		return intPart(int64((m-1)/3 + 1)), nil
	case uYear:
		return intPart(int64(pgYear(y))), nil
	case uDecade:
		return intPart(decadeOf(y)), nil
	case uCentury:
		return intPart(centuryOf(y)), nil
	case uMillennium:
		return intPart(millenniumOf(y)), nil
	case uDoy:
		return intPart(days - daysFromCivil(y, 1, 1) + 1), nil
	}
	return partVal{}, errUnitUnknown(name, typ)
}

// datePart implements extract(field FROM date), which PostgreSQL computes
// without going through timestamp: time-of-day fields are not supported.
func datePart(u unit, name string, d int64) (partVal, error) {
	switch u {
	case uUnknown:
		return partVal{}, errUnitUnknown(name, tnDate)
	case uMicrosecond, uMillisecond, uSecond, uMinute, uHour, uTimezone, uTimezoneHour, uTimezoneMinute:
		return partVal{}, errUnitUnsupported(name, tnDate)
	}
	if d == dateNegInf || d == datePosInf {
		if monotonicUnit(u) {
			if d > 0 {
				return partVal{inf: 1}, nil
			}
			return partVal{inf: -1}, nil
		}
		return partVal{null: true}, nil
	}
	switch u {
	case uEpoch:
		return intPart(d * 86400), nil
	case uJulian:
		return intPart(d + julianEpochDay), nil
	}
	return tsPart(u, name, d*types.MicrosPerDay, false, 0)
}

// timePart implements extract/date_part on time without time zone.
func timePart(u unit, name string, us int64) (partVal, error) {
	sec, fsec := (us%types.MicrosPerMinute)/types.MicrosPerSecond, us%types.MicrosPerSecond
	switch u {
	case uUnknown:
		return partVal{}, errUnitUnknown(name, tnTime)
	case uMicrosecond:
		v := us % types.MicrosPerMinute
		return partVal{coef: v, fl: float64(sec)*1e6 + float64(fsec)}, nil
	case uMillisecond:
		v := us % types.MicrosPerMinute
		return partVal{coef: v, scale: 3, fl: float64(sec)*1000.0 + float64(fsec)/1000.0}, nil
	case uSecond:
		v := us % types.MicrosPerMinute
		return partVal{coef: v, scale: 6, fl: float64(sec) + float64(fsec)/1e6}, nil
	case uMinute:
		return intPart((us / types.MicrosPerMinute) % 60), nil
	case uHour:
		return intPart(us / types.MicrosPerHour), nil
	case uEpoch:
		return partVal{coef: us, scale: 6, fl: float64(us) / 1e6}, nil
	}
	return partVal{}, errUnitUnsupported(name, tnTime)
}

// intervalPart implements extract/date_part on interval.
func intervalPart(u unit, name string, iv types.Interval) (partVal, error) {
	years, mons := int64(iv.Months/12), int64(iv.Months%12)
	t := iv.Micros
	hours := t / types.MicrosPerHour
	t -= hours * types.MicrosPerHour
	mins := t / types.MicrosPerMinute
	t -= mins * types.MicrosPerMinute
	sec, fsec := t/types.MicrosPerSecond, t%types.MicrosPerSecond
	switch u {
	case uUnknown:
		return partVal{}, errUnitUnknown(name, tnInterval)
	case uMicrosecond:
		return partVal{coef: t, fl: float64(sec)*1e6 + float64(fsec)}, nil
	case uMillisecond:
		return partVal{coef: t, scale: 3, fl: float64(sec)*1000.0 + float64(fsec)/1000.0}, nil
	case uSecond:
		return partVal{coef: t, scale: 6, fl: float64(sec) + float64(fsec)/1e6}, nil
	case uMinute:
		return intPart(mins), nil
	case uHour:
		return intPart(hours), nil
	case uDay:
		return intPart(int64(iv.Days)), nil
	case uMonth:
		return intPart(mons), nil
	case uQuarter:
		return intPart(mons/3 + 1), nil
	case uYear:
		return intPart(years), nil
	case uDecade:
		return intPart(years / 10), nil
	case uCentury:
		return intPart(years / 100), nil
	case uMillennium:
		return intPart(years / 1000), nil
	case uEpoch:
		const secsPerYear = 31557600 // 365.25 days
		const secsPerMonth = 30 * 86400
		secs := secsPerYear*years + secsPerMonth*mons + 86400*int64(iv.Days)
		fl := float64(iv.Micros)/1e6 + float64(secsPerYear)*float64(years) +
			float64(secsPerMonth)*float64(mons) + 86400.0*float64(iv.Days)
		const limit = math.MaxInt64/types.MicrosPerSecond - 1
		if secs > -limit && secs < limit {
			if coef := secs*types.MicrosPerSecond + iv.Micros; (iv.Micros >= 0) == (coef >= secs*types.MicrosPerSecond) {
				return partVal{coef: coef, scale: 6, fl: fl}, nil
			}
		}
		// Exact arithmetic for values beyond int64 microseconds.
		d := apd.New(secs, 0)
		ctx := apd.BaseContext.WithPrecision(40)
		_, _ = ctx.Mul(d, d, apd.New(types.MicrosPerSecond, 0))
		_, _ = ctx.Add(d, d, apd.New(iv.Micros, 0))
		d.Exponent -= 6
		return partVal{dec: d, scale: 6, fl: fl}, nil
	}
	return partVal{}, errUnitUnsupported(name, tnInterval)
}

// julianEpochDay is the Julian day number of 1970-01-01.
const julianEpochDay = 2440588

// julianPart is the Julian day with the time of day as a fraction. The
// numeric result has the scale PostgreSQL's numeric division picks for
// timeUS / 86400000000: 16 significant digits, counted in base-10000 groups.
func julianPart(days, timeUS int64) partVal {
	jd := days + julianEpochDay
	fl := float64(jd) + float64(timeUS)/float64(types.MicrosPerDay)
	// Weight (base 10000) and leading group of the numerator; the
	// denominator 86400000000 has weight 2 and leading group 864.
	weight, first := int64(0), timeUS
	for first >= 10000 {
		first /= 10000
		weight++
	}
	qweight := weight - 2
	if first <= 864 {
		qweight--
	}
	rscale := 16 - qweight*4
	if rscale < 0 {
		rscale = 0
	}
	ctx := apd.BaseContext.WithPrecision(uint32(40 + rscale))
	ctx.Rounding = apd.RoundHalfUp
	frac := new(apd.Decimal)
	_, _ = ctx.Quo(frac, apd.New(timeUS, 0), apd.New(types.MicrosPerDay, 0))
	_, _ = ctx.Quantize(frac, frac, -int32(rscale))
	res := new(apd.Decimal)
	_, _ = ctx.Add(res, apd.New(jd, 0), frac)
	_, _ = ctx.Quantize(res, res, -int32(rscale))
	return partVal{dec: res, fl: fl}
}
