package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/types"
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

// bitAcc is bit_and/bit_or over integers (result of the input type).
type bitAcc[T anyInt] struct {
	and  bool
	vals []T
	has  []bool
}

func (a *bitAcc[T]) Grow(n int) { a.vals = growTo(a.vals, n); a.has = growTo(a.has, n) }

func (a *bitAcc[T]) MemoryBytes() int64 { return int64(cap(a.vals))*8 + int64(cap(a.has)) }

func (a *bitAcc[T]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
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
		v := vals[i]
		switch {
		case !a.has[g]:
			a.vals[g], a.has[g] = v, true
		case a.and:
			a.vals[g] &= v
		default:
			a.vals[g] |= v
		}
	}
	return nil
}

func (a *bitAcc[T]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	return appendFixed(b, a.vals[g:g+1], a.has[g:g+1])
}

func (a *bitAcc[T]) Finish(_ *kernels.EvalContext, b array.Builder) error {
	return appendFixed(b, a.vals, a.has)
}

// stringAggAcc is string_agg(text, text) and string_agg(bytea, bytea):
// non-NULL values in arrival order, each but the first preceded by its own
// row's delimiter (NULL delimiter = empty).
type stringAggAcc struct {
	bufs [][]byte
	has  []bool
}

func (a *stringAggAcc) Grow(n int) { a.bufs = growTo(a.bufs, n); a.has = growTo(a.has, n) }

func (a *stringAggAcc) MemoryBytes() int64 {
	m := int64(cap(a.bufs))*24 + int64(cap(a.has))
	for _, b := range a.bufs {
		m += int64(cap(b))
	}
	return m
}

func (a *stringAggAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	val, err := argArray(args, 0)
	if err != nil {
		return err
	}
	del, err := argArray(args, 1)
	if err != nil {
		return err
	}
	if _, isNull := val.(*array.Null); isNull {
		return nil
	}
	voffs, vdata := vec.BinaryParts(val)
	doffs, ddata := vec.BinaryParts(del)
	for i, g := range groups {
		if g == NoGroup || val.IsNull(i) {
			continue
		}
		if a.has[g] && doffs != nil && del.IsValid(i) {
			a.bufs[g] = append(a.bufs[g], ddata[doffs[i]:doffs[i+1]]...)
		}
		a.bufs[g] = append(a.bufs[g], vdata[voffs[i]:voffs[i+1]]...)
		a.has[g] = true
	}
	return nil
}

func (a *stringAggAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	if !a.has[g] {
		b.AppendNull()
		return nil
	}
	switch bb := b.(type) {
	case *array.StringBuilder:
		bb.BinaryBuilder.Append(a.bufs[g])
	case *array.BinaryBuilder:
		bb.Append(a.bufs[g])
	default:
		return builderMismatch(b, "StringBuilder or BinaryBuilder")
	}
	return nil
}

func (a *stringAggAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.bufs), b)
}

// arrayAggAcc is array_agg(anynonarray): every input, NULLs included, in
// arrival order. It keeps Datums (a row-at-a-time fallback).
type arrayAggAcc struct {
	elem  types.T
	elems [][]types.Datum
	has   []bool
}

func (a *arrayAggAcc) Grow(n int) { a.elems = growTo(a.elems, n); a.has = growTo(a.has, n) }

func (a *arrayAggAcc) MemoryBytes() int64 {
	m := int64(cap(a.elems))*24 + int64(cap(a.has))
	for _, e := range a.elems {
		m += int64(cap(e)) * 24
	}
	return m
}

func (a *arrayAggAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	for i, g := range groups {
		if g == NoGroup {
			continue
		}
		a.elems[g] = append(a.elems[g], types.GetDatum(arg, i, a.elem))
		a.has[g] = true
	}
	return nil
}

func (a *arrayAggAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	if _, ok := b.(*array.ListBuilder); !ok {
		return builderMismatch(b, "ListBuilder")
	}
	if !a.has[g] {
		b.AppendNull()
		return nil
	}
	types.AppendDatum(b, &types.Array{Elem: a.elem, Elems: a.elems[g]}, types.ArrayOf(a.elem))
	return nil
}

func (a *arrayAggAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.elems), b)
}
