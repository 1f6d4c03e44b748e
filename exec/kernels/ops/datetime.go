package ops

import (
	"math"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Valid ranges (days / microseconds since 1970-01-01), as PostgreSQL's:
// dates from 4713-11-24 BC up to 5874897-12-31, timestamps from
// 4713-11-24 BC up to the largest value our int64 representation holds
// below +infinity.
const (
	minDateDays = -2440588   // 4713-11-24 BC
	maxDateDays = 2145031948 // 5874898-01-01, exclusive
	minTSMicros = minDateDays * types.MicrosPerDay
	maxTSMicros = math.MaxInt64 // exclusive: MaxInt64 is +infinity
)

func validTS(v int64) bool { return v >= minTSMicros && v < maxTSMicros }

func tctx(ctx *kernels.EvalContext) *types.Ctx {
	if ctx == nil {
		return nil
	}
	return &ctx.Ctx
}

// daysFromCivil is the day number of the proleptic Gregorian y-m-d
// (astronomical years), by the era/day-of-era method.
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
	mp := int64(m + 9)
	if m > 2 {
		mp = int64(m - 3)
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays inverts daysFromCivil.
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

func daysInMonth(y int64, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func floorDiv(a, b int64) (int64, int64) {
	q, r := a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return q, r
}

func isInfTS(v int64) bool { return v == math.MaxInt64 || v == math.MinInt64 }

// addMonthsDays steps a naive timestamp by months (clamping the day to the
// end of the month) and then by days, as PostgreSQL's timestamp + interval.
func addMonthsDays(ts int64, months, days int32) (int64, error) {
	day, tod := floorDiv(ts, types.MicrosPerDay)
	if months != 0 {
		y, m, d := civilFromDays(day)
		mi := int64(m-1) + int64(months)
		y += mi / 12
		mi %= 12
		if mi < 0 {
			mi += 12
			y--
		}
		m = int(mi) + 1
		if dim := daysInMonth(y, m); d > dim {
			d = dim
		}
		if y < -4713 || y > 294277 {
			return 0, errTimestampRange()
		}
		day = daysFromCivil(y, m, d)
	}
	day += int64(days)
	if day < minDateDays || day >= maxTSMicros/types.MicrosPerDay {
		return 0, errTimestampRange()
	}
	return day*types.MicrosPerDay + tod, nil
}

// tsPlusInterval is timestamp + interval (naive clock).
func tsPlusInterval(ts types.Timestamp, iv types.Interval) (types.Timestamp, error) {
	v := int64(ts)
	if isInfTS(v) {
		return ts, nil
	}
	v, err := addMonthsDays(v, iv.Months, iv.Days)
	if err != nil {
		return 0, err
	}
	s := v + iv.Micros
	if (s^v)&(s^iv.Micros) < 0 || !validTS(s) {
		return 0, errTimestampRange()
	}
	return types.Timestamp(s), nil
}

// tstzPlusInterval is timestamptz + interval: months and days step the wall
// clock of the session zone, the time part steps the instant.
func tstzPlusInterval(ctx *kernels.EvalContext, ts types.TimestampTZ, iv types.Interval) (types.TimestampTZ, error) {
	v := int64(ts)
	if isInfTS(v) {
		return ts, nil
	}
	if iv.Months != 0 || iv.Days != 0 {
		local, err := tzToTS(ctx, ts)
		if err != nil {
			return 0, err
		}
		lv, err := addMonthsDays(int64(local), iv.Months, iv.Days)
		if err != nil {
			return 0, err
		}
		back, err := tsToTZ(ctx, types.Timestamp(lv))
		if err != nil {
			return 0, err
		}
		v = int64(back)
	}
	s := v + iv.Micros
	if (s^v)&(s^iv.Micros) < 0 || !validTS(s) {
		return 0, errTimestampRange()
	}
	return types.TimestampTZ(s), nil
}

func negInterval(iv types.Interval) (types.Interval, error) {
	if iv.Months == math.MinInt32 || iv.Days == math.MinInt32 || iv.Micros == math.MinInt64 {
		return types.Interval{}, errIntervalRange()
	}
	return types.Interval{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros}, nil
}

func addInterval(a, b types.Interval) (types.Interval, error) {
	m := int64(a.Months) + int64(b.Months)
	d := int64(a.Days) + int64(b.Days)
	t := a.Micros + b.Micros
	if m != int64(int32(m)) || d != int64(int32(d)) || (t^a.Micros)&(t^b.Micros) < 0 {
		return types.Interval{}, errIntervalRange()
	}
	return types.Interval{Months: int32(m), Days: int32(d), Micros: t}, nil
}

// tsDiff is timestamp - timestamp: whole days and the remaining time, both
// with the sign of the difference.
func tsDiff(a, b int64) (types.Interval, error) {
	if isInfTS(a) || isInfTS(b) {
		return types.Interval{}, pgerror.New(pgerror.DatetimeFieldOverflow, "cannot subtract infinite timestamps")
	}
	d := a - b
	if (a^b)&(a^d) < 0 {
		return types.Interval{}, errIntervalRange()
	}
	return types.Interval{Days: int32(d / types.MicrosPerDay), Micros: d % types.MicrosPerDay}, nil
}

func dateToTS(d types.Date) (types.Timestamp, error) {
	switch d {
	case types.DateInfinity:
		return types.TimestampInfinity, nil
	case types.DateNegInfinity:
		return types.TimestampNegInfinity, nil
	}
	v := int64(d) * types.MicrosPerDay
	if !validTS(v) {
		return 0, errTimestampRange()
	}
	return types.Timestamp(v), nil
}

func tsToTZ(ctx *kernels.EvalContext, ts types.Timestamp) (types.TimestampTZ, error) {
	v, err := types.Cast(tctx(ctx), ts, types.TimestampT, types.TimestampTZT, false)
	if err != nil {
		return 0, err
	}
	out, ok := v.(types.TimestampTZ)
	if !ok {
		return 0, internalArg("timestamp to timestamptz", v)
	}
	return out, nil
}

func tzToTS(ctx *kernels.EvalContext, ts types.TimestampTZ) (types.Timestamp, error) {
	v, err := types.Cast(tctx(ctx), ts, types.TimestampTZT, types.TimestampT, false)
	if err != nil {
		return 0, err
	}
	out, ok := v.(types.Timestamp)
	if !ok {
		return 0, internalArg("timestamptz to timestamp", v)
	}
	return out, nil
}

// toTimestamp promotes a date or timestamp Datum to a timestamp.
func toTimestamp(d types.Datum) (types.Timestamp, error) {
	switch v := d.(type) {
	case types.Timestamp:
		return v, nil
	case types.Date:
		return dateToTS(v)
	}
	return 0, internalArg("timestamp", d)
}

// toTimestampTZ promotes a date, timestamp or timestamptz Datum to a
// timestamptz through the session zone.
func toTimestampTZ(ctx *kernels.EvalContext, d types.Datum) (types.TimestampTZ, error) {
	if v, ok := d.(types.TimestampTZ); ok {
		return v, nil
	}
	ts, err := toTimestamp(d)
	if err != nil {
		return 0, err
	}
	return tsToTZ(ctx, ts)
}

// tsround rounds to microsecond precision (PostgreSQL's TSROUND).
func tsround(x float64) float64 { return math.RoundToEven(x*1e6) / 1e6 }

func fitsInt32(x float64) bool {
	return !math.IsNaN(x) && x >= math.MinInt32 && x < -float64(math.MinInt32)
}
func fitsInt64(x float64) bool {
	return !math.IsNaN(x) && x >= math.MinInt64 && x < -float64(math.MinInt64)
}

// intervalScale multiplies (div=false) or divides an interval by f,
// cascading fractional months into days (30 per month) and fractional days
// into time (24 h per day), as PostgreSQL's interval_mul / interval_div.
func intervalScale(iv types.Interval, f float64, div bool) (types.Interval, error) {
	if div && f == 0 {
		return types.Interval{}, errDivByZero()
	}
	scale := func(x float64) float64 {
		if div {
			return x / f
		}
		return x * f
	}
	mf := scale(float64(iv.Months))
	if !fitsInt32(mf) {
		return types.Interval{}, errIntervalRange()
	}
	df := scale(float64(iv.Days))
	if !fitsInt32(df) {
		return types.Interval{}, errIntervalRange()
	}
	months, days := int32(mf), int32(df)
	monthRemDays := tsround((mf - float64(months)) * 30)
	secRem := tsround((df - float64(days) + monthRemDays - math.Trunc(monthRemDays)) * 86400)
	extraDays := int64(0)
	if math.Abs(secRem) >= 86400 {
		whole := math.Trunc(secRem / 86400)
		extraDays = int64(whole)
		secRem -= whole * 86400
	}
	dd := int64(days) + extraDays + int64(monthRemDays)
	if dd != int64(int32(dd)) {
		return types.Interval{}, errIntervalRange()
	}
	tf := math.RoundToEven(scale(float64(iv.Micros)) + secRem*1e6)
	if !fitsInt64(tf) {
		return types.Interval{}, errIntervalRange()
	}
	return types.Interval{Months: months, Days: int32(dd), Micros: int64(tf)}, nil
}

func wrapTime(v int64) types.TimeOfDay {
	v -= v / types.MicrosPerDay * types.MicrosPerDay
	if v < 0 {
		v += types.MicrosPerDay
	}
	return types.TimeOfDay(v)
}
