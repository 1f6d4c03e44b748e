package exec

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Test-only aggregates, so the executor's tests do not depend on the
// kernels under construction. sum and count support GroupResulter and
// Retractor (running and sliding frames); max supports neither (frames are
// recomputed); list concatenates its integer argument in input order.

type sumAcc struct {
	sums   []int64
	counts []int64
	count  bool // count instead of sum
	star   bool // count(*)
}

func (a *sumAcc) Grow(n int) {
	for len(a.sums) < n {
		a.sums = append(a.sums, 0)
		a.counts = append(a.counts, 0)
	}
}

func (a *sumAcc) apply(groups []uint32, args []arrow.Array, sign int64) {
	for i, g := range groups {
		if g == kernels.NoGroup {
			continue
		}
		if a.star {
			a.counts[g] += sign
			continue
		}
		x := args[0].(*array.Int64)
		if x.IsNull(i) {
			continue
		}
		a.sums[g] += sign * x.Value(i)
		a.counts[g] += sign
	}
}

func (a *sumAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	a.apply(groups, args, 1)
	return nil
}

func (a *sumAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	a.apply(groups, args, -1)
	return nil
}

func (a *sumAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb := b.(*array.Int64Builder)
	switch {
	case a.count || a.star:
		bb.Append(a.counts[g])
	case a.counts[g] == 0:
		bb.AppendNull()
	default:
		bb.Append(a.sums[g])
	}
	return nil
}

func (a *sumAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	for g := range a.sums {
		if err := a.AppendResult(ctx, uint32(g), b); err != nil {
			return err
		}
	}
	return nil
}

func (a *sumAcc) MemoryBytes() int64 { return int64(len(a.sums)) * 16 }

type maxAcc struct {
	vals []types.Datum
}

func (a *maxAcc) Grow(n int) {
	for len(a.vals) < n {
		a.vals = append(a.vals, nil)
	}
}

func (a *maxAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	x := args[0].(*array.Int64)
	for i, g := range groups {
		if g == kernels.NoGroup || x.IsNull(i) {
			continue
		}
		if a.vals[g] == nil || x.Value(i) > a.vals[g].(int64) {
			a.vals[g] = x.Value(i)
		}
	}
	return nil
}

// AppendResult makes max a GroupResulter without Retractor: running and
// backward-swept frames use it, sliding frames recompute.
func (a *maxAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	types.AppendDatum(b, a.vals[g], types.Int8T)
	return nil
}

func (a *maxAcc) Finish(_ *kernels.EvalContext, b array.Builder) error {
	for _, v := range a.vals {
		types.AppendDatum(b, v, types.Int8T)
	}
	return nil
}

func (a *maxAcc) MemoryBytes() int64 { return int64(len(a.vals)) * 16 }

type listAcc struct {
	parts [][]string
}

func (a *listAcc) Grow(n int) {
	for len(a.parts) < n {
		a.parts = append(a.parts, nil)
	}
}

func (a *listAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	x := args[0].(*array.Int64)
	for i, g := range groups {
		if g == kernels.NoGroup {
			continue
		}
		if x.IsNull(i) {
			a.parts[g] = append(a.parts[g], "N")
		} else {
			a.parts[g] = append(a.parts[g], fmt.Sprint(x.Value(i)))
		}
	}
	return nil
}

func (a *listAcc) Finish(_ *kernels.EvalContext, b array.Builder) error {
	for _, p := range a.parts {
		if p == nil {
			b.AppendNull()
		} else {
			b.(*array.StringBuilder).Append(strings.Join(p, ","))
		}
	}
	return nil
}

func (a *listAcc) MemoryBytes() int64 { return int64(len(a.parts)) * 32 }

var (
	aggSum = &kernels.AggFunc{Name: "sum", Args: []types.T{types.Int8T}, Ret: types.Int8T,
		New: func([]types.T, types.T) kernels.GroupedAcc { return &sumAcc{} }}
	aggCount = &kernels.AggFunc{Name: "count", Args: []types.T{types.Int8T}, Ret: types.Int8T,
		New: func([]types.T, types.T) kernels.GroupedAcc { return &sumAcc{count: true} }}
	aggCountStar = &kernels.AggFunc{Name: "count", Ret: types.Int8T,
		New: func([]types.T, types.T) kernels.GroupedAcc { return &sumAcc{star: true} }}
	aggMax = &kernels.AggFunc{Name: "max", Args: []types.T{types.Int8T}, Ret: types.Int8T,
		New: func([]types.T, types.T) kernels.GroupedAcc { return &maxAcc{} }}
	aggList = &kernels.AggFunc{Name: "list", Args: []types.T{types.Int8T}, Ret: types.TextT, OrderSensitive: true,
		New: func([]types.T, types.T) kernels.GroupedAcc { return &listAcc{} }}
)
