package funcs

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Numeric template patterns for to_char(number, text): 9 0 . D , G S MI PL
// SG PR FM L V TH. EEEE and RN are not supported and print literally.

type numItem struct {
	kind byte // '9', '0', '.', ',', 'S', 'M' (MI), 'P' (PL), 'G' (SG), 'R' (PR), 'L', 'T' (TH), 't' (th), 0 literal
	lit  string
}

type numFormat struct {
	items      []numItem
	fm         bool
	intPos     int // digit positions before the decimal point
	fracPos    int // digit positions after it
	hasPoint   bool
	multiplier int  // digits after V
	signItem   bool // S, MI, SG or PR present
	eeee       bool // scientific notation (EEEE)
	other      bool // items EEEE cannot be combined with
	fracZero   bool // a '0' among the fraction positions
}

func parseNumFormat(f string) numFormat {
	var nf numFormat
	afterPoint, afterV := false, false
	for i := 0; i < len(f); {
		rest := f[i:]
		up := strings.ToUpper(rest)
		switch {
		case strings.HasPrefix(up, "FM"):
			nf.fm = true
			i += 2
		case strings.HasPrefix(up, "EEEE"):
			nf.eeee = true
			i += 4
		case rest[0] == '9' || rest[0] == '0':
			nf.items = append(nf.items, numItem{kind: rest[0]})
			switch {
			case afterV:
				nf.multiplier++
				nf.intPos++
			case afterPoint:
				nf.fracPos++
				nf.fracZero = nf.fracZero || rest[0] == '0'
			default:
				nf.intPos++
			}
			i++
		case (rest[0] == '.' || up[0] == 'D') && !afterPoint:
			nf.items = append(nf.items, numItem{kind: '.'})
			nf.hasPoint, afterPoint = true, true
			i++
		case rest[0] == ',' || up[0] == 'G':
			nf.items = append(nf.items, numItem{kind: ','})
			i++
		case strings.HasPrefix(up, "MI"):
			nf.items = append(nf.items, numItem{kind: 'M'})
			nf.signItem = true
			i += 2
		case strings.HasPrefix(up, "PL"):
			nf.items = append(nf.items, numItem{kind: 'P'})
			i += 2
		case strings.HasPrefix(up, "SG"):
			nf.items = append(nf.items, numItem{kind: 'G'})
			nf.signItem = true
			i += 2
		case strings.HasPrefix(up, "PR"):
			nf.items = append(nf.items, numItem{kind: 'R'})
			nf.signItem = true
			i += 2
		case strings.HasPrefix(rest, "TH"):
			nf.items = append(nf.items, numItem{kind: 'T'})
			i += 2
		case strings.HasPrefix(rest, "th"):
			nf.items = append(nf.items, numItem{kind: 't'})
			i += 2
		case up[0] == 'S':
			nf.items = append(nf.items, numItem{kind: 'S'})
			nf.signItem = true
			i++
		case up[0] == 'L':
			nf.items = append(nf.items, numItem{kind: 'L'})
			i++
		case up[0] == 'V':
			afterV = true
			i++
		case rest[0] == '"':
			j := i + 1
			for j < len(f) && f[j] != '"' {
				j++
			}
			nf.items = append(nf.items, numItem{lit: f[i+1 : min(j, len(f))]})
			i = j + 1
		default:
			_, w := utf8.DecodeRuneInString(rest)
			nf.items = append(nf.items, numItem{lit: rest[:w]})
			i += w
		}
	}
	nf.other = nf.fm
	for _, it := range nf.items {
		if it.kind != '9' && it.kind != '0' && it.kind != '.' {
			nf.other = true
		}
	}
	return nf
}

// errEEEE is the error for EEEE combined with other patterns.
func errEEEE() error {
	return errf(pgerror.SyntaxError, "\"EEEE\" is incompatible with other formats").
		WithDetail("\"EEEE\" may only be used together with digit and decimal point patterns.")
}

// sciDecimal renders v as PostgreSQL's to_char(..., 'EEEE') does: a
// mantissa with frac digits (rounded half away from zero) and a signed
// exponent of at least two digits.
func sciDecimal(v *apd.Decimal, frac int, fm bool) string {
	if v.Form == apd.NaN || v.Form == apd.NaNSignaling {
		return " NaN"
	}
	neg := v.Negative && !v.IsZero()
	m := new(apd.Decimal).Set(v)
	m.Negative = false
	exp := int64(0)
	ctx := apd.BaseContext.WithPrecision(1000)
	ctx.Rounding = apd.RoundHalfUp
	if !m.IsZero() {
		exp = m.NumDigits() + int64(m.Exponent) - 1
		m.Exponent -= int32(exp)
		// Rounding may carry into a two-digit mantissa (9.996 → 10.00e+00);
		// PostgreSQL prints it as is.
		_, _ = ctx.Quantize(m, m, -int32(frac))
	} else {
		_, _ = ctx.Quantize(m, apd.New(0, 0), -int32(frac))
	}
	return sciString(neg, m.Text('f'), exp, fm)
}

func sciFloat(v float64, frac int, fm bool) string {
	if math.IsNaN(v) {
		return " NaN"
	}
	s := strconv.FormatFloat(math.Abs(v), 'e', frac, 64)
	mant, e, _ := strings.Cut(s, "e")
	exp, _ := strconv.ParseInt(e, 10, 64)
	return sciString(v < 0, mant, exp, fm)
}

func sciString(neg bool, mant string, exp int64, fm bool) string {
	var b strings.Builder
	switch {
	case neg:
		b.WriteByte('-')
	case !fm:
		b.WriteByte(' ')
	}
	b.WriteString(mant)
	b.WriteByte('e')
	if exp < 0 {
		b.WriteByte('-')
		exp = -exp
	} else {
		b.WriteByte('+')
	}
	if exp < 10 {
		b.WriteByte('0')
	}
	b.WriteString(strconv.FormatInt(exp, 10))
	return b.String()
}

// numToChar formats a decimal (numeric, integers) with template nf.
func numToChar(v *apd.Decimal, nf numFormat) (types.Datum, error) {
	if nf.eeee {
		if nf.other {
			return nil, errEEEE()
		}
		return sciDecimal(v, nf.fracPos, nf.fm), nil
	}
	return formatNumber(digitsOfDecimal(v, nf), nf), nil
}

// numDigits is a number split for formatting: sign, integer digits without
// leading zeros ("" for zero) and exactly fracPos fraction digits.
type numDigits struct {
	neg      bool
	intPart  string
	fracPart string
	nan      bool
}

func splitDecimalText(s string, frac int) numDigits {
	var d numDigits
	if strings.HasPrefix(s, "-") {
		d.neg = true
		s = s[1:]
	}
	ip, fp, _ := strings.Cut(s, ".")
	ip = strings.TrimLeft(ip, "0")
	for len(fp) < frac {
		fp += "0"
	}
	d.intPart, d.fracPart = ip, fp[:frac]
	return d
}

// isZero reports whether the rounded value is zero.
func (d numDigits) isZero() bool { return d.intPart == "" && strings.Trim(d.fracPart, "0") == "" }

func digitsOfDecimal(v *apd.Decimal, nf numFormat) numDigits {
	if v.Form == apd.NaN || v.Form == apd.NaNSignaling {
		return numDigits{nan: true}
	}
	x := new(apd.Decimal).Set(v)
	if nf.multiplier > 0 {
		x.Exponent += int32(nf.multiplier)
	}
	ctx := apd.BaseContext.WithPrecision(1000)
	ctx.Rounding = apd.RoundHalfUp
	if x.Form == apd.Finite {
		_, _ = ctx.Quantize(x, x, -int32(nf.fracPos))
	}
	d := splitDecimalText(x.Text('f'), nf.fracPos)
	if d.isZero() { // numeric zero has no sign; float's "-0.0" keeps its '-'
		d.neg = false
	}
	return d
}

func digitsOfFloat(v float64, nf numFormat) numDigits {
	if math.IsNaN(v) {
		return numDigits{nan: true}
	}
	v *= math.Pow10(nf.multiplier)
	if math.IsInf(v, 0) {
		return numDigits{intPart: strings.Repeat("9", nf.intPos+1), neg: v < 0}
	}
	return splitDecimalText(strconv.FormatFloat(v, 'f', nf.fracPos, 64), nf.fracPos)
}

// formatNumber renders d with nf the way PostgreSQL's to_char does.
func formatNumber(d numDigits, nf numFormat) string {
	if d.nan {
		if nf.fm {
			return "NaN"
		}
		return " NaN"
	}
	overflow := max(len(d.intPart), 1) > nf.intPos
	var b strings.Builder
	// The default sign slot (no S/MI/SG/PR): '-' floats before the number,
	// a blank is put first for positive values.
	pending := ""
	switch {
	case !nf.signItem && d.neg:
		pending = "-"
	case !nf.signItem && !nf.fm:
		pending = " "
	}
	leadingS := false
	for _, it := range nf.items {
		if it.kind == 'S' {
			leadingS = true
			break
		}
		if it.kind == '9' || it.kind == '0' || it.kind == '.' {
			break
		}
	}
	if leadingS {
		if d.neg {
			pending = "-"
		} else {
			pending = "+"
		}
	}
	hasPR := false
	for _, it := range nf.items {
		if it.kind == 'R' {
			hasPR = true
		}
	}
	if hasPR {
		if d.neg {
			pending = "<"
		} else if !nf.fm {
			pending = " "
		}
	}
	firstZero := nf.intPos
	k := 0
	for _, it := range nf.items {
		if it.kind == '9' || it.kind == '0' {
			if k >= nf.intPos {
				break
			}
			if it.kind == '0' && k < firstZero {
				firstZero = k
			}
			k++
		}
	}
	started := false
	emitPending := func() {
		b.WriteString(pending)
		pending = ""
	}
	pos, fracIdx := 0, 0
	var fracOut []byte
	var fracFromNine []bool
	flushFrac := func() {
		if nf.fm {
			for len(fracOut) > 0 && fracOut[len(fracOut)-1] == '0' && fracFromNine[len(fracOut)-1] {
				fracOut = fracOut[:len(fracOut)-1]
				fracFromNine = fracFromNine[:len(fracFromNine)-1]
			}
		}
		b.Write(fracOut)
		fracOut, fracFromNine = nil, nil
	}
	lead := nf.intPos - len(d.intPart)
	for _, it := range nf.items {
		switch it.kind {
		case '9', '0':
			if pos < nf.intPos {
				idx := pos - lead
				pos++
				switch {
				case overflow:
					emitPending()
					b.WriteByte('#')
				case idx >= 0:
					emitPending()
					b.WriteByte(d.intPart[idx])
					started = true
				case pos-1 >= firstZero || (pos == nf.intPos && (!nf.hasPoint || nf.fm && d.isZero() && !nf.fracZero)):
					emitPending()
					b.WriteByte('0')
					started = true
				case !nf.fm:
					b.WriteByte(' ')
				}
				continue
			}
			if overflow {
				fracOut = append(fracOut, '#')
			} else {
				fracOut = append(fracOut, d.fracPart[fracIdx])
			}
			fracFromNine = append(fracFromNine, it.kind == '9')
			fracIdx++
		case '.':
			emitPending()
			b.WriteByte('.')
			started = true
		case ',':
			switch {
			case started || overflow:
				b.WriteByte(',')
			case !nf.fm:
				b.WriteByte(' ')
			}
		case 'S':
			if !leadingS {
				flushFrac()
				if d.neg {
					b.WriteByte('-')
				} else {
					b.WriteByte('+')
				}
			}
		case 'M':
			flushFrac()
			if d.neg {
				b.WriteByte('-')
			} else if !nf.fm {
				b.WriteByte(' ')
			}
		case 'P':
			flushFrac()
			if !d.neg {
				b.WriteByte('+')
			} else if !nf.fm {
				b.WriteByte(' ')
			}
		case 'G':
			flushFrac()
			if d.neg {
				b.WriteByte('-')
			} else {
				b.WriteByte('+')
			}
		case 'R':
			flushFrac()
			if d.neg {
				b.WriteByte('>')
			} else if !nf.fm {
				b.WriteByte(' ')
			}
		case 'L':
			b.WriteByte(' ')
		case 'T', 't':
			flushFrac()
			if !overflow && !d.neg {
				n, _ := strconv.ParseInt(d.intPart, 10, 64)
				b.WriteString(ordinal(n, it.kind == 'T'))
			}
		default:
			flushFrac()
			b.WriteString(it.lit)
		}
	}
	flushFrac()
	emitPending()
	return b.String()
}

func (e *env) registerNumToChar() {
	e.strict("to_char", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return numToChar(apd.New(i64(a[0]), 0), e.numFormat(str(a[1])))
	}, int8T, textT).Volatility = kernels.Stable
	e.strict("to_char", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return numToChar(apd.New(i64(a[0]), 0), e.numFormat(str(a[1])))
	}, int4T, textT).Volatility = kernels.Stable
	e.strict("to_char", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		nf := e.numFormat(str(a[1]))
		if nf.eeee {
			if nf.other {
				return nil, errEEEE()
			}
			return sciFloat(f64(a[0]), nf.fracPos, nf.fm), nil
		}
		return formatNumber(digitsOfFloat(f64(a[0]), nf), nf), nil
	}, float8T, textT).Volatility = kernels.Stable
	e.strict("to_char", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		v, ok := a[0].(*apd.Decimal)
		if !ok {
			v = apd.New(0, 0)
		}
		return numToChar(v, e.numFormat(str(a[1])))
	}, numericT, textT).Volatility = kernels.Stable
}
