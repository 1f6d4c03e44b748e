package funcs

import (
	"errors"
	"regexp/syntax"
	"strings"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Regular expressions run on Go's RE2 engine. PostgreSQL's ARE dialect is
// close for everyday patterns; the differences (no back-references inside
// patterns, no \m \M \y word anchors) are reported as 2201B errors.

func (e *env) registerRegexp() {
	e.strict("regexp_replace", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.regexpReplace(str(a[0]), str(a[1]), str(a[2]), "")
	}, textT, textT, textT)
	e.strict("regexp_replace", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.regexpReplace(str(a[0]), str(a[1]), str(a[2]), str(a[3]))
	}, textT, textT, textT, textT)
	textArr := types.ArrayOf(types.TextT)
	e.strict("regexp_match", textArr, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.regexpMatch(str(a[0]), str(a[1]), "")
	}, textT, textT)
	e.strict("regexp_match", textArr, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.regexpMatch(str(a[0]), str(a[1]), str(a[2]))
	}, textT, textT, textT)
	e.strict("substring", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		re, _, err := e.compilePG(str(a[1]), "", "substring")
		if err != nil {
			return nil, err
		}
		s := str(a[0])
		m := re.FindStringSubmatchIndex(s)
		if m == nil {
			return nil, nil
		}
		if len(m) > 2 {
			if m[2] < 0 {
				return nil, nil
			}
			return s[m[2]:m[3]], nil
		}
		return s[m[0]:m[1]], nil
	}, textT, textT)
}

// compilePG compiles a PostgreSQL ARE with flags; global reports the g flag.
func (e *env) compilePG(pattern, flags, fn string) (re interface {
	FindStringSubmatchIndex(string) []int
	FindAllStringSubmatchIndex(string, int) [][]int
}, global bool, err error) {
	// PostgreSQL's default: '.' matches newline, ^ and $ anchor the whole string.
	dotAll, multiLine, fold := true, false, false
	for _, c := range flags {
		switch c {
		case 'g':
			global = true
		case 'i':
			fold = true
		case 'c':
			fold = false
		case 'n', 'm':
			dotAll, multiLine = false, true
		case 's':
			dotAll, multiLine = true, false
		case 'p':
			dotAll, multiLine = false, false
		case 'w':
			dotAll, multiLine = true, true
		case 't':
		default:
			return nil, false, errf(pgerror.InvalidParameterValue, "invalid regular expression option: \"%s\"", string(c))
		}
	}
	if global && fn == "regexp_match" {
		return nil, false, errf(pgerror.InvalidParameterValue, "regexp_match() does not support the \"global\" option").WithHint("Use the regexp_matches function instead.")
	}
	var prefix strings.Builder
	if dotAll || multiLine || fold {
		prefix.WriteString("(?")
		if dotAll {
			prefix.WriteByte('s')
		}
		if multiLine {
			prefix.WriteByte('m')
		}
		if fold {
			prefix.WriteByte('i')
		}
		prefix.WriteByte(')')
	}
	r, err := e.compile(prefix.String() + pattern)
	if err != nil {
		return nil, false, err
	}
	return r, global, nil
}

// regexErrText maps Go's regexp errors to PostgreSQL's wording where they
// correspond.
func regexErrText(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		switch se.Code {
		case syntax.ErrMissingParen, syntax.ErrUnexpectedParen:
			return "parentheses () not balanced"
		case syntax.ErrMissingBracket:
			return "brackets [] not balanced"
		case syntax.ErrMissingRepeatArgument, syntax.ErrInvalidRepeatOp:
			return "quantifier operand invalid"
		case syntax.ErrInvalidRepeatSize:
			return "invalid repetition count(s)"
		case syntax.ErrInvalidEscape:
			return "invalid escape \\ sequence"
		case syntax.ErrInvalidCharRange:
			return "invalid character range"
		}
		return string(se.Code)
	}
	return err.Error()
}

func (e *env) regexpReplace(src, pat, repl, flags string) (types.Datum, error) {
	re, global, err := e.compilePG(pat, flags, "regexp_replace")
	if err != nil {
		return nil, err
	}
	n := 1
	if global {
		n = -1
	}
	matches := re.FindAllStringSubmatchIndex(src, n)
	if len(matches) == 0 {
		return src, nil
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		b.WriteString(src[last:m[0]])
		appendReplacement(&b, src, repl, m)
		last = m[1]
	}
	b.WriteString(src[last:])
	return b.String(), nil
}

// appendReplacement expands \1..\9 (groups), \& (whole match) and \\ in repl.
func appendReplacement(b *strings.Builder, src, repl string, m []int) {
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '\\' || i+1 >= len(repl) {
			b.WriteByte(c)
			continue
		}
		n := repl[i+1]
		switch {
		case n >= '1' && n <= '9':
			g := int(n - '0')
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				b.WriteString(src[m[2*g]:m[2*g+1]])
			}
			i++
		case n == '&':
			b.WriteString(src[m[0]:m[1]])
			i++
		case n == '\\':
			b.WriteByte('\\')
			i++
		default:
			b.WriteByte(c)
		}
	}
}

func (e *env) regexpMatch(s, pat, flags string) (types.Datum, error) {
	re, _, err := e.compilePG(pat, flags, "regexp_match")
	if err != nil {
		return nil, err
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return nil, nil
	}
	out := &types.Array{Elem: types.TextT}
	if len(m) == 2 {
		out.Elems = []types.Datum{s[m[0]:m[1]]}
		return out, nil
	}
	for g := 1; 2*g+1 < len(m); g++ {
		if m[2*g] < 0 {
			out.Elems = append(out.Elems, nil)
		} else {
			out.Elems = append(out.Elems, s[m[2*g]:m[2*g+1]])
		}
	}
	return out, nil
}
