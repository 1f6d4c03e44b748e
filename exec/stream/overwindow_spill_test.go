package stream

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/backends"
)

// rowNumberAndCount is row_number() and count(*) OVER (PARTITION BY …) of
// one partition.
func rowNumberAndCount(mem memory.Allocator) WindowFunc {
	return func(_ context.Context, b arrow.RecordBatch) ([]arrow.Array, error) {
		rn, cnt := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
		defer rn.Release()
		defer cnt.Release()
		n := int(b.NumRows())
		for i := range n {
			rn.Append(int64(i + 1))
			cnt.Append(int64(n))
		}
		return []arrow.Array{rn.NewArray(), cnt.NewArray()}, nil
	}
}

// runSpillWindow runs p through an OverWindow (row_number and count over
// tc's partitions and order, or, with lookback ≥ 0, rollingSum3 over
// (p, ts, v) with the append fast path), spilling to tbl (nil: in memory)
// beyond maxBytes.
func runSpillWindow(t *testing.T, mem memory.Allocator, p topnPlan, part []int, order []SortCol, lookback int, tbl state.Table, maxBytes int64, midEpoch ...bool) topnRun {
	schema := typedSchema(p.ts)
	in := &script{schema: schema}
	for e, ep := range p.epochs {
		for _, c := range ep {
			in.msgs = append(in.msgs, typedChunk(mem, schema, p.ts, c.rows, c.ops))
		}
		in.msgs = append(in.msgs, Barrier{Epoch: uint64(e + 1)})
	}
	fields := append([]arrow.Field(nil), schema.Fields()...)
	outTs := append([]types.T(nil), p.ts...)
	compute := rowNumberAndCount(mem)
	if lookback >= 0 {
		fields = append(fields, types.ArrowField("s", types.Int8T))
		outTs = append(outTs, types.Int8T)
		compute = rollingSum3
	} else {
		fields = append(fields, types.ArrowField("rn", types.Int8T), types.ArrowField("n", types.Int8T))
		outTs = append(outTs, types.Int8T, types.Int8T)
	}
	w, err := NewOverWindow(in, p.ts, arrow.NewSchema(fields, nil), part, order, compute)
	require.NoError(t, err)
	w.WithAllocator(mem)
	if lookback >= 0 {
		w.WithLookback(lookback)
	}
	if tbl != nil {
		w.WithSpill(tbl, maxBytes)
		w.spill.noMidEpoch = len(midEpoch) == 0 || !midEpoch[0]
	}
	var run topnRun
	run.epochs = drainEpochs(t, w, outTs, func() { run.peak = max(run.peak, w.StateBytes()) })
	require.Len(t, run.epochs, len(p.epochs))
	run.stats = w.SpillStats()
	require.NoError(t, w.Close())
	return run
}

func memWindowTable(t *testing.T, mem memory.Allocator) state.Table {
	return memSpillTable(t, WindowSpillSchema(), mem)
}

// TestOverWindowSpillRandom runs the random changelogs of the top-N spill
// cases through an OverWindow without and with spilling (budgets of 1
// byte, 8 KiB and half the unbounded peak) and requires identical output
// per epoch.
func TestOverWindowSpillRandom(t *testing.T) {
	seed := spillSeed(t)
	for ci, tc := range topnSpillCases() {
		t.Run(tc.name, func(t *testing.T) {
			for iter := range 3 {
				rng := rand.New(rand.NewPCG(seed, uint64(ci*10+iter)))
				p := tc.plan(rng, 4+rng.IntN(10))
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				want := runSpillWindow(t, mem, p, tc.part, tc.order, -1, nil, 0)
				budget := []int64{1, 8 << 10, want.peak / 2}[iter]
				got := runSpillWindow(t, mem, p, tc.part, tc.order, -1, memWindowTable(t, mem), budget)
				requirePartSpillMatch(t, mem, want, got, budget, len(p.epochs) > 1 && tc.part != nil, "seed %d iter %d", seed, iter)
			}
		})
	}
}

// TestOverWindowSpillLookback: the append fast path's tail is rebuilt
// when a partition loads, so appends after a spill compute as before.
func TestOverWindowSpillLookback(t *testing.T) {
	seed := spillSeed(t)
	ts := []types.T{types.Int8T, types.Int8T, types.Int8T}
	for iter := range 4 {
		rng := rand.New(rand.NewPCG(seed, uint64(iter)))
		gens := []func(*rand.Rand) types.Datum{
			func(r *rand.Rand) types.Datum { return r.Int64N(12) },
			func(r *rand.Rand) types.Datum { return r.Int64N(1000) },
			func(r *rand.Rand) types.Datum { return r.Int64N(50) },
		}
		p := randomTopNPlan(rng, ts, gens, 15)
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		want := runSpillWindow(t, mem, p, []int{0}, []SortCol{{Col: 1}}, 2, nil, 0)
		got := runSpillWindow(t, mem, p, []int{0}, []SortCol{{Col: 1}}, 2, memWindowTable(t, mem), []int64{1, 4 << 10}[iter%2])
		require.Equal(t, want.epochs, got.epochs, "seed %d iter %d", seed, iter)
		require.Positive(t, got.stats.Spills)
		mem.AssertSize(t, 0)
	}
}

// TestOverWindowSpillColumnar spills into columnar tables on disk.
func TestOverWindowSpillColumnar(t *testing.T) {
	seed := spillSeed(t)
	f := &backends.Factory{Dir: t.TempDir()}
	defer func() { require.NoError(t, f.Close()) }()
	for ci, tc := range topnSpillCases() {
		for bi, budget := range []int64{1, 8 << 10} {
			p := tc.plan(rand.New(rand.NewPCG(seed, uint64(ci))), 12)
			mem := memory.NewGoAllocator()
			want := runSpillWindow(t, mem, p, tc.part, tc.order, -1, nil, 0)
			tbl, err := f.Open(t.Context(), state.BackendColumnar, "window"+strconv.Itoa(ci)+"_"+strconv.Itoa(bi), WindowSpillSchema())
			require.NoError(t, err)
			got := runSpillWindow(t, mem, p, tc.part, tc.order, -1, tbl, budget)
			require.Equal(t, want.epochs, got.epochs, "seed %d case %s budget %d", seed, tc.name, budget)
			if budget == 1 {
				require.Positive(t, got.stats.Spills, tc.name)
			}
		}
	}
}

// TestOverWindowSpillRewrites: only new and changed partitions are
// written, an emptied stored partition is deleted, and a corrupt value
// fails the lookup with a data-corrupted error.
func TestOverWindowSpillRewrites(t *testing.T) {
	mem := memory.NewGoAllocator()
	tbl := memWindowTable(t, mem)
	in := topnSteps(t, mem,
		[]string{"+1 10", "+2 20", "+3 30"},
		[]string{"+1 11"},
		[]string{"-2 20"},
		[]string{"+3 31"},
	)
	ts := []types.T{types.Int8T, types.Int8T}
	fields := append(append([]arrow.Field(nil), in.schema.Fields()...), types.ArrowField("rn", types.Int8T), types.ArrowField("n", types.Int8T))
	w, err := NewOverWindow(in, ts, arrow.NewSchema(fields, nil), []int{0}, []SortCol{{Col: 1}}, rowNumberAndCount(mem))
	require.NoError(t, err)
	w.WithSpill(tbl, 1)
	w.spill.noMidEpoch = true
	defer func() { require.NoError(t, w.Close()) }()
	var spilled, keys []int64
	for len(spilled) < 3 {
		m, err := w.Next(t.Context())
		require.NoError(t, err)
		if _, ok := m.(Barrier); ok {
			spilled = append(spilled, w.SpillStats().SpilledPartitions)
			var n int64
			var ks [][]byte
			require.NoError(t, tbl.Scan(t.Context(), state.KeyRange{}, func(k [][]byte, _ arrow.RecordBatch) error {
				n += int64(len(k))
				for _, x := range k {
					ks = append(ks, append([]byte(nil), x...))
				}
				return nil
			}))
			keys = append(keys, n)
			if len(spilled) == 3 {
				// Damage every stored partition.
				b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
				for range ks {
					b.Append([]byte{windowSpillVersion, 9})
				}
				arr := b.NewArray()
				b.Release()
				vals := array.NewRecordBatch(WindowSpillSchema(), []arrow.Array{arr}, int64(len(ks)))
				arr.Release()
				require.NoError(t, tbl.Write(t.Context(), ks, nil, vals))
				vals.Release()
			}
		}
		ReleaseMessage(m)
	}
	require.Equal(t, []int64{3, 4, 4}, spilled)
	require.Equal(t, []int64{3, 3, 2}, keys)
	_, err = w.Next(t.Context())
	require.Error(t, err)
	require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
}
