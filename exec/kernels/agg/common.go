package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// growTo extends s with zero values to length n.
func growTo[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		old := len(s)
		s = s[:n]
		clear(s[old:])
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// argArray returns args[k] or an internal error when the executor passed
// fewer arguments than the overload declares.
func argArray(args []arrow.Array, k int) (arrow.Array, error) {
	if k >= len(args) {
		return nil, pgerror.Internal("aggregate expects %d arguments, got %d", k+1, len(args))
	}
	return args[k], nil
}

// typed asserts an argument's Arrow array type.
func typed[A arrow.Array](a arrow.Array) (A, error) {
	x, ok := a.(A)
	if !ok {
		var z A
		return z, pgerror.Internal("aggregate argument is %T, expected %T", a, z)
	}
	return x, nil
}

func builderMismatch(b array.Builder, want string) error {
	return pgerror.Internal("aggregate result builder is %T, expected %s", b, want)
}

func bigintOutOfRange() error {
	return pgerror.New(pgerror.NumericValueOutOfRange, "bigint out of range")
}

func floatOverflow() error {
	return pgerror.New(pgerror.NumericValueOutOfRange, "value out of range: overflow")
}

func intervalOutOfRange() error {
	return pgerror.New(pgerror.DatetimeFieldOverflow, "interval out of range")
}

// resulter adapts a per-group append function into Finish.
type resulter interface {
	kernels.GroupedAcc
	kernels.GroupResulter
}

// finishAll appends every group's result in order through AppendResult.
func finishAll(ctx *kernels.EvalContext, acc resulter, n int, b array.Builder) error {
	b.Reserve(n)
	for g := 0; g < n; g++ {
		if err := acc.AppendResult(ctx, uint32(g), b); err != nil {
			return err
		}
	}
	return nil
}

// memOf returns the statement's allocator, or Go's when there is none.
func memOf(ctx *kernels.EvalContext) memory.Allocator {
	if ctx != nil && ctx.Mem != nil {
		return ctx.Mem
	}
	return memory.DefaultAllocator
}
