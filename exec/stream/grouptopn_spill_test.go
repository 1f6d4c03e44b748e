package stream

import (
	"context"
	"fmt"
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

// topnPlan is a scripted changelog of one input, epoch by epoch.
type topnPlan struct {
	ts     []types.T
	epochs [][]joinPlanChunk
}

// randomTopNPlan draws epochs of random inserts, deletes, updates and
// duplicate rows; gens draw the column values.
func randomTopNPlan(rng *rand.Rand, ts []types.T, gens []func(*rand.Rand) types.Datum, epochs int) topnPlan {
	p := topnPlan{ts: ts}
	var live [][]types.Datum
	newRow := func() []types.Datum {
		r := make([]types.Datum, len(ts))
		for c, g := range gens {
			r[c] = g(rng)
		}
		return r
	}
	takeLive := func() []types.Datum {
		k := rng.IntN(len(live))
		r := live[k]
		live[k] = live[len(live)-1]
		live = live[:len(live)-1]
		return r
	}
	for range epochs {
		var ep []joinPlanChunk
		for range 1 + rng.IntN(4) {
			n := []int{1, 3, 17, 200}[rng.IntN(4)]
			var c joinPlanChunk
			for range n {
				switch x := rng.IntN(10); {
				case len(live) > 0 && x < 3:
					c.rows, c.ops = append(c.rows, takeLive()), append(c.ops, Delete)
				case len(live) > 0 && x < 5:
					r := newRow()
					c.rows = append(c.rows, takeLive(), r)
					c.ops = append(c.ops, UpdateDelete, UpdateInsert)
					live = append(live, r)
				default:
					r := newRow()
					if len(live) > 0 && rng.IntN(6) == 0 {
						r = live[rng.IntN(len(live))]
					}
					c.rows, c.ops = append(c.rows, r), append(c.ops, Insert)
					live = append(live, r)
				}
			}
			ep = append(ep, c)
		}
		p.epochs = append(p.epochs, ep)
	}
	return p
}

type topnSpillCase struct {
	name  string
	ts    []types.T
	part  []int
	order []SortCol
	gens  map[int]func(*rand.Rand) types.Datum
}

func topnSpillCases() []topnSpillCase {
	return []topnSpillCase{
		{name: "int8part", ts: []types.T{types.Int8T, types.Int8T, types.TextT},
			part: []int{0}, order: []SortCol{{Col: 1}},
			gens: map[int]func(*rand.Rand) types.Datum{0: wideKeyGen(40), 1: wideKeyGen(6)}},
		{name: "textpart_desc", ts: []types.T{types.TextT, types.NumericT, types.Int4T},
			part: []int{0}, order: []SortCol{{Col: 1, Desc: true, NullsFirst: true}}},
		{name: "multipart", ts: []types.T{types.TextT, types.Int8T, types.Float8T, types.IntervalT},
			part: []int{0, 1}, order: []SortCol{{Col: 2}, {Col: 3, Desc: true}},
			gens: map[int]func(*rand.Rand) types.Datum{1: wideKeyGen(10)}},
		{name: "numericpart", ts: []types.T{types.NumericT, types.Int2T, types.ArrayOf(types.Int4T)},
			part: []int{0}, order: []SortCol{{Col: 1}}},
		{name: "nopart", ts: []types.T{types.Int8T, types.TextT},
			part: nil, order: []SortCol{{Col: 0}},
			gens: map[int]func(*rand.Rand) types.Datum{0: wideKeyGen(30)}},
	}
}

func (tc topnSpillCase) plan(rng *rand.Rand, epochs int) topnPlan {
	gens := make([]func(*rand.Rand) types.Datum, len(tc.ts))
	for c, ty := range tc.ts {
		gens[c] = tc.gens[c]
		if gens[c] == nil {
			gens[c] = typedGen(ty)
		}
	}
	return randomTopNPlan(rng, tc.ts, gens, epochs)
}

type topnRun struct {
	epochs [][]string
	stats  PartitionSpillStats
	peak   int64 // the largest StateBytes after a barrier
}

// runSpillTopN runs p through a GroupTopN, spilling to t (nil: in memory)
// beyond maxBytes, at barriers only unless midEpoch.
func runSpillTopN(t *testing.T, mem memory.Allocator, p topnPlan, tc topnSpillCase, fn string, limit int64, emitRank bool, tbl state.Table, maxBytes int64, midEpoch ...bool) topnRun {
	schema := typedSchema(p.ts)
	in := &script{schema: schema}
	for e, ep := range p.epochs {
		for _, c := range ep {
			in.msgs = append(in.msgs, typedChunk(mem, schema, p.ts, c.rows, c.ops))
		}
		in.msgs = append(in.msgs, Barrier{Epoch: uint64(e + 1)})
	}
	g, err := NewGroupTopN(in, p.ts, tc.part, tc.order, fn, limit, emitRank)
	require.NoError(t, err)
	g.WithAllocator(mem)
	if tbl != nil {
		g.WithSpill(tbl, maxBytes)
		g.spill.noMidEpoch = len(midEpoch) == 0 || !midEpoch[0]
	}
	outTs := p.ts
	if emitRank {
		outTs = append(append([]types.T(nil), p.ts...), types.Int8T)
	}
	var run topnRun
	run.epochs = drainEpochs(t, g, outTs, func() { run.peak = max(run.peak, g.StateBytes()) })
	require.Len(t, run.epochs, len(p.epochs))
	run.stats = g.SpillStats()
	require.NoError(t, g.Close())
	return run
}

func memTopNTable(t *testing.T, mem memory.Allocator) state.Table {
	return memSpillTable(t, TopNSpillSchema(), mem)
}

// memSpillTable is an in-memory spill table of the given value schema.
func memSpillTable(t *testing.T, schema *arrow.Schema, mem memory.Allocator) state.Table {
	tbl, err := state.NewMemoryTable(schema, mem)
	require.NoError(t, err)
	return tbl
}

// requirePartSpillMatch requires the spilling run got (under budget) to give
// the output of the in-memory run want, to be active, to spill under a
// 1-byte budget (and then to load partitions back when reload), and mem
// to be empty afterwards.
func requirePartSpillMatch(t *testing.T, mem *memory.CheckedAllocator, want, got topnRun, budget int64, reload bool, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, want.epochs, got.epochs, msgAndArgs...)
	require.True(t, got.stats.Active)
	if budget == 1 {
		require.Positive(t, got.stats.Spills)
		if reload {
			require.Positive(t, got.stats.LoadedPartitions)
		}
	}
	mem.AssertSize(t, 0)
}

// drainEpochs pulls op until its end and returns its output per epoch as
// "op row" lines (the with/without-spill comparison of the spill tests);
// afterBarrier, when set, runs after each barrier.
func drainEpochs(t *testing.T, op interface {
	Next(context.Context) (Message, error)
}, outTs []types.T, afterBarrier func()) [][]string {
	var epochs [][]string
	var cur []string
	for {
		m, err := op.Next(t.Context())
		require.NoError(t, err)
		if m == nil {
			return epochs
		}
		switch m := m.(type) {
		case *Chunk:
			for i, line := range formatRows(m.Batch, outTs) {
				cur = append(cur, m.Ops[i].String()+" "+line)
			}
			m.Release()
		case Barrier:
			epochs = append(epochs, cur)
			cur = nil
			if afterBarrier != nil {
				afterBarrier()
			}
		}
	}
}

// TestGroupTopNSpillRandom runs random changelogs (inserts, deletes,
// updates, duplicates and ties; NULL, text, numeric and multi-column
// partition keys) through GroupTopN without and with spilling — a budget
// of 1 byte (every barrier spills every partition) and a small one (some
// barriers spill) — and requires identical output per epoch.
// STREAM_SEED=n reruns one seed.
func TestGroupTopNSpillRandom(t *testing.T) {
	seed := spillSeed(t)
	for ci, tc := range topnSpillCases() {
		for fi, fn := range []string{"row_number", "rank", "dense_rank"} {
			t.Run(tc.name+"/"+fn, func(t *testing.T) {
				for iter := range 3 {
					rng := rand.New(rand.NewPCG(seed, uint64(ci*100+fi*10+iter)))
					p := tc.plan(rng, 4+rng.IntN(10))
					limit := 1 + rng.Int64N(4)
					emitRank := rng.IntN(2) == 0
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					want := runSpillTopN(t, mem, p, tc, fn, limit, emitRank, nil, 0)
					budget := []int64{1, 8 << 10, 1}[iter]
					got := runSpillTopN(t, mem, p, tc, fn, limit, emitRank, memTopNTable(t, mem), budget)
					requirePartSpillMatch(t, mem, want, got, budget, len(p.epochs) > 1 && tc.part != nil, "seed %d iter %d limit %d rank %v", seed, iter, limit, emitRank)
				}
			})
		}
	}
}

// TestGroupTopNSpillColumnar spills into columnar tables on disk.
func TestGroupTopNSpillColumnar(t *testing.T) {
	seed := spillSeed(t)
	f := &backends.Factory{Dir: t.TempDir()}
	defer func() { require.NoError(t, f.Close()) }()
	for ci, tc := range topnSpillCases() {
		fn := []string{"row_number", "rank", "dense_rank"}[ci%3]
		for bi, budget := range []int64{1, 8 << 10} {
			rng := rand.New(rand.NewPCG(seed, uint64(ci)))
			p := tc.plan(rng, 12)
			mem := memory.NewGoAllocator()
			want := runSpillTopN(t, mem, p, tc, fn, 3, true, nil, 0)
			tbl, err := f.Open(t.Context(), state.BackendColumnar, "topn"+strconv.Itoa(ci)+"_"+strconv.Itoa(bi), TopNSpillSchema())
			require.NoError(t, err)
			got := runSpillTopN(t, mem, p, tc, fn, 3, true, tbl, budget)
			require.Equal(t, want.epochs, got.epochs, "seed %d case %s budget %d", seed, tc.name, budget)
			if budget == 1 {
				require.Positive(t, got.stats.Spills, tc.name)
			}
		}
	}
}

// TestGroupTopNSpillBudget: under a budget the state stays below, nothing
// spills or is looked up; under half the peak, some barriers spill and the
// output is still the unbounded operator's.
func TestGroupTopNSpillBudget(t *testing.T) {
	seed := spillSeed(t)
	tc := topnSpillCases()[0]
	p := tc.plan(rand.New(rand.NewPCG(seed, 1)), 20)
	mem := memory.NewGoAllocator()
	want := runSpillTopN(t, mem, p, tc, "rank", 2, true, nil, 0)
	got := runSpillTopN(t, mem, p, tc, "rank", 2, true, memTopNTable(t, mem), 1<<40)
	require.Equal(t, want.epochs, got.epochs)
	require.Zero(t, got.stats.Spills)
	require.Zero(t, got.stats.Lookups)
	// Half the unbounded peak: some barriers spill.
	got = runSpillTopN(t, mem, p, tc, "rank", 2, true, memTopNTable(t, mem), want.peak/2)
	require.Equal(t, want.epochs, got.epochs)
	require.Positive(t, got.stats.Spills)
	t.Logf("budget %d: %d spills over %d epochs", want.peak/2, got.stats.Spills, len(p.epochs))
}

// topnSteps scripts int8 (partition, value) rows: each epoch is a list of
// "+p v" / "-p v" items.
func topnSteps(t *testing.T, mem memory.Allocator, epochs ...[]string) *script {
	ts := []types.T{types.Int8T, types.Int8T}
	schema := typedSchema(ts)
	in := &script{schema: schema}
	for e, items := range epochs {
		var rows [][]types.Datum
		var ops []Op
		for _, it := range items {
			var pk, v int64
			_, err := fmt.Sscanf(it[1:], "%d %d", &pk, &v)
			require.NoError(t, err)
			op := Insert
			if it[0] == '-' {
				op = Delete
			}
			rows, ops = append(rows, []types.Datum{pk, v}), append(ops, op)
		}
		if len(rows) > 0 {
			in.msgs = append(in.msgs, typedChunk(mem, schema, ts, rows, ops))
		}
		in.msgs = append(in.msgs, Barrier{Epoch: uint64(e + 1)})
	}
	return in
}

// TestGroupTopNSpillRewrites checks that a spill writes only new and
// changed partitions, that an emptied stored partition is deleted from the
// table, and that a lookup of an absent key is not repeated.
func TestGroupTopNSpillRewrites(t *testing.T) {
	mem := memory.NewGoAllocator()
	tbl := memTopNTable(t, mem)
	in := topnSteps(t, mem,
		[]string{"+1 10", "+2 20", "+3 30"}, // 3 new partitions written
		[]string{"+1 11"},                   // 1 loaded and rewritten
		[]string{"-2 20"},                   // 2 loaded, emptied: deleted
		[]string{"+4 40", "-4 40"},          // 4: looked up, absent, emptied
		[]string{"+4 41"},                   // 4 known absent: no lookup
	)
	g, err := NewGroupTopN(in, []types.T{types.Int8T, types.Int8T}, []int{0}, []SortCol{{Col: 1}}, "row_number", 1, false)
	require.NoError(t, err)
	g.WithSpill(tbl, 1)
	g.spill.noMidEpoch = true
	var spilled []int64
	var lookups []int64
	for {
		m, err := g.Next(t.Context())
		require.NoError(t, err)
		if m == nil {
			break
		}
		if b, ok := m.(Barrier); ok {
			st := g.SpillStats()
			spilled = append(spilled, st.SpilledPartitions)
			lookups = append(lookups, st.Lookups)
			// The table holds exactly the live partitions.
			var keys int
			require.NoError(t, tbl.Scan(t.Context(), state.KeyRange{}, func(k [][]byte, _ arrow.RecordBatch) error {
				keys += len(k)
				return nil
			}))
			require.Equal(t, []int{3, 3, 2, 2, 3}[b.Epoch-1], keys, "epoch %d", b.Epoch)
		}
		ReleaseMessage(m)
	}
	require.Equal(t, []int64{3, 4, 4, 4, 5}, spilled)
	require.Equal(t, []int64{0, 1, 2, 3, 3}, lookups)
	require.NoError(t, g.Close())
}

// TestGroupTopNSpillStaleTable: a table that already holds partitions is
// cleared before the first row, so a partition of an earlier run is not
// kept (nor read back).
func TestGroupTopNSpillStaleTable(t *testing.T) {
	mem := memory.NewGoAllocator()
	tbl := memTopNTable(t, mem)
	run := func(steps ...[]string) []string {
		in := topnSteps(t, mem, steps...)
		g, err := NewGroupTopN(in, []types.T{types.Int8T, types.Int8T}, []int{0}, []SortCol{{Col: 1}}, "row_number", 1, false)
		require.NoError(t, err)
		g.WithSpill(tbl, 1)
		g.spill.noMidEpoch = true
		var out []string
		for {
			m, err := g.Next(t.Context())
			require.NoError(t, err)
			if m == nil {
				break
			}
			if c, ok := m.(*Chunk); ok {
				for i, line := range formatRows(c.Batch, []types.T{types.Int8T, types.Int8T}) {
					out = append(out, c.Ops[i].String()+" "+line)
				}
			}
			ReleaseMessage(m)
		}
		// Keep the table open for the second run.
		g.spill.t = nil
		require.NoError(t, g.Close())
		return out
	}
	first := run([]string{"+1 10", "+1 5", "+9 1"}, []string{"+1 3"})
	require.Equal(t, []string{"+ 1 5", "+ 9 1", "+ 1 3", "- 1 5"}, first)
	second := run([]string{"+1 10", "+1 5"}, []string{"+1 3", "+9 3"})
	require.Equal(t, []string{"+ 1 5", "+ 1 3", "- 1 5", "+ 9 3"}, second)
	var keys int
	require.NoError(t, tbl.Scan(t.Context(), state.KeyRange{}, func(k [][]byte, _ arrow.RecordBatch) error {
		keys += len(k)
		return nil
	}))
	require.Equal(t, 2, keys)
	require.NoError(t, tbl.Close())
}

// TestGroupTopNSpillCorrupt: a damaged spilled partition fails the next
// lookup with a data-corrupted error.
func TestGroupTopNSpillCorrupt(t *testing.T) {
	mem := memory.NewGoAllocator()
	tbl := memTopNTable(t, mem)
	in := topnSteps(t, mem, []string{"+1 10"}, []string{"+1 11"})
	g, err := NewGroupTopN(in, []types.T{types.Int8T, types.Int8T}, []int{0}, []SortCol{{Col: 1}}, "rank", 1, false)
	require.NoError(t, err)
	g.WithSpill(tbl, 1)
	g.spill.noMidEpoch = true
	defer func() { require.NoError(t, g.Close()) }()
	for {
		m, err := g.Next(t.Context())
		require.NoError(t, err)
		_, isBarrier := m.(Barrier)
		ReleaseMessage(m)
		if isBarrier {
			break
		}
	}
	var keys [][]byte
	require.NoError(t, tbl.Scan(t.Context(), state.KeyRange{}, func(k [][]byte, _ arrow.RecordBatch) error {
		for _, x := range k {
			keys = append(keys, append([]byte(nil), x...))
		}
		return nil
	}))
	require.Len(t, keys, 1)
	b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	b.Append([]byte{topnSpillVersion, 0, 5, 1})
	arr := b.NewArray()
	b.Release()
	vals := array.NewRecordBatch(TopNSpillSchema(), []arrow.Array{arr}, 1)
	arr.Release()
	require.NoError(t, tbl.Write(t.Context(), keys, nil, vals))
	vals.Release()
	_, err = g.Next(t.Context())
	require.Error(t, err)
	require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
}

// TestGroupTopNSpillMisconfigured: a table of the wrong schema fails the
// first Next with an internal error.
func TestGroupTopNSpillMisconfigured(t *testing.T) {
	mem := memory.NewGoAllocator()
	tbl, err := state.NewMemoryTable(JoinSpillSchema(), mem)
	require.NoError(t, err)
	in := topnSteps(t, mem, []string{"+1 10"})
	g, err := NewGroupTopN(in, []types.T{types.Int8T, types.Int8T}, []int{0}, []SortCol{{Col: 1}}, "rank", 1, false)
	require.NoError(t, err)
	g.WithSpill(tbl, 1)
	g.spill.noMidEpoch = true
	_, err = g.Next(t.Context())
	require.Error(t, err)
	require.Equal(t, pgerror.InternalError, pgerror.CodeOf(err))
	require.NoError(t, g.Close())
}
