package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/backends"
)

// The fintech view benchmarks (issue #8) report ns per input row through
// a whole view dataflow without SQL ingest: prebuilt chunks of (sym int8,
// px float8, ts int8), 1024 rows each, 16 chunks per epoch, replayed from
// memory into
//
//	ewma:   HashAggregate(GROUP BY sym, ewma(px, 0.06)) → Materialize(key sym)
//	stddev: RollingWindow(stddev_samp(px) OVER (PARTITION BY sym ORDER BY ts
//	        ROWS BETWEEN 19 PRECEDING AND CURRENT ROW)) → Materialize(bag,
//	        insert-mostly as the planner builds it; BagModes=1 in the
//	        environment adds the counted and append-only layouts)
//
// for 1K, 100K and 1M symbols and each state backend (in-memory
// filesystems for pebble and columnar, so disk speed is not measured).

var finBenchSymbols = []int{1_000, 100_000, 1_000_000}

var finBenchBackends = []state.BackendKind{state.BackendMemory, state.BackendPebble, state.BackendColumnar}

// finSource replays chunks whose ts keeps increasing: each replay round
// shifts ts by the round number (a new batch per chunk and round).
type finSource struct {
	schema *arrow.Schema
	syms   [][]int64
	pxs    [][]float64
	every  int
	i, n   int
	epoch  uint64
}

func newFinSource(ng int) *finSource {
	rng := rand.New(rand.NewPCG(uint64(ng), 3))
	s := &finSource{schema: arrow.NewSchema([]arrow.Field{types.ArrowField("sym", types.Int8T),
		types.ArrowField("px", types.Float8T), types.ArrowField("ts", types.Int8T)}, nil), every: 16}
	for range finChunks(ng) {
		sy, px := make([]int64, 1024), make([]float64, 1024)
		for i := range sy {
			sy[i] = rng.Int64N(int64(ng))
			px[i] = 100 + rng.NormFloat64()
		}
		s.syms, s.pxs = append(s.syms, sy), append(s.pxs, px)
	}
	return s
}

func (s *finSource) Schema() *arrow.Schema { return s.schema }
func (s *finSource) Close() error          { return nil }
func (s *finSource) Next(context.Context) (Message, error) {
	if s.n == s.every {
		s.n = 0
		s.epoch++
		return Barrier{Epoch: s.epoch}, nil
	}
	s.n++
	k := s.i % len(s.syms)
	ts0 := int64(s.i) * 1024
	s.i++
	mem := memory.DefaultAllocator
	sb, pb, tb := array.NewInt64Builder(mem), array.NewFloat64Builder(mem), array.NewInt64Builder(mem)
	sb.AppendValues(s.syms[k], nil)
	pb.AppendValues(s.pxs[k], nil)
	for i := range 1024 {
		tb.Append(ts0 + int64(i))
	}
	cols := []arrow.Array{sb.NewArray(), pb.NewArray(), tb.NewArray()}
	sb.Release()
	pb.Release()
	tb.Release()
	rb := array.NewRecordBatch(s.schema, cols, 1024)
	for _, c := range cols {
		c.Release()
	}
	return &Chunk{Batch: rb, Ops: make([]Op, 1024)}, nil
}

// appendOnlyGrouped gives a non-retractable accumulator the Retract a
// HashAggregate requires (never called over append-only input).
type appendOnlyGrouped struct{ kernels.GroupedAcc }

func (a appendOnlyGrouped) Retract(*kernels.EvalContext, []uint32, []arrow.Array) error {
	return fmt.Errorf("retract over append-only input")
}

func (a appendOnlyGrouped) AppendResult(ctx *kernels.EvalContext, g uint32, b array.Builder) error {
	return a.GroupedAcc.(kernels.GroupResulter).AppendResult(ctx, g, b)
}

// appendOnly wraps acc as the planner does: appendOnlyGrouped, forwarding
// the batched results (GroupResultsAppender) when acc has them.
func appendOnly(acc kernels.GroupedAcc) kernels.GroupedAcc {
	w := appendOnlyGrouped{acc}
	if _, ok := acc.(GroupResultsAppender); ok {
		return appendOnlyBatched{w}
	}
	return w
}

// runFinBench pulls b.N epochs' worth of rows through mat and reports
// ns/update, for sources with a barrier every 16 chunks of 1024 rows.
func runFinBench(b *testing.B, mat *Materialize) { runFinBenchEpoch(b, mat, 16*1024) }

// runFinBenchEpoch is runFinBench for sources with epochRows rows between
// barriers.
func runFinBenchEpoch(b *testing.B, mat *Materialize, epochRows int) {
	ctx := context.Background()
	rows := 0
	b.ResetTimer()
	cpu0 := cpuTime()
	for rows < b.N {
		m, err := mat.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := m.(Barrier); ok {
			rows += epochRows
		}
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	reportUpdates(b, rows, cpu)
	// What the view's table holds per input row (memory backend: its
	// index, keys and columns; others: memtables and caches).
	b.ReportMetric(float64(mat.StateStats().MemBytes)/float64(rows), "state-B/update")
}

// cpuTime is the process's user+system CPU time. The benchmarks report
// it per update beside wall time: on a shared machine wall time includes
// waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportUpdates(b *testing.B, rows int, cpu time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/update")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows), "cpu-ns/update")
}

func openBenchTable(b *testing.B, f *backends.Factory, kind state.BackendKind, schema *arrow.Schema, key []int) state.Table {
	t, err := f.Open(context.Background(), kind, "bench", MaterializeValueSchema(schema, key))
	require.NoError(b, err)
	return t
}

// BenchmarkFinEWMAView is ewma per symbol as a grouped streaming aggregate
// over prebuilt input chunks (replayed, so input construction is not
// measured), the accumulator wrapped as the planner wraps it over an
// append-only input (forwarding its batched results).
func BenchmarkFinEWMAView(b *testing.B) {
	for _, kind := range finBenchBackends {
		for _, ng := range finBenchSymbols {
			b.Run(fmt.Sprintf("backend=%s/symbols=%d", kind, ng), func(b *testing.B) {
				h := newEWMABenchAgg(b, prebuiltFinSource(b, ng), true)
				f := &backends.Factory{}
				tbl := openBenchTable(b, f, kind, h.Schema(), []int{0})
				mat, err := NewMaterialize(h, []types.T{types.Int8T, types.Float8T}, []int{0}, tbl, nil)
				require.NoError(b, err)
				defer mat.Close()
				runFinBench(b, mat)
			})
		}
	}
}

// BenchmarkFinRollingStddevView is a 20-row rolling stddev per symbol.
func BenchmarkFinRollingStddevView(b *testing.B) {
	modes := []BagMode{BagInsertMostly}
	if os.Getenv("BagModes") != "" {
		modes = []BagMode{BagCounted, BagInsertMostly, BagAppendOnly}
	}
	for _, kind := range finBenchBackends {
		for _, ng := range finBenchSymbols {
			for _, mode := range modes {
				name := fmt.Sprintf("backend=%s/symbols=%d", kind, ng)
				if len(modes) > 1 {
					name += "/mode=" + mode.String()
				}
				b.Run(name, func(b *testing.B) {
					mat := stddevView(b, newFinSource(ng), kind, mode)
					defer mat.Close()
					runFinBench(b, mat)
				})
			}
		}
	}
}

// BenchmarkFinRollingStddevViewWM is BenchmarkFinRollingStddevView in
// steady state: the source is BenchmarkRollingOperator's (prebuilt
// arrays, a watermark one epoch behind before every barrier, so the
// window's history is trimmed as in a stream with WATERMARK FOR ts),
// so its CPU ns/update less BenchmarkRollingOperator's is the view write.
// The view itself still grows by every output row.
func BenchmarkFinRollingStddevViewWM(b *testing.B) {
	for _, kind := range finBenchBackends {
		for _, ng := range finBenchSymbols {
			b.Run(fmt.Sprintf("backend=%s/symbols=%d", kind, ng), func(b *testing.B) {
				mat := stddevView(b, newRollBenchSource(b, ng), kind, BagInsertMostly)
				defer mat.Close()
				runFinBench(b, mat)
			})
		}
	}
}

// stddevWindow is the benchmarks' rolling window: stddev_samp(px) OVER
// (PARTITION BY sym ORDER BY ts ROWS BETWEEN 19 PRECEDING AND CURRENT ROW)
// over src's (sym int8, px float8, ts int8), the result appended as sd.
func stddevWindow(b *testing.B, src Executor) *RollingWindow {
	calls := []RollingCall{{Kind: RollStddevSamp, Arg: 1, Preceding: 19}}
	inTypes := []types.T{types.Int8T, types.Float8T, types.Int8T}
	out := arrow.NewSchema(append(append([]arrow.Field{}, src.Schema().Fields()...), types.ArrowField("sd", types.Float8T)), nil)
	rw, err := NewRollingWindow(src, inTypes, out, []int{0}, 2, calls, func(context.Context, arrow.RecordBatch) ([]arrow.Array, error) {
		return nil, fmt.Errorf("no fallback in the benchmark")
	})
	require.NoError(b, err)
	return rw
}

// stddevView materializes stddevWindow(src) in a bag view (mode) on a
// table of backend kind.
func stddevView(b *testing.B, src Executor, kind state.BackendKind, mode BagMode) *Materialize {
	rw := stddevWindow(b, src)
	tbl := openBenchTable(b, &backends.Factory{}, kind, rw.Schema(), nil)
	mat, err := NewMaterialize(rw, []types.T{types.Int8T, types.Float8T, types.Int8T, types.Float8T}, nil, tbl, nil)
	require.NoError(b, err)
	mat.WithBagMode(mode)
	return mat
}

// viewReplay replays prebuilt chunks of a rolling stddev view's rows
// (sym, px, ts, sd), all inserts, a barrier after every 16: the view
// write alone, without the window computation.
type viewReplay struct {
	schema *arrow.Schema
	chunks []arrow.RecordBatch
	i, n   int
	epoch  uint64
}

func newViewReplay(b *testing.B, ng int) *viewReplay {
	syms, pxs := finStream(ng)
	r := &viewReplay{schema: arrow.NewSchema([]arrow.Field{types.ArrowField("sym", types.Int8T),
		types.ArrowField("px", types.Float8T), types.ArrowField("ts", types.Int8T), types.ArrowField("sd", types.Float8T)}, nil)}
	mem := memory.DefaultAllocator
	for k := range syms {
		sb, pb, tb, db := array.NewInt64Builder(mem), array.NewFloat64Builder(mem), array.NewInt64Builder(mem), array.NewFloat64Builder(mem)
		sb.AppendValues(syms[k], nil)
		pb.AppendValues(pxs[k], nil)
		for i := range syms[k] {
			tb.Append(int64(k*1024 + i))
			db.Append(pxs[k][i] / 100)
		}
		cols := []arrow.Array{sb.NewArray(), pb.NewArray(), tb.NewArray(), db.NewArray()}
		r.chunks = append(r.chunks, array.NewRecordBatch(r.schema, cols, int64(len(syms[k]))))
		for _, c := range cols {
			c.Release()
		}
		sb.Release()
		pb.Release()
		tb.Release()
		db.Release()
	}
	b.Cleanup(func() {
		for _, c := range r.chunks {
			c.Release()
		}
	})
	return r
}

func (r *viewReplay) Schema() *arrow.Schema { return r.schema }
func (r *viewReplay) Close() error          { return nil }
func (r *viewReplay) Next(context.Context) (Message, error) {
	if r.n == 16 {
		r.n = 0
		r.epoch++
		return Barrier{Epoch: r.epoch}, nil
	}
	r.n++
	c := r.chunks[r.i%len(r.chunks)]
	r.i++
	c.Retain()
	return &Chunk{Batch: c, Ops: make([]Op, c.NumRows())}, nil
}

// BenchmarkFinRollingViewWrite is the view write of
// BenchmarkFinRollingStddevView alone: prebuilt output rows of the
// rolling stddev into its insert-mostly bag view (the symbol count only
// changes the sym column's values: the view's cost does not depend on
// it).
func BenchmarkFinRollingViewWrite(b *testing.B) {
	for _, kind := range finBenchBackends {
		b.Run(fmt.Sprintf("backend=%s", kind), func(b *testing.B) {
			src := newViewReplay(b, 100_000)
			f := &backends.Factory{}
			tbl := openBenchTable(b, f, kind, src.schema, nil)
			mat, err := NewMaterialize(src, []types.T{types.Int8T, types.Float8T, types.Int8T, types.Float8T}, nil, tbl, nil)
			require.NoError(b, err)
			mat.WithBagMode(BagInsertMostly)
			defer mat.Close()
			runFinBench(b, mat)
		})
	}
}

// constCol appends a constant float8 column to its input's chunks.
type constCol struct {
	in     Executor
	v      float64
	schema *arrow.Schema
}

func (c *constCol) Schema() *arrow.Schema {
	if c.schema == nil {
		c.schema = arrow.NewSchema(append(append([]arrow.Field{}, c.in.Schema().Fields()...), types.ArrowField("alpha", types.Float8T)), nil)
	}
	return c.schema
}

func (c *constCol) Close() error { return c.in.Close() }

func (c *constCol) Next(ctx context.Context) (Message, error) {
	m, err := c.in.Next(ctx)
	ch, ok := m.(*Chunk)
	if err != nil || !ok {
		return m, err
	}
	n := ch.NumRows()
	bld := array.NewFloat64Builder(memory.DefaultAllocator)
	for range n {
		bld.Append(c.v)
	}
	a := bld.NewArray()
	bld.Release()
	cols := append(append([]arrow.Array{}, ch.Batch.Columns()...), a)
	rb := array.NewRecordBatch(c.Schema(), cols, int64(n))
	a.Release()
	ch.Release()
	return &Chunk{Batch: rb, Ops: ch.Ops}, nil
}

// BenchmarkRollingWindowOperator is the rolling stddev(20) operator alone
// (no view write): the per-update cost of the window computation,
// partition lookup and output batch.
func BenchmarkRollingWindowOperator(b *testing.B) {
	for _, ng := range finBenchSymbols {
		b.Run(fmt.Sprintf("symbols=%d", ng), func(b *testing.B) {
			rw := stddevWindow(b, newFinSource(ng))
			defer rw.Close()
			ctx := context.Background()
			rows := 0
			b.ResetTimer()
			cpu0 := cpuTime()
			for rows < b.N {
				m, err := rw.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if c, ok := m.(*Chunk); ok {
					rows += c.NumRows()
					c.Release()
				}
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			reportUpdates(b, rows, cpu)
		})
	}
}
