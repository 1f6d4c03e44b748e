package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
)

// countAcc is count(*) (star) and count(x) (non-NULL x).
type countAcc struct {
	star   bool
	counts []int64
}

func (a *countAcc) Grow(n int) { a.counts = growTo(a.counts, n) }

func (a *countAcc) MemoryBytes() int64 { return int64(cap(a.counts)) * 8 }

func (a *countAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.add(groups, args, 1)
}

func (a *countAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.add(groups, args, -1)
}

func (a *countAcc) add(groups []uint32, args []arrow.Array, d int64) error {
	counts := a.counts
	if a.star {
		for _, g := range groups {
			if g != NoGroup {
				counts[g] += d
			}
		}
		return nil
	}
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	vm, off := vec.Validity(arg)
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	for i, g := range groups {
		if g != NoGroup && (vm == nil || bitutil.BitIsSet(vm, off+i)) {
			counts[g] += d
		}
	}
	return nil
}

func (a *countAcc) Finish(_ *kernels.EvalContext, b array.Builder) error {
	bb, ok := b.(*array.Int64Builder)
	if !ok {
		return builderMismatch(b, "Int64Builder")
	}
	bb.AppendValues(a.counts, nil)
	return nil
}

func (a *countAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, ok := b.(*array.Int64Builder)
	if !ok {
		return builderMismatch(b, "Int64Builder")
	}
	bb.Append(a.counts[g])
	return nil
}
