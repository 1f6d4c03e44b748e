package exec

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

func series(n int64) *planner.TableFunc {
	return &planner.TableFunc{Name: "generate_series", Args: []planner.Expr{ival(1), ival(n)}, Out: schemaOf(icol("g"))}
}

// Every buffering operator fails with 53200 on a large input under a small
// limit, long before it could exhaust the machine, and returns its
// reservation when closed.
func TestMemoryLimitFailsWith53200(t *testing.T) {
	const big = 5_000_000
	const limit = 4 << 20
	g := series(big)
	g2 := series(big)
	def := planner.Frame{Mode: planner.FrameRange, Start: planner.FrameBound{Kind: planner.UnboundedPreceding}, End: planner.FrameBound{Kind: planner.CurrentRow}}
	plans := map[string]planner.Node{
		"sort":      &planner.Sort{Input: g, Keys: []planner.SortKey{{E: ci(0), Desc: true}}},
		"topn":      &planner.Limit{Input: &planner.Sort{Input: g, Keys: []planner.SortKey{{E: ci(0)}}}, Count: big - 1},
		"aggregate": &planner.Aggregate{Input: g, GroupBy: []planner.Expr{ci(0)}, Aggs: []planner.AggCall{{Fn: aggCountStar, T: types.Int8T}}, Out: schemaOf(icol("g"), icol("c"))},
		"hashjoin": &planner.Join{Kind: planner.JoinInner, Left: series(10), Right: g2, LeftKeys: []planner.Expr{ci(0)}, RightKeys: []planner.Expr{ci(0)},
			Out: schemaOf(icol("a"), icol("b"))},
		"nestedloop": &planner.Join{Kind: planner.JoinCross, Left: series(10), Right: g2, Out: schemaOf(icol("a"), icol("b"))},
		"window": &planner.Window{Input: g, Calls: []planner.WindowCall{{Name: "row_number", OrderBy: []planner.SortKey{{E: ci(0)}}, Frame: def, T: types.Int8T}},
			Out: schemaOf(icol("g"), icol("r"))},
		"distinct":  &planner.Distinct{Input: g},
		"intersect": &planner.SetOp{Kind: planner.SetIntersect, Left: series(10), Right: g2, Out: schemaOf(icol("g"))},
		"union":     &planner.SetOp{Kind: planner.SetUnion, Left: g, Right: g2, Out: schemaOf(icol("g"))},
		"subquery":  project(series(3), &planner.Subquery{Kind: planner.SubAny, Plan: g2, Left: ci(0), Op: fnLt, T: types.BoolT}),
	}
	for name, p := range plans {
		t.Run(name, func(t *testing.T) {
			env := &Env{Mem: NewMemAccount(limit)}
			_, err := runRows(context.Background(), env, p)
			require.Error(t, err)
			require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err), "%v", err)
			require.LessOrEqual(t, env.Mem.Peak(), int64(limit))
			require.Zero(t, env.Mem.Used(), "reservation returned on Close")
		})
	}
}

func TestCancellationYields57014(t *testing.T) {
	plans := map[string]planner.Node{
		"scan":   series(1_000_000),
		"filter": &planner.Filter{Input: series(1_000_000), Cond: call(fnGt, ci(0), ival(0))},
		"sort":   &planner.Sort{Input: series(1_000_000), Keys: []planner.SortKey{{E: ci(0), Desc: true}}},
		"agg":    &planner.Aggregate{Input: series(1_000_000), GroupBy: []planner.Expr{ci(0)}, Aggs: []planner.AggCall{{Fn: aggCountStar, T: types.Int8T}}, Out: schemaOf(icol("g"), icol("c"))},
		"join": &planner.Join{Kind: planner.JoinInner, Left: series(1_000_000), Right: series(1000), LeftKeys: []planner.Expr{ci(0)}, RightKeys: []planner.Expr{ci(0)},
			Out: schemaOf(icol("a"), icol("b"))},
	}
	for name, p := range plans {
		t.Run(name, func(t *testing.T) {
			// Cancelled before the first batch.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := runRows(ctx, &Env{}, p)
			require.Equal(t, pgerror.QueryCanceled, pgerror.CodeOf(err))
			require.NotNil(t, pgerror.As(err))

			// Cancelled mid-stream.
			ctx, cancel = context.WithCancel(context.Background())
			defer cancel()
			op, err := Build(&Env{}, p)
			require.NoError(t, err)
			require.NoError(t, op.Init(ctx))
			b, err := op.Next()
			require.NoError(t, err)
			require.NotNil(t, b)
			cancel()
			_, err = op.Next()
			require.Equal(t, pgerror.QueryCanceled, pgerror.CodeOf(err))
			require.NoError(t, op.Close())
		})
	}
}

// A slice of an array is charged for its own rows, not for the buffers it
// shares with the whole array.
func TestArrayBytesOfSlices(t *testing.T) {
	mem := memory.NewGoAllocator()
	ib := array.NewInt64Builder(mem)
	sb := array.NewStringBuilder(mem)
	for i := range 100_000 {
		if i%3 == 0 {
			ib.AppendNull()
		} else {
			ib.Append(int64(i))
		}
		sb.Append(strings.Repeat("x", i%10))
	}
	ints, strs := ib.NewArray(), sb.NewArray()
	defer ints.Release()
	defer strs.Release()
	fullI, fullS := arrayBytes(ints), arrayBytes(strs)
	require.GreaterOrEqual(t, fullI, int64(ints.Len()*8))
	require.GreaterOrEqual(t, fullS, int64(100_000*4+450_000))
	var sumI, sumS int64
	for lo := 0; lo < strs.Len(); lo += 1024 {
		hi := min(lo+1024, strs.Len())
		si := array.NewSlice(ints, int64(lo), int64(hi))
		ss := array.NewSlice(strs, int64(lo), int64(hi))
		sumI += arrayBytes(si)
		sumS += arrayBytes(ss)
		require.LessOrEqual(t, arrayBytes(ss), int64((hi-lo+1)*4+(hi-lo)*9))
		si.Release()
		ss.Release()
	}
	// The pieces add up to about the whole (a few bytes per piece more).
	require.InDelta(t, float64(fullI), float64(sumI), float64(fullI)/20)
	require.InDelta(t, float64(fullS), float64(sumS), float64(fullS)/20)
}

// A Sort over the 100K groups of an aggregate fits a limit a little above
// their size (the aggregate emits its result as slices of one array).
func TestSortOfAggregateCharged(t *testing.T) {
	agg := &planner.Aggregate{Input: series(100_000), GroupBy: []planner.Expr{ci(0)},
		Aggs: []planner.AggCall{{Fn: aggCountStar, T: types.Int8T}}, Out: schemaOf(icol("k"), icol("c"))}
	p := &planner.Sort{Input: agg, Keys: []planner.SortKey{{E: ci(0)}}}
	env := &Env{Mem: NewMemAccount(24 << 20)}
	rows, err := runRows(context.Background(), env, p)
	require.NoError(t, err)
	require.Len(t, rows, 100_000)
	require.Zero(t, env.Mem.Used())
}
