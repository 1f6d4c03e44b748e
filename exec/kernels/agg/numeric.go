package agg

import (
	"math"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// decKind selects what decAcc reports.
type decKind uint8

const (
	decSum decKind = iota
	decAvg
	decVarSamp
	decVarPop
	decStddevSamp
	decStddevPop
)

// decState is one group's exact state: PostgreSQL's NumericAggState
// (finite count, NaN/±Infinity counts, sum of X and of X² at the largest
// input display scale).
type decState struct {
	n, nan, pinf, ninf int64
	scale              int32 // scale of sum's coefficient; sum2 is at 2*scale
	sum, sum2          big.Int
	// small is a part of sum (same scale) kept in an int64 so that the
	// common case — short decimals — adds without math/big.
	small int64
	// scaleCnt[s] counts the finite inputs of display scale s: the result's
	// display scale is the largest s still present, so retraction restores
	// exactly what the remaining rows would give.
	scaleCnt []int64
}

// displayScale returns the largest input scale still present.
func (st *decState) displayScale() int32 {
	for s := len(st.scaleCnt) - 1; s > 0; s-- {
		if st.scaleCnt[s] != 0 {
			return int32(s)
		}
	}
	return 0
}

// flush moves small into sum.
func (st *decState) flush(scratch *big.Int) {
	if st.small != 0 {
		st.sum.Add(&st.sum, scratch.SetInt64(st.small))
		st.small = 0
	}
}

// sums returns sum and sum2 at the display scale (exact: every input has a
// scale no larger than it).
func (st *decState) sums() (*big.Int, *big.Int, int32) {
	st.flush(new(big.Int))
	d := st.displayScale()
	if d == st.scale {
		return &st.sum, &st.sum2, d
	}
	s := new(big.Int).Quo(&st.sum, pow10(int(st.scale-d)))
	s2 := new(big.Int).Quo(&st.sum2, pow10(int(2*(st.scale-d))))
	return s, s2, d
}

// decAcc is sum/avg of numeric, and variance/stddev of integers and numeric,
// all with numeric results computed exactly. Retractable.
type decAcc struct {
	kind   decKind
	sq     bool // keep sum2
	groups []decState
	z, t   big.Int
	digits []byte
}

func (a *decAcc) Grow(n int) { a.groups = growTo(a.groups, n) }

func (a *decAcc) MemoryBytes() int64 {
	m := int64(cap(a.groups)) * 96
	for i := range a.groups {
		m += int64(len(a.groups[i].sum.Bits())+len(a.groups[i].sum2.Bits())) * 8
	}
	return m
}

func (a *decAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, false)
}

func (a *decAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, true)
}

func (a *decAcc) apply(groups []uint32, args []arrow.Array, retract bool) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	vm, off := vec.Validity(arg)
	switch x := arg.(type) {
	case *array.Null:
		return nil
	case *array.String:
		for i, g := range groups {
			if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, off+i)) {
				continue
			}
			if !a.sq {
				if c, sc, ok := parseSmallDecimal(x.Value(i)); ok && a.addSmall(&a.groups[g], c, sc, retract) {
					continue
				}
			}
			var sc int32
			var kind numKind
			var ok bool
			sc, kind, a.digits, ok = parseNumericText(x.Value(i), &a.z, a.digits)
			if !ok {
				return pgerror.New(pgerror.InvalidTextRepresentation, "invalid input syntax for type numeric: %q", x.Value(i))
			}
			a.add(&a.groups[g], kind, sc, retract)
		}
	case *array.Int16:
		addInts(a, groups, vec.Values[int16](x), vm, off, retract)
	case *array.Int32:
		addInts(a, groups, vec.Values[int32](x), vm, off, retract)
	case *array.Int64:
		addInts(a, groups, vec.Values[int64](x), vm, off, retract)
	default:
		return pgerror.Internal("numeric aggregate over %T", arg)
	}
	return nil
}

func addInts[T anyInt](a *decAcc, groups []uint32, vals []T, vm []byte, off int, retract bool) {
	for i, g := range groups {
		if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, off+i)) {
			continue
		}
		a.z.SetInt64(int64(vals[i]))
		a.add(&a.groups[g], numFinite, 0, retract)
	}
}

// parseSmallDecimal parses plain decimal text ([-]digits[.digits]) of at
// most 18 digits; ok is false for anything else (the general parser then
// handles it).
func parseSmallDecimal(s string) (coef int64, scale int32, ok bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg = true
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 19 {
		return 0, 0, false
	}
	dot := -1
	nd := 0
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case c >= '0' && c <= '9':
			coef = coef*10 + int64(c-'0')
			nd++
		case c == '.' && dot < 0:
			dot = k
		default:
			return 0, 0, false
		}
	}
	if nd == 0 || nd > 18 {
		return 0, 0, false
	}
	if dot >= 0 {
		scale = int32(len(s) - dot - 1)
	}
	if neg {
		coef = -coef
	}
	return coef, scale, true
}

// addSmall adds (or retracts) a short finite decimal through st.small when
// that is exact; false means the caller must take the general path (state
// unchanged).
func (a *decAcc) addSmall(st *decState, c int64, sc int32, retract bool) bool {
	if sc > st.scale {
		if st.scale != 0 || st.small != 0 || st.sum.Sign() != 0 {
			return false // rescaling the state: rare, general path
		}
		st.scale = sc
	}
	if k := st.scale - sc; k > 0 {
		if k > 18 {
			return false
		}
		p := pow10i64[k]
		if c > math.MaxInt64/p || c < math.MinInt64/p {
			return false
		}
		c *= p
	}
	d := int64(1)
	if retract {
		c, d = -c, -1
	}
	if s := st.small + c; (s^st.small)&(s^c) < 0 {
		st.flush(&a.t)
		st.small = c
	} else {
		st.small = s
	}
	st.n += d
	st.scaleCnt = growTo(st.scaleCnt, int(sc)+1)
	st.scaleCnt[sc] += d
	return true
}

var pow10i64 = [19]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// add folds a.z (at scale sc) or a special value into st.
func (a *decAcc) add(st *decState, kind numKind, sc int32, retract bool) {
	d := int64(1)
	if retract {
		d = -1
	}
	switch kind {
	case numNaN:
		st.nan += d
		return
	case numPosInf:
		st.pinf += d
		return
	case numNegInf:
		st.ninf += d
		return
	}
	st.n += d
	st.scaleCnt = growTo(st.scaleCnt, int(sc)+1)
	st.scaleCnt[sc] += d
	st.flush(&a.t)
	if sc > st.scale {
		rescale(&st.sum, st.scale, sc)
		if a.sq {
			rescale(&st.sum2, 2*st.scale, 2*sc)
		}
		st.scale = sc
	}
	if a.sq {
		a.t.Mul(&a.z, &a.z)
		rescale(&a.t, 2*sc, 2*st.scale)
		if retract {
			st.sum2.Sub(&st.sum2, &a.t)
		} else {
			st.sum2.Add(&st.sum2, &a.t)
		}
	}
	rescale(&a.z, sc, st.scale)
	if retract {
		st.sum.Sub(&st.sum, &a.z)
	} else {
		st.sum.Add(&st.sum, &a.z)
	}
}

// result returns group g's result text; ok is false for NULL.
func (a *decAcc) result(g uint32) (string, bool) {
	st := &a.groups[g]
	total := st.n + st.nan + st.pinf + st.ninf
	switch a.kind {
	case decSum, decAvg:
		if total == 0 {
			return "", false
		}
		switch {
		case st.nan > 0 || (st.pinf > 0 && st.ninf > 0):
			return "NaN", true
		case st.pinf > 0:
			return "Infinity", true
		case st.ninf > 0:
			return "-Infinity", true
		}
		sum, _, sc := st.sums()
		if a.kind == decSum {
			return formatDecimal(sum, sc), true
		}
		q, s := numericDiv(sum, sc, big.NewInt(st.n), 0)
		return formatDecimal(q, s), true
	}
	sample := a.kind == decVarSamp || a.kind == decStddevSamp
	if total == 0 || (sample && total <= 1) {
		return "", false
	}
	if st.nan > 0 || st.pinf > 0 || st.ninf > 0 {
		return "NaN", true
	}
	sum, sum2, sc := st.sums()
	n := big.NewInt(st.n)
	num := new(big.Int).Mul(n, sum2)
	num.Sub(num, new(big.Int).Mul(sum, sum))
	if num.Sign() <= 0 {
		return "0", true
	}
	den := new(big.Int)
	if sample {
		den.Mul(n, big.NewInt(st.n-1))
	} else {
		den.Mul(n, n)
	}
	rs := divScale(num, 2*sc, den, 0)
	q := divRound(num, 2*sc, den, 0, rs)
	if a.kind == decStddevSamp || a.kind == decStddevPop {
		q = sqrtRound(q, rs, rs)
	}
	return formatDecimal(q, rs), true
}

func (a *decAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, ok := b.(*array.StringBuilder)
	if !ok {
		return builderMismatch(b, "StringBuilder")
	}
	if s, ok := a.result(g); ok {
		bb.Append(s)
	} else {
		bb.AppendNull()
	}
	return nil
}

func (a *decAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.groups), b)
}
