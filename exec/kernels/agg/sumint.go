package agg

import (
	"math/big"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
)

type smallInt interface{ ~int16 | ~int32 }

type anyInt interface{ ~int16 | ~int32 | ~int64 }

// sumIntAcc is sum(int2/int4) → int8.
type sumIntAcc[T smallInt] struct {
	sums []int64
	cnt  []int64
}

func (a *sumIntAcc[T]) Grow(n int) { a.sums = growTo(a.sums, n); a.cnt = growTo(a.cnt, n) }

func (a *sumIntAcc[T]) MemoryBytes() int64 { return int64(cap(a.sums)+cap(a.cnt)) * 8 }

func (a *sumIntAcc[T]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.add(groups, args, 1)
}

func (a *sumIntAcc[T]) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.add(groups, args, -1)
}

func (a *sumIntAcc[T]) add(groups []uint32, args []arrow.Array, d int64) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	vals := vec.Values[T](arg)
	vm, off := vec.Validity(arg)
	sums, cnt := a.sums, a.cnt
	for i, g := range groups {
		if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, off+i)) {
			continue
		}
		v := int64(vals[i]) * d
		s := sums[g] + v
		if (s^sums[g])&(s^v) < 0 {
			return bigintOutOfRange()
		}
		sums[g] = s
		cnt[g] += d
	}
	return nil
}

func (a *sumIntAcc[T]) Finish(_ *kernels.EvalContext, b array.Builder) error {
	bb, ok := b.(*array.Int64Builder)
	if !ok {
		return builderMismatch(b, "Int64Builder")
	}
	bb.Reserve(len(a.sums))
	for g, s := range a.sums {
		if a.cnt[g] == 0 {
			bb.AppendNull()
		} else {
			bb.Append(s)
		}
	}
	return nil
}

func (a *sumIntAcc[T]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, ok := b.(*array.Int64Builder)
	if !ok {
		return builderMismatch(b, "Int64Builder")
	}
	if a.cnt[g] == 0 {
		bb.AppendNull()
	} else {
		bb.Append(a.sums[g])
	}
	return nil
}

// wideIntAcc keeps an exact 128-bit sum and a count of integers per group:
// sum(int8) → numeric and avg(int2/int4/int8) → numeric. One struct per
// group keeps a row's update to one cache line.
type wideIntAcc[T anyInt] struct {
	avg bool
	st  []wideState
}

type wideState struct {
	lo  uint64
	hi  int64
	cnt int64
}

func (a *wideIntAcc[T]) Grow(n int) { a.st = growTo(a.st, n) }

func (a *wideIntAcc[T]) MemoryBytes() int64 { return int64(cap(a.st)) * 24 }

func (a *wideIntAcc[T]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	vals := vec.Values[T](arg)
	vm, off := vec.Validity(arg)
	st := a.st
	if vm == nil {
		for i, g := range groups {
			if g == NoGroup {
				continue
			}
			v := int64(vals[i])
			s := &st[g]
			l, c := bits.Add64(s.lo, uint64(v), 0)
			s.lo = l
			s.hi += v>>63 + int64(c)
			s.cnt++
		}
		return nil
	}
	for i, g := range groups {
		if g == NoGroup || !bitutil.BitIsSet(vm, off+i) {
			continue
		}
		v := int64(vals[i])
		s := &st[g]
		l, c := bits.Add64(s.lo, uint64(v), 0)
		s.lo = l
		s.hi += v>>63 + int64(c)
		s.cnt++
	}
	return nil
}

func (a *wideIntAcc[T]) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	vals := vec.Values[T](arg)
	vm, off := vec.Validity(arg)
	for i, g := range groups {
		if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, off+i)) {
			continue
		}
		v := int64(vals[i])
		s := &a.st[g]
		l, br := bits.Sub64(s.lo, uint64(v), 0)
		s.lo = l
		s.hi -= v>>63 + int64(br)
		s.cnt--
	}
	return nil
}

// sumBig returns group g's sum as a big.Int.
func (a *wideIntAcc[T]) sumBig(g uint32) *big.Int {
	hi, lo := a.st[g].hi, a.st[g].lo
	if hi == int64(lo)>>63 {
		return big.NewInt(int64(lo))
	}
	z := new(big.Int).SetInt64(hi)
	z.Lsh(z, 64)
	return z.Add(z, new(big.Int).SetUint64(lo))
}

func (a *wideIntAcc[T]) result(g uint32) (string, bool) {
	s := a.st[g]
	if s.cnt == 0 {
		return "", false
	}
	if !a.avg {
		if s.hi == int64(s.lo)>>63 {
			return strconv.FormatInt(int64(s.lo), 10), true
		}
		return a.sumBig(g).String(), true
	}
	q, sc := numericDiv(a.sumBig(g), 0, big.NewInt(s.cnt), 0)
	return formatDecimal(q, sc), true
}

func (a *wideIntAcc[T]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
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

func (a *wideIntAcc[T]) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.st), b)
}
