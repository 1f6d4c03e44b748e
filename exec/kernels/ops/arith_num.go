package ops

import (
	"math"
	"unsafe"
)

// Scalar integer arithmetic with PostgreSQL's overflow rules. T's width
// decides the range and the error message.

func minOf[T intT]() T {
	var z T
	return T(1) << (unsafe.Sizeof(z)*8 - 1)
}

func iAdd[T intT](a, b T) (T, error) {
	s := a + b
	if (s^a)&(s^b) < 0 {
		return 0, errIntRange[T]()
	}
	return s, nil
}

func iSub[T intT](a, b T) (T, error) {
	s := a - b
	if (a^b)&(a^s) < 0 {
		return 0, errIntRange[T]()
	}
	return s, nil
}

// mulOvf multiplies and reports overflow.
func mulOvf[T intT](a, b T) (T, bool) {
	if unsafe.Sizeof(a) < 8 {
		p := int64(a) * int64(b)
		r := T(p)
		return r, int64(r) != p
	}
	x, y := int64(a), int64(b)
	p := x * y
	// Both within int32: the product fits.
	if uint64(x+1<<31) < 1<<32 && uint64(y+1<<31) < 1<<32 {
		return T(p), false
	}
	if x == 0 || y == 0 {
		return 0, false
	}
	if (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) || p/y != x {
		return T(p), true
	}
	return T(p), false
}

func iMul[T intT](a, b T) (T, error) {
	r, ovf := mulOvf(a, b)
	if ovf {
		return 0, errIntRange[T]()
	}
	return r, nil
}

// iDiv truncates toward zero; the most negative value divided by -1 overflows.
func iDiv[T intT](a, b T) (T, error) {
	if b == 0 {
		return 0, errDivByZero()
	}
	if b == -1 {
		if a == minOf[T]() {
			return 0, errIntRange[T]()
		}
		return -a, nil
	}
	return a / b, nil
}

// iMod has the sign of the dividend; x % -1 is 0 even for the most negative x.
func iMod[T intT](a, b T) (T, error) {
	if b == 0 {
		return 0, errDivByZero()
	}
	if b == -1 {
		return 0, nil
	}
	return a % b, nil
}

func iNeg[T intT](a T) (T, error) {
	if a == minOf[T]() {
		return 0, errIntRange[T]()
	}
	return -a, nil
}

func iAbs[T intT](a T) (T, error) {
	if a < 0 {
		return iNeg(a)
	}
	return a, nil
}

// Scalar float arithmetic: IEEE in T's width, with PostgreSQL's overflow,
// underflow and division-by-zero checks.

func isInf[T floatT](x T) bool { return math.IsInf(float64(x), 0) }
func isNaN[T floatT](x T) bool { return x != x }

func fAdd[T floatT](a, b T) (T, error) {
	r := a + b
	if isInf(r) && !isInf(a) && !isInf(b) {
		return 0, errFloatOverflow()
	}
	return r, nil
}

func fSub[T floatT](a, b T) (T, error) {
	r := a - b
	if isInf(r) && !isInf(a) && !isInf(b) {
		return 0, errFloatOverflow()
	}
	return r, nil
}

func fMul[T floatT](a, b T) (T, error) {
	r := a * b
	if isInf(r) && !isInf(a) && !isInf(b) {
		return 0, errFloatOverflow()
	}
	if r == 0 && a != 0 && b != 0 {
		return 0, errFloatUnderflow()
	}
	return r, nil
}

func fDiv[T floatT](a, b T) (T, error) {
	if b == 0 && !isNaN(a) {
		return 0, errDivByZero()
	}
	r := a / b
	if isInf(r) && !isInf(a) {
		return 0, errFloatOverflow()
	}
	if r == 0 && a != 0 && !isInf(b) {
		return 0, errFloatUnderflow()
	}
	return r, nil
}

// Vector loops. Each computes every slot, then re-checks flagged slots
// against the validity bitmap so garbage under NULLs never raises.

func vIntAdd[T intT](a, b, r []T, valid []byte) error {
	a, b = a[:len(r)], b[:len(r)]
	var o T
	for i := range r {
		s := a[i] + b[i]
		r[i] = s
		o |= (s ^ a[i]) & (s ^ b[i])
	}
	if o < 0 {
		for i := range r {
			if (r[i]^a[i])&(r[i]^b[i]) < 0 && isValid(valid, i) {
				return errIntRange[T]()
			}
		}
	}
	return nil
}

func vIntSub[T intT](a, b, r []T, valid []byte) error {
	a, b = a[:len(r)], b[:len(r)]
	var o T
	for i := range r {
		s := a[i] - b[i]
		r[i] = s
		o |= (a[i] ^ b[i]) & (a[i] ^ s)
	}
	if o < 0 {
		for i := range r {
			if (a[i]^b[i])&(a[i]^r[i]) < 0 && isValid(valid, i) {
				return errIntRange[T]()
			}
		}
	}
	return nil
}

func vIntMul[T intT](a, b, r []T, valid []byte) error {
	a, b = a[:len(r)], b[:len(r)]
	for i := range r {
		p, ovf := mulOvf(a[i], b[i])
		r[i] = p
		if ovf && isValid(valid, i) {
			return errIntRange[T]()
		}
	}
	return nil
}

func vIntDiv[T intT](a, b, r []T, valid []byte) error {
	a, b = a[:len(r)], b[:len(r)]
	for i := range r {
		d := b[i]
		if d == 0 || d == -1 {
			if !isValid(valid, i) {
				r[i] = 0
				continue
			}
			v, err := iDiv(a[i], d)
			if err != nil {
				return err
			}
			r[i] = v
			continue
		}
		r[i] = a[i] / d
	}
	return nil
}

func vIntMod[T intT](a, b, r []T, valid []byte) error {
	a, b = a[:len(r)], b[:len(r)]
	for i := range r {
		d := b[i]
		if d == 0 || d == -1 {
			if d == 0 && isValid(valid, i) {
				return errDivByZero()
			}
			r[i] = 0
			continue
		}
		r[i] = a[i] % d
	}
	return nil
}

func vIntNeg[T intT](a, r []T, valid []byte) error {
	a = a[:len(r)]
	m := minOf[T]()
	bad := false
	for i := range r {
		r[i] = -a[i]
		bad = bad || a[i] == m
	}
	if bad {
		for i := range r {
			if a[i] == m && isValid(valid, i) {
				return errIntRange[T]()
			}
		}
	}
	return nil
}

// vFloat returns the vector loop for a float operator whose scalar form is f.
// Only slots whose result is infinite, NaN or zero (or whose divisor is
// zero) can need an error; those go through f, in row order, and only
// valid (non-NULL) slots report. The guard is a well-predicted branch.
func vFloat[T floatT](op byte, f func(a, b T) (T, error)) func(a, b, r []T, valid []byte) error {
	return func(a, b, r []T, valid []byte) error {
		a, b = a[:len(r)], b[:len(r)]
		switch op {
		case '+':
			for i := range r {
				v := a[i] + b[i]
				r[i] = v
				if v-v != 0 {
					if err := floatCheck(f, a[i], b[i], valid, i); err != nil {
						return err
					}
				}
			}
		case '-':
			for i := range r {
				v := a[i] - b[i]
				r[i] = v
				if v-v != 0 {
					if err := floatCheck(f, a[i], b[i], valid, i); err != nil {
						return err
					}
				}
			}
		case '*':
			for i := range r {
				v := a[i] * b[i]
				r[i] = v
				if v-v != 0 || v == 0 {
					if err := floatCheck(f, a[i], b[i], valid, i); err != nil {
						return err
					}
				}
			}
		default:
			for i := range r {
				v := a[i] / b[i]
				r[i] = v
				if v-v != 0 || v == 0 || b[i] == 0 {
					if err := floatCheck(f, a[i], b[i], valid, i); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
}

// floatCheck re-runs the scalar operator on a flagged slot.
func floatCheck[T floatT](f func(a, b T) (T, error), x, y T, valid []byte, i int) error {
	if !isValid(valid, i) {
		return nil
	}
	_, err := f(x, y)
	return err
}

func vFloatNeg[T floatT](a, r []T, _ []byte) error {
	a = a[:len(r)]
	for i := range r {
		r[i] = -a[i]
	}
	return nil
}
