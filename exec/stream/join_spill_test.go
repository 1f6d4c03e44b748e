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

// joinPlanChunk is one scripted chunk of a join input.
type joinPlanChunk struct {
	rows [][]types.Datum
	ops  []Op
}

// joinPlan is a scripted changelog of both join inputs, epoch by epoch; it
// builds fresh messages for every run.
type joinPlan struct {
	tss    [2][]types.T
	keys   [2][]int
	epochs [][2][]joinPlanChunk
}

// wideKeyGen draws int8 keys from a domain of n values (NULL 1 in 25).
func wideKeyGen(n int64) func(*rand.Rand) types.Datum {
	return func(rng *rand.Rand) types.Datum {
		if rng.IntN(25) == 0 {
			return nil
		}
		return rng.Int64N(n)
	}
}

// randomJoinPlan generates epochs of random inserts, deletes and updates
// (update pairs of a live row and a new one) on both sides; gens draw the
// column values (small domains: duplicate rows and keys, NULL keys).
func randomJoinPlan(rng *rand.Rand, tss [2][]types.T, keys [2][]int, gens [2][]func(*rand.Rand) types.Datum, epochs int) joinPlan {
	p := joinPlan{tss: tss, keys: keys}
	var live [2][][]types.Datum
	newRow := func(s int) []types.Datum {
		r := make([]types.Datum, len(tss[s]))
		for c, g := range gens[s] {
			r[c] = g(rng)
		}
		return r
	}
	takeLive := func(s int) []types.Datum {
		k := rng.IntN(len(live[s]))
		r := live[s][k]
		live[s][k] = live[s][len(live[s])-1]
		live[s] = live[s][:len(live[s])-1]
		return r
	}
	for range epochs {
		var ep [2][]joinPlanChunk
		for range 1 + rng.IntN(6) {
			s := rng.IntN(2)
			n := []int{1, 3, 17, 200}[rng.IntN(4)]
			var c joinPlanChunk
			for range n {
				switch x := rng.IntN(10); {
				case len(live[s]) > 0 && x < 3:
					c.rows, c.ops = append(c.rows, takeLive(s)), append(c.ops, Delete)
				case len(live[s]) > 0 && x < 5:
					r := newRow(s)
					c.rows = append(c.rows, takeLive(s), r)
					c.ops = append(c.ops, UpdateDelete, UpdateInsert)
					live[s] = append(live[s], r)
				default:
					r := newRow(s)
					if len(live[s]) > 0 && rng.IntN(6) == 0 {
						r = live[s][rng.IntN(len(live[s]))] // a duplicate row
					}
					c.rows, c.ops = append(c.rows, r), append(c.ops, Insert)
					live[s] = append(live[s], r)
				}
			}
			ep[s] = append(ep[s], c)
		}
		p.epochs = append(p.epochs, ep)
	}
	return p
}

// inputs builds the plan's two message streams (allocated with mem).
func (p joinPlan) inputs(mem memory.Allocator) [2]*script {
	var in [2]*script
	for s := range 2 {
		schema := typedSchema(p.tss[s])
		in[s] = &script{schema: schema}
		for e, ep := range p.epochs {
			for _, c := range ep[s] {
				in[s].msgs = append(in[s].msgs, typedChunk(mem, schema, p.tss[s], c.rows, c.ops))
			}
			in[s].msgs = append(in[s].msgs, Barrier{Epoch: uint64(e + 1)})
		}
	}
	return in
}

// joinRun is the output of one run: per epoch, the changelog lines.
type joinRun struct {
	epochs [][]string
	stats  JoinSpillStats
}

// runSpillJoin runs the plan through a HashJoin of type jt, spilling to
// tables (nil: in memory) beyond maxBytes.
func runSpillJoin(t *testing.T, mem memory.Allocator, p joinPlan, jt JoinType, cond func(l, r []types.Datum) (bool, error), tables [2]state.Table, maxBytes int64) joinRun {
	in := p.inputs(mem)
	j, err := NewHashJoin(in[0], in[1], p.tss[0], p.tss[1], p.keys[0], p.keys[1], jt)
	require.NoError(t, err)
	j.WithAllocator(mem)
	if cond != nil {
		j.WithCondition(cond)
	}
	if tables[0] != nil {
		j.WithSpill(tables[0], tables[1], maxBytes)
	}
	defer func() { require.NoError(t, j.Close()) }()
	outTs := append(append([]types.T(nil), p.tss[0]...), p.tss[1]...)
	var run joinRun
	run.epochs = drainEpochs(t, j, outTs, nil)
	require.Len(t, run.epochs, len(p.epochs))
	run.stats = j.SpillStats()
	return run
}

type spillJoinCase struct {
	name     string
	tss      [2][]types.T
	keys     [2][]int
	keyGens  map[[2]int]func(*rand.Rand) types.Datum // (side, column) → generator
	withCond bool
}

func spillJoinCases() []spillJoinCase {
	return []spillJoinCase{
		{name: "int8key_wide",
			tss:     [2][]types.T{{types.Int8T, types.TextT, types.Float8T}, {types.Int8T, types.Int4T}},
			keys:    [2][]int{{0}, {0}},
			keyGens: map[[2]int]func(*rand.Rand) types.Datum{{0, 0}: wideKeyGen(60), {1, 0}: wideKeyGen(60)}},
		{name: "int2key", tss: [2][]types.T{{types.Int2T, types.TextT, types.Float8T}, {types.BoolT, types.Int2T, types.ByteaT}},
			keys: [2][]int{{0}, {1}}},
		{name: "textkey", tss: [2][]types.T{{types.TextT, types.NumericT, types.IntervalT}, {types.TextT, types.DateT}},
			keys: [2][]int{{0}, {0}}},
		{name: "numeric_int_keys", tss: [2][]types.T{{types.NumericT, types.Int4T, types.ArrayOf(types.Int4T)}, {types.Int4T, types.NumericT, types.TimestampT}},
			keys: [2][]int{{0, 1}, {1, 0}}},
		{name: "text_int_keys", tss: [2][]types.T{{types.TextT, types.Int8T, types.Float8T}, {types.Int8T, types.TextT, types.BoolT}},
			keys: [2][]int{{0, 1}, {1, 0}}},
		{name: "float_interval_keys", tss: [2][]types.T{{types.Float8T, types.IntervalT, types.TextT}, {types.IntervalT, types.Float8T}},
			keys: [2][]int{{0, 1}, {1, 0}}},
		{name: "cond", tss: [2][]types.T{{types.Int8T, types.Int8T}, {types.Int8T, types.Int8T, types.TextT}},
			keys:     [2][]int{{0}, {0}},
			keyGens:  map[[2]int]func(*rand.Rand) types.Datum{{0, 0}: wideKeyGen(20), {1, 0}: wideKeyGen(20), {0, 1}: wideKeyGen(5), {1, 1}: wideKeyGen(5)},
			withCond: true},
	}
}

func (tc spillJoinCase) plan(rng *rand.Rand, epochs int) joinPlan {
	var gens [2][]func(*rand.Rand) types.Datum
	for s := range 2 {
		for c, ty := range tc.tss[s] {
			g := tc.keyGens[[2]int{s, c}]
			if g == nil {
				g = typedGen(ty)
			}
			gens[s] = append(gens[s], g)
		}
	}
	return randomJoinPlan(rng, tc.tss, tc.keys, gens, epochs)
}

// spillJoinCond is the residual condition of the "cond" case: l.1 <= r.1
// (NULL never joins).
func spillJoinCond(l, r []types.Datum) (bool, error) {
	if l[1] == nil || r[1] == nil {
		return false, nil
	}
	return l[1].(int64) <= r[1].(int64), nil
}

func memSpillTables(t *testing.T, mem memory.Allocator) [2]state.Table {
	var ts [2]state.Table
	for s := range ts {
		ts[s] = memSpillTable(t, JoinSpillSchema(), mem)
	}
	return ts
}

// TestHashJoinSpillRandom runs the same random changelogs (inserts,
// deletes, updates on both sides; duplicates, NULL keys, multi-column and
// text keys, a residual condition) through every join type without and
// with spilling (mostly a budget of 1 byte: every barrier spills both
// sides) and requires identical output changelogs per epoch. STREAM_SEED=n reruns one
// seed.
func TestHashJoinSpillRandom(t *testing.T) {
	seed := spillSeed(t)
	for ci, tc := range spillJoinCases() {
		for _, jt := range []JoinType{InnerJoin, LeftJoin, RightJoin, FullJoin} {
			t.Run(fmt.Sprintf("%s/jt%d", tc.name, jt), func(t *testing.T) {
				for iter := range 3 {
					rng := rand.New(rand.NewPCG(seed, uint64(ci*100+int(jt)*10+iter)))
					p := tc.plan(rng, 4+rng.IntN(10))
					var cond func(l, r []types.Datum) (bool, error)
					if tc.withCond {
						cond = spillJoinCond
					}
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					want := runSpillJoin(t, mem, p, jt, cond, [2]state.Table{}, 0)
					// Iteration 1 spills only when a side grew past
					// 16 KiB: sometimes one side, sometimes none.
					budget := []int64{1, 16 << 10, 1}[iter]
					got := runSpillJoin(t, mem, p, jt, cond, memSpillTables(t, mem), budget)
					require.Equal(t, want.epochs, got.epochs, "seed %d iter %d", seed, iter)
					require.True(t, got.stats.Active)
					if budget == 1 {
						require.Positive(t, got.stats.Spills)
					}
					mem.AssertSize(t, 0)
				}
			})
		}
	}
}

// TestHashJoinSpillColumnar spills into columnar tables on disk.
func TestHashJoinSpillColumnar(t *testing.T) {
	seed := spillSeed(t)
	f := &backends.Factory{Dir: t.TempDir()}
	defer func() { require.NoError(t, f.Close()) }()
	for ci, tc := range spillJoinCases() {
		jt := []JoinType{InnerJoin, LeftJoin, RightJoin, FullJoin}[ci%4]
		rng := rand.New(rand.NewPCG(seed, uint64(ci)))
		p := tc.plan(rng, 12)
		var cond func(l, r []types.Datum) (bool, error)
		if tc.withCond {
			cond = spillJoinCond
		}
		mem := memory.NewGoAllocator()
		want := runSpillJoin(t, mem, p, jt, cond, [2]state.Table{}, 0)
		var tables [2]state.Table
		for s := range tables {
			tbl, err := f.Open(t.Context(), state.BackendColumnar, "join"+strconv.Itoa(ci)+"_"+strconv.Itoa(s), JoinSpillSchema())
			require.NoError(t, err)
			tables[s] = tbl
		}
		got := runSpillJoin(t, mem, p, jt, cond, tables, 1)
		require.Equal(t, want.epochs, got.epochs, "seed %d case %s", seed, tc.name)
		require.Positive(t, got.stats.LoadedBuckets, tc.name)
	}
}

// TestHashJoinSpillBudget: with a budget the state stays under, nothing
// spills; with one it exceeds, only some barriers spill and the output is
// still the unbounded join's.
func TestHashJoinSpillBudget(t *testing.T) {
	seed := spillSeed(t)
	tc := spillJoinCases()[0]
	rng := rand.New(rand.NewPCG(seed, 1))
	p := tc.plan(rng, 20)
	mem := memory.NewGoAllocator()
	want := runSpillJoin(t, mem, p, FullJoin, nil, [2]state.Table{}, 0)
	got := runSpillJoin(t, mem, p, FullJoin, nil, memSpillTables(t, mem), 1<<40)
	require.Equal(t, want.epochs, got.epochs)
	require.Zero(t, got.stats.Spills)
	require.Zero(t, got.stats.Lookups)
	got = runSpillJoin(t, mem, p, FullJoin, nil, memSpillTables(t, mem), 64<<10)
	require.Equal(t, want.epochs, got.epochs)
}

// joinSteps builds one side's messages from text rows "op k v" of two
// int8 columns, "|" separating epochs.
func joinSteps(t *testing.T, mem memory.Allocator, epochs ...string) *script {
	schema, _ := int8Schema("k", "v")
	sc := &script{schema: schema}
	for e, text := range epochs {
		if text != "" {
			sc.msgs = append(sc.msgs, makeChunkMem(t, mem, schema, parseRows(t, text)))
		}
		sc.msgs = append(sc.msgs, Barrier{Epoch: uint64(e + 1)})
	}
	return sc
}

// TestHashJoinSpillDropStored: a bucket loaded from the table that empties
// is deleted from the table, so a later insert of its key does not meet the
// stale copy; the negative cache forgets keys when their side spills.
func TestHashJoinSpillDropStored(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	_, ts := int8Schema("k", "v")
	run := func(spill bool) ([][]string, JoinSpillStats) {
		left := joinSteps(t, mem,
			"+ 1 10\n+ 2 20",
			"- 1 10",
			"+ 1 11",
			"",
			"- 2 20\n+ 3 30")
		right := joinSteps(t, mem,
			"+ 1 100",
			"",
			"+ 2 200",
			"+ 3 300\n+ 1 101",
			"")
		j, err := NewHashJoin(left, right, ts, ts, []int{0}, []int{0}, FullJoin)
		require.NoError(t, err)
		j.WithAllocator(mem)
		if spill {
			tables := memSpillTables(t, mem)
			j.WithSpill(tables[0], tables[1], 1)
		}
		defer func() { require.NoError(t, j.Close()) }()
		var got [][]string
		var cur []string
		for {
			m, err := j.Next(t.Context())
			require.NoError(t, err)
			if m == nil {
				return got, j.SpillStats()
			}
			switch m := m.(type) {
			case *Chunk:
				for i, line := range formatRows(m.Batch, append(ts, ts...)) {
					cur = append(cur, m.Ops[i].String()+" "+line)
				}
				m.Release()
			case Barrier:
				got = append(got, cur)
				cur = nil
			}
		}
	}
	want, _ := run(false)
	got, st := run(true)
	require.Equal(t, want, got)
	// Key 1 left the left side at epoch 2 (its loaded bucket emptied): the
	// insert of 1 11 at epoch 3 must not meet the spilled 1 10.
	require.Equal(t, [][]string{
		{"+ 1 10 NULL NULL", "+ 2 20 NULL NULL", "+ 1 10 1 100", "- 1 10 NULL NULL"},
		{"- 1 10 1 100", "+ NULL NULL 1 100"},
		{"+ 2 20 2 200", "- 2 20 NULL NULL", "+ 1 11 1 100", "- NULL NULL 1 100"},
		{"+ NULL NULL 3 300", "+ 1 11 1 101"},
		{"- 2 20 2 200", "+ NULL NULL 2 200", "+ 3 30 3 300", "- NULL NULL 3 300"},
	}, got)
	require.Positive(t, st.LoadedBuckets)
	mem.AssertSize(t, 0)
}

// TestHashJoinSpillStaleTable: buckets left in a reused table are cleared
// before the first row instead of joining.
func TestHashJoinSpillStaleTable(t *testing.T) {
	mem := memory.NewGoAllocator()
	_, ts := int8Schema("k", "v")
	tables := memSpillTables(t, mem)
	// A first join spills key 1 on the right, then stops.
	{
		j, err := NewHashJoin(joinSteps(t, mem, ""), joinSteps(t, mem, "+ 1 100"), ts, ts, []int{0}, []int{0}, InnerJoin)
		require.NoError(t, err)
		j.WithSpill(tables[0], tables[1], 1)
		drainJoin(t, j)
		require.Positive(t, j.SpillStats().SpilledBuckets)
		j.spill.sides[0].t, j.spill.sides[1].t = nil, nil // keep the tables open
		require.NoError(t, j.Close())
	}
	j, err := NewHashJoin(joinSteps(t, mem, "", "+ 1 10"), joinSteps(t, mem, "", ""), ts, ts, []int{0}, []int{0}, InnerJoin)
	require.NoError(t, err)
	j.WithSpill(tables[0], tables[1], 1)
	out := drainJoin(t, j)
	require.Empty(t, out)
	require.NoError(t, j.Close())
}

// drainJoin runs j to its end and returns its output rows.
func drainJoin(t *testing.T, j *HashJoin) []string {
	var out []string
	for {
		m, err := j.Next(t.Context())
		require.NoError(t, err)
		if m == nil {
			return out
		}
		if c, ok := m.(*Chunk); ok {
			for i, line := range formatRows(c.Batch, append(append([]types.T(nil), j.types[0]...), j.types[1]...)) {
				out = append(out, c.Ops[i].String()+" "+line)
			}
			c.Release()
		}
	}
}

// TestHashJoinSpillCorrupt: a bucket that does not decode fails the join
// with XX001.
func TestHashJoinSpillCorrupt(t *testing.T) {
	mem := memory.NewGoAllocator()
	_, ts := int8Schema("k", "v")
	for _, val := range []string{"", "\x02", "\x01\x00", "\x01\x00\x01\x02\x05xx", "\x01\x04\x01\x02\x00"} {
		tables := memSpillTables(t, mem)
		j, err := NewHashJoin(joinSteps(t, mem, "", "+ 1 10"), joinSteps(t, mem, "+ 1 100", ""), ts, ts, []int{0}, []int{0}, InnerJoin)
		require.NoError(t, err)
		j.WithSpill(tables[0], tables[1], 1)
		// Run to the first barrier (the right side spills key 1), then
		// overwrite its bucket.
		for {
			m, err := j.Next(t.Context())
			require.NoError(t, err)
			ReleaseMessage(m)
			if _, ok := m.(Barrier); ok {
				break
			}
		}
		key, err := j.spill.sides[1].spillKey(nil, []arrow.Array{int8Array(mem, 1)}, ts[:1], 0)
		require.NoError(t, err)
		bld := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		bld.Append([]byte(val))
		arr := bld.NewArray()
		bld.Release()
		vals := array.NewRecordBatch(JoinSpillSchema(), []arrow.Array{arr}, 1)
		arr.Release()
		require.NoError(t, tables[1].Write(context.Background(), [][]byte{key}, nil, vals))
		vals.Release()
		_, err = j.Next(t.Context())
		require.Error(t, err, "value %q", val)
		require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err), "value %q: %v", val, err)
		require.NoError(t, j.Close())
	}
}

func int8Array(mem memory.Allocator, vs ...int64) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vs, nil)
	return b.NewArray()
}

// TestHashJoinSpillMisconfigured: a table of the wrong schema, or one
// table of two, fails the first Next; both tables are closed by Close.
func TestHashJoinSpillMisconfigured(t *testing.T) {
	mem := memory.NewGoAllocator()
	_, ts := int8Schema("k", "v")
	wrong, err := state.NewMemoryTable(AggSpillSchema(), mem)
	require.NoError(t, err)
	good := memSpillTables(t, mem)
	for _, tables := range [][2]state.Table{{wrong, good[0]}, {good[1], nil}} {
		j, err := NewHashJoin(joinSteps(t, mem, "+ 1 1"), joinSteps(t, mem, ""), ts, ts, []int{0}, []int{0}, InnerJoin)
		require.NoError(t, err)
		j.WithSpill(tables[0], tables[1], 1)
		_, err = j.Next(t.Context())
		require.Error(t, err)
		require.NoError(t, j.Close())
	}
	_, err = good[0].Get(t.Context(), [][]byte{{1}})
	require.ErrorIs(t, err, state.ErrClosed)
}

// TestKeySet checks the join key set against a map, with ids that collide
// (distinct keys under one id) and resets.
func TestKeySet(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var ks keySet
	model := map[string]bool{}
	spell := func(id uint64, key []byte) string { return strconv.FormatUint(id, 10) + "/" + string(key) }
	for round := range 3 {
		for range 5000 {
			id := rng.Uint64N(300)
			key := []byte(strconv.Itoa(rng.IntN(4))) // four keys per id
			if rng.IntN(5) == 0 {
				key = nil
			}
			has := ks.has(id, key)
			require.Equal(t, model[spell(id, key)], has, "round %d id %d key %q", round, id, key)
			if !has {
				ks.add(id, key)
				model[spell(id, key)] = true
			}
		}
		require.Equal(t, len(model), ks.len())
		require.Positive(t, ks.bytes())
		ks.reset()
		model = map[string]bool{}
		require.False(t, ks.has(1, []byte("0")))
	}
}

// TestHashJoinSpillCleanBuckets: buckets loaded only to be probed are not
// written again by the next spill; changed ones are.
func TestHashJoinSpillCleanBuckets(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	_, ts := int8Schema("k", "v")
	tables := memSpillTables(t, mem)
	left := joinSteps(t, mem, "", "+ 1 10\n+ 2 20\n+ 3 30", "")
	right := joinSteps(t, mem, "+ 1 100\n+ 2 200\n+ 3 300\n+ 4 400", "", "+ 1 101")
	j, err := NewHashJoin(left, right, ts, ts, []int{0}, []int{0}, InnerJoin)
	require.NoError(t, err)
	j.WithAllocator(mem).WithSpill(tables[0], tables[1], 1)
	out := drainJoin(t, j)
	require.Equal(t, []string{"+ 1 10 1 100", "+ 2 20 2 200", "+ 3 30 3 300", "+ 1 10 1 101"}, out)
	st := j.SpillStats()
	// Epoch 1: the right side's 4 buckets. Epoch 2: the left side's 3 new
	// buckets (the right's 3 loaded buckets are unchanged). Epoch 3: the
	// right's bucket 1 changed; the left's loaded bucket 1 did not.
	require.Equal(t, int64(4+3+1), st.SpilledBuckets)
	require.Equal(t, int64(3+1+1), st.LoadedBuckets)
	require.NoError(t, j.Close())
	mem.AssertSize(t, 0)
}
