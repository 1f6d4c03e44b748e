package funcs

import (
	"strings"
	"unicode/utf8"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Functions behind SQL-standard syntax: OVERLAY(… PLACING … FROM … [FOR …])
// and SIMILAR TO (x SIMILAR TO p is x ~ similar_to_escape(p)).

func (e *env) registerSQLSyntax() {
	e.strict("overlay", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		r := str(a[1])
		return overlay(str(a[0]), r, i64(a[2]), int64(utf8.RuneCountInString(r)))
	}, textT, textT, int4T)
	e.strict("overlay", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return overlay(str(a[0]), str(a[1]), i64(a[2]), i64(a[3]))
	}, textT, textT, int4T, int4T)
	e.strict("similar_to_escape", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return similarToRegex(str(a[0]), `\`)
	}, textT)
	e.strict("similar_to_escape", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return similarToRegex(str(a[0]), str(a[1]))
	}, textT, textT)
}

// overlay replaces count characters of s starting at from with r.
func overlay(s, r string, from, count int64) (types.Datum, error) {
	if from < 1 {
		return nil, errf(codeSubstringError, "negative substring length not allowed")
	}
	end := from + count
	if count > 0 && end < from { // overflow
		return nil, errf(pgerror.NumericValueOutOfRange, "integer out of range")
	}
	head := substrChars(s, 1, from)
	tail := substrChars(s, max(end, 1), -1)
	return head + r + tail, nil
}

// similarToRegex translates a SIMILAR TO pattern into an anchored regular
// expression: % and _ become .* and ., parentheses become non-capturing
// groups, characters special only to regular expressions are escaped, and
// esc (empty: none) quotes the next character.
func similarToRegex(pat, esc string) (types.Datum, error) {
	if utf8.RuneCountInString(esc) > 1 {
		return nil, errf(pgerror.InvalidEscapeSequence, "invalid escape string").
			WithHint("Escape string must be empty or one character.")
	}
	escRune := rune(-1)
	if esc != "" {
		escRune, _ = utf8.DecodeRuneInString(esc)
	}
	var b strings.Builder
	b.WriteString("^(?:")
	afterEscape, inBracket := false, false
	for _, c := range pat {
		switch {
		case afterEscape:
			b.WriteByte('\\')
			b.WriteRune(c)
			afterEscape = false
		case c == escRune:
			afterEscape = true
		case inBracket:
			if c == '\\' {
				b.WriteByte('\\')
			}
			if c == ']' {
				inBracket = false
			}
			b.WriteRune(c)
		case c == '[':
			inBracket = true
			b.WriteRune(c)
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteByte('.')
		case c == '(':
			b.WriteString("(?:")
		case c == '\\' || c == '.' || c == '^' || c == '$':
			b.WriteByte('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	if afterEscape {
		return nil, errf(pgerror.InvalidEscapeSequence, "invalid escape string")
	}
	b.WriteString(")$")
	return b.String(), nil
}
