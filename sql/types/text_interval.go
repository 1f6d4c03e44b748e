package types

import (
	"math"
	"strconv"
	"strings"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// appendInterval renders iv in IntervalStyle postgres: "1 year 2 mons
// -3 days +04:05:06.5". A field is printed only when non-zero; the time
// part when non-zero or when everything is zero; after a negative field a
// positive one carries an explicit "+".
func appendInterval(buf []byte, iv Interval) []byte {
	years := int64(iv.Months) / 12
	mons := int64(iv.Months) % 12
	zero := true
	before := false
	part := func(v int64, unit string) {
		if v == 0 {
			return
		}
		if !zero {
			buf = append(buf, ' ')
		}
		if before && v > 0 {
			buf = append(buf, '+')
		}
		buf = appendInt(buf, v)
		buf = append(buf, ' ')
		buf = append(buf, unit...)
		if v != 1 {
			buf = append(buf, 's')
		}
		before = v < 0
		zero = false
	}
	part(years, "year")
	part(mons, "mon")
	part(int64(iv.Days), "day")
	if zero || iv.Micros != 0 {
		if !zero {
			buf = append(buf, ' ')
		}
		us := iv.Micros
		if us < 0 {
			buf = append(buf, '-')
		} else if before {
			buf = append(buf, '+')
		}
		// |MinInt64| does not fit: format via uint64.
		u := uint64(us)
		if us < 0 {
			u = uint64(-us)
		}
		h := u / uint64(MicrosPerHour)
		u -= h * uint64(MicrosPerHour)
		buf = appendUintPad(buf, h, 2)
		buf = append(buf, ':')
		m := u / uint64(MicrosPerMinute)
		u -= m * uint64(MicrosPerMinute)
		buf = appendUintPad(buf, m, 2)
		buf = append(buf, ':')
		buf = appendSeconds(buf, int64(u))
	}
	return buf
}

func appendInt(buf []byte, v int64) []byte {
	if v < 0 {
		buf = append(buf, '-')
		return appendUintPad(buf, uint64(-v), 1)
	}
	return appendUintPad(buf, uint64(v), 1)
}

func appendUintPad(buf []byte, u uint64, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	for n := len(tmp) - i; n < width; n++ {
		buf = append(buf, '0')
	}
	return append(buf, tmp[i:]...)
}

// interval units
const (
	ivMicro = 1 << iota
	ivMilli
	ivSecond
	ivMinute
	ivHour
	ivDay
	ivWeek
	ivMonth
	ivYear
	ivDecade
	ivCentury
	ivMillennium
)

func intervalUnit(w string) (int, bool) {
	switch w {
	case "microsecond", "microseconds", "us", "usec", "usecs", "useconds":
		return ivMicro, true
	case "millisecond", "milliseconds", "ms", "msec", "msecs", "mseconds":
		return ivMilli, true
	case "second", "seconds", "s", "sec", "secs":
		return ivSecond, true
	case "minute", "minutes", "m", "min", "mins":
		return ivMinute, true
	case "hour", "hours", "h", "hr", "hrs":
		return ivHour, true
	case "day", "days", "d":
		return ivDay, true
	case "week", "weeks", "w":
		return ivWeek, true
	case "month", "months", "mon", "mons":
		return ivMonth, true
	case "year", "years", "y", "yr", "yrs":
		return ivYear, true
	case "decade", "decades", "dec", "decs":
		return ivDecade, true
	case "century", "centuries", "c", "cent":
		return ivCentury, true
	case "millennium", "millennia", "mil", "mils", "millenniums":
		return ivMillennium, true
	}
	return 0, false
}

// ivAcc accumulates interval fields with overflow detection.
type ivAcc struct {
	m        int64
	d        int64
	us       int64
	overflow bool
}

func (a *ivAcc) addMonths(v int64) { a.m = addSat(a.m, v, &a.overflow) }
func (a *ivAcc) addDays(v int64)   { a.d = addSat(a.d, v, &a.overflow) }
func (a *ivAcc) addMicros(v int64) { a.us = addSat(a.us, v, &a.overflow) }

func addSat(x, y int64, of *bool) int64 {
	s := x + y
	if (x > 0 && y > 0 && s < 0) || (x < 0 && y < 0 && s >= 0) {
		*of = true
	}
	return s
}

func mulSat(x, y int64, of *bool) int64 {
	if x == 0 || y == 0 {
		return 0
	}
	p := x * y
	if p/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
		*of = true
	}
	return p
}

// addFracDays spreads a fractional day count into days and microseconds.
func (a *ivAcc) addFracDays(frac float64) {
	if frac == 0 {
		return
	}
	whole := math.Trunc(frac)
	a.addDays(int64(whole))
	a.addMicros(int64(math.RoundToEven((frac - whole) * float64(MicrosPerDay))))
}

// addUnit adds val (integer part, sign included) and frac (signed fraction)
// of the given unit, cascading fractions into smaller fields as PostgreSQL.
func (a *ivAcc) addUnit(unit int, val int64, frac float64) {
	switch unit {
	case ivMicro:
		a.addMicros(val)
		a.addMicros(int64(math.RoundToEven(frac)))
	case ivMilli:
		a.addMicros(mulSat(val, 1000, &a.overflow))
		a.addMicros(int64(math.RoundToEven(frac * 1000)))
	case ivSecond:
		a.addMicros(mulSat(val, MicrosPerSecond, &a.overflow))
		a.addMicros(int64(math.RoundToEven(frac * float64(MicrosPerSecond))))
	case ivMinute:
		a.addMicros(mulSat(val, MicrosPerMinute, &a.overflow))
		a.addMicros(int64(math.RoundToEven(frac * float64(MicrosPerMinute))))
	case ivHour:
		a.addMicros(mulSat(val, MicrosPerHour, &a.overflow))
		a.addMicros(int64(math.RoundToEven(frac * float64(MicrosPerHour))))
	case ivDay:
		a.addDays(val)
		a.addFracDays(frac)
	case ivWeek:
		a.addDays(mulSat(val, 7, &a.overflow))
		a.addFracDays(frac * 7)
	case ivMonth:
		a.addMonths(val)
		a.addFracDays(frac * 30)
	case ivYear:
		a.addMonths(mulSat(val, 12, &a.overflow))
		a.addMonths(int64(math.RoundToEven(frac * 12)))
	case ivDecade:
		a.addMonths(mulSat(val, 120, &a.overflow))
		a.addMonths(int64(math.RoundToEven(frac * 120)))
	case ivCentury:
		a.addMonths(mulSat(val, 1200, &a.overflow))
		a.addMonths(int64(math.RoundToEven(frac * 1200)))
	case ivMillennium:
		a.addMonths(mulSat(val, 12000, &a.overflow))
		a.addMonths(int64(math.RoundToEven(frac * 12000)))
	}
}

func (a *ivAcc) result(s string) (Interval, error) {
	if a.overflow || a.m > math.MaxInt32 || a.m < math.MinInt32 || a.d > math.MaxInt32 || a.d < math.MinInt32 {
		return Interval{}, pgerror.New(intervalFieldOverflow, "interval field value out of range: \"%s\"", s)
	}
	return Interval{Months: int32(a.m), Days: int32(a.d), Micros: a.us}, nil
}

// parseNumberFrac splits a signed decimal "[-+]ddd[.fff]" into a signed
// integer part and a signed fraction.
func parseNumberFrac(s string) (int64, float64, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	ip, fp, hasFrac := strings.Cut(s, ".")
	if ip == "" && fp == "" {
		return 0, 0, false
	}
	if (ip != "" && !isDigitString(ip)) || (hasFrac && fp != "" && !isDigitString(fp)) {
		return 0, 0, false
	}
	var v int64
	for i := 0; i < len(ip); i++ {
		if v > (math.MaxInt64-9)/10 {
			return 0, 0, false
		}
		v = v*10 + int64(ip[i]-'0')
	}
	var f float64
	if fp != "" {
		// strtod of the fraction, as PostgreSQL.
		f, _ = strconv.ParseFloat("0."+fp, 64)
	}
	if neg {
		return -v, -f, true
	}
	return v, f, true
}

type ivTok struct {
	s    string
	word bool
}

func tokenizeInterval(s string) ([]ivTok, bool) {
	var toks []ivTok
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isPGSpace(c) || c == ',' || c == '@':
			i++
		case isDigit(c) || c == '+' || c == '-' || c == '.' || c == ':':
			j := i + 1
			for j < len(s) && (isDigit(s[j]) || s[j] == '.' || s[j] == ':') {
				j++
			}
			toks = append(toks, ivTok{s: s[i:j]})
			i = j
		case isAlpha(c):
			j := i
			for j < len(s) && isAlpha(s[j]) {
				j++
			}
			// A unit glued to its number ("1d2h") or a one-letter unit
			// ("h2") may run into the next number; a longer free-standing
			// word may not ("days1"), as in PostgreSQL.
			attached := i > 0 && (isDigit(s[i-1]) || s[i-1] == '.')
			if !attached && j-i > 1 && j < len(s) && (isDigit(s[j]) || s[j] == '.' || s[j] == ':') {
				return nil, false
			}
			toks = append(toks, ivTok{s: strings.ToLower(s[i:j]), word: true})
			i = j
		default:
			return nil, false
		}
	}
	return toks, true
}

// parseInterval implements interval_in for IntervalStyle postgres input
// (with '@' and 'ago'), the time form [-]h:m[:s[.f]], and ISO 8601
// durations (P1Y2M3DT4H5M6S, also the P0001-02-03T04:05:06 form).
//
// Under a field range (INTERVAL '5' MINUTE) a bare number counts in the
// range's lowest field, and 'a:b' means minutes:seconds for MINUTE TO
// SECOND.
func parseInterval(s string, t T) (Datum, error) {
	rangeMask, _ := intervalRange(t)
	str := trimPGSpace(s)
	bad := func() (Datum, error) {
		return nil, pgerror.New(pgerror.InvalidDatetimeFormat, "invalid input syntax for type interval: \"%s\"", s)
	}
	if str == "" {
		return bad()
	}
	if str[0] == 'P' || str[0] == 'p' {
		iv, ok, err := parseIntervalISO(str[1:], s)
		if err != nil {
			return nil, err
		}
		if !ok {
			return bad()
		}
		return iv, nil
	}
	toks, ok := tokenizeInterval(str)
	if !ok || len(toks) == 0 {
		return bad()
	}
	// Fields are read right to left, as PostgreSQL does: a unit word
	// names the unit of the number before it; a number without a unit
	// takes the pending unit, which starts as the range's lowest field
	// and becomes days after a time field or an hour count ('1 2:03',
	// '2 6 hours').
	const allSecs = ivSecond | ivMilli | ivMicro
	var acc ivAcc
	seen := 0
	ago := false
	pending := intervalLowestUnit(rangeMask)
	afterAgo := false
	for i := len(toks) - 1; i >= 0; i-- {
		tok := toks[i]
		if tok.word {
			afterAgo = tok.s == "ago"
			if afterAgo {
				ago = true
				continue
			}
			u, ok := intervalUnit(tok.s)
			if !ok {
				return bad()
			}
			pending = u
			continue
		}
		if strings.Contains(tok.s, ":") {
			if seen&(ivHour|ivMinute|allSecs) != 0 {
				return bad()
			}
			ts := tok.s
			if rangeMask == IntervalMaskMinute|IntervalMaskSecond && strings.Count(ts, ":") == 1 {
				ts = "0:" + strings.TrimLeft(ts, "+-")
				if tok.s[0] == '-' {
					ts = "-" + ts
				}
			}
			us, ok := parseIntervalTime(ts)
			if !ok {
				if tok.s[0] == '+' || tok.s[0] == '-' {
					return bad()
				}
				return nil, pgerror.New(intervalFieldOverflow, "interval field value out of range: \"%s\"", s)
			}
			// The time replaces sub-day time accumulated so far (from
			// fractional days to its right), as PostgreSQL's field-wise
			// decoding does.
			acc.us = us
			seen |= ivHour | ivMinute | allSecs
			pending = ivDay
			afterAgo = false
			continue
		}
		val, frac, ok := parseNumberFrac(tok.s)
		if !ok || afterAgo {
			return bad()
		}
		unit := pending
		mask := unit
		if unit == ivSecond && frac != 0 {
			mask = allSecs
		}
		if seen&mask != 0 {
			return bad()
		}
		seen |= mask
		acc.addUnit(unit, val, frac)
		if unit == ivHour {
			pending = ivDay
		}
	}
	if seen == 0 {
		return bad()
	}
	iv, err := acc.result(s)
	if err != nil {
		return nil, err
	}
	if ago {
		if iv.Months == math.MinInt32 || iv.Days == math.MinInt32 || iv.Micros == math.MinInt64 {
			return nil, pgerror.New(intervalFieldOverflow, "interval field value out of range: \"%s\"", s)
		}
		iv = Interval{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros}
	}
	return iv, nil
}

// parseIntervalTime parses [+-]h:m[:s[.f]] (or m:s.f) into microseconds.
func parseIntervalTime(s string) (int64, bool) {
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	if len(parts) == 2 && strings.Contains(parts[1], ".") {
		parts = []string{"0", parts[0], parts[1]}
	}
	if !isDigitString(parts[0]) || !isDigitString(parts[1]) || len(parts[0]) > 10 || len(parts[1]) > 10 {
		return 0, false
	}
	h, m := int64(atoiSat(parts[0])), int64(atoiSat(parts[1]))
	if m > 59 {
		return 0, false
	}
	var sec int
	var usec int64
	if len(parts) == 3 {
		var ok bool
		sec, usec, ok = parseSecondsFrac(parts[2])
		if !ok || sec > 60 {
			return 0, false
		}
	}
	us := h*MicrosPerHour + m*MicrosPerMinute + int64(sec)*MicrosPerSecond + usec
	if neg {
		us = -us
	}
	return us, true
}

// parseIntervalISO parses the part after 'P' of an ISO 8601 duration.
func parseIntervalISO(s, orig string) (Datum, bool, error) {
	var acc ivAcc
	if s == "" {
		return nil, false, nil
	}
	// Alternative format: P[YYYY-MM-DD][T[hh:mm:ss]].
	if len(s) >= 4 && isDigit(s[0]) && strings.ContainsAny(s, "-:") && !strings.ContainsAny(s, "YyMmWwDdHhSs") {
		datePart, timePart, _ := strings.Cut(strings.ToUpper(s), "T")
		if datePart != "" {
			f := strings.Split(datePart, "-")
			if len(f) != 3 || !isDigitString(f[0]) || !isDigitString(f[1]) || !isDigitString(f[2]) {
				return nil, false, nil
			}
			acc.addUnit(ivYear, int64(atoiSat(f[0])), 0)
			acc.addUnit(ivMonth, int64(atoiSat(f[1])), 0)
			acc.addUnit(ivDay, int64(atoiSat(f[2])), 0)
		}
		if timePart != "" {
			us, ok := parseIntervalTime(timePart)
			if !ok {
				return nil, false, nil
			}
			acc.addMicros(us)
		}
		iv, err := acc.result(orig)
		return iv, err == nil, err
	}
	inTime := false
	seen := 0
	for len(s) > 0 {
		if s[0] == 'T' || s[0] == 't' {
			if inTime {
				return nil, false, nil
			}
			inTime = true
			s = s[1:]
			continue
		}
		j := 0
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
			j++
		}
		if j == 0 || j >= len(s) {
			return nil, false, nil
		}
		val, frac, ok := parseNumberFrac(s[:j])
		if !ok {
			return nil, false, nil
		}
		var unit int
		switch s[j] {
		case 'Y', 'y':
			unit = ivYear
		case 'M', 'm':
			if inTime {
				unit = ivMinute
			} else {
				unit = ivMonth
			}
		case 'W', 'w':
			unit = ivWeek
		case 'D', 'd':
			unit = ivDay
		case 'H', 'h':
			unit = ivHour
		case 'S', 's':
			unit = ivSecond
		default:
			return nil, false, nil
		}
		if inTime != (unit == ivHour || unit == ivMinute || unit == ivSecond) || seen&unit != 0 {
			return nil, false, nil
		}
		seen |= unit
		acc.addUnit(unit, val, frac)
		s = s[j+1:]
	}
	if seen == 0 {
		return nil, false, nil
	}
	iv, err := acc.result(orig)
	return iv, err == nil, err
}

// intervalFieldOverflow is SQLSTATE interval_field_overflow.
const intervalFieldOverflow = "22015"
