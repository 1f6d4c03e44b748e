package streamplan

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/fin"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TestWrappersForwardBatchedResults checks that the planner's wrappers of
// a non-retractable aggregate (append-only, FILTER over append-only) keep
// the inner accumulator's batched results (stream.GroupResultsAppender),
// and that those equal the per-group results of the wrapper and of the
// unwrapped accumulator.
func TestWrappersForwardBatchedResults(t *testing.T) {
	reg := kernels.NewRegistry()
	fin.Register(reg)
	fn := reg.Aggs("ewma")[0]
	f8 := []types.T{types.Float8T, types.Float8T}
	call, err := aggCall("e", planner.AggCall{Fn: fn, T: types.Float8T}, f8, true)
	require.NoError(t, err)

	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	ctx := &kernels.EvalContext{Mem: mem}
	const ng = 5
	groups := []uint32{0, 1, 0, 3, 1, 0, 2, 3}
	xs := []float64{10, 20, 11, 40, 22, 12, 30, 41}
	conds := []bool{true, true, false, true, true, true, false, true}
	mkArgs := func(withCond bool) []arrow.Array {
		xb, ab := array.NewFloat64Builder(mem), array.NewFloat64Builder(mem)
		defer xb.Release()
		defer ab.Release()
		xb.AppendValues(xs, nil)
		for range xs {
			ab.Append(0.5)
		}
		args := []arrow.Array{xb.NewArray(), ab.NewArray()}
		if withCond {
			cb := array.NewBooleanBuilder(mem)
			defer cb.Release()
			cb.AppendValues(conds, nil)
			args = append(args, cb.NewArray())
		}
		return args
	}
	results := func(acc kernels.GroupedAcc, gs []uint32, batched bool) []any {
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		if batched {
			ga, ok := acc.(stream.GroupResultsAppender)
			require.True(t, ok, "%T hides GroupResultsAppender", acc)
			require.NoError(t, ga.AppendGroupResults(ctx, gs, b))
		} else {
			for _, g := range gs {
				require.NoError(t, acc.(kernels.GroupResulter).AppendResult(ctx, g, b))
			}
		}
		a := b.NewFloat64Array()
		defer a.Release()
		out := make([]any, a.Len())
		for i := range out {
			if a.IsValid(i) {
				out[i] = a.Value(i)
			}
		}
		return out
	}
	run := func(acc kernels.GroupedAcc, withCond bool) {
		args := mkArgs(withCond)
		defer func() {
			for _, a := range args {
				a.Release()
			}
		}()
		acc.Grow(ng)
		require.NoError(t, acc.Update(ctx, groups, args))
	}
	gs := []uint32{4, 3, 0, 2, 1}

	plain := fn.New(f8, types.Float8T)
	run(plain, false)
	want := results(plain, gs, false)
	require.Equal(t, []any{nil, 40.5, 11.25, 30.0, 21.0}, want)

	wrapped := call.New()
	_, isStateWrapper := wrapped.(stateWrapper)
	require.True(t, isStateWrapper, "%T is not a planner wrapper", wrapped)
	run(wrapped, false)
	require.Equal(t, want, results(wrapped, gs, true))
	require.Equal(t, want, results(wrapped, gs, false))

	// FILTER over the append-only wrapper: rows with a false condition
	// are skipped (group 2 then has no value).
	filtered := withState(newFilterAcc(call.New()))
	run(filtered, true)
	wantF := []any{nil, 40.5, 11.0, nil, 21.0}
	require.Equal(t, wantF, results(filtered, gs, true))
	require.Equal(t, wantF, results(filtered, gs, false))

	// An inner accumulator without batched results stays without them.
	type plainAcc struct{ kernels.GroupedAcc }
	other := withState(appendOnlyAcc{plainAcc{fn.New(f8, types.Float8T)}})
	_, ok := other.(stream.GroupResultsAppender)
	require.False(t, ok)
}
