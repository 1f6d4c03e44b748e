package funcs

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

func (e *env) registerFormat() {
	anyT := types.AnyT
	// PostgreSQL declares these with "any": each argument keeps its own type.
	defer func() {
		for _, n := range []string{"concat", "concat_ws", "format"} {
			for _, f := range e.r.Scalars(n) {
				f.AnyIndependent = true
			}
		}
	}()
	// Output of non-text arguments depends on session settings (DateStyle,
	// TimeZone), so these are Stable as in PostgreSQL.
	stable := func(f *kernels.ScalarFunc) *kernels.ScalarFunc { f.Volatility = kernels.Stable; return f }
	stable(e.lax("concat", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		var b strings.Builder
		for _, d := range a {
			if d != nil {
				b.WriteString(datumText(ctx, d))
			}
		}
		return b.String(), nil
	}, anyT)).Variadic = true
	stable(e.lax("concat_ws", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == nil {
			return nil, nil
		}
		sep := str(a[0])
		var b strings.Builder
		first := true
		for _, d := range a[1:] {
			if d == nil {
				continue
			}
			if !first {
				b.WriteString(sep)
			}
			first = false
			b.WriteString(datumText(ctx, d))
		}
		return b.String(), nil
	}, textT, anyT)).Variadic = true
	stable(e.lax("format", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == nil {
			return nil, nil
		}
		return formatSQL(ctx, str(a[0]), a[1:])
	}, textT))
	stable(e.lax("format", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == nil {
			return nil, nil
		}
		return formatSQL(ctx, str(a[0]), a[1:])
	}, textT, anyT)).Variadic = true
	e.strict("quote_ident", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return quoteIdent(str(a[0])), nil
	}, textT)
	e.strict("quote_literal", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return quoteLiteral(str(a[0])), nil
	}, textT)
	stable(e.strict("quote_literal", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return quoteLiteral(datumText(ctx, a[0])), nil
	}, anyT))
	e.lax("quote_nullable", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == nil {
			return "NULL", nil
		}
		return quoteLiteral(datumText(ctx, a[0])), nil
	}, textT)
	e.lax("quote_nullable", textT, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == nil {
			return "NULL", nil
		}
		return quoteLiteral(datumText(ctx, a[0])), nil
	}, anyT).Volatility = kernels.Stable
}

// keywords lists PostgreSQL 15's keywords that are not unreserved (reserved,
// column-name and type/function-name keywords): identifiers spelled like one
// of these must be quoted.
var keywords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`all analyse analyze and any array as asc asymmetric authorization
between bigint binary bit boolean both case cast char character check coalesce collate collation
column concurrently constraint create cross current_catalog current_date current_role current_schema
current_time current_timestamp current_user dec decimal default deferrable desc distinct do else end
except exists extract false fetch float for foreign freeze from full grant greatest group grouping
having ilike in initially inner inout int integer intersect interval into is isnull join lateral
leading least left like limit localtime localtimestamp national natural nchar none normalize not
notnull null nullif numeric offset on only or order out outer overlaps overlay placing position
precision primary real references returning right row select session_user setof similar smallint
some substring symmetric table tablesample then time timestamp to trailing treat trim true union
unique user using values varchar variadic verbose when where window with xmlattributes xmlconcat
xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable`) {
		m[w] = true
	}
	return m
}()

// quoteIdent quotes s as an SQL identifier when it is not a plain lower-case
// identifier or is a keyword.
func quoteIdent(s string) string {
	safe := s != "" && (s[0] >= 'a' && s[0] <= 'z' || s[0] == '_')
	for i := 0; safe && i < len(s); i++ {
		c := s[i]
		safe = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	if safe && !keywords[s] {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLiteral quotes s as an SQL string literal, using the E” form when s
// holds backslashes.
func quoteLiteral(s string) string {
	var b strings.Builder
	if strings.Contains(s, `\`) {
		b.WriteByte('E')
	}
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' || c == '\\' {
			b.WriteByte(c)
		}
		b.WriteByte(c)
	}
	b.WriteByte('\'')
	return b.String()
}

func formatErr(msg string) error {
	return errf(pgerror.InvalidParameterValue, "%s", msg).WithHint(`For a single "%%" use "%%%%".`)
}

// formatSQL implements format(fmt, args...): %[n$][-][width|*|*n$]{s,I,L} and %%.
func formatSQL(ctx *kernels.EvalContext, f string, args []types.Datum) (types.Datum, error) {
	var b strings.Builder
	next := 0 // index of the next argument to consume
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(f) {
			return nil, formatErr("unterminated format() type specifier")
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		// Optional argument position n$.
		argPos := -1
		if n, j, ok := readInt(f, i); ok && j < len(f) && f[j] == '$' {
			if n == 0 {
				return nil, errf(pgerror.InvalidParameterValue, "format specifies argument 0, but arguments are numbered from 1")
			}
			argPos = n - 1
			i = j + 1
		}
		if i >= len(f) {
			return nil, formatErr("unterminated format() type specifier")
		}
		leftAlign := false
		for i < len(f) && f[i] == '-' {
			leftAlign = true
			i++
		}
		width := 0
		if i < len(f) && f[i] == '*' {
			i++
			widthArg := next
			if n, j, ok := readInt(f, i); ok && j < len(f) && f[j] == '$' {
				if n == 0 {
					return nil, errf(pgerror.InvalidParameterValue, "format specifies argument 0, but arguments are numbered from 1")
				}
				widthArg = n - 1
				i = j + 1
			}
			if widthArg >= len(args) {
				return nil, errf(pgerror.InvalidParameterValue, "too few arguments for format()")
			}
			next = widthArg + 1
			if d := args[widthArg]; d != nil {
				w := i64(d)
				if w < 0 {
					leftAlign = true
					w = -w
				}
				if w > maxAlloc {
					return nil, errf(pgerror.NumericValueOutOfRange, "number is out of range")
				}
				width = int(w)
			}
		} else if n, j, ok := readInt(f, i); ok {
			width = n
			i = j
		}
		if i >= len(f) {
			return nil, formatErr("unterminated format() type specifier")
		}
		conv := f[i]
		if conv != 's' && conv != 'I' && conv != 'L' {
			return nil, formatErr("unrecognized format() type specifier \"" + firstChar(f[i:]) + "\"")
		}
		if argPos < 0 {
			argPos = next
		}
		if argPos >= len(args) {
			return nil, errf(pgerror.InvalidParameterValue, "too few arguments for format()")
		}
		next = argPos + 1
		d := args[argPos]
		var s string
		switch conv {
		case 's':
			if d != nil {
				s = datumText(ctx, d)
			}
		case 'I':
			if d == nil {
				return nil, errf(pgerror.NullValueNotAllowed, "null values cannot be formatted as an SQL identifier")
			}
			s = quoteIdent(datumText(ctx, d))
		case 'L':
			if d == nil {
				s = "NULL"
			} else {
				s = quoteLiteral(datumText(ctx, d))
			}
		}
		if n := utf8.RuneCountInString(s); n < width {
			padding := strings.Repeat(" ", width-n)
			if leftAlign {
				s += padding
			} else {
				s = padding + s
			}
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// readInt reads a decimal number at f[i:]; j is the index after it.
func readInt(f string, i int) (n, j int, ok bool) {
	j = i
	for j < len(f) && f[j] >= '0' && f[j] <= '9' {
		j++
	}
	if j == i {
		return 0, i, false
	}
	v, err := strconv.Atoi(f[i:j])
	if err != nil || v > maxAlloc {
		return maxAlloc, j, true
	}
	return v, j, true
}
