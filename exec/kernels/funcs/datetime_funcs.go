package funcs

import (
	"fmt"
	"math"
	"time"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

var (
	tsT       = types.TimestampT
	tstzT     = types.TimestampTZT
	dateT     = types.DateT
	timeT     = types.TimeT
	intervalT = types.IntervalT
	float8T   = types.Float8T
	numericT  = types.NumericT
)

func tsArg(d types.Datum) int64 {
	switch v := d.(type) {
	case types.Timestamp:
		return int64(v)
	case types.TimestampTZ:
		return int64(v)
	case types.Date:
		return dateToTS(v)
	}
	return 0
}

func dateToTS(d types.Date) int64 {
	switch int64(d) {
	case dateNegInf:
		return tsNegInf
	case datePosInf:
		return tsPosInf
	}
	return int64(d) * types.MicrosPerDay
}

// dateToTSChecked converts a date to a timestamp, failing as PostgreSQL
// does for dates beyond the timestamp range.
func dateToTSChecked(d types.Date) (int64, error) {
	v := dateToTS(d)
	if tsFinite(v) && (int64(d) < minTimestamp/types.MicrosPerDay || int64(d) >= endTimestamp/types.MicrosPerDay) {
		return 0, errf(pgerror.DatetimeFieldOverflow, "date out of range for timestamp")
	}
	return v, nil
}

func ivArg(d types.Datum) types.Interval { v, _ := d.(types.Interval); return v }

func txnTime(ctx *kernels.EvalContext) int64 {
	if ctx == nil {
		return time.Now().UnixMicro()
	}
	return int64(ctx.TxnTime)
}

func stmtTime(ctx *kernels.EvalContext) int64 {
	if ctx == nil {
		return time.Now().UnixMicro()
	}
	return int64(ctx.StmtTime)
}

// roundMicros rounds a timestamp or time to precision p (0..6) fractional digits.
func roundMicros(v int64, p int64) int64 {
	if p >= 6 || p < 0 || !tsFinite(v) {
		return v
	}
	unit := int64(math.Pow10(int(6 - p)))
	q, r := floorDiv(v, unit)
	if 2*r >= unit {
		q++
	}
	return q * unit
}

func (e *env) registerDateTime() {
	stable := func(f *kernels.ScalarFunc) *kernels.ScalarFunc { f.Volatility = kernels.Stable; return f }
	nowFn := func(ctx *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return types.TimestampTZ(txnTime(ctx)), nil
	}
	for _, name := range []string{"now", "current_timestamp", "transaction_timestamp"} {
		stable(e.strict(name, tstzT, nowFn))
	}
	stable(e.strict("current_timestamp", tstzT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return types.TimestampTZ(roundMicros(txnTime(ctx), i64(a[0]))), nil
	}, int4T))
	stable(e.strict("statement_timestamp", tstzT, func(ctx *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return types.TimestampTZ(stmtTime(ctx)), nil
	}))
	e.strict("clock_timestamp", tstzT, func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return types.TimestampTZ(time.Now().UnixMicro()), nil
	}).Volatility = kernels.Volatile
	stable(e.strict("current_date", dateT, func(ctx *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		d, _ := floorDiv(toLocal(txnTime(ctx), loc(ctx)), types.MicrosPerDay)
		return types.Date(d), nil
	}))
	localTS := func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		v := toLocal(txnTime(ctx), loc(ctx))
		if len(a) > 0 {
			v = roundMicros(v, i64(a[0]))
		}
		return types.Timestamp(v), nil
	}
	stable(e.strict("localtimestamp", tsT, localTS))
	stable(e.strict("localtimestamp", tsT, localTS, int4T))
	localTime := func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		v := toLocal(txnTime(ctx), loc(ctx))
		if len(a) > 0 {
			v = roundMicros(v, i64(a[0]))
		}
		_, r := floorDiv(v, types.MicrosPerDay)
		return types.TimeOfDay(r), nil
	}
	for _, name := range []string{"current_time", "localtime"} {
		stable(e.strict(name, timeT, localTime))
		stable(e.strict(name, timeT, localTime, int4T))
	}

	// date_trunc
	e.strict("date_trunc", tsT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		u, name := lookupUnit(str(a[0]))
		if err := checkTruncUnit(u, name, tnTimestamp); err != nil {
			return nil, err
		}
		return types.Timestamp(truncLocal(u, tsArg(a[1]))), nil
	}, textT, tsT).Vec = vecDateTrunc(false)
	stable(e.strict("date_trunc", tstzT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return truncTZ(str(a[0]), tsArg(a[1]), loc(ctx))
	}, textT, tstzT)).Vec = vecDateTrunc(true)
	stable(e.strict("date_trunc", tstzT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		l, err := e.zoneArg(str(a[2]))
		if err != nil {
			return nil, err
		}
		return truncTZ(str(a[0]), tsArg(a[1]), l)
	}, textT, tstzT, textT))
	e.strict("date_trunc", intervalT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		u, name := lookupUnit(str(a[0]))
		return truncInterval(u, name, ivArg(a[1]))
	}, textT, intervalT)

	// date_bin
	binFn := func(tz bool) evalFn {
		return func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			s, err := binStride(ivArg(a[0]))
			if err != nil {
				return nil, err
			}
			v, err := dateBin(s, tsArg(a[1]), tsArg(a[2]))
			if err != nil {
				return nil, err
			}
			if tz {
				return types.TimestampTZ(v), nil
			}
			return types.Timestamp(v), nil
		}
	}
	e.strict("date_bin", tsT, binFn(false), intervalT, tsT, tsT).Vec = vecDateBin(false)
	e.strict("date_bin", tstzT, binFn(true), intervalT, tstzT, tstzT).Vec = vecDateBin(true)

	// date_part (double precision) and extract (numeric)
	for _, numeric := range []bool{false, true} {
		numeric := numeric
		name, ret := "date_part", float8T
		if numeric {
			name, ret = "extract", numericT
		}
		out := func(p partVal, err error) (types.Datum, error) {
			if err != nil {
				return nil, err
			}
			if numeric {
				return p.numeric(), nil
			}
			return p.float(), nil
		}
		e.strict(name, ret, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			u, n := lookupUnit(str(a[0]))
			return out(tsPart(u, n, tsArg(a[1]), false, 0))
		}, textT, tsT).Vec = vecExtract(false, numeric)
		stable(e.strict(name, ret, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			u, n := lookupUnit(str(a[0]))
			v := tsArg(a[1])
			off := int64(0)
			if tsFinite(v) {
				off = zoneOffset(v, loc(ctx))
			}
			return out(tsPart(u, n, v+off*types.MicrosPerSecond, true, off))
		}, textT, tstzT)).Vec = vecExtract(true, numeric)
		e.strict(name, ret, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			u, n := lookupUnit(str(a[0]))
			d, _ := a[1].(types.Date)
			if numeric {
				return out(datePart(u, n, int64(d)))
			}
			v, err := dateToTSChecked(d)
			if err != nil {
				return nil, err
			}
			return out(tsPart(u, n, v, false, 0))
		}, textT, dateT)
		e.strict(name, ret, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			u, n := lookupUnit(str(a[0]))
			t, _ := a[1].(types.TimeOfDay)
			return out(timePart(u, n, int64(t)))
		}, textT, timeT)
		e.strict(name, ret, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			u, n := lookupUnit(str(a[0]))
			return out(intervalPart(u, n, ivArg(a[1])))
		}, textT, intervalT)
	}

	// age
	e.strict("age", intervalT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return age(tsArg(a[0]), tsArg(a[1]))
	}, tsT, tsT)
	stable(e.strict("age", intervalT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		l := loc(ctx)
		return age(toLocal(tsArg(a[0]), l), toLocal(tsArg(a[1]), l))
	}, tstzT, tstzT))
	stable(e.strict("age", intervalT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		today, _ := floorDiv(toLocal(txnTime(ctx), loc(ctx)), types.MicrosPerDay)
		return age(today*types.MicrosPerDay, tsArg(a[0]))
	}, tsT))
	stable(e.strict("age", intervalT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		l := loc(ctx)
		today, _ := floorDiv(toLocal(txnTime(ctx), l), types.MicrosPerDay)
		return age(today*types.MicrosPerDay, toLocal(tsArg(a[0]), l))
	}, tstzT))

	// make_*
	e.strict("make_date", dateT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		days, err := makeDate(i64(a[0]), i64(a[1]), i64(a[2]))
		if err != nil {
			return nil, err
		}
		return types.Date(days), nil
	}, int4T, int4T, int4T)
	e.strict("make_time", timeT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		us, err := makeTime(i64(a[0]), i64(a[1]), f64(a[2]))
		if err != nil {
			return nil, err
		}
		return types.TimeOfDay(us), nil
	}, int4T, int4T, float8T)
	e.strict("make_timestamp", tsT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		v, err := makeTimestamp(a)
		if err != nil {
			return nil, err
		}
		return types.Timestamp(v), nil
	}, int4T, int4T, int4T, int4T, int4T, float8T)
	stable(e.strict("make_timestamptz", tstzT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		v, err := makeTimestamp(a)
		if err != nil {
			return nil, err
		}
		return types.TimestampTZ(fromLocal(v, loc(ctx))), nil
	}, int4T, int4T, int4T, int4T, int4T, float8T))
	stable(e.strict("make_timestamptz", tstzT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		v, err := makeTimestamp(a[:6])
		if err != nil {
			return nil, err
		}
		l, err := e.zoneArg(str(a[6]))
		if err != nil {
			return nil, err
		}
		return types.TimestampTZ(fromLocal(v, l)), nil
	}, int4T, int4T, int4T, int4T, int4T, float8T, textT))
	miArgs := []types.T{int4T, int4T, int4T, int4T, int4T, int4T, float8T}
	for n := 0; n <= len(miArgs); n++ {
		e.strict("make_interval", intervalT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return makeInterval(a)
		}, miArgs[:n]...)
	}

	// justify_*
	e.strict("justify_days", intervalT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return checkedInterval(justifyDays(ivArg(a[0])))
	}, intervalT)
	e.strict("justify_hours", intervalT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return checkedInterval(justifyHours(ivArg(a[0])))
	}, intervalT)
	e.strict("justify_interval", intervalT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return checkedInterval(justifyInterval(ivArg(a[0])))
	}, intervalT)

	e.strict("to_timestamp", tstzT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		v, err := floatToTimestamp(f64(a[0]))
		if err != nil {
			return nil, err
		}
		return types.TimestampTZ(v), nil
	}, float8T)

	e.strict("isfinite", boolT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		d, _ := a[0].(types.Date)
		return int64(d) != dateNegInf && int64(d) != datePosInf, nil
	}, dateT)
	for _, t := range []types.T{tsT, tstzT} {
		e.strict("isfinite", boolT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return tsFinite(tsArg(a[0])), nil
		}, t)
	}
	e.strict("isfinite", boolT, func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return true, nil
	}, intervalT)

	// timezone(x): x AT LOCAL (the session zone).
	stable(e.strict("timezone", tstzT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return types.TimestampTZ(fromLocal(tsArg(a[0]), loc(ctx))), nil
	}, tsT))
	stable(e.strict("timezone", tsT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return types.Timestamp(toLocal(tsArg(a[0]), loc(ctx))), nil
	}, tstzT))
	// timezone(zone, x): AT TIME ZONE.
	stable(e.strict("timezone", tstzT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		l, err := e.zoneArg(str(a[0]))
		if err != nil {
			return nil, err
		}
		return types.TimestampTZ(fromLocal(tsArg(a[1]), l)), nil
	}, textT, tsT))
	stable(e.strict("timezone", tsT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		l, err := e.zoneArg(str(a[0]))
		if err != nil {
			return nil, err
		}
		return types.Timestamp(toLocal(tsArg(a[1]), l)), nil
	}, textT, tstzT))
	e.strict("timezone", tstzT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		off, err := intervalZone(ivArg(a[0]))
		if err != nil {
			return nil, err
		}
		v := tsArg(a[1])
		if !tsFinite(v) {
			return types.TimestampTZ(v), nil
		}
		if r := v - off; tsInRange(r) && (off >= 0) == (r <= v) {
			return types.TimestampTZ(r), nil
		}
		return nil, errTSRange()
	}, intervalT, tsT)
	e.strict("timezone", tsT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		off, err := intervalZone(ivArg(a[0]))
		if err != nil {
			return nil, err
		}
		v := tsArg(a[1])
		if !tsFinite(v) {
			return types.Timestamp(v), nil
		}
		if r := v + off; tsInRange(r) && (off >= 0) == (r >= v) {
			return types.Timestamp(r), nil
		}
		return nil, errTSRange()
	}, intervalT, tstzT)
}

// truncTZ truncates an instant in zone l. Units of a day or more are
// truncated on the local calendar and converted back through l (so the
// result's offset may differ); smaller units keep the instant's own offset.
func truncTZ(unitName string, v int64, l *time.Location) (types.Datum, error) {
	u, name := lookupUnit(unitName)
	if err := checkTruncUnit(u, name, tnTimestampTZ); err != nil {
		return nil, err
	}
	return types.TimestampTZ(truncTZValue(u, v, l)), nil
}

func truncTZValue(u unit, v int64, l *time.Location) int64 {
	if !tsFinite(v) {
		return v
	}
	if l == time.UTC {
		return truncLocal(u, v)
	}
	off := zoneOffset(v, l) * types.MicrosPerSecond
	t := truncLocal(u, v+off)
	if u >= uDay {
		return fromLocal(t, l)
	}
	return t - off
}

// age computes PostgreSQL's symbolic difference of two naive timestamps:
// years, months and days on the calendar of the later-minus-earlier fields.
func age(a, b int64) (types.Datum, error) {
	if !tsFinite(a) || !tsFinite(b) {
		return nil, errf(pgerror.DatetimeFieldOverflow, "cannot subtract infinite timestamps")
	}
	t1, t2 := breakTS(a), breakTS(b)
	neg := a < b
	fsec := t1.usec - t2.usec
	sec := t1.sec - t2.sec
	mins := t1.min - t2.min
	hour := t1.hour - t2.hour
	day := t1.day - t2.day
	mon := t1.month - t2.month
	year := t1.year - t2.year
	if neg {
		fsec, sec, mins, hour, day, mon, year = -fsec, -sec, -mins, -hour, -day, -mon, -year
	}
	for fsec < 0 {
		fsec += types.MicrosPerSecond
		sec--
	}
	for sec < 0 {
		sec += 60
		mins--
	}
	for mins < 0 {
		mins += 60
		hour--
	}
	for hour < 0 {
		hour += 24
		day--
	}
	for day < 0 {
		// Borrow the length of the month of the earlier timestamp.
		ref := t2
		if neg {
			ref = t1
		}
		day += daysInMonth(ref.year, ref.month)
		mon--
	}
	for mon < 0 {
		mon += 12
		year--
	}
	if neg {
		fsec, sec, mins, hour, day, mon, year = -fsec, -sec, -mins, -hour, -day, -mon, -year
	}
	months := int64(year)*12 + int64(mon)
	if months > math.MaxInt32 || months < math.MinInt32 {
		return nil, errf(pgerror.DatetimeFieldOverflow, "interval out of range")
	}
	return types.Interval{
		Months: int32(months),
		Days:   int32(day),
		Micros: int64(hour)*types.MicrosPerHour + int64(mins)*types.MicrosPerMinute + int64(sec)*types.MicrosPerSecond + fsec,
	}, nil
}

// makeDate validates y-m-d (negative years are BC) and returns a day number.
func makeDate(y, m, d int64) (int64, error) {
	bad := func() error {
		return errf(pgerror.DatetimeFieldOverflow, "date field value out of range: %d-%02d-%02d", y, m, d)
	}
	if y == 0 || m < 1 || m > 12 || d < 1 || y > 5874897 || y < -4713 {
		return 0, bad()
	}
	ay := astroYear(int(y))
	if d > int64(daysInMonth(ay, int(m))) {
		return 0, bad()
	}
	return daysFromCivil(ay, int(m), int(d)), nil
}

func makeTime(h, m int64, sec float64) (int64, error) {
	if h < 0 || h > 24 || m < 0 || m > 59 || math.IsNaN(sec) || sec < 0 || sec > 60 ||
		(h == 24 && (m > 0 || sec > 0)) {
		return 0, errf(pgerror.DatetimeFieldOverflow, "time field value out of range: %d:%02d:%s", h, m, fmtG02(sec))
	}
	us := (h*60+m)*60*types.MicrosPerSecond + int64(math.RoundToEven(sec*1e6))
	if us > types.MicrosPerDay {
		return 0, errf(pgerror.DatetimeFieldOverflow, "time field value out of range: %d:%02d:%s", h, m, fmtG02(sec))
	}
	return us, nil
}

// fmtG02 formats like C's "%02g".
func fmtG02(f float64) string { return fmt.Sprintf("%02g", f) }

func makeTimestamp(a []types.Datum) (int64, error) {
	days, err := makeDate(i64(a[0]), i64(a[1]), i64(a[2]))
	if err != nil {
		return 0, err
	}
	us, err := makeTime(i64(a[3]), i64(a[4]), f64(a[5]))
	if err != nil {
		return 0, err
	}
	v := days*types.MicrosPerDay + us
	if !tsInRange(v) {
		return 0, errf(pgerror.DatetimeFieldOverflow, "timestamp out of range: %d-%02d-%02d %d:%02d:%s",
			i64(a[0]), i64(a[1]), i64(a[2]), i64(a[3]), i64(a[4]), fmtG02(f64(a[5])))
	}
	return v, nil
}

func makeInterval(a []types.Datum) (types.Datum, error) {
	var v [7]float64
	for i, d := range a {
		v[i] = f64(d)
	}
	years, months, weeks, days, hours, mins := int64(v[0]), int64(v[1]), int64(v[2]), int64(v[3]), int64(v[4]), int64(v[5])
	secs := v[6]
	overflow := errf(pgerror.DatetimeFieldOverflow, "interval out of range")
	mon := years*12 + months
	d := weeks*7 + days
	if mon > math.MaxInt32 || mon < math.MinInt32 || d > math.MaxInt32 || d < math.MinInt32 {
		return nil, overflow
	}
	us := float64(hours)*float64(types.MicrosPerHour) + float64(mins)*float64(types.MicrosPerMinute) + secs*1e6
	if math.IsNaN(us) || math.IsInf(us, 0) || us > 9.2e18 || us < -9.2e18 {
		return nil, overflow
	}
	return types.Interval{Months: int32(mon), Days: int32(d),
		Micros: hours*types.MicrosPerHour + mins*types.MicrosPerMinute + int64(math.RoundToEven(secs*1e6))}, nil
}

// wideInterval is an interval with room to overflow int32 fields.
type wideInterval struct{ months, days, micros int64 }

func widen(iv types.Interval) wideInterval {
	return wideInterval{int64(iv.Months), int64(iv.Days), iv.Micros}
}

func checkedInterval(w wideInterval) (types.Datum, error) {
	if w.months > math.MaxInt32 || w.months < math.MinInt32 || w.days > math.MaxInt32 || w.days < math.MinInt32 {
		return nil, errf(pgerror.DatetimeFieldOverflow, "interval out of range")
	}
	return types.Interval{Months: int32(w.months), Days: int32(w.days), Micros: w.micros}, nil
}

func justifyDays(in types.Interval) wideInterval {
	iv := widen(in)
	m := iv.days / 30
	iv.days -= m * 30
	iv.months += m
	if iv.months > 0 && iv.days < 0 {
		iv.days += 30
		iv.months--
	} else if iv.months < 0 && iv.days > 0 {
		iv.days -= 30
		iv.months++
	}
	return iv
}

func justifyHours(in types.Interval) wideInterval {
	iv := widen(in)
	d := iv.micros / types.MicrosPerDay
	iv.micros -= d * types.MicrosPerDay
	iv.days += d
	if iv.days > 0 && iv.micros < 0 {
		iv.micros += types.MicrosPerDay
		iv.days--
	} else if iv.days < 0 && iv.micros > 0 {
		iv.micros -= types.MicrosPerDay
		iv.days++
	}
	return iv
}

func justifyInterval(in types.Interval) wideInterval {
	iv := widen(in)
	d := iv.micros / types.MicrosPerDay
	iv.micros -= d * types.MicrosPerDay
	iv.days += d
	m := iv.days / 30
	iv.days -= m * 30
	iv.months += m
	if iv.months > 0 && (iv.days < 0 || (iv.days == 0 && iv.micros < 0)) {
		iv.days += 30
		iv.months--
	} else if iv.months < 0 && (iv.days > 0 || (iv.days == 0 && iv.micros > 0)) {
		iv.days -= 30
		iv.months++
	}
	if iv.days > 0 && iv.micros < 0 {
		iv.micros += types.MicrosPerDay
		iv.days--
	} else if iv.days < 0 && iv.micros > 0 {
		iv.micros -= types.MicrosPerDay
		iv.days++
	}
	return iv
}

func floatToTimestamp(f float64) (int64, error) {
	switch {
	case math.IsNaN(f):
		return 0, errf(pgerror.DatetimeFieldOverflow, "timestamp cannot be NaN")
	case math.IsInf(f, 1):
		return tsPosInf, nil
	case math.IsInf(f, -1):
		return tsNegInf, nil
	}
	us := math.RoundToEven(f * 1e6)
	if us < float64(minTimestamp) || us >= float64(endTimestamp) {
		return 0, errf(pgerror.DatetimeFieldOverflow, "timestamp out of range: \"%s\"", fmt.Sprintf("%g", f))
	}
	return int64(us), nil
}
