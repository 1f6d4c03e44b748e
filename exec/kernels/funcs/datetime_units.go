package funcs

import (
	"strings"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// unit is a date/time field name as date_trunc, date_part and extract accept it.
type unit uint8

const (
	uUnknown unit = iota
	uMicrosecond
	uMillisecond
	uSecond
	uMinute
	uHour
	uDay
	uWeek
	uMonth
	uQuarter
	uYear
	uDecade
	uCentury
	uMillennium
	uEpoch
	uDow
	uIsodow
	uDoy
	uIsoyear
	uJulian
	uTimezone
	uTimezoneHour
	uTimezoneMinute
)

// unitNames maps PostgreSQL's spellings (after lower-casing) to units.
var unitNames = map[string]unit{
	"microsecond": uMicrosecond, "microseconds": uMicrosecond, "usec": uMicrosecond, "usecs": uMicrosecond,
	"useconds": uMicrosecond, "microsecon": uMicrosecond, "us": uMicrosecond,
	"millisecond": uMillisecond, "milliseconds": uMillisecond, "msec": uMillisecond, "msecs": uMillisecond,
	"mseconds": uMillisecond, "millisecon": uMillisecond, "ms": uMillisecond,
	"second": uSecond, "seconds": uSecond, "sec": uSecond, "secs": uSecond, "s": uSecond,
	"minute": uMinute, "minutes": uMinute, "min": uMinute, "mins": uMinute, "m": uMinute,
	"hour": uHour, "hours": uHour, "hr": uHour, "hrs": uHour, "h": uHour,
	"day": uDay, "days": uDay, "d": uDay,
	"week": uWeek, "weeks": uWeek, "w": uWeek,
	"month": uMonth, "months": uMonth, "mon": uMonth, "mons": uMonth,
	"quarter": uQuarter, "qtr": uQuarter,
	"year": uYear, "years": uYear, "yr": uYear, "yrs": uYear, "y": uYear,
	"decade": uDecade, "decades": uDecade, "dec": uDecade, "decs": uDecade,
	"century": uCentury, "centuries": uCentury, "cent": uCentury, "c": uCentury,
	"millennium": uMillennium, "millennia": uMillennium, "mil": uMillennium, "mils": uMillennium,
	"millenniums": uMillennium,
	"epoch":       uEpoch, "dow": uDow, "isodow": uIsodow, "doy": uDoy, "isoyear": uIsoyear,
	"julian": uJulian, "j": uJulian,
	"timezone": uTimezone, "timezone_h": uTimezoneHour, "timezone_hour": uTimezoneHour,
	"timezone_m": uTimezoneMinute, "timezone_minute": uTimezoneMinute,
}

// Type names used in unit errors.
const (
	tnTimestamp   = "timestamp without time zone"
	tnTimestampTZ = "timestamp with time zone"
	tnDate        = "date"
	tnTime        = "time without time zone"
	tnInterval    = "interval"
)

func lookupUnit(s string) (unit, string) {
	l := strings.ToLower(strings.TrimSpace(s))
	return unitNames[l], l
}

func errUnitUnknown(name, typ string) error {
	return errf(pgerror.InvalidParameterValue, "unit \"%s\" not recognized for type %s", name, typ)
}

func errUnitUnsupported(name, typ string) error {
	return errf(pgerror.FeatureNotSupported, "unit \"%s\" not supported for type %s", name, typ)
}
