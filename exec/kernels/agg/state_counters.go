package agg

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/sabotsql/sabotsql/exec/kernels"
)

// GroupStater for the fixed-size counter accumulators: count, integer sums
// and averages, interval sum/avg, bool_and/or, bit_and/or.

var (
	_ kernels.GroupStater = (*countAcc)(nil)
	_ kernels.GroupStater = (*sumIntAcc[int16])(nil)
	_ kernels.GroupStater = (*wideIntAcc[int64])(nil)
	_ kernels.GroupStater = (*intervalAcc)(nil)
	_ kernels.GroupStater = (*boolAcc)(nil)
	_ kernels.GroupStater = (*bitAcc[int64])(nil)
)

// count: version, varint count.
func (a *countAcc) AppendGroupState(dst []byte, g uint32) []byte {
	return binary.AppendVarint(append(dst, stateV1), a.counts[g])
}

func (a *countAcc) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	c := r.Varint()
	if err := r.Done(); err != nil {
		return err
	}
	a.counts[g] = c
	return nil
}

// sum(int2/int4): version, varint sum, varint count.
func (a *sumIntAcc[T]) AppendGroupState(dst []byte, g uint32) []byte {
	dst = binary.AppendVarint(append(dst, stateV1), a.sums[g])
	return binary.AppendVarint(dst, a.cnt[g])
}

func (a *sumIntAcc[T]) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	s, c := r.Varint(), r.Varint()
	if err := r.Done(); err != nil {
		return err
	}
	a.sums[g], a.cnt[g] = s, c
	return nil
}

// sum(int8), avg(int*): version, varint count, varint high word, varint
// low word (as int64): a sum that fits an int64 has a high word of 0 or -1,
// one byte.
func (a *wideIntAcc[T]) AppendGroupState(dst []byte, g uint32) []byte {
	s := a.st[g]
	dst = binary.AppendVarint(append(dst, stateV1), s.cnt)
	dst = binary.AppendVarint(dst, s.hi)
	return binary.AppendVarint(dst, int64(s.lo))
}

func (a *wideIntAcc[T]) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	c, hi, lo := r.Varint(), r.Varint(), r.Varint()
	if err := r.Done(); err != nil {
		return err
	}
	a.st[g] = wideState{lo: uint64(lo), hi: hi, cnt: c}
	return nil
}

// sum/avg(interval): version, varint count, months, days, microseconds.
func (a *intervalAcc) AppendGroupState(dst []byte, g uint32) []byte {
	dst = binary.AppendVarint(append(dst, stateV1), a.cnt[g])
	dst = binary.AppendVarint(dst, a.months[g])
	dst = binary.AppendVarint(dst, a.days[g])
	return binary.AppendVarint(dst, a.micros[g])
}

func (a *intervalAcc) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	c, m, d, us := r.Varint(), r.Varint(), r.Varint(), r.Varint()
	if err := r.Done(); err != nil {
		return err
	}
	a.cnt[g], a.months[g], a.days[g], a.micros[g] = c, m, d, us
	return nil
}

// bool_and/or: version, varint trues, varint falses.
func (a *boolAcc) AppendGroupState(dst []byte, g uint32) []byte {
	dst = binary.AppendVarint(append(dst, stateV1), a.trues[g])
	return binary.AppendVarint(dst, a.fal[g])
}

func (a *boolAcc) LoadGroupState(g uint32, src []byte) error {
	r := newStateReader(src)
	t, f := r.Varint(), r.Varint()
	if err := r.Done(); err != nil {
		return err
	}
	a.trues[g], a.fal[g] = t, f
	return nil
}

// bit_and/or: version, varint row count, uvarint mask of the bit positions
// whose count is non-zero, then those counts (varints, lowest bit first).
func (a *bitAcc[T]) AppendGroupState(dst []byte, g uint32) []byte {
	w := a.width()
	ones := a.ones[int(g)*w : int(g+1)*w]
	var mask uint64
	for b, c := range ones {
		if c != 0 {
			mask |= 1 << b
		}
	}
	dst = binary.AppendVarint(append(dst, stateV1), a.n[g])
	dst = binary.AppendUvarint(dst, mask)
	for m := mask; m != 0; m &= m - 1 {
		dst = binary.AppendVarint(dst, ones[bits.TrailingZeros64(m)])
	}
	return dst
}

func (a *bitAcc[T]) LoadGroupState(g uint32, src []byte) error {
	w := a.width()
	r := newStateReader(src)
	n := r.Varint()
	mask := r.Uvarint()
	if w < 64 && mask > math.MaxUint64>>(64-w) {
		r.Fail("bit position beyond the type's width")
	}
	var vals [64]int64
	for m := mask; m != 0 && r.Err() == nil; m &= m - 1 {
		vals[bits.TrailingZeros64(m)] = r.Varint()
	}
	if err := r.Done(); err != nil {
		return err
	}
	a.n[g] = n
	copy(a.ones[int(g)*w:int(g+1)*w], vals[:w])
	return nil
}
