package funcs

import (
	"strings"
	"unicode/utf8"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// The regexp functions PostgreSQL 15 added (regexp_count, regexp_instr,
// regexp_like, regexp_substr) and regexp_replace's start/N forms.

// regexArgs are the optional arguments of those functions.
type regexArgs struct {
	start   int64 // 1-based character position to search from
	n       int64 // which match (1-based); 0 means all (regexp_replace)
	flags   string
	endOpt  int64 // regexp_instr: 0 start of match, 1 just after it
	subexpr int64 // 0: whole match, k: k-th parenthesized group
}

func checkStart(v int64) error {
	if v <= 0 {
		return errf(pgerror.InvalidParameterValue, "invalid value for parameter \"start\": %d", v)
	}
	return nil
}

func checkParam(name string, v int64, min int64) error {
	if v < min {
		return errf(pgerror.InvalidParameterValue, "invalid value for parameter \"%s\": %d", name, v)
	}
	return nil
}

// byteOffset returns the byte offset of 1-based character position pos.
func byteOffset(s string, pos int64) (int, bool) {
	i := 0
	for p := int64(1); p < pos; p++ {
		if i >= len(s) {
			return len(s), false
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return i, true
}

// matchesFrom returns all matches of the pattern in s starting at 1-based
// character start, with offsets relative to s.
func (e *env) matchesFrom(s, pat, flags, fn string, start int64) ([][]int, error) {
	re, _, err := e.compilePG(pat, flags, fn)
	if err != nil {
		return nil, err
	}
	off, ok := byteOffset(s, start)
	if !ok {
		return nil, nil
	}
	ms := re.FindAllStringSubmatchIndex(s[off:], -1)
	for _, m := range ms {
		for k := range m {
			if m[k] >= 0 {
				m[k] += off
			}
		}
	}
	return ms, nil
}

func stripG(flags string) (string, bool) {
	return strings.ReplaceAll(flags, "g", ""), strings.Contains(flags, "g")
}

func (e *env) registerRegexpPG15() {
	replaceN := func(a []types.Datum) (types.Datum, error) {
		src, pat, repl := str(a[0]), str(a[1]), str(a[2])
		start := i64(a[3])
		if err := checkStart(start); err != nil {
			return nil, err
		}
		n := int64(1)
		flags := ""
		if len(a) > 4 {
			n = i64(a[4])
			if err := checkParam("n", n, 0); err != nil {
				return nil, err
			}
		}
		if len(a) > 5 {
			flags = str(a[5])
		}
		flags, global := stripG(flags)
		if len(a) <= 4 && global {
			n = 0
		}
		ms, err := e.matchesFrom(src, pat, flags, "regexp_replace", start)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		last := 0
		for k, m := range ms {
			if n != 0 && int64(k+1) != n {
				continue
			}
			b.WriteString(src[last:m[0]])
			appendReplacement(&b, src, repl, m)
			last = m[1]
		}
		b.WriteString(src[last:])
		return b.String(), nil
	}
	e.strict("regexp_replace", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return replaceN(a)
	}, textT, textT, textT, int4T)
	e.strict("regexp_replace", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return replaceN(a)
	}, textT, textT, textT, int4T, int4T)
	e.strict("regexp_replace", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return replaceN(a)
	}, textT, textT, textT, int4T, int4T, textT)

	// regexp_count(string, pattern [, start [, flags]])
	count := func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		ra := regexArgs{start: 1}
		if len(a) > 2 {
			ra.start = i64(a[2])
			if err := checkStart(ra.start); err != nil {
				return nil, err
			}
		}
		if len(a) > 3 {
			ra.flags = str(a[3])
		}
		flags, _ := stripG(ra.flags)
		ms, err := e.matchesFrom(str(a[0]), str(a[1]), flags, "regexp_count", ra.start)
		if err != nil {
			return nil, err
		}
		return int64(len(ms)), nil
	}
	e.strict("regexp_count", int4T, count, textT, textT)
	e.strict("regexp_count", int4T, count, textT, textT, int4T)
	e.strict("regexp_count", int4T, count, textT, textT, int4T, textT)

	// regexp_like(string, pattern [, flags])
	like := func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		flags := ""
		if len(a) > 2 {
			flags = str(a[2])
		}
		if strings.Contains(flags, "g") {
			return nil, errf(pgerror.InvalidParameterValue, "regexp_like() does not support the \"global\" option")
		}
		ms, err := e.matchesFrom(str(a[0]), str(a[1]), flags, "regexp_like", 1)
		if err != nil {
			return nil, err
		}
		return len(ms) > 0, nil
	}
	e.strict("regexp_like", boolT, like, textT, textT)
	e.strict("regexp_like", boolT, like, textT, textT, textT)

	// regexp_substr(string, pattern [, start [, N [, flags [, subexpr]]]])
	substrFn := func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		ra, err := readRegexArgs(a, false)
		if err != nil {
			return nil, err
		}
		s := str(a[0])
		m, err := e.nthMatch(s, str(a[1]), ra, "regexp_substr")
		if err != nil || m == nil {
			return nil, err
		}
		k := int(ra.subexpr)
		if 2*k+1 >= len(m) || m[2*k] < 0 {
			return nil, nil
		}
		return s[m[2*k]:m[2*k+1]], nil
	}
	for n := 2; n <= 6; n++ {
		args := []types.T{textT, textT, int4T, int4T, textT, int4T}[:n]
		e.strict("regexp_substr", textT, substrFn, args...)
	}

	// regexp_instr(string, pattern [, start [, N [, endoption [, flags [, subexpr]]]]])
	instrFn := func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		ra, err := readRegexArgs(a, true)
		if err != nil {
			return nil, err
		}
		s := str(a[0])
		m, err := e.nthMatch(s, str(a[1]), ra, "regexp_instr")
		if err != nil {
			return nil, err
		}
		k := int(ra.subexpr)
		if m == nil || 2*k+1 >= len(m) || m[2*k] < 0 {
			return int64(0), nil
		}
		at := m[2*k]
		if ra.endOpt != 0 {
			at = m[2*k+1]
		}
		return int64(utf8.RuneCountInString(s[:at])) + 1, nil
	}
	for n := 2; n <= 7; n++ {
		args := []types.T{textT, textT, int4T, int4T, int4T, textT, int4T}[:n]
		e.strict("regexp_instr", int4T, instrFn, args...)
	}
}

// readRegexArgs reads [start [, N [, endoption] [, flags [, subexpr]]]].
func readRegexArgs(a []types.Datum, hasEndOpt bool) (regexArgs, error) {
	ra := regexArgs{start: 1, n: 1}
	i := 2
	next := func() (types.Datum, bool) {
		if i < len(a) {
			i++
			return a[i-1], true
		}
		return nil, false
	}
	if d, ok := next(); ok {
		ra.start = i64(d)
		if err := checkStart(ra.start); err != nil {
			return ra, err
		}
	}
	if d, ok := next(); ok {
		ra.n = i64(d)
		if err := checkParam("n", ra.n, 1); err != nil {
			return ra, err
		}
	}
	if hasEndOpt {
		if d, ok := next(); ok {
			ra.endOpt = i64(d)
			if ra.endOpt != 0 && ra.endOpt != 1 {
				return ra, errf(pgerror.InvalidParameterValue, "invalid value for parameter \"endoption\": %d", ra.endOpt)
			}
		}
	}
	if d, ok := next(); ok {
		ra.flags = str(d)
	}
	if d, ok := next(); ok {
		ra.subexpr = i64(d)
		if err := checkParam("subexpr", ra.subexpr, 0); err != nil {
			return ra, err
		}
	}
	return ra, nil
}

func (e *env) nthMatch(s, pat string, ra regexArgs, fn string) ([]int, error) {
	if strings.Contains(ra.flags, "g") {
		return nil, errf(pgerror.InvalidParameterValue, "%s() does not support the \"global\" option", fn)
	}
	ms, err := e.matchesFrom(s, pat, ra.flags, fn, ra.start)
	if err != nil {
		return nil, err
	}
	if ra.n > int64(len(ms)) {
		return nil, nil
	}
	return ms[ra.n-1], nil
}
