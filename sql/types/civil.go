package types

import (
	"math"
	"time"
)

// Infinite dates and timestamps, as PostgreSQL's 'infinity' and '-infinity'.
const (
	DateNegInfinity        = Date(math.MinInt32)
	DateInfinity           = Date(math.MaxInt32)
	TimestampNegInfinity   = Timestamp(math.MinInt64)
	TimestampInfinity      = Timestamp(math.MaxInt64)
	TimestampTZNegInfinity = TimestampTZ(math.MinInt64)
	TimestampTZInfinity    = TimestampTZ(math.MaxInt64)
)

// Offsets between the Unix epoch (ours) and PostgreSQL's 2000-01-01 epoch.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * MicrosPerDay
)

// Supported ranges: from 4714-11-24 BC (Julian day 0, astronomical year
// -4713) up to the end of 294246 for timestamps and up to the largest date
// an int32 day count from 1970 holds.
var (
	minDate = daysFromCivil(-4713, 11, 24)
	// maxTimestamp is exclusive. PostgreSQL counts from 2000 and reaches
	// 294277-01-01; counting from 1970 in an int64 stops 30 years earlier.
	maxTimestamp = daysFromCivil(294247, 1, 1) * MicrosPerDay
	minTimestamp = minDate * MicrosPerDay
)

const maxDate = int64(math.MaxInt32 - 1)

// daysFromCivil returns the day number (days since 1970-01-01) of the
// proleptic Gregorian date y-m-d, where y is an astronomical year (0 = 1 BC).
// This is the well-known era/day-of-era computation.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := int64(m) + 9
	if m > 2 {
		mp = int64(m) - 3
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysInMonth(y int64, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// floorDiv returns a/b rounded toward negative infinity and the
// non-negative remainder.
func floorDiv(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return q, r
}

// DateFromTime returns the calendar date of t in t's location.
func DateFromTime(t time.Time) Date {
	return Date(daysFromCivil(int64(t.Year()), int(t.Month()), t.Day()))
}

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time {
	y, m, dd := civilFromDays(int64(d))
	return time.Date(int(y), time.Month(m), dd, 0, 0, 0, 0, time.UTC)
}

// TimeOfDayFromTime returns the wall clock time of t in t's location.
func TimeOfDayFromTime(t time.Time) TimeOfDay {
	return TimeOfDay(int64(t.Hour())*MicrosPerHour + int64(t.Minute())*MicrosPerMinute +
		int64(t.Second())*MicrosPerSecond + int64(t.Nanosecond()/1000))
}

// Time returns the time of day on 1970-01-01 UTC.
func (t TimeOfDay) Time() time.Time { return time.UnixMicro(int64(t)).UTC() }

// TimestampFromTime returns t's wall clock (in t's location) as a naive
// timestamp.
func TimestampFromTime(t time.Time) Timestamp {
	days := daysFromCivil(int64(t.Year()), int(t.Month()), t.Day())
	return Timestamp(days*MicrosPerDay + int64(TimeOfDayFromTime(t)))
}

// Time returns the naive timestamp as a time.Time in UTC with the same wall
// clock.
func (ts Timestamp) Time() time.Time { return time.UnixMicro(int64(ts)).UTC() }

// TimestampTZFromTime returns the instant t.
func TimestampTZFromTime(t time.Time) TimestampTZ { return TimestampTZ(t.UnixMicro()) }

// Time returns the instant in UTC.
func (ts TimestampTZ) Time() time.Time { return time.UnixMicro(int64(ts)).UTC() }

// Duration returns the interval as a duration assuming 30-day months and
// 24-hour days (saturating on overflow).
func (iv Interval) Duration() time.Duration {
	days := int64(iv.Months)*30 + int64(iv.Days)
	if days > math.MaxInt64/int64(MicrosPerDay*1000) || days < math.MinInt64/int64(MicrosPerDay*1000) {
		if days < 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return time.Duration(days*MicrosPerDay*1000) + time.Duration(iv.Micros)*time.Microsecond
}

// tzToLocal converts an instant to the naive wall clock of loc, and returns
// the zone offset in seconds east of UTC.
func tzToLocal(ts TimestampTZ, loc *time.Location) (Timestamp, int) {
	if ts == TimestampTZInfinity || ts == TimestampTZNegInfinity || loc == time.UTC {
		return Timestamp(ts), 0
	}
	sec, _ := floorDiv(int64(ts), MicrosPerSecond)
	_, off := time.Unix(sec, 0).In(loc).Zone()
	return Timestamp(int64(ts) + int64(off)*MicrosPerSecond), off
}

// localToTZ interprets a naive wall clock in loc (the later offset wins
// for ambiguous times, as Go's time.Date decides).
func localToTZ(ts Timestamp, loc *time.Location) TimestampTZ {
	if ts == TimestampInfinity || ts == TimestampNegInfinity {
		return TimestampTZ(ts)
	}
	if loc == time.UTC {
		return TimestampTZ(ts)
	}
	// The offsets in force well before and well after the wall time: a
	// transition near it lies between them. An ambiguous wall time (both
	// valid) takes the later offset, one in a gap (neither valid) the
	// earlier offset, as PostgreSQL does.
	wall, _ := floorDiv(int64(ts), MicrosPerSecond)
	offAt := func(sec int64) int64 {
		_, off := time.Unix(sec, 0).In(loc).Zone()
		return int64(off)
	}
	before := offAt(wall - 86400)
	after := offAt(wall + 86400)
	var off int64
	switch {
	case offAt(wall-after) == after:
		off = after
	case offAt(wall-before) == before:
		off = before
	default:
		off = before
	}
	return TimestampTZ(int64(ts) - off*MicrosPerSecond)
}
