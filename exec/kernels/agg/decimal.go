package agg

import (
	"math/big"
	"strconv"
	"strings"
)

// Exact decimal arithmetic for numeric results. A finite value is a scaled
// integer coef × 10^-scale with scale >= 0 playing the role of PostgreSQL's
// dscale (display scale). math/big gives exact, allocation-light integer
// arithmetic; the rounding rules below are PostgreSQL's (half away from zero,
// select_div_scale for quotients).

type numKind uint8

const (
	numFinite numKind = iota
	numNaN
	numPosInf
	numNegInf
)

// parseNumericText parses decimal text (as stored in numeric Arrow columns)
// into z and its scale. ok is false for malformed text.
func parseNumericText(s string, z *big.Int, digits []byte) (scale int32, kind numKind, _ []byte, ok bool) {
	p := s
	neg := false
	if len(p) > 0 && (p[0] == '-' || p[0] == '+') {
		neg = p[0] == '-'
		p = p[1:]
	}
	switch strings.ToLower(p) {
	case "nan":
		return 0, numNaN, digits, true
	case "infinity", "inf":
		if neg {
			return 0, numNegInf, digits, true
		}
		return 0, numPosInf, digits, true
	}
	digits = digits[:0]
	frac := -1
	k := 0
	for ; k < len(p); k++ {
		c := p[k]
		if c >= '0' && c <= '9' {
			digits = append(digits, c)
			if frac >= 0 {
				frac++
			}
		} else if c == '.' && frac < 0 {
			frac = 0
		} else {
			break
		}
	}
	if len(digits) == 0 {
		return 0, numFinite, digits, false
	}
	exp := 0
	if k < len(p) {
		if p[k] != 'e' && p[k] != 'E' {
			return 0, numFinite, digits, false
		}
		e, err := strconv.Atoi(p[k+1:])
		if err != nil || e > 1_000_000 || e < -1_000_000 {
			return 0, numFinite, digits, false
		}
		exp = e
	}
	if frac < 0 {
		frac = 0
	}
	sc := frac - exp
	if len(digits) <= 18 {
		var v int64
		for _, c := range digits {
			v = v*10 + int64(c-'0')
		}
		z.SetInt64(v)
	} else if _, ok := z.SetString(string(digits), 10); !ok {
		return 0, numFinite, digits, false
	}
	if sc < 0 {
		z.Mul(z, pow10(-sc))
		sc = 0
	}
	if neg {
		z.Neg(z)
	}
	return int32(sc), numFinite, digits, true
}

var smallPow10 = func() [40]*big.Int {
	var out [40]*big.Int
	p := big.NewInt(1)
	for i := range out {
		out[i] = new(big.Int).Set(p)
		p.Mul(p, big.NewInt(10))
	}
	return out
}()

// pow10 returns 10^n; the result must not be modified.
func pow10(n int) *big.Int {
	if n < len(smallPow10) {
		return smallPow10[n]
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// rescale multiplies z (at scale from) to scale to (to >= from).
func rescale(z *big.Int, from, to int32) {
	if to > from {
		z.Mul(z, pow10(int(to-from)))
	}
}

// formatDecimal renders coef × 10^-scale with exactly scale fraction digits.
func formatDecimal(coef *big.Int, scale int32) string {
	s := coef.String()
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if scale > 0 {
		if len(s) <= int(scale) {
			s = strings.Repeat("0", int(scale)-len(s)+1) + s
		}
		s = s[:len(s)-int(scale)] + "." + s[len(s)-int(scale):]
	}
	if neg && strings.Trim(s, "0.") != "" {
		return "-" + s
	}
	return s
}

// nbaseWeight returns PostgreSQL's (weight, first digit) of |coef × 10^-scale|
// in base-10000 digits grouped from the decimal point; (0, 0) for zero.
func nbaseWeight(coef *big.Int, scale int32) (int, int) {
	if coef.Sign() == 0 {
		return 0, 0
	}
	d := new(big.Int).Abs(coef).String()
	p := len(d) - 1 - int(scale) // decimal position of the leading digit
	w := p / 4
	if p < 0 && p%4 != 0 {
		w--
	}
	n := p - 4*w + 1 // digits of the first base-10000 digit (1..4)
	fd := 0
	for i := 0; i < n; i++ {
		fd *= 10
		if i < len(d) {
			fd += int(d[i] - '0')
		}
	}
	return w, fd
}

// divScale is PostgreSQL's select_div_scale: the result scale of a numeric
// division, at least 16 significant digits and no less than either input's
// display scale.
func divScale(n *big.Int, ns int32, d *big.Int, ds int32) int32 {
	w1, f1 := nbaseWeight(n, ns)
	w2, f2 := nbaseWeight(d, ds)
	qw := w1 - w2
	if f1 <= f2 {
		qw--
	}
	rs := int32(16 - qw*4)
	rs = max(rs, ns, ds, 0)
	return min(rs, 1000)
}

// divRound returns n/d (at scales ns, ds) rounded half away from zero to
// rscale fraction digits, as a coefficient at rscale. d must not be zero.
func divRound(n *big.Int, ns int32, d *big.Int, ds int32, rscale int32) *big.Int {
	// n/d × 10^rscale = n × 10^(ds - ns + rscale) / d
	num := new(big.Int).Set(n)
	den := new(big.Int).Set(d)
	if e := int(ds) - int(ns) + int(rscale); e >= 0 {
		num.Mul(num, pow10(e))
	} else {
		den.Mul(den, pow10(-e))
	}
	return quoRoundHalfAway(num, den)
}

func quoRoundHalfAway(num, den *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() != 0 {
		r2 := new(big.Int).Abs(r)
		r2.Lsh(r2, 1)
		if r2.Cmp(new(big.Int).Abs(den)) >= 0 {
			if (num.Sign() < 0) != (den.Sign() < 0) {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	return q
}

// numericDiv formats n/d with PostgreSQL's division scale and rounding.
func numericDiv(n *big.Int, ns int32, d *big.Int, ds int32) (*big.Int, int32) {
	rs := divScale(n, ns, d, ds)
	return divRound(n, ns, d, ds, rs), rs
}

// sqrtRound returns sqrt(v) (v = coef × 10^-scale >= 0) rounded half up to
// rscale fraction digits, as a coefficient at rscale.
func sqrtRound(coef *big.Int, scale, rscale int32) *big.Int {
	// sqrt(coef × 10^-scale) × 10^rscale = sqrt(coef × 10^(2·rscale − scale))
	x := new(big.Int).Set(coef)
	e := 2*int(rscale) - int(scale)
	extra := 0
	if e < 0 { // keep the radicand an integer: compute two more digits and round
		extra = (-e + 1) / 2
		e += 2 * extra
	}
	x.Mul(x, pow10(e))
	s := new(big.Int).Sqrt(x)
	if extra > 0 {
		return quoRoundHalfAway(s, pow10(extra))
	}
	// round half up: s+1 when x - s² > s
	rem := new(big.Int).Mul(s, s)
	rem.Sub(x, rem)
	if rem.Cmp(s) > 0 {
		s.Add(s, big.NewInt(1))
	}
	return s
}
