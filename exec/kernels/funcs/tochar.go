package funcs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Date/time template patterns for to_char, to_timestamp and to_date.

type dtKey uint8

const (
	kLit dtKey = iota
	kAD        // AD BC A.D. B.C. (any spelling: era)
	kAM        // AM PM A.M. P.M.
	kCC
	kDay
	kDy
	kDDD
	kDD
	kD
	kFF // FF1..FF6 (width in node.n)
	kHH24
	kHH12
	kIDDD
	kID
	kIW
	kIYYY
	kIYY
	kIY
	kI
	kJ
	kMI
	kMM
	kMonth
	kMon
	kMS
	kOF
	kQ
	kRM
	kSSSS
	kSS
	kTZH
	kTZM
	kTZ
	kUS
	kWW
	kW
	kYCommaYYY
	kYYYY
	kYYY
	kYY
	kY
)

// dtCase says how a text field is capitalized: ALL upper, Initial, lower.
type dtCase uint8

const (
	caseUpper dtCase = iota
	caseInitial
	caseLower
)

type dtPattern struct {
	text string
	key  dtKey
	cs   dtCase
	n    int  // FFn width
	dots bool // A.M./B.C. style
}

// dtPatterns lists every spelling, longest first within a shared prefix.
var dtPatterns = func() []dtPattern {
	p := []dtPattern{
		{text: "A.D.", key: kAD, dots: true}, {text: "a.d.", key: kAD, cs: caseLower, dots: true},
		{text: "AD", key: kAD}, {text: "ad", key: kAD, cs: caseLower},
		{text: "B.C.", key: kAD, dots: true}, {text: "b.c.", key: kAD, cs: caseLower, dots: true},
		{text: "BC", key: kAD}, {text: "bc", key: kAD, cs: caseLower},
		{text: "A.M.", key: kAM, dots: true}, {text: "a.m.", key: kAM, cs: caseLower, dots: true},
		{text: "AM", key: kAM}, {text: "am", key: kAM, cs: caseLower},
		{text: "P.M.", key: kAM, dots: true}, {text: "p.m.", key: kAM, cs: caseLower, dots: true},
		{text: "PM", key: kAM}, {text: "pm", key: kAM, cs: caseLower},
		{text: "CC", key: kCC}, {text: "cc", key: kCC},
		{text: "DAY", key: kDay}, {text: "Day", key: kDay, cs: caseInitial}, {text: "day", key: kDay, cs: caseLower},
		{text: "DY", key: kDy}, {text: "Dy", key: kDy, cs: caseInitial}, {text: "dy", key: kDy, cs: caseLower},
		{text: "DDD", key: kDDD}, {text: "ddd", key: kDDD}, {text: "DD", key: kDD}, {text: "dd", key: kDD},
		{text: "D", key: kD}, {text: "d", key: kD},
		{text: "HH24", key: kHH24}, {text: "hh24", key: kHH24}, {text: "HH12", key: kHH12}, {text: "hh12", key: kHH12},
		{text: "HH", key: kHH12}, {text: "hh", key: kHH12},
		{text: "IDDD", key: kIDDD}, {text: "iddd", key: kIDDD}, {text: "ID", key: kID}, {text: "id", key: kID},
		{text: "IW", key: kIW}, {text: "iw", key: kIW}, {text: "IYYY", key: kIYYY}, {text: "iyyy", key: kIYYY},
		{text: "IYY", key: kIYY}, {text: "iyy", key: kIYY}, {text: "IY", key: kIY}, {text: "iy", key: kIY},
		{text: "I", key: kI}, {text: "i", key: kI},
		{text: "J", key: kJ}, {text: "j", key: kJ},
		{text: "MI", key: kMI}, {text: "mi", key: kMI}, {text: "MM", key: kMM}, {text: "mm", key: kMM},
		{text: "MONTH", key: kMonth}, {text: "Month", key: kMonth, cs: caseInitial}, {text: "month", key: kMonth, cs: caseLower},
		{text: "MON", key: kMon}, {text: "Mon", key: kMon, cs: caseInitial}, {text: "mon", key: kMon, cs: caseLower},
		{text: "MS", key: kMS}, {text: "ms", key: kMS},
		{text: "OF", key: kOF}, {text: "of", key: kOF},
		{text: "Q", key: kQ}, {text: "q", key: kQ},
		{text: "RM", key: kRM}, {text: "rm", key: kRM, cs: caseLower},
		{text: "SSSSS", key: kSSSS}, {text: "sssss", key: kSSSS}, {text: "SSSS", key: kSSSS}, {text: "ssss", key: kSSSS},
		{text: "SS", key: kSS}, {text: "ss", key: kSS},
		{text: "TZH", key: kTZH}, {text: "tzh", key: kTZH}, {text: "TZM", key: kTZM}, {text: "tzm", key: kTZM},
		{text: "TZ", key: kTZ}, {text: "tz", key: kTZ, cs: caseLower},
		{text: "US", key: kUS}, {text: "us", key: kUS},
		{text: "WW", key: kWW}, {text: "ww", key: kWW}, {text: "W", key: kW}, {text: "w", key: kW},
		{text: "Y,YYY", key: kYCommaYYY}, {text: "y,yyy", key: kYCommaYYY},
		{text: "YYYY", key: kYYYY}, {text: "yyyy", key: kYYYY}, {text: "YYY", key: kYYY}, {text: "yyy", key: kYYY},
		{text: "YY", key: kYY}, {text: "yy", key: kYY}, {text: "Y", key: kY}, {text: "y", key: kY},
	}
	for i := 1; i <= 6; i++ {
		p = append(p, dtPattern{text: "FF" + strconv.Itoa(i), key: kFF, n: i}, dtPattern{text: "ff" + strconv.Itoa(i), key: kFF, n: i})
	}
	return p
}()

type dtNode struct {
	pat   dtPattern
	lit   string // for kLit
	fm    bool   // FM prefix: no padding
	th    int    // 1: TH suffix, 2: th suffix
	space bool   // literal is whitespace
}

// parseDTFormat splits a template into pattern and literal nodes.
func parseDTFormat(f string) []dtNode {
	var nodes []dtNode
	for i := 0; i < len(f); {
		fm := false
		for {
			if strings.HasPrefix(f[i:], "FM") || strings.HasPrefix(f[i:], "fm") {
				fm = true
				i += 2
				continue
			}
			if strings.HasPrefix(f[i:], "TM") || strings.HasPrefix(f[i:], "tm") ||
				strings.HasPrefix(f[i:], "FX") || strings.HasPrefix(f[i:], "fx") {
				i += 2
				continue
			}
			break
		}
		if i >= len(f) {
			break
		}
		var best *dtPattern
		for k := range dtPatterns {
			p := &dtPatterns[k]
			if strings.HasPrefix(f[i:], p.text) && (best == nil || len(p.text) > len(best.text)) {
				best = p
			}
		}
		if best != nil {
			n := dtNode{pat: *best, fm: fm}
			i += len(best.text)
			if strings.HasPrefix(f[i:], "TH") {
				n.th = 1
				i += 2
			} else if strings.HasPrefix(f[i:], "th") {
				n.th = 2
				i += 2
			}
			nodes = append(nodes, n)
			continue
		}
		c := f[i]
		switch {
		case c == '"':
			// Quoted literal text; backslash escapes the next character.
			j := i + 1
			var b strings.Builder
			for j < len(f) && f[j] != '"' {
				if f[j] == '\\' && j+1 < len(f) {
					j++
				}
				b.WriteByte(f[j])
				j++
			}
			nodes = append(nodes, dtNode{lit: b.String()})
			i = j + 1
		case c == '\\' && i+1 < len(f) && f[i+1] == '"':
			nodes = append(nodes, dtNode{lit: `"`})
			i += 2
		default:
			_, w := utf8.DecodeRuneInString(f[i:])
			nodes = append(nodes, dtNode{lit: f[i : i+w], space: c == ' ' || c == '\t' || c == '\n'})
			i += w
		}
	}
	return nodes
}

var (
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	romanMonth = []string{"I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"}
)

func applyCase(s string, cs dtCase) string {
	switch cs {
	case caseUpper:
		return strings.ToUpper(s)
	case caseLower:
		return strings.ToLower(s)
	}
	return s
}

func ordinal(n int64, upper bool) string {
	s := "th"
	if m := n % 100; m < 0 || m < 11 || m > 13 {
		switch abs64(n) % 10 {
		case 1:
			s = "st"
		case 2:
			s = "nd"
		case 3:
			s = "rd"
		}
	}
	if upper {
		return strings.ToUpper(s)
	}
	return s
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// dtValue is the broken-down value to_char formats.
type dtValue struct {
	year, month, day int // astronomical year for timestamps; years of an interval
	hour, min, sec   int64
	usec             int64
	days             int64 // day number (timestamps)
	interval         bool
	hasZone          bool
	zoneAbbrev       string
	offset           int64 // seconds east of UTC
}

func (v dtValue) doy() int64 { return v.days - daysFromCivil(v.year, 1, 1) + 1 }

// toChar formats v with a parsed template.
func toChar(v dtValue, nodes []dtNode) string {
	var b strings.Builder
	// num prints a number zero-padded to width; wide fields (hours,
	// minutes, seconds, century) keep their digits when negative.
	num := func(n dtNode, val int64, width int) {
		w := width
		switch {
		case n.fm:
			w = 0
		case val < 0:
			switch n.pat.key {
			case kHH24, kHH12, kMI, kSS, kMS, kUS, kCC:
				w++
			}
		}
		fmt.Fprintf(&b, "%0*d", w, val)
		if n.th != 0 {
			b.WriteString(ordinal(val, n.th == 1))
		}
	}
	text := func(n dtNode, s string, pad int) {
		s = applyCase(s, n.pat.cs)
		b.WriteString(s)
		if !n.fm && len(s) < pad {
			b.WriteString(strings.Repeat(" ", pad-len(s)))
		}
	}
	year := int64(v.year)
	if !v.interval && v.year <= 0 {
		year = int64(1 - v.year)
	}
	for _, n := range nodes {
		if n.pat.text == "" {
			b.WriteString(n.lit)
			continue
		}
		switch n.pat.key {
		case kAD:
			s := "AD"
			if !v.interval && v.year <= 0 {
				s = "BC"
			}
			if n.pat.dots {
				s = s[:1] + "." + s[1:] + "."
			}
			b.WriteString(applyCase(s, n.pat.cs))
		case kAM:
			s := "AM"
			if v.hour%24 >= 12 {
				s = "PM"
			}
			if n.pat.dots {
				s = s[:1] + "." + s[1:] + "."
			}
			b.WriteString(applyCase(s, n.pat.cs))
		case kHH24:
			num(n, v.hour, 2)
		case kHH12:
			h := v.hour % 12
			if h == 0 {
				h = 12
			}
			num(n, h, 2)
		case kMI:
			num(n, v.min, 2)
		case kSS:
			num(n, v.sec, 2)
		case kMS:
			num(n, v.usec/1000, 3)
		case kUS:
			num(n, v.usec, 6)
		case kFF:
			d := v.usec
			for i := n.pat.n; i < 6; i++ {
				d /= 10
			}
			num(n, d, n.pat.n)
		case kSSSS:
			num(n, v.hour*3600+v.min*60+v.sec, 0)
		case kYYYY:
			num(n, year, 4)
		case kYCommaYYY:
			fmt.Fprintf(&b, "%d,%03d", year/1000, year%1000)
		case kYYY:
			num(n, year%1000, 3)
		case kYY:
			num(n, year%100, 2)
		case kY:
			num(n, year%10, 1)
		case kMM:
			num(n, int64(v.month), 2)
		case kDD:
			num(n, int64(v.day), 2)
		case kCC:
			if v.interval {
				num(n, year/100, 2)
			} else {
				num(n, centuryOf(v.year), 2)
			}
		case kQ:
			if v.interval && v.month == 0 {
				continue
			}
			num(n, int64((v.month-1)/3+1), 1)
		case kMonth, kMon, kRM:
			if v.month < 1 || v.month > 12 {
				continue
			}
			switch n.pat.key {
			case kMonth:
				text(n, monthNames[v.month-1], 9)
			case kMon:
				text(n, monthNames[v.month-1][:3], 0)
			default:
				text(n, romanMonth[v.month-1], 4)
			}
		}
		if v.interval {
			continue
		}
		switch n.pat.key {
		case kDay:
			text(n, dayNames[isoWeekday(v.days)%7], 9)
		case kDy:
			text(n, dayNames[isoWeekday(v.days)%7][:3], 0)
		case kDDD:
			num(n, v.doy(), 3)
		case kD:
			num(n, int64(isoWeekday(v.days)%7+1), 1)
		case kID:
			num(n, int64(isoWeekday(v.days)), 1)
		case kIDDD:
			iy, _ := isoWeek(v.days)
			num(n, v.days-isoYearStart(iy)+1, 3)
		case kIW:
			_, w := isoWeek(v.days)
			num(n, int64(w), 2)
		case kIYYY, kIYY, kIY, kI:
			iy, _ := isoWeek(v.days)
			y := int64(pgYearAbs(iy))
			switch n.pat.key {
			case kIYYY:
				num(n, y, 4)
			case kIYY:
				num(n, y%1000, 3)
			case kIY:
				num(n, y%100, 2)
			default:
				num(n, y%10, 1)
			}
		case kW:
			num(n, int64((v.day-1)/7+1), 1)
		case kWW:
			num(n, (v.doy()-1)/7+1, 2)
		case kJ:
			num(n, v.days+2440588, 0)
		case kTZ:
			if v.hasZone {
				b.WriteString(applyCase(v.zoneAbbrev, n.pat.cs))
			}
		case kTZH, kOF:
			off := v.offset
			sign := byte('+')
			if off < 0 {
				sign = '-'
				off = -off
			}
			b.WriteByte(sign)
			fmt.Fprintf(&b, "%02d", off/3600)
			if n.pat.key == kOF && off%3600 != 0 {
				fmt.Fprintf(&b, ":%02d", (off%3600)/60)
			}
		case kTZM:
			fmt.Fprintf(&b, "%02d", (abs64(v.offset)%3600)/60)
		}
	}
	return b.String()
}

// isoYearStart returns the day number of the Monday starting ISO year y.
func isoYearStart(y int) int64 {
	jan4 := daysFromCivil(y, 1, 4)
	return jan4 - int64(isoWeekday(jan4)-1)
}

func pgYearAbs(y int) int {
	if y <= 0 {
		return 1 - y
	}
	return y
}

func tsValue(local int64) dtValue {
	t := breakTS(local)
	return dtValue{year: t.year, month: t.month, day: t.day, hour: int64(t.hour), min: int64(t.min),
		sec: int64(t.sec), usec: t.usec, days: t.days}
}

func (e *env) registerToChar() {
	e.strict("to_char", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		v := tsArg(a[0])
		if !tsFinite(v) {
			return nil, nil
		}
		return toChar(tsValue(v), e.dtFormat(str(a[1]))), nil
	}, tsT, textT).Volatility = kernels.Stable
	e.strict("to_char", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		v := tsArg(a[0])
		if !tsFinite(v) {
			return nil, nil
		}
		l := loc(ctx)
		sec, _ := floorDiv(v, types.MicrosPerSecond)
		abbrev, off := time.Unix(sec, 0).In(l).Zone()
		dv := tsValue(v + int64(off)*types.MicrosPerSecond)
		dv.hasZone, dv.zoneAbbrev, dv.offset = true, abbrev, int64(off)
		if l == time.UTC {
			dv.zoneAbbrev = "UTC"
		}
		return toChar(dv, e.dtFormat(str(a[1]))), nil
	}, tstzT, textT).Volatility = kernels.Stable
	e.strict("to_char", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		d, _ := a[0].(types.Date)
		v, err := dateToTSChecked(d)
		if err != nil {
			return nil, err
		}
		if !tsFinite(v) {
			return nil, nil
		}
		return toChar(tsValue(v), e.dtFormat(str(a[1]))), nil
	}, dateT, textT).Volatility = kernels.Stable
	e.strict("to_char", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		iv := ivArg(a[0])
		t := iv.Micros
		dv := dtValue{interval: true, year: int(iv.Months / 12), month: int(iv.Months % 12), day: int(iv.Days)}
		dv.hour = t / types.MicrosPerHour
		t -= dv.hour * types.MicrosPerHour
		dv.min = t / types.MicrosPerMinute
		t -= dv.min * types.MicrosPerMinute
		dv.sec = t / types.MicrosPerSecond
		dv.usec = t % types.MicrosPerSecond
		return toChar(dv, e.dtFormat(str(a[1]))), nil
	}, intervalT, textT).Volatility = kernels.Stable
	e.registerNumToChar()

	e.strict("to_timestamp", tstzT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		p, err := parseWithFormat(str(a[0]), e.dtFormat(str(a[1])))
		if err != nil {
			return nil, err
		}
		local, err := p.timestamp(str(a[0]))
		if err != nil {
			return nil, err
		}
		if p.hasTZ {
			return types.TimestampTZ(local - p.tzOffset*types.MicrosPerSecond), nil
		}
		return types.TimestampTZ(fromLocal(local, loc(ctx))), nil
	}, textT, textT).Volatility = kernels.Stable
	e.strict("to_date", dateT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		p, err := parseWithFormat(str(a[0]), e.dtFormat(str(a[1])))
		if err != nil {
			return nil, err
		}
		local, err := p.timestamp(str(a[0]))
		if err != nil {
			return nil, err
		}
		d, _ := floorDiv(local, types.MicrosPerDay)
		return types.Date(d), nil
	}, textT, textT).Volatility = kernels.Stable
}

// parsedDT collects the fields to_timestamp/to_date read.
type parsedDT struct {
	year, month, day          int
	hasYear, hasMonth, hasDay bool
	doy                       int
	hour, min, sec            int
	usec                      int64
	pm, hasMeridian, bc       bool
	hh12                      bool
	hasTZ                     bool
	tzOffset                  int64
	yearDigits                int
	isoYear, isoWeek, isoDow  int
	hasISO                    bool
}

func errBadValue(val, field, detail string) error {
	return errf(pgerror.InvalidDatetimeFormat, "invalid value \"%s\" for \"%s\"", val, field).WithDetail("%s", detail)
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// numericWidth is the nominal digit count of a numeric field.
func numericWidth(p dtPattern) int {
	switch p.key {
	case kYYYY, kIYYY:
		return 4
	case kYYY, kIYY, kDDD, kIDDD, kMS:
		return 3
	case kYY, kIY, kMM, kDD, kHH24, kHH12, kMI, kSS, kCC, kWW, kIW, kTZH, kTZM:
		return 2
	case kY, kI, kD, kID, kQ, kW:
		return 1
	case kUS:
		return 6
	case kFF:
		return p.n
	case kSSSS:
		return 5
	case kJ:
		return 7
	}
	return 0
}

func isTextKey(k dtKey) bool {
	switch k {
	case kAD, kAM, kDay, kDy, kMonth, kMon, kRM, kTZ, kOF:
		return true
	}
	return false
}

// parseWithFormat reads s according to template f (PostgreSQL's lenient,
// non-FX matching: separators match any separator, spaces are skipped).
func parseWithFormat(s string, nodes []dtNode) (*parsedDT, error) {
	p := &parsedDT{day: 1, month: 1}
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
	}
	for ni, n := range nodes {
		if i >= len(s) {
			break
		}
		if n.pat.text == "" {
			if n.space {
				skipSpace()
				continue
			}
			if strings.HasPrefix(s[i:], n.lit) {
				i += len(n.lit)
				continue
			}
			// A separator in the template matches any one separator in
			// the input, after any spaces (PostgreSQL's non-FX mode).
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n') {
				j++
			}
			if j < len(s) && !isDigitByte(s[j]) && !isLetter(s[j]) {
				i = j + 1
			}
			continue
		}
		skipSpace()
		if i >= len(s) {
			break
		}
		if isTextKey(n.pat.key) {
			if err := p.readText(n, s, &i); err != nil {
				return nil, err
			}
			continue
		}
		if n.pat.key == kYCommaYYY {
			j := i
			for j < len(s) && (isDigitByte(s[j]) || s[j] == ',') {
				j++
			}
			v, err := strconv.Atoi(strings.ReplaceAll(s[i:j], ",", ""))
			if err != nil {
				return nil, errBadValue(s[i:j], n.pat.text, "Value must be an integer.")
			}
			p.year, p.hasYear, p.yearDigits = v, true, 4
			i = j
			continue
		}
		// Numeric field: an optional sign for TZH, then digits, limited to
		// the nominal width when the next node is another numeric field.
		maxw := 9
		if ni+1 < len(nodes) && nodes[ni+1].pat.text != "" && !isTextKey(nodes[ni+1].pat.key) {
			maxw = numericWidth(n.pat)
		}
		neg := false
		if n.pat.key == kTZH && i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		j := i
		for j < len(s) && j-i < maxw && isDigitByte(s[j]) {
			j++
		}
		if j == i {
			k := i
			for k < len(s) && !isSpaceByte(s[k]) && (isLetter(s[k]) || isDigitByte(s[k])) {
				k++
			}
			if k == i {
				k = i + 1
			}
			return nil, errBadValue(s[i:k], n.pat.text, "Value must be an integer.")
		}
		digits := s[i:j]
		v, err := strconv.Atoi(digits)
		if err != nil {
			return nil, errBadValue(digits, n.pat.text, "Value must be an integer.")
		}
		i = j
		if err := p.setNumeric(n.pat, v, digits, neg); err != nil {
			return nil, err
		}
		// An ordinal suffix (TH/th) consumes two letters after the number.
		if n.th != 0 && i+1 < len(s) && isLetter(s[i]) && isLetter(s[i+1]) {
			i += 2
		}
	}
	return p, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }

func (p *parsedDT) setNumeric(pat dtPattern, v int, digits string, neg bool) error {
	switch pat.key {
	case kYYYY, kYYY, kYY, kY:
		p.year, p.hasYear, p.yearDigits = v, true, len(digits)
		switch {
		case pat.key == kYY && len(digits) <= 2:
			if v < 70 {
				p.year += 2000
			} else {
				p.year += 1900
			}
		case pat.key == kYYY && len(digits) <= 3:
			if v < 100 {
				p.year += 2000
			} else {
				p.year += 1000
			}
		case pat.key == kY && len(digits) == 1:
			p.year += 2000
		}
	case kIYYY, kIYY, kIY, kI:
		p.isoYear, p.hasISO = v, true
	case kIW:
		p.isoWeek, p.hasISO = v, true
	case kID:
		p.isoDow = v
	case kMM:
		p.month, p.hasMonth = v, true
	case kDD:
		p.day, p.hasDay = v, true
	case kDDD, kIDDD:
		p.doy = v
	case kHH24:
		p.hour = v
	case kHH12:
		p.hour, p.hh12 = v, true
	case kMI:
		p.min = v
	case kSS:
		p.sec = v
	case kMS:
		p.usec = int64(v) * 1000
		for k := len(digits); k < 3; k++ {
			p.usec *= 10
		}
	case kUS, kFF:
		u := int64(v)
		for k := len(digits); k < 6; k++ {
			u *= 10
		}
		p.usec = u
	case kSSSS:
		p.hour, p.min, p.sec = v/3600, (v%3600)/60, v%60
	case kJ:
		days := int64(v) - 2440588
		y, m, d := civil(days)
		p.year, p.month, p.day, p.hasYear = pgYear(y), m, d, true
		if y <= 0 {
			p.year, p.bc = 1-y, true
		}
	case kTZH:
		p.hasTZ = true
		off := int64(v) * 3600
		if neg {
			off = -off
		}
		p.tzOffset = off
	case kTZM:
		p.hasTZ = true
		if p.tzOffset < 0 {
			p.tzOffset -= int64(v) * 60
		} else {
			p.tzOffset += int64(v) * 60
		}
	case kCC, kQ, kW, kWW, kD:
		// Accepted and ignored (as PostgreSQL does when a full date is given).
	}
	return nil
}

// readText matches a name field (month, day, meridian, era) at s[*i:].
func (p *parsedDT) readText(n dtNode, s string, i *int) error {
	rest := s[*i:]
	match := func(cands []string, full bool) int {
		for k, c := range cands {
			if !full {
				c = c[:3]
			}
			if len(rest) >= len(c) && strings.EqualFold(rest[:len(c)], c) {
				*i += len(c)
				return k
			}
		}
		return -1
	}
	bad := func() error {
		k := 0
		for k < len(rest) && isLetter(rest[k]) {
			k++
		}
		if k == 0 && len(rest) > 0 {
			k = 1
		}
		return errBadValue(rest[:k], n.pat.text, "The given value did not match any of the allowed values for this field.")
	}
	switch n.pat.key {
	case kMonth, kMon:
		k := match(monthNames, n.pat.key == kMonth)
		if k < 0 {
			return bad()
		}
		p.month, p.hasMonth = k+1, true
	case kRM:
		for k := len(romanMonth) - 1; k >= 0; k-- {
			r := romanMonth[k]
			if len(rest) >= len(r) && strings.EqualFold(rest[:len(r)], r) {
				*i += len(r)
				p.month, p.hasMonth = k+1, true
				return nil
			}
		}
		return bad()
	case kDay, kDy:
		if match(dayNames, n.pat.key == kDay) < 0 {
			return bad()
		}
	case kAM:
		switch {
		case len(rest) >= 4 && (strings.EqualFold(rest[:4], "a.m.") || strings.EqualFold(rest[:4], "p.m.")):
			p.pm = rest[0] == 'p' || rest[0] == 'P'
			*i += 4
		case len(rest) >= 2 && (strings.EqualFold(rest[:2], "am") || strings.EqualFold(rest[:2], "pm")):
			p.pm = rest[0] == 'p' || rest[0] == 'P'
			*i += 2
		default:
			return bad()
		}
		p.hasMeridian = true
	case kAD:
		switch {
		case len(rest) >= 4 && (strings.EqualFold(rest[:4], "b.c.") || strings.EqualFold(rest[:4], "a.d.")):
			p.bc = rest[0] == 'b' || rest[0] == 'B'
			*i += 4
		case len(rest) >= 2 && (strings.EqualFold(rest[:2], "bc") || strings.EqualFold(rest[:2], "ad")):
			p.bc = rest[0] == 'b' || rest[0] == 'B'
			*i += 2
		default:
			return bad()
		}
	case kTZ, kOF:
		return errf(pgerror.FeatureNotSupported, "formatting field \"%s\" is only supported in to_char", n.pat.text)
	}
	return nil
}

// timestamp assembles the parsed fields into a naive timestamp.
func (p *parsedDT) timestamp(input string) (int64, error) {
	rangeErr := func() error {
		return errf(pgerror.DatetimeFieldOverflow, "date/time field value out of range: \"%s\"", input)
	}
	hour := p.hour
	if p.hh12 || p.hasMeridian {
		if hour < 1 || hour > 12 {
			return 0, errf(pgerror.InvalidDatetimeFormat, "hour \"%d\" is invalid for the 12-hour clock", hour).
				WithHint("Use the 24-hour clock, or give an hour between 1 and 12.")
		}
		if p.pm && hour < 12 {
			hour += 12
		} else if !p.pm && hour == 12 {
			hour = 0
		}
	}
	var days int64
	switch {
	case p.hasISO && p.isoYear != 0:
		wk := p.isoWeek
		if wk == 0 {
			wk = 1
		}
		dow := p.isoDow
		if dow == 0 {
			dow = 1
		}
		days = isoYearStart(p.isoYear) + int64(wk-1)*7 + int64(dow-1)
	default:
		y := p.year
		if p.bc && y > 0 {
			y = 1 - y
		}
		if !p.hasYear {
			y = 0
		}
		if p.doy != 0 && !p.hasMonth && !p.hasDay {
			if p.doy < 1 || p.doy > 366 || (p.doy == 366 && !isLeap(y)) {
				return 0, rangeErr()
			}
			days = daysFromCivil(y, 1, 1) + int64(p.doy-1)
			break
		}
		if p.month < 1 || p.month > 12 || p.day < 1 || p.day > daysInMonth(y, p.month) {
			return 0, rangeErr()
		}
		days = daysFromCivil(y, p.month, p.day)
	}
	if hour < 0 || hour > 24 || p.min < 0 || p.min > 59 || p.sec < 0 || p.sec > 60 {
		return 0, rangeErr()
	}
	v := days*types.MicrosPerDay + int64(hour)*types.MicrosPerHour + int64(p.min)*types.MicrosPerMinute +
		int64(p.sec)*types.MicrosPerSecond + p.usec
	if !tsInRange(v) {
		return 0, errTSRange()
	}
	return v, nil
}
