package stream

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/agg"
	"github.com/sabotsql/sabotsql/sql/types"
)

// int8Schema returns a schema of int8 columns with the given names.
func int8Schema(names ...string) (*arrow.Schema, []types.T) {
	fs := make([]arrow.Field, len(names))
	ts := make([]types.T, len(names))
	for i, n := range names {
		fs[i] = types.ArrowField(n, types.Int8T)
		ts[i] = types.Int8T
	}
	return arrow.NewSchema(fs, nil), ts
}

// row is one changelog row of int8 values (nil = NULL).
type row struct {
	op   Op
	vals []*int64
}

func parseOp(s string) (Op, error) {
	switch s {
	case "+":
		return Insert, nil
	case "-":
		return Delete, nil
	case "U-":
		return UpdateDelete, nil
	case "U+":
		return UpdateInsert, nil
	}
	return 0, fmt.Errorf("bad op %q", s)
}

func parseRows(t testing.TB, text string) []row {
	var out []row
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		op, err := parseOp(f[0])
		require.NoError(t, err)
		r := row{op: op}
		for _, s := range f[1:] {
			if strings.EqualFold(s, "NULL") {
				r.vals = append(r.vals, nil)
				continue
			}
			v, err := strconv.ParseInt(s, 10, 64)
			require.NoError(t, err)
			r.vals = append(r.vals, &v)
		}
		out = append(out, r)
	}
	return out
}

// makeChunk builds a chunk of int8 rows.
func makeChunk(t testing.TB, schema *arrow.Schema, rows []row) *Chunk {
	return makeChunkMem(t, memory.DefaultAllocator, schema, rows)
}

func makeChunkMem(t testing.TB, mem memory.Allocator, schema *arrow.Schema, rows []row) *Chunk {
	bs := make([]*array.Int64Builder, schema.NumFields())
	for i := range bs {
		bs[i] = array.NewInt64Builder(mem)
		defer bs[i].Release()
	}
	ops := make([]Op, len(rows))
	for i, r := range rows {
		require.Len(t, r.vals, len(bs), "row %d", i)
		ops[i] = r.op
		for c, v := range r.vals {
			if v == nil {
				bs[c].AppendNull()
			} else {
				bs[c].Append(*v)
			}
		}
	}
	cols := make([]arrow.Array, len(bs))
	for i, b := range bs {
		cols[i] = b.NewArray()
		defer cols[i].Release()
	}
	return &Chunk{Batch: array.NewRecordBatch(schema, cols, int64(len(rows))), Ops: ops}
}

// formatRows renders a batch's rows, one per line, values separated by
// spaces.
func formatRows(b arrow.RecordBatch, ts []types.T) []string {
	out := make([]string, b.NumRows())
	var ctx types.Ctx
	for i := range out {
		parts := make([]string, len(ts))
		for c, t := range ts {
			d := types.GetDatum(b.Column(c), i, t)
			if d == nil {
				parts[c] = "NULL"
			} else {
				parts[c] = types.FormatText(&ctx, d, t)
			}
		}
		out[i] = strings.Join(parts, " ")
	}
	return out
}

// tap records the chunks flowing through it, per epoch.
type tap struct {
	in    Executor
	ts    []types.T
	mu    sync.Mutex
	cur   []string
	epoch map[uint64][]string
}

func newTap(in Executor, ts []types.T) *tap {
	return &tap{in: in, ts: ts, epoch: map[uint64][]string{}}
}

func (t *tap) Schema() *arrow.Schema { return t.in.Schema() }
func (t *tap) Close() error          { return t.in.Close() }
func (t *tap) Next(ctx context.Context) (Message, error) {
	m, err := t.in.Next(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch m := m.(type) {
	case *Chunk:
		for i, s := range formatRows(m.Batch, t.ts) {
			t.cur = append(t.cur, m.Ops[i].String()+" "+s)
		}
	case Barrier:
		t.epoch[m.Epoch] = t.cur
		t.cur = nil
	}
	return m, err
}

func (t *tap) changes(e uint64) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.epoch[e]
}

// Evaluators over int8 columns for tests.
func colEval(i int) Evaluator {
	return EvalFunc(func(_ context.Context, b arrow.RecordBatch) (arrow.Array, error) {
		a := b.Column(i)
		a.Retain()
		return a, nil
	})
}

func int8Op(a, b int, f func(x, y int64) int64) Evaluator {
	return EvalFunc(func(_ context.Context, rb arrow.RecordBatch) (arrow.Array, error) {
		x, y := rb.Column(a).(*array.Int64), rb.Column(b).(*array.Int64)
		bl := array.NewInt64Builder(memory.DefaultAllocator)
		defer bl.Release()
		for i := 0; i < x.Len(); i++ {
			if x.IsNull(i) || y.IsNull(i) {
				bl.AppendNull()
			} else {
				bl.Append(f(x.Value(i), y.Value(i)))
			}
		}
		return bl.NewArray(), nil
	})
}

func gtConst(col int, k int64) Evaluator {
	return EvalFunc(func(_ context.Context, rb arrow.RecordBatch) (arrow.Array, error) {
		x := rb.Column(col).(*array.Int64)
		bl := array.NewBooleanBuilder(memory.DefaultAllocator)
		defer bl.Release()
		for i := 0; i < x.Len(); i++ {
			if x.IsNull(i) {
				bl.AppendNull()
			} else {
				bl.Append(x.Value(i) > k)
			}
		}
		return bl.NewArray(), nil
	})
}

func testRegistry() *kernels.Registry {
	r := kernels.NewRegistry()
	agg.Register(r)
	return r
}

// aggCalls returns count(*), sum(v), min(v), max(v) over column v.
func aggCalls(t testing.TB, v int) ([]AggCall, []types.T) {
	reg := testRegistry()
	var calls []AggCall
	var ts []types.T
	for _, spec := range []struct {
		name string
		args []int
	}{{"count", nil}, {"sum", []int{v}}, {"min", []int{v}}, {"max", []int{v}}} {
		at := make([]types.T, len(spec.args))
		for i := range at {
			at[i] = types.Int8T
		}
		c, err := LookupAgg(reg, spec.name, spec.args, at)
		require.NoError(t, err)
		calls = append(calls, c)
		ts = append(ts, c.Type)
	}
	return calls, ts
}

// pipeline is one test dataflow: changelogs feeding a view.
type pipeline struct {
	logs  []*Changelog
	coord *Coordinator
	tap   *tap
	mat   *Materialize
	ts    []types.T // view column types
}

// buildPipeline builds a named dataflow over int8 tables.
func buildPipeline(t testing.TB, name string) *pipeline {
	return buildPipelineMem(t, name, memory.DefaultAllocator)
}

// buildPipelineMem builds the pipeline with executors allocating from mem.
func buildPipelineMem(t testing.TB, name string, mem memory.Allocator) *pipeline {
	p := &pipeline{coord: NewCoordinator()}
	ectx := &kernels.EvalContext{Mem: mem}
	source := func(names ...string) (Executor, []types.T) {
		s, ts := int8Schema(names...)
		l := NewChangelog(s)
		p.logs = append(p.logs, l)
		p.coord.AddChangelog(l)
		sub, err := l.Subscribe(0)
		require.NoError(t, err)
		return NewSource(sub), ts
	}
	var top Executor
	var keyCols []int
	switch name {
	case "project":
		in, _ := source("a", "b")
		s, ts := int8Schema("a", "sum")
		pr, err := NewProject(in, []Evaluator{colEval(0), int8Op(0, 1, func(x, y int64) int64 { return x + y })}, s)
		require.NoError(t, err)
		top, p.ts = pr, ts
	case "filter":
		in, ts := source("a", "b")
		top, p.ts = NewFilter(in, gtConst(1, 3)).WithAllocator(mem), ts
	case "agg", "agg_global":
		in, ts := source("k", "v")
		calls, ats := aggCalls(t, 1)
		group := []int{0}
		if name == "agg_global" {
			group = nil
		} else {
			ats = append([]types.T{types.Int8T}, ats...)
			keyCols = []int{0}
		}
		h, err := NewHashAggregate(in, ts, group, calls, ectx)
		require.NoError(t, err)
		if group == nil {
			keyCols = []int{}
		}
		top, p.ts = h, ats
	case "distinct":
		// SELECT DISTINCT a, b FROM t: a group per distinct row, no aggregates.
		in, ts := source("a", "b")
		h, err := NewHashAggregate(in, ts, []int{0, 1}, nil, ectx)
		require.NoError(t, err)
		top, p.ts, keyCols = h, ts, []int{0, 1}
	case "join_inner", "join_left", "join_right", "join_full":
		l, lts := source("a", "b")
		r, rts := source("c", "d")
		jt := map[string]JoinType{"join_inner": InnerJoin, "join_left": LeftJoin, "join_right": RightJoin, "join_full": FullJoin}[name]
		j, err := NewHashJoin(l, r, lts, rts, []int{0}, []int{0}, jt)
		require.NoError(t, err)
		top, p.ts = j.WithAllocator(mem), append(append([]types.T(nil), lts...), rts...)
	case "condjoin_inner", "condjoin_left", "condjoin_right", "condjoin_full":
		// ON a = c AND b > d
		l, lts := source("a", "b")
		r, rts := source("c", "d")
		jt := map[string]JoinType{"condjoin_inner": InnerJoin, "condjoin_left": LeftJoin, "condjoin_right": RightJoin, "condjoin_full": FullJoin}[name]
		j, err := NewHashJoin(l, r, lts, rts, []int{0}, []int{0}, jt)
		require.NoError(t, err)
		j = j.WithCondition(func(l, r []types.Datum) (bool, error) {
			if l[1] == nil || r[1] == nil {
				return false, nil
			}
			return l[1].(int64) > r[1].(int64), nil
		})
		top, p.ts = j.WithAllocator(mem), append(append([]types.T(nil), lts...), rts...)
	case "union":
		l, ts := source("a", "b")
		r, _ := source("a", "b")
		u, err := NewUnion(ts, l, r)
		require.NoError(t, err)
		top, p.ts = u, ts
	case "join_agg":
		// SELECT a, count(*), sum(d), min(d), max(d) FROM t0 JOIN t1 ON a = c GROUP BY a
		l, lts := source("a", "b")
		r, rts := source("c", "d")
		j, err := NewHashJoin(l, r, lts, rts, []int{0}, []int{0}, InnerJoin)
		require.NoError(t, err)
		calls, ats := aggCalls(t, 3)
		h, err := NewHashAggregate(j.WithAllocator(mem), append(append([]types.T(nil), lts...), rts...), []int{0}, calls, ectx)
		require.NoError(t, err)
		top, p.ts, keyCols = h, append([]types.T{types.Int8T}, ats...), []int{0}
	default:
		t.Fatalf("unknown pipeline %q", name)
	}
	p.tap = newTap(top, p.ts)
	commit, err := p.coord.RegisterView(name, 0)
	require.NoError(t, err)
	p.mat, err = NewMaterialize(p.tap, p.ts, keyCols, nil, commit)
	require.NoError(t, err)
	p.mat.WithAllocator(mem)
	return p
}

// pullBarrier drives the view synchronously until it passes a barrier.
func (p *pipeline) pullBarrier(t testing.TB, ctx context.Context) uint64 {
	for {
		m, err := p.mat.Next(ctx)
		require.NoError(t, err)
		require.NotNil(t, m, "stream ended before a barrier")
		if b, ok := m.(Barrier); ok {
			return b.Epoch
		}
	}
}

func (p *pipeline) view(t testing.TB, ctx context.Context, e uint64) []string {
	bs, err := p.mat.Read(ctx, e)
	require.NoError(t, err)
	var out []string
	for _, b := range bs {
		out = append(out, formatRows(b, p.ts)...)
		b.Release()
	}
	return out
}

func (p *pipeline) close() {
	_ = p.mat.Close()
	for _, l := range p.logs {
		l.Release()
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
