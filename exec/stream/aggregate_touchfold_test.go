package stream

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/fin"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
)

// ewmaGeneric wraps ewma as the planner wraps a non-retractable aggregate
// (results one at a time and batched, state save/restore) and hides its
// kernels.TouchFolder: HashAggregate takes the generic touch-then-Update
// path. Its Retract ignores the rows (test-only: both variants see the
// same retractions, so the row counts and emitted changes must agree).
type ewmaGeneric struct{ kernels.GroupedAcc }

func (a ewmaGeneric) Retract(*kernels.EvalContext, []uint32, []arrow.Array) error { return nil }

func (a ewmaGeneric) AppendResult(ctx *kernels.EvalContext, g uint32, b array.Builder) error {
	return a.GroupedAcc.(kernels.GroupResulter).AppendResult(ctx, g, b)
}

func (a ewmaGeneric) AppendGroupResults(ctx *kernels.EvalContext, gs []uint32, b array.Builder) error {
	return a.GroupedAcc.(GroupResultsAppender).AppendGroupResults(ctx, gs, b)
}

func (a ewmaGeneric) AppendGroupState(dst []byte, g uint32) []byte {
	return a.GroupedAcc.(kernels.GroupStater).AppendGroupState(dst, g)
}

func (a ewmaGeneric) LoadGroupState(g uint32, src []byte) error {
	return a.GroupedAcc.(kernels.GroupStater).LoadGroupState(g, src)
}

// ewmaFused is ewmaGeneric forwarding FoldTouch, counting the chunks it
// folded fused.
type ewmaFused struct {
	ewmaGeneric
	fused *int
}

func (a ewmaFused) FoldTouch(ctx *kernels.EvalContext, groups []uint32, args []arrow.Array, t *kernels.Touch) (bool, error) {
	ok, err := a.GroupedAcc.(kernels.TouchFolder).FoldTouch(ctx, groups, args, t)
	if ok {
		*a.fused++
	}
	return ok, err
}

// tfRow is one input row: k int8, x float8, a float8 (nil = NULL).
type tfRow struct {
	op   Op
	k    *int64
	x, a *float64
}

func tfSchema() (*arrow.Schema, []types.T) {
	ts := []types.T{types.Int8T, types.Float8T, types.Float8T}
	fs := make([]arrow.Field, len(ts))
	for i, n := range []string{"k", "x", "a"} {
		fs[i] = types.ArrowField(n, ts[i])
	}
	return arrow.NewSchema(fs, nil), ts
}

func tfChunk(mem memory.Allocator, rows []tfRow) *Chunk {
	schema, _ := tfSchema()
	kb := array.NewInt64Builder(mem)
	xb := array.NewFloat64Builder(mem)
	ab := array.NewFloat64Builder(mem)
	defer kb.Release()
	defer xb.Release()
	defer ab.Release()
	ops := make([]Op, len(rows))
	for i, r := range rows {
		ops[i] = r.op
		if r.k == nil {
			kb.AppendNull()
		} else {
			kb.Append(*r.k)
		}
		for _, p := range []struct {
			b *array.Float64Builder
			v *float64
		}{{xb, r.x}, {ab, r.a}} {
			if p.v == nil {
				p.b.AppendNull()
			} else {
				p.b.Append(*p.v)
			}
		}
	}
	cols := []arrow.Array{kb.NewArray(), xb.NewArray(), ab.NewArray()}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return &Chunk{Batch: array.NewRecordBatch(schema, cols, int64(len(rows))), Ops: ops}
}

type tfOpts struct {
	nulls, deletes, wm, singleRow bool
	badAlpha                      bool
}

// tfMessages generates epochs of chunks: mostly NULL-free chunks with one
// alpha (the fused path), some with NULL keys, values or alphas, per-row
// alphas, alpha 1, deletes of earlier rows, watermarks on k, single-row
// groups (fresh keys), and with badAlpha a chunk with an alpha outside
// (0, 1].
func tfMessages(rng *rand.Rand, mem memory.Allocator, o tfOpts) []Message {
	var msgs []Message
	var live []tfRow
	nk := int64(3 + rng.IntN(60))
	low, fresh := int64(0), int64(1_000_000)
	f := func(v float64) *float64 { return &v }
	epochs := 8 + rng.IntN(12)
	for e := 1; e <= epochs; e++ {
		for c := rng.IntN(4); c >= 0; c-- {
			n := []int{1, 2, 5, 64, 300, 1500}[rng.IntN(6)]
			alpha := []float64{0.25, 0.5, 0.06, 1}[rng.IntN(4)]
			kind := rng.IntN(10)
			var rows []tfRow
			for len(rows) < n {
				if o.deletes && len(live) > 0 && rng.IntN(6) == 0 {
					i := rng.IntN(len(live))
					d := live[i]
					d.op = Delete
					if rng.IntN(2) == 0 {
						d.op = UpdateDelete
					}
					rows = append(rows, d)
					live[i] = live[len(live)-1]
					live = live[:len(live)-1]
					continue
				}
				k := low + rng.Int64N(nk)
				if o.singleRow && rng.IntN(8) == 0 {
					k, fresh = fresh, fresh+1
				}
				r := tfRow{op: Insert, k: &k, x: f(100 + float64(rng.IntN(2000))/16), a: f(alpha)}
				switch {
				case o.nulls && kind == 0 && rng.IntN(5) == 0:
					r.k = nil
				case o.nulls && kind == 1 && rng.IntN(5) == 0:
					r.x = nil
				case o.nulls && kind == 2 && rng.IntN(5) == 0:
					r.a = nil
				case kind == 3:
					r.a = f([]float64{0.1, 0.9, 1}[rng.IntN(3)])
				}
				if rng.IntN(50) == 0 {
					r.x = f([]float64{math.Inf(1), math.Inf(-1), math.NaN()}[rng.IntN(3)])
				}
				rows = append(rows, r)
				live = append(live, r)
			}
			if o.badAlpha && e == epochs/2 && c == 0 {
				rows[len(rows)-1].a = f([]float64{0, 1.5, -0.25, math.NaN()}[rng.IntN(4)])
			}
			msgs = append(msgs, tfChunk(mem, rows))
		}
		if o.wm && rng.IntN(3) == 0 {
			low += int64(1 + rng.IntN(4))
			msgs = append(msgs, Watermark{Col: 0, Value: low})
			kept := live[:0]
			for _, r := range live {
				if r.k == nil || *r.k >= low {
					kept = append(kept, r)
				}
			}
			live = kept
		}
		msgs = append(msgs, Barrier{Epoch: uint64(e)})
	}
	return msgs
}

// tfCalls returns count(*), sum(x) and ewma(x, a) (fused or generic), in an
// order set by perm, the fused accumulators counting into fused.
func tfCalls(t *testing.T, fused bool, perm int, count *int) []AggCall {
	reg := testRegistry()
	fin.Register(reg)
	_, ts := tfSchema()
	cnt, err := LookupAgg(reg, "count", nil, nil)
	require.NoError(t, err)
	sum, err := LookupAgg(reg, "sum", []int{1}, []types.T{ts[1]})
	require.NoError(t, err)
	fn := reg.Aggs("ewma")[0]
	f8 := []types.T{types.Float8T, types.Float8T}
	ew := AggCall{Name: "ewma", Args: []int{1, 2}, Type: types.Float8T, New: func() kernels.GroupedAcc {
		g := ewmaGeneric{fn.New(f8, types.Float8T)}
		if fused {
			return ewmaFused{g, count}
		}
		return g
	}}
	switch perm % 3 {
	case 0:
		return []AggCall{ew, cnt, sum}
	case 1:
		return []AggCall{cnt, ew, sum}
	}
	return []AggCall{sum, cnt, ew}
}

// tfRun drives a HashAggregate grouped by k over msgs (spilling under
// budget into a fresh memory table when budget > 0) and returns its
// changelog per epoch and the error that stopped it.
func tfRun(t *testing.T, mem memory.Allocator, msgs []Message, calls []AggCall, budget int64) ([][]string, error) {
	schema, ts := tfSchema()
	h, err := NewHashAggregate(&script{schema: schema, msgs: msgs}, ts, []int{0}, calls, &kernels.EvalContext{Mem: mem})
	require.NoError(t, err)
	if budget > 0 {
		tbl, err := state.NewMemoryTable(AggSpillSchema(), mem)
		require.NoError(t, err)
		h.WithSpill(tbl, budget)
		exactEpochs(h.spill)
	}
	defer func() { require.NoError(t, h.Close()) }()
	outTypes := []types.T{types.Int8T}
	for _, c := range calls {
		outTypes = append(outTypes, c.Type)
	}
	var epochs [][]string
	var cur []string
	for {
		m, err := h.Next(t.Context())
		if err != nil {
			return epochs, err
		}
		if m == nil {
			return epochs, nil
		}
		switch m := m.(type) {
		case *Chunk:
			for i, line := range formatRows(m.Batch, outTypes) {
				cur = append(cur, m.Ops[i].String()+" "+line)
			}
			m.Release()
		case Barrier:
			epochs, cur = append(epochs, cur), nil
		case Watermark:
			cur = append(cur, fmt.Sprintf("watermark %d %v", m.Col, m.Value))
		}
	}
}

// TestHashAggregateTouchFoldRandom runs the same random input through an
// aggregate whose ewma folds and touches in one loop (kernels.TouchFolder)
// and one whose ewma hides it, and requires the same changelog per epoch
// (and the same error): NULL keys, values and alphas, per-row alphas,
// alpha 1, ±Inf/NaN values, deletes, single-row groups, watermark cleanup,
// spilling under a tiny budget, and ewma at every position among the
// aggregates. The fused path must have run.
func TestHashAggregateTouchFoldRandom(t *testing.T) {
	seed := spillSeed(t)
	for _, tc := range []struct {
		name   string
		o      tfOpts
		budget int64
	}{
		{"inserts", tfOpts{}, 0},
		{"nulls", tfOpts{nulls: true}, 0},
		{"single_row_groups", tfOpts{singleRow: true}, 0},
		{"deletes", tfOpts{deletes: true, nulls: true}, 0},
		{"watermarks", tfOpts{wm: true, nulls: true, singleRow: true}, 0},
		{"bad_alpha", tfOpts{badAlpha: true}, 0},
		{"spill", tfOpts{nulls: true, deletes: true}, 1},
		{"spill_wm", tfOpts{wm: true}, 4 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fusedChunks := 0
			for iter := 0; iter < 8; iter++ {
				msg := fmt.Sprintf("seed %d iter %d", seed, iter)
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				mk := func() []Message {
					return tfMessages(rand.New(rand.NewPCG(seed, uint64(iter)*977+uint64(len(tc.name)))), mem, tc.o)
				}
				want, wantErr := tfRun(t, mem, mk(), tfCalls(t, false, iter, nil), 0)
				n := 0
				got, gotErr := tfRun(t, mem, mk(), tfCalls(t, true, iter, &n), tc.budget)
				fusedChunks += n
				require.Equal(t, len(want), len(got), msg)
				for e := range want {
					require.Equal(t, want[e], got[e], "%s epoch %d", msg, e+1)
				}
				if tc.o.badAlpha {
					require.Error(t, wantErr, msg)
					require.Error(t, gotErr, msg)
					var pe, pg *pgerror.Error
					require.True(t, errors.As(wantErr, &pe) && errors.As(gotErr, &pg), msg)
					require.Equal(t, pe.Code, pg.Code, msg)
					require.Equal(t, pgerror.InvalidParameterValue, pg.Code, msg)
				} else {
					require.NoError(t, wantErr, msg)
					require.NoError(t, gotErr, msg)
				}
				mem.AssertSize(t, 0)
			}
			// Spilling aggregates fold fused too (groups loaded from the
			// spill table are seeded first).
			require.Positive(t, fusedChunks, "the fused path never ran")
		})
	}
}
