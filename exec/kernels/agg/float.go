package agg

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
)

type float interface{ ~float32 | ~float64 }

// floatStatKind selects what floatAcc reports.
type floatStatKind uint8

const (
	statSum floatStatKind = iota
	statAvg
	statVarSamp
	statVarPop
	statStddevSamp
	statStddevPop
)

// floatAcc is sum, avg, variance and stddev over float4 and float8. Each
// group keeps exact sums (exactSum) of its finite inputs and, for the
// variance family, of their squares, plus counts of NaN, +Inf, -Inf and -0
// inputs, so Retract is Update's exact inverse and a result depends only on
// the multiset of a group's rows, never on their order:
//
//   - sum(float8) is the exact sum rounded once to float8; sum(float4) the
//     exact sum rounded once to float4 (PostgreSQL adds in input order,
//     rounding at every step; the two agree whenever PostgreSQL's running
//     sums are exact and may differ in the last bits otherwise).
//   - avg is the float8-rounded exact sum divided by the row count, as
//     PostgreSQL's float8_avg divides its running sum.
//   - var_pop/var_samp are (n·Σx² − (Σx)²)/(n·n) resp. /(n·(n−1)) computed
//     exactly and rounded once; stddev is the square root of that.
//
// NaN, or +Inf together with -Inf, makes sum and avg NaN; one infinity
// alone gives that infinity; any NaN or infinity makes the variance family
// NaN. Finite inputs whose sum (or variance) rounds beyond float8 (float4
// for sum(float4)) are PostgreSQL's 22003 "value out of range: overflow",
// raised when the result is read.
type floatAcc[T float] struct {
	kind   floatStatKind
	st     []floatState
	z1, z2 big.Int
}

type floatState struct {
	sum, sq                  exactSum
	n                        int64 // non-NULL inputs, NaN and infinities included
	nan, pinf, ninf, negZero int64
}

func (a *floatAcc[T]) squares() bool { return a.kind >= statVarSamp }

func (a *floatAcc[T]) Grow(n int) { a.st = growTo(a.st, n) }

func (a *floatAcc[T]) MemoryBytes() int64 {
	m := int64(cap(a.st)) * 112
	for i := range a.st {
		if b := a.st[i].sum.big; b != nil {
			m += int64(len(b.Bits())) * 8
		}
		if b := a.st[i].sq.big; b != nil {
			m += int64(len(b.Bits())) * 8
		}
	}
	return m
}

func (a *floatAcc[T]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, 1)
}

func (a *floatAcc[T]) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, -1)
}

func (a *floatAcc[T]) apply(groups []uint32, args []arrow.Array, d int64) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	vals := vec.Values[T](arg)
	vm, off := vec.Validity(arg)
	sq := a.squares()
	for i, g := range groups {
		if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, off+i)) {
			continue
		}
		a.add(&a.st[g], float64(vals[i]), d, sq)
	}
	return nil
}

// add folds x into st (d = 1) or takes it out (d = -1).
func (a *floatAcc[T]) add(st *floatState, x float64, d int64, sq bool) {
	st.n += d
	switch {
	case x != x:
		st.nan += d
		return
	case x > math.MaxFloat64:
		st.pinf += d
		return
	case x < -math.MaxFloat64:
		st.ninf += d
		return
	case x == 0:
		if math.Signbit(x) {
			st.negZero += d
		}
		return
	}
	m, k := splitFloat(x)
	am := m
	if am < 0 {
		am = -am
	}
	if d < 0 {
		m = -m
	}
	st.sum.addSmall(m, k, &a.z1)
	if sq {
		h, l := bits.Mul64(uint64(am), uint64(am))
		hi, lo := int64(h), l
		if d < 0 {
			hi, lo = neg128(hi, lo)
		}
		st.sq.add(hi, lo, 2*k, &a.z1)
	}
}

// special reports the result decided by NaN/infinite inputs, if any.
func (st *floatState) special() (float64, bool) {
	switch {
	case st.nan > 0 || (st.pinf > 0 && st.ninf > 0):
		return math.NaN(), true
	case st.pinf > 0:
		return math.Inf(1), true
	case st.ninf > 0:
		return math.Inf(-1), true
	}
	return 0, false
}

// result returns group g's value; ok is false for NULL.
func (a *floatAcc[T]) result(g uint32) (v float64, ok bool, err error) {
	st := &a.st[g]
	switch a.kind {
	case statSum:
		if st.n == 0 {
			return 0, false, nil
		}
		if v, ok := st.special(); ok {
			return v, true, nil
		}
		var f float64
		if _, f4 := any(T(0)).(float32); f4 {
			f = float64(st.sum.float32())
		} else {
			f = st.sum.float64()
		}
		if math.IsInf(f, 0) {
			return 0, false, floatOverflow()
		}
		if f == 0 && st.negZero == st.n {
			f = math.Copysign(0, -1) // -0 + -0 = -0
		}
		return f, true, nil
	case statAvg:
		if st.n == 0 {
			return 0, false, nil
		}
		if v, ok := st.special(); ok {
			return v, true, nil
		}
		s := st.sum.float64()
		if math.IsInf(s, 0) {
			return 0, false, floatOverflow()
		}
		return s / float64(st.n), true, nil
	}
	sample := a.kind == statVarSamp || a.kind == statStddevSamp
	if st.n == 0 || (sample && st.n == 1) {
		return 0, false, nil
	}
	if st.nan > 0 || st.pinf > 0 || st.ninf > 0 {
		return math.NaN(), true, nil
	}
	if math.IsInf(st.sum.float64(), 0) {
		return 0, false, floatOverflow() // PostgreSQL's running Σx overflows
	}
	v = a.variance(st, sample)
	if math.IsInf(v, 0) {
		return 0, false, floatOverflow()
	}
	if a.kind == statStddevSamp || a.kind == statStddevPop {
		v = math.Sqrt(v)
	}
	return v, true, nil
}

// variance computes (n·Σx² − (Σx)²) / (n·(n−1) or n·n) exactly and rounds
// it once to float64.
func (a *floatAcc[T]) variance(st *floatState, sample bool) float64 {
	if st.sq.isZero() {
		return 0 // every input is ±0
	}
	n := big.NewInt(st.n)
	num := new(big.Int).Mul(st.sq.int(&a.z1), n)
	e := int64(st.sq.exp)
	if !st.sum.isZero() {
		s := st.sum.int(&a.z2)
		s2 := new(big.Int).Mul(s, s)
		e2 := 2 * int64(st.sum.exp)
		if e2 < e {
			num.Lsh(num, uint(e-e2))
			e = e2
		} else {
			s2.Lsh(s2, uint(e2-e))
		}
		num.Sub(num, s2)
	}
	if num.Sign() <= 0 {
		return 0
	}
	den := new(big.Int)
	if sample {
		den.Mul(n, big.NewInt(st.n-1))
	} else {
		den.Mul(n, n)
	}
	if e >= 0 {
		num.Lsh(num, uint(e))
	} else {
		den.Lsh(den, uint(-e))
	}
	v, _ := new(big.Rat).SetFrac(num, den).Float64()
	return v
}

func (a *floatAcc[T]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	v, ok, err := a.result(g)
	if err != nil {
		return err
	}
	switch bb := b.(type) {
	case *array.Float32Builder:
		if ok {
			bb.Append(float32(v))
		} else {
			bb.AppendNull()
		}
	case *array.Float64Builder:
		if ok {
			bb.Append(v)
		} else {
			bb.AppendNull()
		}
	default:
		return builderMismatch(b, "Float32Builder or Float64Builder")
	}
	return nil
}

func (a *floatAcc[T]) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.st), b)
}
