package types

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// ---- output ----

func appendPad(buf []byte, v int64, width int) []byte {
	return appendUintPad(buf, uint64(v), width)
}

// appendYMD appends YYYY-MM-DD and reports whether the year is BC.
func appendYMD(buf []byte, days int64) ([]byte, bool) {
	y, m, d := civilFromDays(days)
	bc := false
	if y <= 0 {
		y = 1 - y
		bc = true
	}
	buf = appendPad(buf, y, 4)
	buf = append(buf, '-')
	buf = appendPad(buf, int64(m), 2)
	buf = append(buf, '-')
	buf = appendPad(buf, int64(d), 2)
	return buf, bc
}

func appendDate(buf []byte, d Date) []byte {
	switch d {
	case DateInfinity:
		return append(buf, "infinity"...)
	case DateNegInfinity:
		return append(buf, "-infinity"...)
	}
	buf, bc := appendYMD(buf, int64(d))
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

// appendTimeOfDay appends HH:MM:SS[.ffffff] (trailing zeros of the
// fraction trimmed) for a non-negative count of microseconds; hours may
// exceed 23.
func appendTimeOfDay(buf []byte, us int64) []byte {
	h := us / MicrosPerHour
	us -= h * MicrosPerHour
	m := us / MicrosPerMinute
	us -= m * MicrosPerMinute
	buf = appendPad(buf, h, 2)
	buf = append(buf, ':')
	buf = appendPad(buf, m, 2)
	buf = append(buf, ':')
	return appendSeconds(buf, us)
}

// appendSeconds appends SS[.ffffff] for us in [0, 60e6).
func appendSeconds(buf []byte, us int64) []byte {
	s := us / MicrosPerSecond
	f := us % MicrosPerSecond
	buf = appendPad(buf, s, 2)
	if f != 0 {
		var tmp [7]byte
		tmp[0] = '.'
		for i := 6; i >= 1; i-- {
			tmp[i] = byte('0' + f%10)
			f /= 10
		}
		n := 7
		for tmp[n-1] == '0' {
			n--
		}
		buf = append(buf, tmp[:n]...)
	}
	return buf
}

func appendTimestamp(buf []byte, ts Timestamp) []byte {
	switch ts {
	case TimestampInfinity:
		return append(buf, "infinity"...)
	case TimestampNegInfinity:
		return append(buf, "-infinity"...)
	}
	days, rem := floorDiv(int64(ts), MicrosPerDay)
	buf, bc := appendYMD(buf, days)
	buf = append(buf, ' ')
	buf = appendTimeOfDay(buf, rem)
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

func appendTimestampTZ(buf []byte, ts TimestampTZ, loc *time.Location) []byte {
	switch ts {
	case TimestampTZInfinity:
		return append(buf, "infinity"...)
	case TimestampTZNegInfinity:
		return append(buf, "-infinity"...)
	}
	local, off := tzToLocal(ts, loc)
	days, rem := floorDiv(int64(local), MicrosPerDay)
	buf, bc := appendYMD(buf, days)
	buf = append(buf, ' ')
	buf = appendTimeOfDay(buf, rem)
	buf = appendZoneOffset(buf, off)
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

// appendZoneOffset appends +HH[:MM[:SS]].
func appendZoneOffset(buf []byte, off int) []byte {
	if off < 0 {
		buf = append(buf, '-')
		off = -off
	} else {
		buf = append(buf, '+')
	}
	buf = appendPad(buf, int64(off/3600), 2)
	if off%3600 != 0 {
		buf = append(buf, ':')
		buf = appendPad(buf, int64(off/60%60), 2)
		if off%60 != 0 {
			buf = append(buf, ':')
			buf = appendPad(buf, int64(off%60), 2)
		}
	}
	return buf
}

// ---- input ----

type dtKind uint8

const (
	dtNum  dtKind = iota // digits only
	dtDate               // fields separated by - / .
	dtTime               // h:m[:s[.f]]
	dtWord               // letters (month, zone, am/pm, bc, ...)
	dtZone               // +hh[:mm[:ss]] or -hhmm
)

type dtToken struct {
	kind  dtKind
	raw   string   // original spelling
	parts []string // dtDate: the (lower-cased) fields
}

// tokenizeDateTime splits a date/time string into fields.
func tokenizeDateTime(s string) ([]dtToken, bool) {
	var toks []dtToken
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isPGSpace(c) || c == ',':
			i++
		case isDigit(c):
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j < len(s) && s[j] == ':' {
				for j < len(s) && (isDigit(s[j]) || s[j] == ':' || s[j] == '.') {
					j++
				}
				toks = append(toks, dtToken{kind: dtTime, raw: s[i:j]})
				i = j
				continue
			}
			if j < len(s) && (s[j] == '-' || s[j] == '/' || s[j] == '.') && j+1 < len(s) && isAlnum(s[j+1]) {
				parts, end := scanDateParts(s, i)
				if len(parts) == 2 && s[j] == '.' && isDigitString(parts[1]) {
					// A decimal number, e.g. seconds with a fraction: not a date.
					return nil, false
				}
				if len(parts) != 3 {
					return nil, false
				}
				toks = append(toks, dtToken{kind: dtDate, raw: s[i:end], parts: parts})
				i = end
				continue
			}
			toks = append(toks, dtToken{kind: dtNum, raw: s[i:j]})
			i = j
		case isAlpha(c):
			j := i
			for j < len(s) && isAlpha(s[j]) {
				j++
			}
			word := strings.ToLower(s[i:j])
			if j < len(s) && (s[j] == '-' || s[j] == '/' || s[j] == '.') && monthNumber(word) > 0 &&
				j+1 < len(s) && isAlnum(s[j+1]) {
				parts, end := scanDateParts(s, i)
				if len(parts) != 3 {
					return nil, false
				}
				toks = append(toks, dtToken{kind: dtDate, raw: s[i:end], parts: parts})
				i = end
				continue
			}
			if j < len(s) && (s[j] == '/' || s[j] == '_') {
				for j < len(s) && (isAlnum(s[j]) || s[j] == '/' || s[j] == '_' || s[j] == '+' || s[j] == '-') {
					j++
				}
			}
			if word == "t" && j < len(s) && isDigit(s[j]) {
				// ISO 8601 date/time separator.
				i = j
				continue
			}
			toks = append(toks, dtToken{kind: dtWord, raw: s[i:j]})
			i = j
		case c == '+' || c == '-':
			j := i + 1
			if j < len(s) && isDigit(s[j]) {
				for j < len(s) && (isDigit(s[j]) || s[j] == ':') {
					j++
				}
				toks = append(toks, dtToken{kind: dtZone, raw: s[i:j]})
				i = j
				continue
			}
			return nil, false
		default:
			return nil, false
		}
	}
	return toks, true
}

// scanDateParts reads up to three alphanumeric fields separated by one of
// - / . starting at i.
func scanDateParts(s string, i int) ([]string, int) {
	var parts []string
	for {
		j := i
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
		} else {
			for j < len(s) && isAlpha(s[j]) {
				j++
			}
		}
		if j == i {
			return nil, j
		}
		parts = append(parts, strings.ToLower(s[i:j]))
		if len(parts) == 3 || j >= len(s) || (s[j] != '-' && s[j] != '/' && s[j] != '.') || j+1 >= len(s) || !isAlnum(s[j+1]) {
			return parts, j
		}
		i = j + 1
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

func isAlphaString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return s != ""
}

func isDigitString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func monthNumber(w string) int {
	if len(w) < 3 {
		return 0
	}
	months := [...]string{"january", "february", "march", "april", "may", "june", "july",
		"august", "september", "october", "november", "december"}
	for i, m := range months {
		if w == m || w == m[:3] || (i == 8 && w == "sept") {
			return i + 1
		}
	}
	return 0
}

func isWeekday(w string) bool {
	days := [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
	for _, d := range days {
		if w == d || w == d[:3] {
			return true
		}
	}
	switch w {
	case "tues", "wednes", "thur", "thurs":
		return true
	}
	return false
}

// zoneAbbrevs are fixed-offset zone abbreviations (seconds east of UTC).
var zoneAbbrevs = map[string]int{
	"utc": 0, "gmt": 0, "ut": 0, "z": 0, "zulu": 0,
	"est": -5 * 3600, "edt": -4 * 3600, "cst": -6 * 3600, "cdt": -5 * 3600,
	"mst": -7 * 3600, "mdt": -6 * 3600, "pst": -8 * 3600, "pdt": -7 * 3600,
	"akst": -9 * 3600, "akdt": -8 * 3600, "hst": -10 * 3600,
	"wet": 0, "west": 3600, "bst": 3600, "cet": 3600, "cest": 2 * 3600, "met": 3600, "mest": 2 * 3600,
	"eet": 2 * 3600, "eest": 3 * 3600, "msk": 3 * 3600, "ist": 2 * 3600,
	"jst": 9 * 3600, "kst": 9 * 3600, "hkt": 8 * 3600, "sgt": 8 * 3600, "awst": 8 * 3600,
	"acst": 34200, "aest": 10 * 3600, "aedt": 11 * 3600, "nzst": 12 * 3600, "nzdt": 13 * 3600,
}

// dtFields collects the fields of a date/time string.
type dtFields struct {
	year      int64
	yearLen   int
	month     int
	day       int
	haveDate  bool
	textMonth bool // month came from a name; day/year come from numbers
	hour      int
	minute    int
	sec       int
	usec      int64
	haveTime  bool
	ampm      int // 0 none, 1 am, 2 pm
	bc        bool
	zoneOff   int
	haveZone  bool
	zoneLoc   *time.Location
}

// decodeDateTime parses s into fields; err is nil or a *pgerror.Error
// built for type t.
func decodeDateTime(s string, t T) (*dtFields, error) {
	toks, ok := tokenizeDateTime(s)
	if !ok || len(toks) == 0 {
		return nil, errDatetimeSyntax(t, s)
	}
	f := &dtFields{}
	var nums []string
	monthFirst := false
	bad := func() (*dtFields, error) { return nil, errDatetimeSyntax(t, s) }
	for _, tok := range toks {
		switch tok.kind {
		case dtDate:
			if f.haveDate || f.textMonth {
				return bad()
			}
			if !f.setDateParts(tok.parts) {
				return bad()
			}
		case dtNum:
			switch {
			case f.haveDate && !f.haveTime && len(tok.raw) == 6:
				// ISO basic time hhmmss after a date.
				f.hour, f.minute, f.sec = atoiSat(tok.raw[:2]), atoiSat(tok.raw[2:4]), atoiSat(tok.raw[4:])
				f.haveTime = true
			case !f.haveDate && len(tok.raw) <= 4 && len(nums) < 2:
				// Day and year around a month name ("Jan 2 2024", "2 Jan 2024").
				nums = append(nums, tok.raw)
			case !f.haveDate && !f.textMonth && len(tok.raw) >= 6 && len(tok.raw) <= 12:
				// Concatenated date: [YY...]YYMMDD.
				n := len(tok.raw)
				f.year, f.yearLen = int64(atoiSat(tok.raw[:n-4])), n-4
				f.month = atoiSat(tok.raw[n-4 : n-2])
				f.day = atoiSat(tok.raw[n-2:])
				f.haveDate = true
			default:
				return bad()
			}
		case dtTime:
			if f.haveTime {
				return bad()
			}
			if !f.setTime(tok.raw) {
				return bad()
			}
			if f.minute > 59 || f.sec > 60 {
				return nil, errFieldRange(s)
			}
		case dtZone:
			if f.haveZone || !(f.haveTime || f.haveDate) {
				return bad()
			}
			off, st := parseZoneOffset(tok.raw)
			if st == zoneSyntax {
				return bad()
			}
			if st == zoneRange {
				return nil, pgerror.New(pgerror.InvalidTimeZoneDisplacement, "time zone displacement out of range: \"%s\"", s)
			}
			f.zoneOff, f.haveZone = off, true
		case dtWord:
			w := strings.ToLower(tok.raw)
			if m := monthNumber(w); m > 0 && !f.haveDate && !f.textMonth {
				f.month, f.textMonth = m, true
				monthFirst = len(nums) == 0
				continue
			}
			switch {
			case isWeekday(w):
			case w == "am" || w == "a.m":
				f.ampm = 1
			case w == "pm" || w == "p.m":
				f.ampm = 2
			case w == "bc":
				f.bc = true
			case w == "ad":
			default:
				if f.haveZone {
					return bad()
				}
				if off, ok := zoneAbbrevs[w]; ok {
					f.zoneOff, f.haveZone = off, true
					continue
				}
				loc, err := loadZone(tok.raw)
				if err != nil {
					if strings.Contains(tok.raw, "/") {
						return nil, pgerror.New(pgerror.InvalidParameterValue, "time zone \"%s\" not recognized", w)
					}
					return bad()
				}
				f.zoneLoc, f.haveZone = loc, true
			}
		}
	}
	if len(nums) > 0 || f.textMonth {
		if !f.textMonth || len(nums) != 2 {
			return bad()
		}
		y, d := nums[1], nums[0]
		if len(nums[0]) >= 3 {
			y, d = nums[0], nums[1]
		}
		if len(d) > 2 {
			return bad()
		}
		if dv := atoiSat(d); dv < 1 || dv > 31 {
			// PostgreSQL reads a day before the month name as an
			// ambiguous field (syntax) and after it as a day (range).
			if monthFirst {
				return nil, errFieldRange(s)
			}
			return bad()
		}
		f.day = atoiSat(d)
		f.year, f.yearLen = int64(atoiSat(y)), len(y)
		f.haveDate = true
	}
	if f.ampm != 0 {
		if !f.haveTime || f.hour > 12 || f.hour < 0 {
			return nil, errFieldRange(s)
		}
		if f.ampm == 1 && f.hour == 12 {
			f.hour = 0
		} else if f.ampm == 2 && f.hour != 12 {
			f.hour += 12
		}
	}
	if f.haveDate {
		if f.yearLen <= 2 && !f.bc {
			if f.year < 70 {
				f.year += 2000
			} else {
				f.year += 1900
			}
		}
		if f.year < 1 || f.month < 1 || f.month > 12 || f.day < 1 || f.day > daysInMonth(f.astroYear(), f.month) {
			return nil, errFieldRange(s)
		}
	}
	if f.haveTime {
		if f.hour > 24 || f.minute > 59 || f.sec > 60 ||
			(f.hour == 24 && (f.minute != 0 || f.sec != 0 || f.usec != 0)) {
			return nil, errFieldRange(s)
		}
	}
	return f, nil
}

func (f *dtFields) astroYear() int64 {
	if f.bc {
		return 1 - f.year
	}
	return f.year
}

func (f *dtFields) setDateParts(p []string) bool {
	var nums []string
	for _, x := range p {
		if isDigitString(x) {
			nums = append(nums, x)
		} else if m := monthNumber(x); m > 0 && f.month == 0 {
			f.month = m
		} else {
			return false
		}
	}
	var y, m, d string
	switch len(nums) {
	case 2:
		if len(nums[0]) >= 3 {
			y, d = nums[0], nums[1]
		} else {
			d, y = nums[0], nums[1]
		}
	case 3:
		if len(nums[0]) >= 3 {
			y, m, d = nums[0], nums[1], nums[2]
		} else {
			m, d, y = nums[0], nums[1], nums[2]
		}
		if len(m) > 2 {
			return false
		}
		f.month = atoiSat(m)
	default:
		return false
	}
	if len(d) > 2 {
		return false
	}
	f.day = atoiSat(d)
	f.year, f.yearLen = int64(atoiSat(y)), len(y)
	f.haveDate = true
	return true
}

// setTime parses h:m[:s[.f]] (or m:s.f when the second field has a fraction
// and there are only two).
func (f *dtFields) setTime(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	if len(parts) == 2 && strings.Contains(parts[1], ".") {
		parts = []string{"0", parts[0], parts[1]}
	}
	if !isDigitString(parts[0]) || !isDigitString(parts[1]) || len(parts[0]) > 9 || len(parts[1]) > 9 {
		return false
	}
	f.hour, f.minute = atoiSat(parts[0]), atoiSat(parts[1])
	if len(parts) == 3 {
		sec, usec, ok := parseSecondsFrac(parts[2])
		if !ok {
			return false
		}
		f.sec, f.usec = sec, usec
	}
	f.haveTime = true
	return true
}

// parseSecondsFrac parses "SS[.ffff]" rounding the fraction to microseconds
// (half to even, like rint).
func parseSecondsFrac(s string) (int, int64, bool) {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if !isDigitString(intPart) || len(intPart) > 9 {
		return 0, 0, false
	}
	sec := atoiSat(intPart)
	if !hasFrac {
		return sec, 0, true
	}
	if frac == "" {
		return sec, 0, true
	}
	if !isDigitString(frac) {
		return 0, 0, false
	}
	us, carry := fracToMicros(frac)
	if carry {
		sec++
	}
	return sec, us, true
}

// fracToMicros converts the digits after a decimal point into microseconds
// as PostgreSQL does (strtod of the fraction, then rint of it times 10^6,
// in double precision); carry reports rounding up to a whole second.
func fracToMicros(frac string) (int64, bool) {
	f, err := strconv.ParseFloat("0."+frac, 64)
	if err != nil {
		return 0, false
	}
	us := int64(math.RoundToEven(f * float64(MicrosPerSecond)))
	if us >= MicrosPerSecond {
		return us - MicrosPerSecond, true
	}
	return us, false
}

func atoiSat(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if n > 1e9 {
			return 1 << 30
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

const (
	zoneOK = iota
	zoneSyntax
	zoneRange
)

// parseZoneOffset parses +hh, +hhmm, +hh:mm, +hh:mm:ss, +hhmmss (seconds
// east of UTC) and reports zoneOK, zoneSyntax or zoneRange.
func parseZoneOffset(s string) (int, int) {
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	body := s[1:]
	var h, m, sec int
	if strings.Contains(body, ":") {
		parts := strings.Split(body, ":")
		if len(parts) > 3 {
			return 0, zoneSyntax
		}
		for _, p := range parts {
			if !isDigitString(p) || len(p) > 2 {
				return 0, zoneSyntax
			}
		}
		h = atoiSat(parts[0])
		if len(parts) > 1 {
			m = atoiSat(parts[1])
		}
		if len(parts) > 2 {
			sec = atoiSat(parts[2])
		}
	} else {
		switch len(body) {
		case 1, 2:
			h = atoiSat(body)
		case 3, 4:
			h, m = atoiSat(body[:len(body)-2]), atoiSat(body[len(body)-2:])
		case 5, 6:
			h, m, sec = atoiSat(body[:len(body)-4]), atoiSat(body[len(body)-4:len(body)-2]), atoiSat(body[len(body)-2:])
		default:
			return 0, zoneSyntax
		}
	}
	if h > 15 || m > 59 || sec > 59 {
		return 0, zoneRange
	}
	return sign * (h*3600 + m*60 + sec), zoneOK
}

// loadZone resolves a time zone name (IANA name or UTC offset name).
func loadZone(name string) (*time.Location, error) {
	if strings.EqualFold(name, "utc") || strings.EqualFold(name, "gmt") {
		return time.UTC, nil
	}
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return nil, pgerror.New(pgerror.InvalidParameterValue, "time zone \"%s\" not recognized", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, pgerror.New(pgerror.InvalidParameterValue, "time zone \"%s\" not recognized", name)
	}
	return loc, nil
}

// LoadZone resolves a PostgreSQL TimeZone setting value as SET TimeZone
// does: an IANA name (Europe/Paris), UTC/GMT, a fixed abbreviation (EST), a
// plain number of hours (+02, -7: east of UTC, ISO sign), or a POSIX-style
// offset (-05:30, UTC+3: the POSIX sign, west of UTC positive). Unknown
// names yield a 22023 error.
func LoadZone(name string) (*time.Location, error) {
	n := strings.TrimSpace(name)
	if n != "" && (n[0] == '+' || n[0] == '-') {
		if isDigitString(n[1:]) {
			if h := atoiSat(n[1:]); h <= 15 {
				off := h * 3600
				if n[0] == '-' {
					off = -off
				}
				return time.FixedZone(n, off), nil
			}
		}
		if off, st := parseZoneOffset(n); st == zoneOK {
			return time.FixedZone(n, -off), nil
		}
	}
	if i := strings.IndexAny(n, "+-"); i >= 3 && isAlphaString(n[:i]) {
		if off, st := parseZoneOffset(n[i:]); st == zoneOK {
			return time.FixedZone(n, -off), nil
		}
	}
	if off, ok := zoneAbbrevs[strings.ToLower(n)]; ok && off != 0 {
		return time.FixedZone(strings.ToUpper(n), off), nil
	}
	return loadZone(n)
}

// special date/time words valid as a whole input.
func specialDateTime(c *Ctx, s string) (Timestamp, TimestampTZ, bool) {
	w := trimPGSpace(s)
	if w == "" || isDigit(w[0]) {
		return 0, 0, false
	}
	w = strings.ToLower(w)
	loc := c.Location()
	startOfDay := func(add int) (Timestamp, TimestampTZ) {
		local, _ := tzToLocal(TimestampTZ(c.now().UnixMicro()), loc)
		days, _ := floorDiv(int64(local), MicrosPerDay)
		ts := Timestamp((days + int64(add)) * MicrosPerDay)
		return ts, localToTZ(ts, loc)
	}
	switch w {
	case "epoch":
		return 0, 0, true
	case "infinity", "+infinity":
		return TimestampInfinity, TimestampTZInfinity, true
	case "-infinity":
		return TimestampNegInfinity, TimestampTZNegInfinity, true
	case "now":
		tz := TimestampTZ(c.now().UnixMicro())
		ts, _ := tzToLocal(tz, loc)
		return ts, tz, true
	case "today":
		ts, tz := startOfDay(0)
		return ts, tz, true
	case "tomorrow":
		ts, tz := startOfDay(1)
		return ts, tz, true
	case "yesterday":
		ts, tz := startOfDay(-1)
		return ts, tz, true
	}
	return 0, 0, false
}

func (f *dtFields) timeMicros() int64 {
	return int64(f.hour)*MicrosPerHour + int64(f.minute)*MicrosPerMinute + int64(f.sec)*MicrosPerSecond + f.usec
}

func parseDate(c *Ctx, s string) (Datum, error) {
	if ts, _, ok := specialDateTime(c, s); ok {
		switch ts {
		case TimestampInfinity:
			return DateInfinity, nil
		case TimestampNegInfinity:
			return DateNegInfinity, nil
		}
		days, _ := floorDiv(int64(ts), MicrosPerDay)
		return Date(days), nil
	}
	f, err := decodeDateTime(s, DateT)
	if err != nil {
		return nil, err
	}
	if !f.haveDate {
		return nil, errDatetimeSyntax(DateT, s)
	}
	days := daysFromCivil(f.astroYear(), f.month, f.day)
	if days < minDate || days > maxDate {
		return nil, pgerror.New(pgerror.DatetimeFieldOverflow, "date out of range: \"%s\"", s)
	}
	return Date(days), nil
}

func parseTime(c *Ctx, s string) (TimeOfDay, error) {
	w := strings.ToLower(trimPGSpace(s))
	if w == "allballs" {
		return 0, nil
	}
	if w == "now" {
		local, _ := tzToLocal(TimestampTZ(c.now().UnixMicro()), c.Location())
		_, rem := floorDiv(int64(local), MicrosPerDay)
		return TimeOfDay(rem), nil
	}
	f, err := decodeDateTime(s, TimeT)
	if err != nil {
		return 0, err
	}
	if !f.haveTime {
		return 0, errDatetimeSyntax(TimeT, s)
	}
	us := f.timeMicros()
	if us > MicrosPerDay {
		return 0, errFieldRange(s)
	}
	return TimeOfDay(us), nil
}

// parseISOFast handles the common 'YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]]'
// without a zone; ok is false for anything else (the general parser then
// decides).
func parseISOFast(s string) (Timestamp, bool) {
	n := len(s)
	if n < 10 || n > 26 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	num := func(i, w int) (int, bool) {
		v := 0
		for k := i; k < i+w; k++ {
			c := s[k]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	if !ok1 || !ok2 || !ok3 || y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(int64(y), mo) {
		return 0, false
	}
	var us int64
	if n > 10 {
		if n < 16 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' {
			return 0, false
		}
		h, ok1 := num(11, 2)
		mi, ok2 := num(14, 2)
		if !ok1 || !ok2 || h > 23 || mi > 59 {
			return 0, false
		}
		us = int64(h)*MicrosPerHour + int64(mi)*MicrosPerMinute
		if n > 16 {
			if n < 19 || s[16] != ':' {
				return 0, false
			}
			sec, ok := num(17, 2)
			if !ok || sec > 59 {
				return 0, false
			}
			us += int64(sec) * MicrosPerSecond
			if n > 19 {
				if s[19] != '.' || n == 20 {
					return 0, false
				}
				frac, ok := num(20, n-20)
				if !ok {
					return 0, false
				}
				for k := n - 20; k < 6; k++ {
					frac *= 10
				}
				us += int64(frac)
			}
		}
	}
	return Timestamp(daysFromCivil(int64(y), mo, d)*MicrosPerDay + us), true
}

func parseTimestampFields(c *Ctx, s string, t T) (*dtFields, Timestamp, error) {
	if ts, ok := parseISOFast(s); ok {
		return nil, ts, nil // no zone
	}
	f, err := decodeDateTime(s, t)
	if err != nil {
		return nil, 0, err
	}
	if !f.haveDate {
		return nil, 0, errDatetimeSyntax(t, s)
	}
	days := daysFromCivil(f.astroYear(), f.month, f.day)
	if days < minDate-1 || days > maxTimestamp/MicrosPerDay+1 {
		return nil, 0, pgerror.New(pgerror.DatetimeFieldOverflow, "timestamp out of range: \"%s\"", s)
	}
	return f, Timestamp(days*MicrosPerDay + f.timeMicros()), nil
}

func checkTimestampRange(v int64, s string) error {
	if v < minTimestamp || v >= maxTimestamp {
		return pgerror.New(pgerror.DatetimeFieldOverflow, "timestamp out of range: \"%s\"", s)
	}
	return nil
}

func parseTimestamp(c *Ctx, s string) (Timestamp, error) {
	if ts, _, ok := specialDateTime(c, s); ok {
		return ts, nil
	}
	_, ts, err := parseTimestampFields(c, s, TimestampT)
	if err != nil {
		return 0, err
	}
	if err := checkTimestampRange(int64(ts), s); err != nil {
		return 0, err
	}
	return ts, nil
}

func parseTimestampTZ(c *Ctx, s string) (TimestampTZ, error) {
	if _, tz, ok := specialDateTime(c, s); ok {
		return tz, nil
	}
	f, ts, err := parseTimestampFields(c, s, TimestampTZT)
	if err != nil {
		return 0, err
	}
	if err := checkTimestampRange(int64(ts), s); err != nil {
		return 0, err
	}
	var tz TimestampTZ
	switch {
	case f == nil:
		tz = localToTZ(ts, c.Location())
	case f.haveZone && f.zoneLoc != nil:
		tz = localToTZ(ts, f.zoneLoc)
	case f.haveZone:
		tz = TimestampTZ(int64(ts) - int64(f.zoneOff)*MicrosPerSecond)
	default:
		tz = localToTZ(ts, c.Location())
	}
	if err := checkTimestampRange(int64(tz), s); err != nil {
		return 0, err
	}
	return tz, nil
}

// roundMicros rounds us to prec fractional digits, half away from zero.
func roundMicros(us int64, prec int32) int64 {
	if prec < 0 || prec >= 6 {
		return us
	}
	scale := int64(1)
	for i := prec; i < 6; i++ {
		scale *= 10
	}
	if us >= 0 {
		return (us + scale/2) / scale * scale
	}
	return -((-us + scale/2) / scale * scale)
}

func roundTimeTypmod(v TimeOfDay, t T) TimeOfDay {
	if t.Mod < 0 {
		return v
	}
	return TimeOfDay(roundMicros(int64(v), t.Mod))
}

func roundTimestampTypmod(v Timestamp, t T) (Datum, error) {
	if t.Mod >= 0 && v != TimestampInfinity && v != TimestampNegInfinity {
		v = Timestamp(roundMicros(int64(v), t.Mod))
		if int64(v) >= maxTimestamp {
			return nil, pgerror.New(pgerror.DatetimeFieldOverflow, "timestamp out of range")
		}
	}
	return v, nil
}
