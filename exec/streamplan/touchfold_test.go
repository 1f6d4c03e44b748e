package streamplan

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/agg"
	"github.com/sabotsql/sabotsql/exec/kernels/fin"
	"github.com/sabotsql/sabotsql/exec/kernels/funcs"
	"github.com/sabotsql/sabotsql/exec/kernels/ops"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// ewmaProbe stands for ewma's accumulator in a test registry: it forwards
// everything the planner and the aggregate look for (results one at a
// time and batched, state save/restore) but its fused fold, which
// ewmaProbeFused adds.
type ewmaProbe struct{ kernels.GroupedAcc }

func (a ewmaProbe) AppendResult(ctx *kernels.EvalContext, g uint32, b array.Builder) error {
	return a.GroupedAcc.(kernels.GroupResulter).AppendResult(ctx, g, b)
}

func (a ewmaProbe) AppendGroupResults(ctx *kernels.EvalContext, gs []uint32, b array.Builder) error {
	return a.GroupedAcc.(stream.GroupResultsAppender).AppendGroupResults(ctx, gs, b)
}

func (a ewmaProbe) AppendGroupState(dst []byte, g uint32) []byte {
	return a.GroupedAcc.(kernels.GroupStater).AppendGroupState(dst, g)
}

func (a ewmaProbe) LoadGroupState(g uint32, src []byte) error {
	return a.GroupedAcc.(kernels.GroupStater).LoadGroupState(g, src)
}

// ewmaProbeFused forwards ewma's fused fold, counting the chunks folded.
type ewmaProbeFused struct {
	ewmaProbe
	fused *int
}

func (a ewmaProbeFused) FoldTouch(ctx *kernels.EvalContext, groups []uint32, args []arrow.Array, t *kernels.Touch) (bool, error) {
	ok, err := a.GroupedAcc.(kernels.TouchFolder).FoldTouch(ctx, groups, args, t)
	if ok {
		*a.fused++
	}
	return ok, err
}

// ewmaRegistry is the engine's function registry with ewma's accumulator
// wrapped in an ewmaProbe (fused nil: its fused fold hidden) or an
// ewmaProbeFused counting into fused.
func ewmaRegistry(fused *int) *kernels.Registry {
	reg := kernels.NewRegistry()
	ops.Register(reg)
	funcs.Register(reg)
	agg.Register(reg)
	fin.Register(reg)
	for _, f := range reg.Aggs("ewma") {
		inner := f.New
		f.New = func(args []types.T, ret types.T) kernels.GroupedAcc {
			p := ewmaProbe{inner(args, ret)}
			if fused == nil {
				return p
			}
			return ewmaProbeFused{p, fused}
		}
	}
	return reg
}

// ticksTable (sym int8, px float8) is an APPEND ONLY table: per epoch a
// few chunks of random ticks over 40 symbols, one of them with NULL prices
// (which ewma's fused fold refuses: that chunk takes the generic path).
type ticksTable struct{ seed uint64 }

func ticksSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{types.ArrowField("sym", types.Int8T), types.ArrowField("px", types.Float8T)}, nil)
}

func (tt ticksTable) Relation(_ context.Context, _ catalog.ObjectID) (stream.Executor, RelInfo, error) {
	rng := rand.New(rand.NewPCG(tt.seed, 7))
	src := &msgSource{schema: ticksSchema()}
	mem := memory.DefaultAllocator
	for e := uint64(1); e <= 6; e++ {
		for c := range 3 {
			sb, pb := array.NewInt64Builder(mem), array.NewFloat64Builder(mem)
			n := 1 + rng.IntN(200)
			for range n {
				sb.Append(rng.Int64N(40))
				if e == 3 && c == 1 && rng.IntN(4) == 0 {
					pb.AppendNull()
				} else {
					pb.Append(100 + rng.NormFloat64())
				}
			}
			sa, pa := sb.NewArray(), pb.NewArray()
			src.msgs = append(src.msgs, &stream.Chunk{Batch: array.NewRecordBatch(src.schema, []arrow.Array{sa, pa}, int64(n)), Ops: make([]stream.Op, n)})
			sa.Release()
			pa.Release()
			sb.Release()
			pb.Release()
		}
		src.msgs = append(src.msgs, stream.Barrier{Epoch: e})
	}
	return src, RelInfo{AppendOnly: true, WatermarkCol: -1}, nil
}

func (ticksTable) Ticks(context.Context) (stream.Executor, error) {
	return nil, fmt.Errorf("no ticks")
}

// TestEWMAViewFoldsFused: the query of
//
//	CREATE MATERIALIZED VIEW v AS SELECT sym, ewma(px, 0.9) FROM t GROUP BY sym
//
// over an APPEND ONLY table, planned as the engine plans it, builds a
// HashAggregate that folds ewma's chunks on the fused path (the planner's
// append-only wrapper forwards kernels.TouchFolder) and emits, epoch by
// epoch, the changelog of the same plan with the fused fold hidden
// (touch then Update) — also with spill tables, under a budget that never
// spills and one that spills at every barrier.
func TestEWMAViewFoldsFused(t *testing.T) {
	cat := catalog.New()
	require.NoError(t, cat.Add(&catalog.Table{ID: cat.NextID(), Schema: "public", Name: "t", AppendOnly: true,
		Columns: []catalog.Column{{Name: "sym", T: types.Int8T}, {Name: "px", T: types.Float8T}}}, nil))
	st, err := parser.ParseOne("CREATE MATERIALIZED VIEW v AS SELECT sym, ewma(px, 0.9) FROM t GROUP BY sym")
	require.NoError(t, err)
	ctas := st.AST.GetCreateTableAsStmt()
	require.NotNil(t, ctas)
	plan := func(reg *kernels.Registry) planner.Node {
		p := &planner.Planner{Cat: cat, Reg: reg, Ctx: &types.Ctx{}}
		q, err := p.PlanSelect(ctas.Query)
		require.NoError(t, err)
		return q.Plan
	}
	env := &exec.Env{Eval: &kernels.EvalContext{Mem: memory.DefaultAllocator}}
	for seed := uint64(1); seed <= 4; seed++ {
		in := ticksTable{seed: seed}
		want := runPlan(t, &Builder{Env: env, Reg: ewmaRegistry(nil), In: in}, plan(ewmaRegistry(nil)))
		require.Len(t, want, 6)
		require.NotEmpty(t, want[0])
		for _, spill := range []int64{0, 1 << 30, 1} {
			msg := fmt.Sprintf("seed %d spill budget %d", seed, spill)
			fused := 0
			reg := ewmaRegistry(&fused)
			b := &Builder{Env: env, Reg: reg, In: in}
			var roles []string
			if spill > 0 {
				b.States, b.SpillBytes = memStates(&roles), spill
			}
			got := runPlan(t, b, plan(reg))
			if spill == 1 {
				// Spilling mid-epoch emits an epoch's changes in
				// several steps: the view's contents per epoch agree.
				require.Equal(t, viewContents(t, want), viewContents(t, got), msg)
			} else {
				require.Equal(t, want, got, msg)
			}
			// 18 chunks, one with NULL prices: 17 fold fused.
			require.Equal(t, 17, fused, msg)
			if spill > 0 {
				require.Equal(t, []string{"agg1"}, roles, msg)
				require.Len(t, b.Spilling, 1, msg)
				ss := b.Spilling[0].SpillStats() // (closed: no longer Active)
				if spill == 1 {
					require.Positive(t, ss.Spills, msg)
					require.Positive(t, ss.LoadedGroups, msg)
				} else {
					require.Zero(t, ss.Spills, msg)
				}
			}
		}
	}
}

// viewContents applies a changelog epoch by epoch ("op key value" rows)
// and returns the view after each epoch (key → value).
func viewContents(t *testing.T, epochs [][]string) []map[string]string {
	view := map[string]string{}
	var out []map[string]string
	for _, e := range epochs {
		for _, row := range e {
			f := strings.Fields(row)
			require.Len(t, f, 3, row)
			switch f[0] {
			case "+", "U+":
				_, dup := view[f[1]]
				require.False(t, dup, "insert of a present key: %s", row)
				view[f[1]] = f[2]
			default:
				require.Equal(t, f[2], view[f[1]], "retraction of another row: %s", row)
				delete(view, f[1])
			}
		}
		out = append(out, maps.Clone(view))
	}
	return out
}

// TestWrappersForwardFoldTouch: ewma over an append-only input keeps its
// fused fold through the planner's wrapper; FILTER (which masks rows)
// hides it.
func TestWrappersForwardFoldTouch(t *testing.T) {
	reg := kernels.NewRegistry()
	fin.Register(reg)
	fn := reg.Aggs("ewma")[0]
	f8 := []types.T{types.Float8T, types.Float8T}
	call, err := aggCall("e", planner.AggCall{Fn: fn, T: types.Float8T}, f8, true)
	require.NoError(t, err)
	acc := call.New()
	_, ok := acc.(kernels.TouchFolder)
	require.True(t, ok, "%T hides kernels.TouchFolder", acc)
	for _, iface := range []func(kernels.GroupedAcc) bool{
		func(a kernels.GroupedAcc) bool { _, ok := a.(kernels.GroupStater); return ok },
		func(a kernels.GroupedAcc) bool { _, ok := a.(stream.GroupResultsAppender); return ok },
		func(a kernels.GroupedAcc) bool { _, ok := a.(kernels.Retractor); return ok },
		func(a kernels.GroupedAcc) bool { _, ok := a.(kernels.GroupResulter); return ok },
	} {
		require.True(t, iface(acc), "%T", acc)
	}
	// The append-only refusal holds.
	require.Error(t, acc.(kernels.Retractor).Retract(&kernels.EvalContext{}, nil, nil))

	filtered := withState(newFilterAcc(call.New()))
	_, ok = filtered.(kernels.TouchFolder)
	require.False(t, ok, "%T forwards the fused fold past FILTER", filtered)
	_, ok = filtered.(stream.GroupResultsAppender)
	require.True(t, ok)
}
