package sqllogictest

import (
	"regexp"
	"strings"
)

var (
	decimalTok = regexp.MustCompile(`^-?[0-9]+\.[0-9]+$`)
	timeTok    = regexp.MustCompile(`^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+$`)
	// A time with a UTC offset: RisingWave prints +00:00 where PostgreSQL
	// prints +00.
	timeTZTok = regexp.MustCompile(`^([0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)([+-][0-9]{2})(?::([0-9]{2}))?$`)
)

// maxFracDigits is where canonical decimals are cut: RisingWave's decimal
// keeps 28 significant digits and PostgreSQL's numeric division a scale of
// at least 16, so two printings of one quotient agree up to here.
const maxFracDigits = 10

// canonValue gives a decimal or a time of day one spelling: trailing zeros
// of the fraction dropped (and the point with them), decimals cut to
// maxFracDigits fraction digits.
func canonValue(tok string) string {
	switch {
	case decimalTok.MatchString(tok):
		i := strings.IndexByte(tok, '.')
		intPart, frac := tok[:i], tok[i+1:]
		if len(frac) > maxFracDigits {
			frac = frac[:maxFracDigits]
		}
		frac = strings.TrimRight(frac, "0")
		if frac == "" {
			if intPart == "-0" {
				return "0"
			}
			return intPart
		}
		return intPart + "." + frac
	case timeTok.MatchString(tok):
		t := strings.TrimRight(tok, "0")
		return strings.TrimSuffix(t, ".")
	case timeTZTok.MatchString(tok):
		m := timeTZTok.FindStringSubmatch(tok)
		t := m[1]
		if strings.Contains(t, ".") {
			t = strings.TrimSuffix(strings.TrimRight(t, "0"), ".")
		}
		off := m[2]
		if m[3] != "" && m[3] != "00" {
			off += ":" + m[3]
		}
		return t + off
	}
	return tok
}

// canonValuesLine is normalizeLine with every value canonicalized.
func canonValuesLine(s string) string {
	f := strings.Fields(s)
	for i, t := range f {
		f[i] = canonValue(t)
	}
	return strings.Join(f, " ")
}
