package funcs

import (
	"crypto/sha256"
	"crypto/sha512"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

func (e *env) registerExtras() {
	e.strict("sha224", byteaT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		sum := sha256.Sum224(bytesArg(a[0]))
		return sum[:], nil
	}, byteaT)
	e.strict("sha384", byteaT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		sum := sha512.Sum384(bytesArg(a[0]))
		return sum[:], nil
	}, byteaT)
	e.strict("sha512", byteaT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		sum := sha512.Sum512(bytesArg(a[0]))
		return sum[:], nil
	}, byteaT)
	e.strict("timeofday", textT, func(ctx *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return time.Now().In(loc(ctx)).Format("Mon Jan 02 15:04:05.000000 2006 MST"), nil
	}).Volatility = kernels.Volatile
	e.strict("pg_size_pretty", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		d, ok := a[0].(*apd.Decimal)
		if !ok {
			return nil, nil
		}
		return sizePrettyNumeric(d), nil
	}, numericT)
	// substring(string SIMILAR pattern ESCAPE escape)
	e.strict("substring", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.substringSimilar(str(a[0]), str(a[1]), str(a[2]))
	}, textT, textT, textT)
}

// sizePrettyNumeric is pg_size_pretty(numeric): the bigint algorithm on
// exact decimals (division truncates, the final unit rounds half away from
// zero); byte counts are printed as given.
func sizePrettyNumeric(d *apd.Decimal) string {
	if d.Form != apd.Finite {
		return d.String() + " bytes"
	}
	ctx := apd.BaseContext.WithPrecision(200)
	units := []struct {
		name  string
		limit int64
		round bool
		bits  uint
	}{{"bytes", 10 * 1024, false, 0}, {"kB", 20*1024 - 1, true, 10}, {"MB", 20*1024 - 1, true, 20},
		{"GB", 20*1024 - 1, true, 30}, {"TB", 20*1024 - 1, true, 40}, {"PB", 20*1024 - 1, true, 50}}
	size := new(apd.Decimal).Set(d)
	abs := new(apd.Decimal)
	for i, u := range units {
		abs.Abs(size)
		if i == len(units)-1 || abs.Cmp(apd.New(u.limit, 0)) < 0 {
			if u.round {
				one := apd.New(1, 0)
				if size.Negative {
					_, _ = ctx.Sub(size, size, one)
				} else {
					_, _ = ctx.Add(size, size, one)
				}
				_, _ = ctx.QuoInteger(size, size, apd.New(2, 0))
			}
			if size.IsZero() {
				size.Negative = false
			}
			return size.Text('f') + " " + u.name
		}
		bits := units[i+1].bits - u.bits
		if units[i+1].round {
			bits--
		}
		if u.round {
			bits++
		}
		_, _ = ctx.QuoInteger(size, size, apd.New(int64(1)<<bits, 0))
	}
	return size.Text('f')
}

// substringSimilar extracts the part of s between the escape-double-quote
// markers of a SIMILAR TO pattern that matches all of s; NULL if none.
func (e *env) substringSimilar(s, pat, esc string) (types.Datum, error) {
	if utf8.RuneCountInString(esc) > 1 {
		return nil, errf(pgerror.InvalidEscapeSequence, "invalid escape string").
			WithHint("Escape string must be empty or one character.")
	}
	var parts []string
	if esc != "" {
		parts = strings.Split(pat, esc+`"`)
	} else {
		parts = []string{pat}
	}
	if len(parts) > 3 {
		return nil, errf(codeInvalidUseOfEscape, "SQL regular expression may not contain more than two escape-double-quote separators")
	}
	conv := func(p string) (string, error) {
		r, err := similarToRegex(p, esc)
		if err != nil {
			return "", err
		}
		x := r.(string)
		return x[len("^") : len(x)-len("$")], nil
	}
	var re strings.Builder
	re.WriteString("^")
	switch len(parts) {
	case 1:
		p, err := conv(parts[0])
		if err != nil {
			return nil, err
		}
		re.WriteString("(" + p + ")")
	case 2:
		p1, err := conv(parts[0])
		if err != nil {
			return nil, err
		}
		p2, err := conv(parts[1])
		if err != nil {
			return nil, err
		}
		re.WriteString("(?U:" + p1 + ")(" + p2 + ")")
	default:
		p1, err := conv(parts[0])
		if err != nil {
			return nil, err
		}
		p2, err := conv(parts[1])
		if err != nil {
			return nil, err
		}
		p3, err := conv(parts[2])
		if err != nil {
			return nil, err
		}
		re.WriteString("(?U:" + p1 + ")(" + p2 + ")" + p3)
	}
	re.WriteString("$")
	compiled, _, err := e.compilePG(re.String(), "", "substring")
	if err != nil {
		return nil, err
	}
	m := compiled.FindStringSubmatchIndex(s)
	if m == nil || len(m) < 4 || m[2] < 0 {
		return nil, nil
	}
	return s[m[2]:m[3]], nil
}
