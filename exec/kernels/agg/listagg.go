package agg

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/types"
)

// stringAggAcc is string_agg(text, text) and string_agg(bytea, bytea):
// non-NULL values in arrival order, each but the first preceded by its own
// row's delimiter (NULL delimiter = empty). Each group keeps its (value,
// delimiter) pairs in a seqBag, so a retraction removes the latest equal
// pair; the result is concatenated when read (O(group bytes)).
type stringAggAcc struct {
	bag seqBag
	out []byte
}

func (a *stringAggAcc) Grow(n int) { a.bag.grow(n) }

func (a *stringAggAcc) MemoryBytes() int64 { return a.bag.memoryBytes() + int64(cap(a.out)) }

func (a *stringAggAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, false)
}

func (a *stringAggAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, true)
}

func (a *stringAggAcc) apply(groups []uint32, args []arrow.Array, retract bool) error {
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
		// key: group, uvarint(len(value)), value, then 1 + delimiter or 0.
		k := a.bag.keyStart(g)
		v := vdata[voffs[i]:voffs[i+1]]
		k = binary.AppendUvarint(k, uint64(len(v)))
		k = append(k, v...)
		if doffs != nil && del.IsValid(i) {
			k = append(k, 1)
			k = append(k, ddata[doffs[i]:doffs[i+1]]...)
		} else {
			k = append(k, 0)
		}
		if retract {
			a.bag.remove(g, k)
		} else {
			a.bag.push(g, k, nil)
		}
	}
	return nil
}

// splitStringAggKey returns the value and delimiter of a bag key.
func splitStringAggKey(k string) (val, del string, hasDel bool) {
	k = k[4:]
	var n uint64
	for sh := uint(0); ; sh += 7 {
		c := k[0]
		k = k[1:]
		n |= uint64(c&0x7f) << sh
		if c < 0x80 {
			break
		}
	}
	val, k = k[:n], k[n:]
	if k[0] == 1 {
		return val, k[1:], true
	}
	return val, "", false
}

func (a *stringAggAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	st := &a.bag.groups[g]
	if st.live == 0 {
		b.AppendNull()
		return nil
	}
	out := a.out[:0]
	first := true
	for _, e := range st.elems {
		if e.dead {
			continue
		}
		val, del, hasDel := splitStringAggKey(e.key)
		if !first && hasDel {
			out = append(out, del...)
		}
		first = false
		out = append(out, val...)
	}
	a.out = out
	switch bb := b.(type) {
	case *array.StringBuilder:
		bb.BinaryBuilder.Append(out)
	case *array.BinaryBuilder:
		bb.Append(out)
	default:
		return builderMismatch(b, "StringBuilder or BinaryBuilder")
	}
	return nil
}

func (a *stringAggAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.bag.groups), b)
}

// arrayAggAcc is array_agg(anynonarray): every input, NULLs included, in
// arrival order, kept as Datums in a seqBag (a row-at-a-time fallback); a
// retraction removes the latest element with the same exact value.
type arrayAggAcc struct {
	elem types.T
	bag  seqBag
}

func (a *arrayAggAcc) Grow(n int) { a.bag.grow(n) }

func (a *arrayAggAcc) MemoryBytes() int64 { return a.bag.memoryBytes() }

// keepsNulls tells NewDistinct that NULL inputs are elements, not skipped.
func (a *arrayAggAcc) keepsNulls() bool { return true }

func (a *arrayAggAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	for i, g := range groups {
		if g == NoGroup {
			continue
		}
		a.bag.push(g, appendExactKey(a.bag.keyStart(g), arg, i), types.GetDatum(arg, i, a.elem))
	}
	return nil
}

func (a *arrayAggAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	for i, g := range groups {
		if g == NoGroup {
			continue
		}
		a.bag.remove(g, appendExactKey(a.bag.keyStart(g), arg, i))
	}
	return nil
}

func (a *arrayAggAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	if _, ok := b.(*array.ListBuilder); !ok {
		return builderMismatch(b, "ListBuilder")
	}
	st := &a.bag.groups[g]
	if st.live == 0 {
		b.AppendNull()
		return nil
	}
	elems := make([]types.Datum, 0, st.live)
	for _, e := range st.elems {
		if !e.dead {
			elems = append(elems, e.val)
		}
	}
	types.AppendDatum(b, &types.Array{Elem: a.elem, Elems: elems}, types.ArrayOf(a.elem))
	return nil
}

func (a *arrayAggAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.bag.groups), b)
}
