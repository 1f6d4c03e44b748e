package agg

import (
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
)

// boolAcc is bool_and/every (and) and bool_or (!and), kept as counts of
// true and false inputs so that it is retractable.
type boolAcc struct {
	and        bool
	trues, fal []int64
}

func (a *boolAcc) Grow(n int) { a.trues = growTo(a.trues, n); a.fal = growTo(a.fal, n) }

func (a *boolAcc) MemoryBytes() int64 { return int64(cap(a.trues)+cap(a.fal)) * 8 }

func (a *boolAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, 1)
}

func (a *boolAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, -1)
}

func (a *boolAcc) apply(groups []uint32, args []arrow.Array, d int64) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	x, err := typed[*array.Boolean](arg)
	if err != nil {
		return nullOr(arg, err)
	}
	for i, g := range groups {
		if g == NoGroup || x.IsNull(i) {
			continue
		}
		if x.Value(i) {
			a.trues[g] += d
		} else {
			a.fal[g] += d
		}
	}
	return nil
}

func (a *boolAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, ok := b.(*array.BooleanBuilder)
	if !ok {
		return builderMismatch(b, "BooleanBuilder")
	}
	switch {
	case a.trues[g] == 0 && a.fal[g] == 0:
		bb.AppendNull()
	case a.and:
		bb.Append(a.fal[g] == 0)
	default:
		bb.Append(a.trues[g] > 0)
	}
	return nil
}

func (a *boolAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.trues), b)
}

// bitAcc is bit_and/bit_or over integers (result of the input type). To
// retract, each group keeps its input count and, per bit position, how many
// inputs have that bit set: bit_and sets the bits every input has, bit_or
// the bits some input has. That is 8 bytes per bit of the type per group
// (512 bytes for int8), the price of deletes.
type bitAcc[T anyInt] struct {
	and  bool
	ones []int64 // group g's counts are ones[g*width : (g+1)*width]
	n    []int64
}

func (a *bitAcc[T]) width() int {
	var z T
	switch any(z).(type) {
	case int16:
		return 16
	case int32:
		return 32
	}
	return 64
}

func (a *bitAcc[T]) Grow(n int) {
	a.ones = growTo(a.ones, n*a.width())
	a.n = growTo(a.n, n)
}

func (a *bitAcc[T]) MemoryBytes() int64 { return int64(cap(a.ones)+cap(a.n)) * 8 }

func (a *bitAcc[T]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, 1)
}

func (a *bitAcc[T]) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, -1)
}

func (a *bitAcc[T]) apply(groups []uint32, args []arrow.Array, d int64) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	vals := vec.Values[T](arg)
	vm, off := vec.Validity(arg)
	w := a.width()
	mask := uint64(1)<<w - 1
	if w == 64 {
		mask = ^uint64(0)
	}
	for i, g := range groups {
		if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, off+i)) {
			continue
		}
		a.n[g] += d
		ones := a.ones[int(g)*w : int(g+1)*w]
		for v := uint64(vals[i]) & mask; v != 0; v &= v - 1 {
			ones[bits.TrailingZeros64(v)] += d
		}
	}
	return nil
}

// value returns group g's result; ok is false for NULL.
func (a *bitAcc[T]) value(g uint32) (T, bool) {
	n := a.n[g]
	if n == 0 {
		return 0, false
	}
	w := a.width()
	var v uint64
	for b, c := range a.ones[int(g)*w : int(g+1)*w] {
		if (a.and && c == n) || (!a.and && c > 0) {
			v |= 1 << b
		}
	}
	return T(v), true
}

func (a *bitAcc[T]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	v, ok := a.value(g)
	return appendFixed(b, []T{v}, []bool{ok})
}

func (a *bitAcc[T]) Finish(_ *kernels.EvalContext, b array.Builder) error {
	vals := make([]T, len(a.n))
	valid := make([]bool, len(a.n))
	for g := range vals {
		vals[g], valid[g] = a.value(uint32(g))
	}
	return appendFixed(b, vals, valid)
}
