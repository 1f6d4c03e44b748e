package funcs

import (
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// checkTruncUnit validates a date_trunc unit for a timestamp type.
func checkTruncUnit(u unit, name, typ string) error {
	switch u {
	case uUnknown:
		return errUnitUnknown(name, typ)
	case uMicrosecond, uMillisecond, uSecond, uMinute, uHour, uDay, uWeek, uMonth, uQuarter,
		uYear, uDecade, uCentury, uMillennium:
		return nil
	}
	return errUnitUnsupported(name, typ)
}

// truncLocal truncates a naive timestamp to unit u (already validated).
func truncLocal(u unit, v int64) int64 {
	if !tsFinite(v) {
		return v
	}
	switch u {
	case uMicrosecond:
		return v
	case uMillisecond:
		q, _ := floorDiv(v, 1000)
		return q * 1000
	case uSecond:
		q, _ := floorDiv(v, types.MicrosPerSecond)
		return q * types.MicrosPerSecond
	case uMinute:
		q, _ := floorDiv(v, types.MicrosPerMinute)
		return q * types.MicrosPerMinute
	case uHour:
		q, _ := floorDiv(v, types.MicrosPerHour)
		return q * types.MicrosPerHour
	}
	days, _ := floorDiv(v, types.MicrosPerDay)
	switch u {
	case uDay:
		return days * types.MicrosPerDay
	case uWeek:
		return (days - int64(isoWeekday(days)-1)) * types.MicrosPerDay
	}
	y, m, _ := civil(days)
	switch u {
	case uMonth:
	case uQuarter:
		m = 3*((m-1)/3) + 1
	case uYear:
		m = 1
	case uDecade:
		m = 1
		if y > 0 {
			y = (y / 10) * 10
		} else {
			y = -((8 - (y - 1)) / 10) * 10
		}
	case uCentury:
		m = 1
		if y > 0 {
			y = ((y+99)/100)*100 - 99
		} else {
			y = -((99-(y-1))/100)*100 + 1
		}
	case uMillennium:
		m = 1
		if y > 0 {
			y = ((y+999)/1000)*1000 - 999
		} else {
			y = -((999-(y-1))/1000)*1000 + 1
		}
	}
	return daysFromCivil(y, m, 1) * types.MicrosPerDay
}

// truncInterval implements date_trunc(text, interval).
func truncInterval(u unit, name string, iv types.Interval) (types.Datum, error) {
	switch u {
	case uUnknown:
		return nil, errUnitUnknown(name, tnInterval)
	case uWeek:
		return nil, errUnitUnsupported(name, tnInterval).(*pgerror.Error).WithDetail("Months usually have fractional weeks.")
	case uMicrosecond, uMillisecond, uSecond, uMinute, uHour, uDay, uMonth, uQuarter,
		uYear, uDecade, uCentury, uMillennium:
	default:
		return nil, errUnitUnsupported(name, tnInterval)
	}
	years, mons := iv.Months/12, iv.Months%12
	days := iv.Days
	t := iv.Micros
	hours := t / types.MicrosPerHour
	t -= hours * types.MicrosPerHour
	mins := t / types.MicrosPerMinute
	t -= mins * types.MicrosPerMinute
	secs := t / types.MicrosPerSecond
	fsec := t % types.MicrosPerSecond
	// Each unit clears everything below it.
	var level int
	switch u {
	case uMillennium:
		level = 12
	case uCentury:
		level = 11
	case uDecade:
		level = 10
	case uYear:
		level = 9
	case uQuarter:
		level = 8
	case uMonth:
		level = 7
	case uDay:
		level = 6
	case uHour:
		level = 5
	case uMinute:
		level = 4
	case uSecond:
		level = 3
	case uMillisecond:
		level = 2
	default:
		level = 1
	}
	if level >= 12 {
		years = (years / 1000) * 1000
	}
	if level >= 11 {
		years = (years / 100) * 100
	}
	if level >= 10 {
		years = (years / 10) * 10
	}
	if level >= 9 {
		mons = 0
	}
	if level >= 8 {
		mons = 3 * (mons / 3)
	}
	if level >= 7 {
		days = 0
	}
	if level >= 6 {
		hours = 0
	}
	if level >= 5 {
		mins = 0
	}
	if level >= 4 {
		secs = 0
	}
	if level >= 3 {
		fsec = 0
	}
	if level >= 2 {
		fsec = (fsec / 1000) * 1000
	}
	return types.Interval{
		Months: years*12 + mons,
		Days:   days,
		Micros: hours*types.MicrosPerHour + mins*types.MicrosPerMinute + secs*types.MicrosPerSecond + fsec,
	}, nil
}

// binStride validates date_bin's stride and returns it in microseconds.
func binStride(stride types.Interval) (int64, error) {
	if stride.Months != 0 {
		return 0, errf(pgerror.FeatureNotSupported, "timestamps cannot be binned into intervals containing months or years")
	}
	s := int64(stride.Days)*types.MicrosPerDay + stride.Micros
	if s <= 0 {
		return 0, errf(pgerror.DatetimeFieldOverflow, "stride must be greater than zero")
	}
	return s, nil
}

// dateBin implements date_bin's arithmetic for a validated stride.
func dateBin(strideUS, src, origin int64) (int64, error) {
	if !tsFinite(src) {
		return src, nil
	}
	if !tsFinite(origin) {
		return 0, errf(pgerror.DatetimeFieldOverflow, "origin out of range")
	}
	diff := src - origin
	if (origin < 0 && src > 0 && diff < 0) || (origin > 0 && src < 0 && diff > 0) {
		return 0, errf(pgerror.DatetimeFieldOverflow, "interval out of range")
	}
	q, _ := floorDiv(diff, strideUS)
	res := origin + q*strideUS
	if !tsInRange(res) {
		return 0, errTSRange()
	}
	return res, nil
}
