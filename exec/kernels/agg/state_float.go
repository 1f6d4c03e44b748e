package agg

import (
	"encoding/binary"

	"github.com/sabotsql/sabotsql/exec/kernels"
)

var _ kernels.GroupStater = (*floatAcc[float64])(nil)

// Float sum/avg/variance family: version, varint row count, a flag byte
// (bit 0: special counts follow), then, when flagged, varint counts of
// NaN, +Inf, -Inf and -0 inputs, then the exact sum (appendExactSum) and,
// for the variance family, the exact sum of squares.
const floatHasSpecials = 1

func (a *floatAcc[T]) AppendGroupState(dst []byte, g uint32) []byte {
	st := &a.st[g]
	dst = binary.AppendVarint(append(dst, stateV1), st.n)
	if st.nan|st.pinf|st.ninf|st.negZero == 0 {
		dst = append(dst, 0)
	} else {
		dst = append(dst, floatHasSpecials)
		dst = binary.AppendVarint(dst, st.nan)
		dst = binary.AppendVarint(dst, st.pinf)
		dst = binary.AppendVarint(dst, st.ninf)
		dst = binary.AppendVarint(dst, st.negZero)
	}
	dst = appendExactSum(dst, &st.sum)
	if a.squares() {
		dst = appendExactSum(dst, &st.sq)
	}
	return dst
}

func (a *floatAcc[T]) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	var st floatState
	st.n = r.Varint()
	switch r.Byte() {
	case 0:
	case floatHasSpecials:
		st.nan, st.pinf, st.ninf, st.negZero = r.Varint(), r.Varint(), r.Varint(), r.Varint()
	default:
		r.Fail("bad flags")
	}
	r.exactSum(&st.sum)
	if a.squares() {
		r.exactSum(&st.sq)
	}
	if err := r.Done(); err != nil {
		return err
	}
	a.st[g] = st
	return nil
}
