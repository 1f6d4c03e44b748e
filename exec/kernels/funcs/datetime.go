package funcs

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Infinite timestamps (PostgreSQL's DT_NOBEGIN / DT_NOEND) and dates.
const (
	tsNegInf   = math.MinInt64
	tsPosInf   = math.MaxInt64
	dateNegInf = math.MinInt32
	datePosInf = math.MaxInt32
)

func tsFinite(v int64) bool { return v != tsNegInf && v != tsPosInf }

// Range limits of PostgreSQL's timestamp: 4714-11-24 BC to 294276-12-31 AD
// (exclusive end), in microseconds since 1970-01-01.
const (
	minTimestamp = -211813488000000000
	endTimestamp = 9223371331200000000
)

func tsInRange(v int64) bool { return v >= minTimestamp && v < endTimestamp }

func errTSRange() error { return errf(pgerror.DatetimeFieldOverflow, "timestamp out of range") }

// floorDiv returns floor(a/b) and the non-negative remainder for b > 0.
func floorDiv(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return q, r
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date with an
// astronomical year (0 is 1 BC).
func civil(days int64) (y, m, d int) {
	z := days + 719468
	era, _ := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd := doy - (153*mp+2)/5 + 1
	mm := mp + 3
	if mm > 12 {
		mm -= 12
	}
	if mm <= 2 {
		yy++
	}
	return int(yy), int(mm), int(dd)
}

// daysFromCivil is civil's inverse.
func daysFromCivil(y, m, d int) int64 {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era, _ := floorDiv(yy, 400)
	yoe := yy - era*400
	mm := int64(m)
	if mm > 2 {
		mm -= 3
	} else {
		mm += 9
	}
	doy := (153*mm+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysInMonth(y, m int) int {
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

// pgYear converts an astronomical year to PostgreSQL's (no year 0: 1 BC is -1).
func pgYear(y int) int {
	if y > 0 {
		return y
	}
	return y - 1
}

// astroYear is pgYear's inverse.
func astroYear(y int) int {
	if y > 0 {
		return y
	}
	return y + 1
}

// tm is a broken-down naive timestamp.
type tm struct {
	year, month, day int // astronomical year
	hour, min, sec   int
	usec             int64
	days             int64 // days since epoch
}

func breakTS(us int64) tm {
	days, rem := floorDiv(us, types.MicrosPerDay)
	y, m, d := civil(days)
	t := tm{year: y, month: m, day: d, days: days}
	t.hour = int(rem / types.MicrosPerHour)
	rem %= types.MicrosPerHour
	t.min = int(rem / types.MicrosPerMinute)
	rem %= types.MicrosPerMinute
	t.sec = int(rem / types.MicrosPerSecond)
	t.usec = rem % types.MicrosPerSecond
	return t
}

func (t tm) micros() int64 {
	return daysFromCivil(t.year, t.month, t.day)*types.MicrosPerDay + int64(t.hour)*types.MicrosPerHour +
		int64(t.min)*types.MicrosPerMinute + int64(t.sec)*types.MicrosPerSecond + t.usec
}

// loc returns the session time zone.
func loc(ctx *kernels.EvalContext) *time.Location {
	if ctx == nil {
		return time.UTC
	}
	return ctx.Ctx.Location()
}

// zoneOffset returns the UTC offset in seconds in force at instant us.
func zoneOffset(us int64, l *time.Location) int64 {
	if l == time.UTC {
		return 0
	}
	sec, _ := floorDiv(us, types.MicrosPerSecond)
	_, off := time.Unix(sec, 0).In(l).Zone()
	return int64(off)
}

// toLocal converts an instant to the naive local clock reading in l.
func toLocal(us int64, l *time.Location) int64 {
	if !tsFinite(us) {
		return us
	}
	return us + zoneOffset(us, l)*types.MicrosPerSecond
}

// fromLocal converts a naive local clock reading in l to an instant. A local
// time skipped by a forward transition takes the offset in force before it;
// an ambiguous local time takes the offset in force after the transition
// (PostgreSQL's rule).
func fromLocal(local int64, l *time.Location) int64 {
	if l == time.UTC || !tsFinite(local) {
		return local
	}
	before := zoneOffset(local-types.MicrosPerDay, l) * types.MicrosPerSecond
	after := zoneOffset(local+types.MicrosPerDay, l) * types.MicrosPerSecond
	if before == after {
		return local - before
	}
	ca, cb := local-before, local-after
	validA := zoneOffset(ca, l)*types.MicrosPerSecond == before
	validB := zoneOffset(cb, l)*types.MicrosPerSecond == after
	switch {
	case validB:
		return cb
	case validA:
		return ca
	}
	return ca
}

// zoneAbbrevs holds the common fixed-offset abbreviations (seconds east of UTC).
var zoneAbbrevs = map[string]int{
	"utc": 0, "gmt": 0, "z": 0, "zulu": 0, "ut": 0,
	"est": -5 * 3600, "edt": -4 * 3600, "cst": -6 * 3600, "cdt": -5 * 3600,
	"mst": -7 * 3600, "mdt": -6 * 3600, "pst": -8 * 3600, "pdt": -7 * 3600,
	"akst": -9 * 3600, "akdt": -8 * 3600, "hst": -10 * 3600,
	"wet": 0, "west": 3600, "bst": 3600, "cet": 3600, "cest": 2 * 3600, "met": 3600, "mest": 2 * 3600,
	"eet": 2 * 3600, "eest": 3 * 3600, "msk": 3 * 3600, "ist": 2 * 3600,
	"jst": 9 * 3600, "kst": 9 * 3600, "hkt": 8 * 3600, "awst": 8 * 3600,
	"acst": 34200, "acdt": 37800, "aest": 10 * 3600, "aedt": 11 * 3600, "nzst": 12 * 3600, "nzdt": 13 * 3600,
}

// parseZone resolves a time zone as PostgreSQL's AT TIME ZONE does: an
// abbreviation, a tz database name (case-insensitive) or a POSIX-style
// offset ("+05" and "UTC+3" are west of Greenwich).
func parseZone(name string) (*time.Location, bool) {
	s := strings.TrimSpace(name)
	if s == "" {
		return nil, false
	}
	lower := strings.ToLower(s)
	if off, ok := zoneAbbrevs[lower]; ok {
		if off == 0 {
			return time.UTC, true
		}
		return time.FixedZone(strings.ToUpper(s), off), true
	}
	if l, err := time.LoadLocation(s); err == nil && !strings.HasPrefix(s, "/") && !strings.Contains(s, "..") {
		return l, true
	}
	if canon := canonicalZoneName(lower); canon != s {
		if l, err := time.LoadLocation(canon); err == nil && !strings.Contains(canon, "..") {
			return l, true
		}
	}
	// POSIX offset: [name]{+|-}hh[:mm[:ss]]
	rest := lower
	for i := 0; i < len(rest); i++ {
		if rest[i] == '+' || rest[i] == '-' || (rest[i] >= '0' && rest[i] <= '9') {
			if i > 0 && !isAlpha(rest[:i]) {
				return nil, false
			}
			rest = rest[i:]
			break
		}
	}
	sign := 1
	switch {
	case strings.HasPrefix(rest, "+"):
		rest = rest[1:]
	case strings.HasPrefix(rest, "-"):
		sign = -1
		rest = rest[1:]
	}
	parts := strings.Split(rest, ":")
	if len(parts) == 0 || len(parts) > 3 {
		return nil, false
	}
	secs := 0
	mult := 3600
	for _, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || p == "" {
			return nil, false
		}
		secs += v * mult
		mult /= 60
	}
	if secs > 15*3600+59*60 {
		return nil, false
	}
	// POSIX: positive means west of Greenwich.
	return time.FixedZone(strings.ToUpper(name), -sign*secs), true
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= 'a' && s[i] <= 'z') {
			return false
		}
	}
	return true
}

// canonicalZoneName capitalizes a tz database name the usual way
// ("america/new_york" → "America/New_York").
func canonicalZoneName(s string) string {
	b := []byte(s)
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
		up = c == '/' || c == '_' || c == '-'
	}
	out := string(b)
	switch strings.ToUpper(s) {
	case "UTC", "GMT", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT":
		return strings.ToUpper(s)
	}
	return out
}

func (e *env) zoneArg(name string) (*time.Location, error) {
	l, ok := e.location(name)
	if !ok {
		return nil, errf(pgerror.InvalidParameterValue, "time zone \"%s\" not recognized", name)
	}
	return l, nil
}

// intervalZone turns an interval used as a time zone into an offset.
func intervalZone(iv types.Interval) (int64, error) {
	if iv.Months != 0 || iv.Days != 0 {
		return 0, errf(pgerror.InvalidParameterValue, "interval time zone \"%s\" must not include months or days", intervalString(iv))
	}
	return iv.Micros, nil
}

// intervalString is a compact rendering used in error messages.
func intervalString(iv types.Interval) string {
	return types.FormatText(nil, iv, types.IntervalT)
}

// offsetCache remembers the zone period of the last lookup so runs of
// nearby instants (a batch of event times) cost one comparison each.
type offsetCache struct {
	l      *time.Location
	lo, hi int64 // [lo, hi) in microseconds
	off    int64 // seconds east of UTC
	ok     bool
}

func (c *offsetCache) offset(us int64) int64 {
	if c.l == time.UTC {
		return 0
	}
	if c.ok && us >= c.lo && us < c.hi {
		return c.off
	}
	sec, _ := floorDiv(us, types.MicrosPerSecond)
	t := time.Unix(sec, 0).In(c.l)
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	c.lo, c.hi = int64(math.MinInt64), int64(math.MaxInt64)
	if !start.IsZero() {
		c.lo = start.UnixMicro()
	}
	if !end.IsZero() {
		c.hi = end.UnixMicro()
	}
	c.off, c.ok = int64(off), true
	return c.off
}
