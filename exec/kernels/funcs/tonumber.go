package funcs

import (
	"strings"

	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

func (e *env) registerToNumber() {
	e.strict("to_number", numericT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		f := str(a[1])
		if strings.Count(strings.ToUpper(strings.ReplaceAll(f, "D", ".")), ".") > 1 {
			return nil, errf(pgerror.SyntaxError, "multiple decimal points")
		}
		if strings.Contains(strings.ToUpper(f), "EEEE") {
			return nil, errf(pgerror.FeatureNotSupported, "\"EEEE\" not supported for input")
		}
		return toNumber(str(a[0]), e.numFormat(f))
	}, textT, textT).Volatility = kernels.Stable
}

// toNumber reads s positionally against a numeric template: each digit
// position consumes one input character (digits are kept, anything else
// is skipped), signs are taken where the template or the input puts them,
// and fraction digits beyond the template are dropped.
func toNumber(s string, nf numFormat) (types.Datum, error) {
	var intDigits, fracDigits []byte
	neg, afterPoint, started := false, false, false
	pointAhead := nf.hasPoint
	i := 0
	skipBlanks := func() {
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	// Before the first digit: blanks, an optional sign, blanks.
	takeSign := func() {
		skipBlanks()
		if i < len(s) && (s[i] == '-' || s[i] == '+' || s[i] == '<') {
			neg = s[i] != '+'
			i++
		}
		skipBlanks()
	}
	for _, it := range nf.items {
		switch it.kind {
		case '9', '0':
			if !started {
				takeSign()
			}
			if i >= len(s) {
				continue
			}
			c := s[i]
			if c == '.' && pointAhead && !afterPoint || c == '-' || c == '+' {
				continue // left for the decimal point or a sign position
			}
			i++
			if c >= '0' && c <= '9' {
				started = true
				if afterPoint {
					fracDigits = append(fracDigits, c)
				} else {
					intDigits = append(intDigits, c)
				}
			}
		case '.':
			pointAhead, afterPoint = false, true
			if !started {
				takeSign()
			}
			if i < len(s) && s[i] == '.' {
				i++
				started = true
			}
		case ',':
			if i < len(s) && s[i] == ',' {
				i++
			}
		case 'S', 'M', 'G', 'P':
			if i < len(s) && (s[i] == '-' || s[i] == '+') {
				neg = s[i] == '-'
				i++
			}
		case 'R':
			if i < len(s) && s[i] == '>' {
				i++
			}
		case 'L':
			if i < len(s) && !(s[i] >= '0' && s[i] <= '9') && s[i] != '-' && s[i] != '.' {
				i++
			}
		case 'T', 't':
			if i+1 < len(s) && isLetter(s[i]) && isLetter(s[i+1]) {
				i += 2
			}
		default:
			i = min(i+len(it.lit), len(s))
		}
	}
	if len(intDigits) == 0 && len(fracDigits) == 0 {
		return nil, errf(pgerror.InvalidTextRepresentation, "invalid input syntax for type numeric: \" \"")
	}
	text := string(intDigits)
	if text == "" {
		text = "0"
	}
	if len(fracDigits) > 0 {
		text += "." + string(fracDigits)
	}
	d, _, err := apd.NewFromString(text)
	if err != nil {
		return nil, errf(pgerror.InvalidTextRepresentation, "invalid input syntax for type numeric: \"%s\"", text)
	}
	// Strip leading zeros the way numeric input does (the exponent keeps the scale).
	d.Negative = neg && !d.IsZero()
	return d, nil
}
