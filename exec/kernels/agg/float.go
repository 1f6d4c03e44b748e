package agg

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
)

type float interface{ ~float32 | ~float64 }

// sumFloatAcc is sum(float4) → float4 (accumulated in float4, as
// PostgreSQL's float4pl) and sum(float8) → float8, with PostgreSQL's
// overflow error when finite inputs produce an infinite sum.
type sumFloatAcc[T float] struct {
	sums []T
	has  []bool
}

func (a *sumFloatAcc[T]) Grow(n int) { a.sums = growTo(a.sums, n); a.has = growTo(a.has, n) }

func (a *sumFloatAcc[T]) MemoryBytes() int64 { return int64(cap(a.sums))*8 + int64(cap(a.has)) }

func (a *sumFloatAcc[T]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	arg, err := argArray(args, 0)
	if err != nil {
		return err
	}
	if _, isNull := arg.(*array.Null); isNull {
		return nil
	}
	vals := vec.Values[T](arg)
	vm, off := vec.Validity(arg)
	sums, has := a.sums, a.has
	for i, g := range groups {
		if g == NoGroup || (vm != nil && !bitutil.BitIsSet(vm, off+i)) {
			continue
		}
		v, s := vals[i], sums[g]
		r := s + v
		if math.IsInf(float64(r), 0) && !math.IsInf(float64(s), 0) && !math.IsInf(float64(v), 0) {
			return floatOverflow()
		}
		sums[g] = r
		has[g] = true
	}
	return nil
}

func (a *sumFloatAcc[T]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	if !a.has[g] {
		b.AppendNull()
		return nil
	}
	switch bb := b.(type) {
	case *array.Float32Builder:
		bb.Append(float32(a.sums[g]))
	case *array.Float64Builder:
		bb.Append(float64(a.sums[g]))
	default:
		return builderMismatch(b, "Float32Builder or Float64Builder")
	}
	return nil
}

func (a *sumFloatAcc[T]) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.sums), b)
}

// floatStatKind selects what floatStatAcc reports.
type floatStatKind uint8

const (
	statAvg floatStatKind = iota
	statVarSamp
	statVarPop
	statStddevSamp
	statStddevPop
)

// floatStatAcc is PostgreSQL's float8_accum state (N, Sx, Sxx updated with
// the Youngs-Cramer algorithm) behind avg, variance and stddev of float4 and
// float8; the result is float8.
type floatStatAcc[T float] struct {
	kind floatStatKind
	n    []float64
	sx   []float64
	sxx  []float64
}

func (a *floatStatAcc[T]) Grow(n int) {
	a.n = growTo(a.n, n)
	a.sx = growTo(a.sx, n)
	a.sxx = growTo(a.sxx, n)
}

func (a *floatStatAcc[T]) MemoryBytes() int64 { return int64(cap(a.n)+cap(a.sx)+cap(a.sxx)) * 8 }

func (a *floatStatAcc[T]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
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
		x := float64(vals[i])
		n0, sx0, sxx := a.n[g], a.sx[g], a.sxx[g]
		n := n0 + 1
		sx := sx0 + x
		if n0 > 0 {
			tmp := x*n - sx
			sxx += tmp * tmp / (n * n0)
			if math.IsInf(sx, 0) || math.IsInf(sxx, 0) {
				if !math.IsInf(sx0, 0) && !math.IsInf(x, 0) {
					return floatOverflow()
				}
				sxx = math.NaN()
			}
		} else if math.IsNaN(x) || math.IsInf(x, 0) {
			sxx = math.NaN()
		}
		a.n[g], a.sx[g], a.sxx[g] = n, sx, sxx
	}
	return nil
}

func (a *floatStatAcc[T]) result(g uint32) (float64, bool) {
	n, sx, sxx := a.n[g], a.sx[g], a.sxx[g]
	switch a.kind {
	case statAvg:
		if n == 0 {
			return 0, false
		}
		return sx / n, true
	case statVarPop, statStddevPop:
		if n == 0 {
			return 0, false
		}
		v := sxx / n
		if a.kind == statStddevPop {
			v = math.Sqrt(v)
		}
		return v, true
	default:
		if n <= 1 {
			return 0, false
		}
		v := sxx / (n - 1)
		if a.kind == statStddevSamp {
			v = math.Sqrt(v)
		}
		return v, true
	}
}

func (a *floatStatAcc[T]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, ok := b.(*array.Float64Builder)
	if !ok {
		return builderMismatch(b, "Float64Builder")
	}
	if v, ok := a.result(g); ok {
		bb.Append(v)
	} else {
		bb.AppendNull()
	}
	return nil
}

func (a *floatStatAcc[T]) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.n), b)
}
