package agg

import (
	"encoding/binary"

	"github.com/sabotsql/sabotsql/exec/kernels"
)

var _ kernels.GroupStater = (*floatAcc[float64])(nil)

// Float sum/avg/variance family: version, varint row count, the counts
// of NaN, +Inf, -Inf and -0 inputs (appendSpecials), then the exact sum
// (appendExactSum) and, for the variance family, the exact sum of squares.

func (a *floatAcc[T]) AppendGroupState(dst []byte, g uint32) []byte {
	st := &a.st[g]
	dst = binary.AppendVarint(append(dst, stateV1), st.n)
	dst = appendSpecials(dst, st.nan, st.pinf, st.ninf, st.negZero)
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
	r.specials(r.Varint, &st.nan, &st.pinf, &st.ninf, &st.negZero)
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
