package stream

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/types"
)

// typedGen draws a random value of one SQL type from a small domain (so
// rows repeat and keys collide), NULL some of the time.
func typedGen(t types.T) func(rng *rand.Rand) types.Datum {
	dec := func(s string) types.Datum {
		d, _, err := apd.NewFromString(s)
		if err != nil {
			panic(err)
		}
		return d
	}
	var pick []func() types.Datum
	switch t.Family {
	case types.FamInt2, types.FamInt4, types.FamInt8:
		for v := int64(-1); v <= 2; v++ {
			pick = append(pick, func() types.Datum { return v })
		}
	case types.FamText:
		for _, s := range []string{"", "a", "bb", "a longer text value"} {
			pick = append(pick, func() types.Datum { return s })
		}
	case types.FamNumeric:
		for _, s := range []string{"1.0", "1.00", "1", "-2.5", "0"} {
			pick = append(pick, func() types.Datum { return dec(s) })
		}
	case types.FamFloat8:
		for _, f := range []float64{0.5, 0, math.Copysign(0, -1), math.NaN()} {
			pick = append(pick, func() types.Datum { return f })
		}
	case types.FamBool:
		pick = []func() types.Datum{func() types.Datum { return true }, func() types.Datum { return false }}
	case types.FamBytea:
		for _, b := range []string{"", "\x00\x01", "xyz"} {
			pick = append(pick, func() types.Datum { return []byte(b) })
		}
	case types.FamInterval:
		for _, iv := range []types.Interval{{Days: 30}, {Months: 1}, {Micros: 5}} {
			pick = append(pick, func() types.Datum { return iv })
		}
	case types.FamDate:
		for _, d := range []types.Date{0, 7, -3} {
			pick = append(pick, func() types.Datum { return d })
		}
	case types.FamTimestamp:
		for _, ts := range []types.Timestamp{0, 1_000_000, -5} {
			pick = append(pick, func() types.Datum { return ts })
		}
	case types.FamArray:
		pick = []func() types.Datum{
			func() types.Datum { return &types.Array{Elem: types.Int4T, Elems: []types.Datum{int64(1), nil}} },
			func() types.Datum { return &types.Array{Elem: types.Int4T} },
			func() types.Datum { return &types.Array{Elem: types.Int4T, Elems: []types.Datum{int64(2)}} },
		}
	default:
		panic(fmt.Sprintf("no generator for %s", t))
	}
	return func(rng *rand.Rand) types.Datum {
		if rng.IntN(100) < 8 {
			return nil
		}
		return pick[rng.IntN(len(pick))]()
	}
}

func typedSchema(ts []types.T) *arrow.Schema {
	fs := make([]arrow.Field, len(ts))
	for i, t := range ts {
		fs[i] = types.ArrowField(fmt.Sprintf("c%d", i), t)
	}
	return arrow.NewSchema(fs, nil)
}

func typedChunk(mem memory.Allocator, s *arrow.Schema, ts []types.T, rows [][]types.Datum, ops []Op) *Chunk {
	cols := make([]arrow.Array, len(ts))
	for c, t := range ts {
		b := array.NewBuilder(mem, s.Field(c).Type)
		for _, r := range rows {
			types.AppendDatum(b, r[c], t)
		}
		cols[c] = b.NewArray()
		b.Release()
	}
	rb := array.NewRecordBatch(s, cols, int64(len(rows)))
	for _, a := range cols {
		a.Release()
	}
	return &Chunk{Batch: rb, Ops: ops}
}

// canon renders a row under SQL equality (vec.AppendRowKey).
func canon(ts []types.T, r []types.Datum) string {
	s := typedSchema(ts)
	c := typedChunk(memory.DefaultAllocator, s, ts, [][]types.Datum{r}, []Op{Insert})
	defer c.Release()
	return string(vec.AppendRowKey(nil, c.Batch.Columns(), ts, 0))
}

func nullCanon(n int) string {
	b := make([]byte, n) // every column a NULL tag
	return string(b)
}

type typedJoinCase struct {
	name       string
	lts, rts   []types.T
	lkey, rkey []int
}

// TestHashJoinTypedRandom runs random changes over many column types
// (fixed-width, text, numeric with equal values of different scales,
// floats with -0 and NaN, bytea, intervals, arrays, NULLs) through every
// join type, with compaction after nearly every chunk, and checks the net
// output after each barrier against a naive join of the net inputs under
// SQL equality. STREAM_SEED=n reruns one seed.
func TestHashJoinTypedRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STREAM_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seed = v
	}
	t.Logf("seed %d (rerun with STREAM_SEED=%d)", seed, seed)
	cases := []typedJoinCase{
		{"int2key", []types.T{types.Int2T, types.TextT, types.Float8T}, []types.T{types.BoolT, types.Int2T, types.ByteaT}, []int{0}, []int{1}},
		{"textkey", []types.T{types.TextT, types.NumericT, types.IntervalT}, []types.T{types.TextT, types.DateT}, []int{0}, []int{0}},
		{"numeric_int_keys", []types.T{types.NumericT, types.Int4T, types.ArrayOf(types.Int4T)}, []types.T{types.Int4T, types.NumericT, types.TimestampT}, []int{0, 1}, []int{1, 0}},
		{"float_timestamp_keys", []types.T{types.TimestampT, types.Float8T}, []types.T{types.Float8T, types.TimestampT, types.TextT}, []int{0}, []int{1}},
	}
	for _, tc := range cases {
		for _, jt := range []JoinType{InnerJoin, LeftJoin, RightJoin, FullJoin} {
			for _, slack := range []int{0, compactSlack} {
				t.Run(fmt.Sprintf("%s/jt%d/slack%d", tc.name, jt, slack), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(seed, uint64(jt)*7+uint64(len(tc.name))+uint64(slack)))
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					runTypedJoin(t, rng, tc, jt, slack, mem)
					mem.AssertSize(t, 0)
				})
			}
		}
	}
}

func runTypedJoin(t *testing.T, rng *rand.Rand, tc typedJoinCase, jt JoinType, slack int, mem memory.Allocator) {
	tss := [2][]types.T{tc.lts, tc.rts}
	keys := [2][]int{tc.lkey, tc.rkey}
	var schemas [2]*arrow.Schema
	var gens [2][]func(*rand.Rand) types.Datum
	for s := range 2 {
		schemas[s] = typedSchema(tss[s])
		for _, ty := range tss[s] {
			gens[s] = append(gens[s], typedGen(ty))
		}
	}
	// Net input per side: canonical row → (a representative, count).
	type netRow struct {
		vals []types.Datum
		n    int
	}
	nets := [2]map[string]*netRow{{}, {}}
	var live [2][][]types.Datum // inserted rows, for deletes
	var msgs [2][]Message
	var want [][]string
	keyCanon := func(s int, r []types.Datum) (string, bool) {
		kt := make([]types.T, len(keys[s]))
		kv := make([]types.Datum, len(keys[s]))
		for i, k := range keys[s] {
			kt[i], kv[i] = tss[s][k], r[k]
			if r[k] == nil {
				return "", false
			}
		}
		return canon(kt, kv), true
	}
	expected := func() []string {
		var out []string
		matched := [2]map[string]bool{{}, {}}
		for lc, l := range nets[0] {
			for rc, r := range nets[1] {
				lk, ok1 := keyCanon(0, l.vals)
				rk, ok2 := keyCanon(1, r.vals)
				if !ok1 || !ok2 || lk != rk {
					continue
				}
				matched[0][lc], matched[1][rc] = true, true
				for range l.n * r.n {
					out = append(out, lc+rc)
				}
			}
		}
		if jt == LeftJoin || jt == FullJoin {
			for lc, l := range nets[0] {
				if !matched[0][lc] {
					for range l.n {
						out = append(out, lc+nullCanon(len(tss[1])))
					}
				}
			}
		}
		if jt == RightJoin || jt == FullJoin {
			for rc, r := range nets[1] {
				if !matched[1][rc] {
					for range r.n {
						out = append(out, nullCanon(len(tss[0]))+rc)
					}
				}
			}
		}
		sort.Strings(out)
		return out
	}
	epochs := 1 + rng.IntN(6)
	for e := 1; e <= epochs; e++ {
		for range 1 + rng.IntN(6) {
			s := rng.IntN(2)
			n := []int{1, 3, 17, 200}[rng.IntN(4)]
			var rows [][]types.Datum
			var ops []Op
			for range n {
				if len(live[s]) > 0 && rng.IntN(3) == 0 {
					k := rng.IntN(len(live[s]))
					r := live[s][k]
					live[s][k] = live[s][len(live[s])-1]
					live[s] = live[s][:len(live[s])-1]
					rows, ops = append(rows, r), append(ops, Delete)
					c := canon(tss[s], r)
					nets[s][c].n--
					if nets[s][c].n == 0 {
						delete(nets[s], c)
					}
					continue
				}
				r := make([]types.Datum, len(tss[s]))
				for c, g := range gens[s] {
					r[c] = g(rng)
				}
				live[s] = append(live[s], r)
				rows, ops = append(rows, r), append(ops, Insert)
				c := canon(tss[s], r)
				if nets[s][c] == nil {
					nets[s][c] = &netRow{vals: r}
				}
				nets[s][c].n++
			}
			msgs[s] = append(msgs[s], typedChunk(mem, schemas[s], tss[s], rows, ops))
		}
		for s := range 2 {
			msgs[s] = append(msgs[s], Barrier{Epoch: uint64(e)})
		}
		want = append(want, expected())
	}
	j, err := NewHashJoin(&script{schema: schemas[0], msgs: msgs[0]}, &script{schema: schemas[1], msgs: msgs[1]}, tc.lts, tc.rts, tc.lkey, tc.rkey, jt)
	require.NoError(t, err)
	j.WithAllocator(mem)
	for _, sd := range j.sides {
		sd.slack = slack
	}
	defer func() { require.NoError(t, j.Close()) }()
	outTs := append(append([]types.T(nil), tc.lts...), tc.rts...)
	got := map[string]int{}
	ctx := context.Background()
	for e := 1; e <= epochs; e++ {
		for {
			m, err := j.Next(ctx)
			require.NoError(t, err)
			require.NotNil(t, m, "stream ended before barrier %d", e)
			if c, ok := m.(*Chunk); ok {
				require.Equal(t, len(c.Ops), int(c.Batch.NumRows()))
				for i, op := range c.Ops {
					k := string(vec.AppendRowKey(nil, c.Batch.Columns(), outTs, i))
					got[k] += int(op.Sign())
				}
				c.Release()
				continue
			}
			b, ok := m.(Barrier)
			require.True(t, ok)
			require.Equal(t, uint64(e), b.Epoch)
			break
		}
		var have []string
		for k, n := range got {
			require.GreaterOrEqual(t, n, 0, "negative multiplicity at epoch %d", e)
			for range n {
				have = append(have, k)
			}
		}
		sort.Strings(have)
		require.Equal(t, want[e-1], have, "epoch %d", e)
	}
	m, err := j.Next(ctx)
	require.NoError(t, err)
	require.Nil(t, m)
}

// TestJoinSideCompaction checks that a side's retained segments stay
// bounded by its live rows and that compaction keeps the rows intact.
func TestJoinSideCompaction(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s, ts := int8Schema("k", "v")
	var lmsgs []Message
	// 50 chunks of 100 inserts, each followed by deleting all but one row.
	for c := range 50 {
		var ins, del []row
		for i := range 100 {
			k, v := int64(c*100+i), int64(i)
			ins = append(ins, row{op: Insert, vals: []*int64{&k, &v}})
			if i > 0 {
				del = append(del, row{op: Delete, vals: []*int64{&k, &v}})
			}
		}
		lmsgs = append(lmsgs, makeChunkMem(t, mem, s, ins), makeChunkMem(t, mem, s, del))
	}
	lmsgs = append(lmsgs, Barrier{Epoch: 1})
	k0, v0 := int64(4900), int64(7)
	rmsgs := []Message{Barrier{Epoch: 1}, makeChunkMem(t, mem, s, []row{{op: Insert, vals: []*int64{&k0, &v0}}}), Barrier{Epoch: 2}}
	j, err := NewHashJoin(&script{schema: s, msgs: lmsgs}, &script{schema: s, msgs: rmsgs}, ts, ts, []int{0}, []int{0}, InnerJoin)
	require.NoError(t, err)
	j.WithAllocator(mem)
	j.sides[0].slack = 10
	defer func() { require.NoError(t, j.Close()) }()
	ctx := context.Background()
	var out []string
	for {
		m, err := j.Next(ctx)
		require.NoError(t, err)
		if m == nil {
			break
		}
		if c, ok := m.(*Chunk); ok {
			out = append(out, formatRows(c.Batch, append(ts, ts...))...)
			c.Release()
			continue
		}
		if b := m.(Barrier); b.Epoch == 1 {
			sd := j.sides[0]
			require.Equal(t, 50, sd.live)
			require.LessOrEqual(t, sd.segRows, 2*sd.live+sd.slack+100)
		}
	}
	require.Equal(t, []string{"4900 0 4900 7"}, out)
}

// TestKeyTable checks the open-addressing key table against a map under
// random puts and deletes, with ids that crowd a few probe runs.
func TestKeyTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var kt keyTable
	model := map[uint64]int32{}
	for step := range 200_000 {
		id := uint64(rng.IntN(3000))
		if rng.IntN(4) == 0 {
			id <<= 40 // far ids that share low bits
		}
		switch rng.IntN(3) {
		case 0, 1:
			b := int32(rng.IntN(1 << 20))
			kt.put(id, b)
			model[id] = b
		case 2:
			kt.del(id)
			delete(model, id)
		}
		if step%997 == 0 {
			require.Equal(t, len(model), kt.n)
			for id, b := range model {
				got, ok := kt.get(id)
				require.True(t, ok, "id %d lost at step %d", id, step)
				require.Equal(t, b, got)
			}
		}
		got, ok := kt.get(id)
		want, wok := model[id]
		require.Equal(t, wok, ok)
		if ok {
			require.Equal(t, want, got)
		}
	}
}

// TestJoinSideHashCollisions forces every row of a bucket to one row hash,
// in a small and in an indexed (big) bucket, and checks that deletes still
// remove exactly the rows they name.
func TestJoinSideHashCollisions(t *testing.T) {
	for _, n := range []int{5, 3 * bigBucket} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s, ts := int8Schema("k", "v")
			sd := newJoinSide(s, ts, []int{0})
			defer sd.release()
			apply := func(op Op, vs ...int64) {
				rows := make([]row, len(vs))
				for i, v := range vs {
					k, v := int64(1), v
					rows[i] = row{op: op, vals: []*int64{&k, &v}}
				}
				c := makeChunkMem(t, mem, s, rows)
				defer c.Release()
				require.NoError(t, sd.prepare(c.Batch))
				for i := range sd.rowHash[:len(vs)] {
					sd.rowHash[i] = 42
				}
				cur := sd.addSeg(c.Batch)
				for i := range vs {
					b := sd.bucket(sd.keyIDs[i], sd.key(i))
					sd.add(b, c.Batch, i, rowRef{seg: cur, row: int32(i)}, op.Sign(), nil)
					if sd.buckets[b].count == 0 {
						sd.dropBucket(sd.keyIDs[i], b)
					}
				}
				sd.sweep(cur)
			}
			contents := func() []int64 {
				var out []int64
				b := sd.find(1, nil)
				if b < 0 {
					return nil
				}
				for e := sd.buckets[b].head; e >= 0; e = sd.ent(e).next {
					en := sd.ent(e)
					v := sd.segs[en.ref.seg].Column(1).(*array.Int64).Value(int(en.ref.row))
					for range en.n {
						out = append(out, v)
					}
				}
				sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
				return out
			}
			var all []int64
			for v := range int64(n) {
				all = append(all, v)
			}
			apply(Insert, all...)
			apply(Insert, 0, 1) // duplicates
			apply(Delete, all[2:]...)
			require.Equal(t, []int64{0, 0, 1, 1}, contents())
			apply(Delete, 1, 0, 0)
			require.Equal(t, []int64{1}, contents())
			apply(Delete, 7, 1) // 7 was already deleted: it stays negative
			require.Nil(t, contents())
			require.Equal(t, int64(-1), sd.buckets[sd.find(1, nil)].total)
			apply(Insert, 7)
			require.Equal(t, int32(-1), sd.find(1, nil))
			require.Equal(t, 0, sd.live)
		})
	}
}

// TestHashJoinDeleteBeforeInsert checks that a delete of a row the join
// never saw, followed by its insert, nets out in the output and the state.
func TestHashJoinDeleteBeforeInsert(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s, ts := int8Schema("k", "v")
	left := &script{schema: s, msgs: []Message{Barrier{Epoch: 1},
		makeChunkMem(t, mem, s, parseRows(t, "- 1 5")), makeChunkMem(t, mem, s, parseRows(t, "+ 1 5")), Barrier{Epoch: 2}}}
	right := &script{schema: s, msgs: []Message{makeChunkMem(t, mem, s, parseRows(t, "+ 1 7")), Barrier{Epoch: 1}, Barrier{Epoch: 2}}}
	j, err := NewHashJoin(left, right, ts, ts, []int{0}, []int{0}, FullJoin)
	require.NoError(t, err)
	j.WithAllocator(mem)
	defer func() { require.NoError(t, j.Close()) }()
	net := map[string]int64{}
	for {
		m, err := j.Next(context.Background())
		require.NoError(t, err)
		if m == nil {
			break
		}
		if c, ok := m.(*Chunk); ok {
			for i, r := range formatRows(c.Batch, append(ts, ts...)) {
				net[r] += c.Ops[i].Sign()
			}
			c.Release()
		}
	}
	for r, n := range net {
		if n == 0 {
			delete(net, r)
		}
	}
	require.Equal(t, map[string]int64{"NULL NULL 1 7": 1}, net)
	require.Equal(t, 0, j.sides[0].live)
}
