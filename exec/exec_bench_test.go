package exec

import (
	"context"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/agg"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// replayOp returns pre-built batches (benchmark input without generation cost).
type replayOp struct {
	batches []arrow.RecordBatch
	pos     int
}

func (r *replayOp) Init(context.Context) error { r.pos = 0; return nil }
func (r *replayOp) Next() (arrow.RecordBatch, error) {
	if r.pos >= len(r.batches) {
		return nil, nil
	}
	r.pos++
	return r.batches[r.pos-1], nil
}
func (r *replayOp) Close() error { return nil }

// benchTables serves replayOps for catalog tables.
type benchTables map[string][]arrow.RecordBatch

func (bt benchTables) ScanTable(_ context.Context, t *catalog.Table, _ []int, _ bool) (Operator, error) {
	return &replayOp{batches: bt[t.Name]}, nil
}

// genInt64Batches builds n rows of ncols int64 columns, column c drawn from
// [0, mod[c]), in 1024-row batches.
func genInt64Batches(n int, mod ...int64) []arrow.RecordBatch {
	rng := rand.New(rand.NewSource(42))
	fs := make([]arrow.Field, len(mod))
	for i := range fs {
		fs[i] = types.ArrowField("c", types.Int8T)
	}
	sch := arrow.NewSchema(fs, nil)
	var out []arrow.RecordBatch
	for lo := 0; lo < n; lo += 1024 {
		m := min(1024, n-lo)
		cols := make([]arrow.Array, len(mod))
		for c := range cols {
			vals := make([]int64, m)
			for i := range vals {
				vals[i] = rng.Int63n(mod[c])
			}
			b := array.NewInt64Builder(memory.DefaultAllocator)
			b.AppendValues(vals, nil)
			cols[c] = b.NewArray()
			b.Release()
		}
		out = append(out, newBatch(sch, cols, m))
	}
	return out
}

func benchScan(bt benchTables, name string, ncols int) *planner.Scan {
	tb := &catalog.Table{Name: name, Columns: intCols(make([]string, ncols)...)}
	s := &planner.Scan{Table: tb}
	for i := 0; i < ncols; i++ {
		s.Cols = append(s.Cols, i)
		s.Out = append(s.Out, icol("c"))
	}
	return s
}

// vecArith and vecCmp are vectorized int64 functions for benchmarks (the
// real ones live in exec/kernels/ops).
func vecArith(name string, f func(a, b int64) int64) *kernels.ScalarFunc {
	return &kernels.ScalarFunc{Name: name, Args: []types.T{types.Int8T, types.Int8T}, Ret: types.Int8T, Strict: true,
		Vec: func(_ *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			x, y := args[0].(*array.Int64).Int64Values(), args[1].(*array.Int64).Int64Values()
			out := make([]int64, n)
			for i := range out {
				out[i] = f(x[i], y[i])
			}
			return mkArray(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.GetBytes(out))}, nil, 0), nil
		}}
}

func vecCmp(name string, f func(a, b int64) bool) *kernels.ScalarFunc {
	return &kernels.ScalarFunc{Name: name, Args: []types.T{types.Int8T, types.Int8T}, Ret: types.BoolT, Strict: true,
		Vec: func(_ *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			x, y := args[0].(*array.Int64).Int64Values(), args[1].(*array.Int64).Int64Values()
			out := make([]byte, (n+7)/8)
			for i := 0; i < n; i++ {
				if f(x[i], y[i]) {
					out[i/8] |= 1 << (i % 8)
				}
			}
			return mkArray(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{nil, memory.NewBufferBytes(out)}, nil, 0), nil
		}}
}

func runBench(b *testing.B, env *Env, plan planner.Node, rows int) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op, err := Build(env, plan)
		if err != nil {
			b.Fatal(err)
		}
		if err := op.Init(context.Background()); err != nil {
			b.Fatal(err)
		}
		for {
			rb, err := op.Next()
			if err != nil {
				b.Fatal(err)
			}
			if rb == nil {
				break
			}
		}
		op.Close()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkFilter(b *testing.B) {
	const n = 10_000_000
	bt := benchTables{"t": genInt64Batches(n, 10_000_000)}
	lt := vecCmp("<", func(a, b int64) bool { return a < b })
	plan := &planner.Filter{Input: benchScan(bt, "t", 1), Cond: call(lt, ci(0), ival(5_000_000))}
	runBench(b, &Env{Tables: bt}, plan, n)
}

func BenchmarkProject(b *testing.B) {
	const n = 10_000_000
	bt := benchTables{"t": genInt64Batches(n, 1000, 1000)}
	mul := vecArith("*", func(a, b int64) int64 { return a * b })
	add := vecArith("+", func(a, b int64) int64 { return a + b })
	plan := &planner.Project{Input: benchScan(bt, "t", 2), Exprs: []planner.Expr{call(add, call(mul, ci(0), ival(2)), ci(1))}, Out: schemaOf(icol("x"))}
	runBench(b, &Env{Tables: bt}, plan, n)
}

func benchAggregate(b *testing.B, groups int64) {
	const n = 10_000_000
	bt := benchTables{"t": genInt64Batches(n, groups, 1000)}
	r := kernels.NewRegistry()
	agg.Register(r)
	sum, count := r.Aggs("sum"), r.Aggs("count")
	var sumFn, countFn *kernels.AggFunc
	for _, f := range sum {
		if len(f.Args) == 1 && f.Args[0].Family == types.FamInt8 {
			sumFn = f
		}
	}
	for _, f := range count {
		if len(f.Args) == 0 {
			countFn = f
		}
	}
	plan := &planner.Aggregate{Input: benchScan(bt, "t", 2), GroupBy: []planner.Expr{ci(0)},
		Aggs: []planner.AggCall{{Fn: sumFn, Args: []planner.Expr{ci(1)}, T: sumFn.Ret}, {Fn: countFn, T: types.Int8T}},
		Out:  schemaOf(icol("g"), planner.Column{Name: "s", T: sumFn.Ret}, icol("c"))}
	runBench(b, &Env{Tables: bt}, plan, n)
}

func BenchmarkHashAggregate1KGroups(b *testing.B) { benchAggregate(b, 1_000) }
func BenchmarkHashAggregate1MGroups(b *testing.B) { benchAggregate(b, 1_000_000) }

func BenchmarkHashJoin(b *testing.B) {
	const probe, build = 10_000_000, 1_000_000
	bt := benchTables{"p": genInt64Batches(probe, 2*build), "b": genInt64Batches(build, 2*build)}
	plan := &planner.Join{Kind: planner.JoinInner, Left: benchScan(bt, "p", 1), Right: benchScan(bt, "b", 1),
		LeftKeys: []planner.Expr{ci(0)}, RightKeys: []planner.Expr{ci(0)}, Out: schemaOf(icol("a"), icol("b"))}
	runBench(b, &Env{Tables: bt}, plan, probe)
}

func BenchmarkSort(b *testing.B) {
	const n = 1_000_000
	bt := benchTables{"t": genInt64Batches(n, 1<<62)}
	plan := &planner.Sort{Input: benchScan(bt, "t", 1), Keys: []planner.SortKey{{E: ci(0)}}}
	runBench(b, &Env{Tables: bt}, plan, n)
}

func BenchmarkWindowSlidingSum(b *testing.B) {
	const n = 1_000_000
	bt := benchTables{"t": genInt64Batches(n, 1000, 1<<40, 1000)}
	r := kernels.NewRegistry()
	agg.Register(r)
	var sumFn *kernels.AggFunc
	for _, f := range r.Aggs("sum") {
		if len(f.Args) == 1 && f.Args[0].Family == types.FamInt8 {
			sumFn = f
		}
	}
	frame := planner.Frame{Mode: planner.FrameRows, Start: planner.FrameBound{Kind: planner.OffsetPreceding, Offset: ival(3)}, End: planner.FrameBound{Kind: planner.CurrentRow}}
	plan := &planner.Window{Input: benchScan(bt, "t", 3), Calls: []planner.WindowCall{{Agg: sumFn, Name: "sum", Args: []planner.Expr{ci(2)},
		PartitionBy: []planner.Expr{ci(0)}, OrderBy: []planner.SortKey{{E: ci(1)}}, Frame: frame, T: sumFn.Ret}},
		Out: schemaOf(icol("a"), icol("b"), icol("c"), planner.Column{Name: "s", T: sumFn.Ret})}
	runBench(b, &Env{Tables: bt}, plan, n)
}
