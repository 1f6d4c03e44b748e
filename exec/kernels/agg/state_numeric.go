package agg

import (
	"encoding/binary"

	"github.com/sabotsql/sabotsql/exec/kernels"
)

var _ kernels.GroupStater = (*decAcc)(nil)

// Numeric sum/avg/variance family: version, varint finite count, the
// counts of NaN, +Infinity and -Infinity inputs (appendSpecials); uvarint
// scale of the sums; the
// sum's coefficient (appendBigInt); for the variance family the sum of
// squares' coefficient (at twice the scale); uvarint number of per-scale
// counts and those counts (varints, scale 0 first).

// maxDecScale bounds a decoded scale (the text parser accepts exponents to
// ±10^6, so real scales stay below ~1.1·10^6 plus the digits written).
const maxDecScale = 1 << 22

func (a *decAcc) AppendGroupState(dst []byte, g uint32) []byte {
	st := &a.groups[g]
	dst = binary.AppendVarint(append(dst, stateV1), st.n)
	dst = appendSpecials(dst, st.nan, st.pinf, st.ninf)
	dst = binary.AppendUvarint(dst, uint64(st.scale))
	a.t.SetInt64(st.small)
	a.t.Add(&a.t, &st.sum)
	dst = appendBigInt(dst, &a.t)
	if a.sq {
		dst = appendBigInt(dst, &st.sum2)
	}
	dst = binary.AppendUvarint(dst, uint64(len(st.scaleCnt)))
	for _, c := range st.scaleCnt {
		dst = binary.AppendVarint(dst, c)
	}
	return dst
}

func (a *decAcc) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	var st decState
	st.n = r.NonNeg()
	// Counts are never negative here: results divide by them.
	r.specials(r.NonNeg, &st.nan, &st.pinf, &st.ninf)
	sc := r.Uvarint()
	if sc > maxDecScale {
		r.Fail("scale out of range")
	}
	st.scale = int32(sc)
	r.bigInt(&st.sum)
	if a.sq {
		r.bigInt(&st.sum2)
	}
	n := r.Count(1)
	if n > int(st.scale)+1 {
		r.Fail("input scale above the sum's scale")
	}
	if r.Err() == nil && n > 0 {
		st.scaleCnt = make([]int64, n)
		for i := range st.scaleCnt {
			st.scaleCnt[i] = r.Varint()
		}
	}
	if err := r.Done(); err != nil {
		return err
	}
	a.groups[g] = st
	return nil
}
