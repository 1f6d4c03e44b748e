package agg

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// intervalSpan is PostgreSQL's interval comparison value split as (days, µs
// within the day), months counting 30 days.
func intervalSpan(v arrow.MonthDayNanoInterval) (int64, int64) {
	micros := v.Nanoseconds / 1000
	days := int64(v.Months)*30 + int64(v.Days)
	q, r := micros/types.MicrosPerDay, micros%types.MicrosPerDay
	if r < 0 {
		r += types.MicrosPerDay
		q--
	}
	return days + q, r
}

func compareIntervals(a, b arrow.MonthDayNanoInterval) int {
	ad, ar := intervalSpan(a)
	bd, br := intervalSpan(b)
	switch {
	case ad != bd:
		if ad < bd {
			return -1
		}
		return 1
	case ar < br:
		return -1
	case ar > br:
		return 1
	}
	return 0
}

// intervalAcc is sum(interval) and avg(interval): fields summed apart
// (interval_pl), the average divided as interval_div does. Retractable.
type intervalAcc struct {
	avg                  bool
	months, days, micros []int64
	cnt                  []int64
}

func (a *intervalAcc) Grow(n int) {
	a.months = growTo(a.months, n)
	a.days = growTo(a.days, n)
	a.micros = growTo(a.micros, n)
	a.cnt = growTo(a.cnt, n)
}

func (a *intervalAcc) MemoryBytes() int64 {
	return int64(cap(a.months)+cap(a.days)+cap(a.micros)+cap(a.cnt)) * 8
}

func (a *intervalAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, 1)
}

func (a *intervalAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, -1)
}

func (a *intervalAcc) apply(groups []uint32, args []arrow.Array, d int64) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	x, err := typed[*array.MonthDayNanoInterval](arg)
	if err != nil {
		return nullOr(arg, err)
	}
	for i, g := range groups {
		if g == NoGroup || x.IsNull(i) {
			continue
		}
		v := x.Value(i)
		a.months[g] += d * int64(v.Months)
		a.days[g] += d * int64(v.Days)
		m := a.micros[g]
		inc := d * (v.Nanoseconds / 1000)
		s := m + inc
		if (s^m)&(s^inc) < 0 {
			return intervalOutOfRange()
		}
		a.micros[g] = s
		a.cnt[g] += d
	}
	return nil
}

func (a *intervalAcc) result(g uint32) (arrow.MonthDayNanoInterval, bool, error) {
	if a.cnt[g] == 0 {
		return arrow.MonthDayNanoInterval{}, false, nil
	}
	months, days, micros := a.months[g], a.days[g], a.micros[g]
	if months > math.MaxInt32 || months < math.MinInt32 || days > math.MaxInt32 || days < math.MinInt32 {
		return arrow.MonthDayNanoInterval{}, false, intervalOutOfRange()
	}
	if a.avg {
		return intervalDiv(int32(months), int32(days), micros, float64(a.cnt[g]))
	}
	return arrow.MonthDayNanoInterval{Months: int32(months), Days: int32(days), Nanoseconds: micros * 1000}, true, nil
}

// intervalDiv follows PostgreSQL 15's interval_div: fractional months
// spill into days (30 per month), fractional days into time, each step
// rounded to microseconds.
func intervalDiv(months, days int32, micros int64, factor float64) (arrow.MonthDayNanoInterval, bool, error) {
	tsround := func(x float64) float64 { return math.RoundToEven(x*1e6) / 1e6 }
	rm := int32(float64(months) / factor)
	rd := int32(float64(days) / factor)
	monthRemDays := (float64(months)/factor - float64(rm)) * 30
	monthRemDays = tsround(monthRemDays)
	secRem := (float64(days)/factor - float64(rd) + monthRemDays - float64(int32(monthRemDays))) * 86400
	secRem = tsround(secRem)
	if math.Abs(secRem) >= 86400 {
		rd += int32(secRem / 86400)
		secRem -= float64(int32(secRem/86400)) * 86400
	}
	rd += int32(monthRemDays)
	t := math.RoundToEven(float64(micros)/factor + secRem*1e6)
	if math.IsNaN(t) || t > math.MaxInt64/1000 || t < math.MinInt64/1000 {
		return arrow.MonthDayNanoInterval{}, false, intervalOutOfRange()
	}
	return arrow.MonthDayNanoInterval{Months: rm, Days: rd, Nanoseconds: int64(t) * 1000}, true, nil
}

func (a *intervalAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, ok := b.(*array.MonthDayNanoIntervalBuilder)
	if !ok {
		return builderMismatch(b, "MonthDayNanoIntervalBuilder")
	}
	v, ok, err := a.result(g)
	if err != nil {
		return err
	}
	if ok {
		bb.Append(v)
	} else {
		bb.AppendNull()
	}
	return nil
}

func (a *intervalAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.cnt), b)
}
