package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// sqlEqualSpellings maps spellings of the test generators' values to one
// spelling per SQL-equal class (an operator keeps the first-seen spelling
// of equal rows, which depends on when it emitted).
func sqlEqualSpellings(l string) string {
	l = strings.ReplaceAll(l+" ", " -0 ", " 0 ")
	return strings.ReplaceAll(l, " 1 mon ", " 30 days ")
}

// netEpochs sums each epoch's rendered rows by sign ("+"/"U+" add, "-"/"U-"
// subtract), SQL-equal spellings made one: the epoch's net changes, as
// "count row", sorted.
func netEpochs(epochs [][]string) [][]string {
	out := make([][]string, len(epochs))
	for e, lines := range epochs {
		net := map[string]int{}
		for _, l := range lines {
			op, rest, _ := strings.Cut(sqlEqualSpellings(l), " ")
			switch op {
			case "+", "U+":
				net[rest]++
			case "-", "U-":
				net[rest]--
			}
		}
		rows := []string{}
		for r, n := range net {
			if n != 0 {
				rows = append(rows, fmt.Sprintf("%d %s", n, r))
			}
		}
		sort.Strings(rows)
		out[e] = rows
	}
	return out
}

// With mid-epoch spills on, a spilling group top-N and OVER window change
// each epoch's output only in its shape: the net changes per epoch equal
// the unbounded operator's, for the random changelogs of the spill cases
// under budgets of 1 byte (a spill after every chunk), 8 KiB and a quarter
// of the unbounded peak.
func TestPartitionSpillMidEpochRandom(t *testing.T) {
	seed := spillSeed(t)
	var mid int64
	for ci, tc := range topnSpillCases() {
		t.Run(tc.name, func(t *testing.T) {
			for iter := range 3 {
				rng := rand.New(rand.NewPCG(seed, uint64(ci*10+iter)))
				p := tc.plan(rng, 4+rng.IntN(10))
				fn := []string{"row_number", "rank", "dense_rank"}[iter]
				limit := 1 + rng.Int64N(4)
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				want := runSpillTopN(t, mem, p, tc, fn, limit, true, nil, 0)
				budget := []int64{1, 8 << 10, want.peak / 4}[iter]
				got := runSpillTopN(t, mem, p, tc, fn, limit, true, memTopNTable(t, mem), budget, true)
				require.Equal(t, netEpochs(want.epochs), netEpochs(got.epochs), "top-N seed %d iter %d", seed, iter)
				mid += got.stats.MidEpochSpills

				wantW := runSpillWindow(t, mem, p, tc.part, tc.order, -1, nil, 0)
				budget = []int64{1, 8 << 10, wantW.peak / 4}[iter]
				gotW := runSpillWindow(t, mem, p, tc.part, tc.order, -1, memWindowTable(t, mem), budget, true)
				require.Equal(t, netEpochs(wantW.epochs), netEpochs(gotW.epochs), "window seed %d iter %d", seed, iter)
				mid += gotW.stats.MidEpochSpills
				mem.AssertSize(t, 0)
			}
		})
	}
	require.Positive(t, mid, "some spills happened mid-epoch")
}

// hookSource calls hook before each message it reads: the operator over it
// has applied the previous one.
type hookSource struct {
	Executor
	hook func()
}

func (h *hookSource) Next(ctx context.Context) (Message, error) {
	if h.hook != nil {
		h.hook()
	}
	return h.Executor.Next(ctx)
}

// One epoch of 64 chunks over 20K partitions: with mid-epoch spills the
// operators' state stays near the budget between chunks; without them it
// holds the whole epoch until the barrier.
func TestPartitionSpillMidEpochBounded(t *testing.T) {
	const budget = 256 << 10
	ts := []types.T{types.Int8T, types.Int8T}
	schema := typedSchema(ts)
	msgs := func(mem memory.Allocator) []Message {
		rng := rand.New(rand.NewPCG(7, 8))
		var out []Message
		for range 64 {
			kb, vb := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
			ops := make([]Op, 1024)
			for range 1024 {
				kb.Append(rng.Int64N(20000))
				vb.Append(rng.Int64N(1000))
			}
			ka, va := kb.NewArray(), vb.NewArray()
			out = append(out, &Chunk{Batch: array.NewRecordBatch(schema, []arrow.Array{ka, va}, 1024), Ops: ops})
			ka.Release()
			va.Release()
			kb.Release()
			vb.Release()
		}
		return append(out, Barrier{Epoch: 1})
	}
	type op interface {
		Executor
		StateBytes() int64
		SpillStats() PartitionSpillStats
	}
	peakOf := func(t *testing.T, o op, in *hookSource) (int64, int) {
		var peak int64
		in.hook = func() { peak = max(peak, o.StateBytes()) }
		rows := 0
		for {
			m, err := o.Next(context.Background())
			require.NoError(t, err)
			if m == nil {
				break
			}
			peak = max(peak, o.StateBytes())
			if c, ok := m.(*Chunk); ok {
				rows += c.NumRows()
			}
			ReleaseMessage(m)
		}
		return peak, rows
	}
	for _, kind := range []string{"top-N", "window"} {
		t.Run(kind, func(t *testing.T) {
			var peaks [2]int64
			var rows [2]int
			for i, midEpoch := range []bool{false, true} {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				in := &hookSource{Executor: &script{schema: schema, msgs: msgs(mem)}}
				var o op
				if kind == "top-N" {
					g, err := NewGroupTopN(in, ts, []int{0}, []SortCol{{Col: 1}}, "row_number", 2, false)
					require.NoError(t, err)
					g.WithAllocator(mem).WithSpill(memTopNTable(t, mem), budget)
					g.spill.noMidEpoch = !midEpoch
					o = g
				} else {
					fields := append(append([]arrow.Field(nil), schema.Fields()...),
						types.ArrowField("rn", types.Int8T), types.ArrowField("n", types.Int8T))
					w, err := NewOverWindow(in, ts, arrow.NewSchema(fields, nil), []int{0}, []SortCol{{Col: 1}}, rowNumberAndCount(mem))
					require.NoError(t, err)
					w.WithAllocator(mem).WithSpill(memWindowTable(t, mem), budget)
					w.spill.noMidEpoch = !midEpoch
					o = w
				}
				peaks[i], rows[i] = peakOf(t, o, in)
				if midEpoch {
					require.Positive(t, o.SpillStats().MidEpochSpills)
				}
				require.NoError(t, o.Close())
				mem.AssertSize(t, 0)
			}
			t.Logf("%s: peak state %d bytes at barriers only, %d with mid-epoch spills (budget %d)", kind, peaks[0], peaks[1], budget)
			require.Greater(t, peaks[0], int64(8*budget), "the epoch's state without mid-epoch spills")
			require.Less(t, peaks[1], int64(4*budget), "the state with mid-epoch spills")
		})
	}
}

// One epoch of 32 chunks a side over 20K keys: with mid-epoch spills a
// join's state stays near its budget between chunks, and its output is the
// same row for row.
func TestHashJoinSpillMidEpochBounded(t *testing.T) {
	const budget = 256 << 10
	ts := []types.T{types.Int8T, types.Int8T}
	schema := typedSchema(ts)
	side := func(mem memory.Allocator, seed uint64) []Message {
		rng := rand.New(rand.NewPCG(seed, 9))
		var out []Message
		for range 32 {
			kb, vb := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
			for range 1024 {
				kb.Append(rng.Int64N(20000))
				vb.Append(rng.Int64N(1000))
			}
			ka, va := kb.NewArray(), vb.NewArray()
			out = append(out, &Chunk{Batch: array.NewRecordBatch(schema, []arrow.Array{ka, va}, 1024), Ops: make([]Op, 1024)})
			ka.Release()
			va.Release()
			kb.Release()
			vb.Release()
		}
		return append(out, Barrier{Epoch: 1})
	}
	var peaks [2]int64
	var outs [2][]string
	for i, midEpoch := range []bool{false, true} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		left := &hookSource{Executor: &script{schema: schema, msgs: side(mem, 1)}}
		right := &script{schema: schema, msgs: side(mem, 2)}
		j, err := NewHashJoin(left, right, ts, ts, []int{0}, []int{0}, LeftJoin)
		require.NoError(t, err)
		tables := memSpillTables(t, mem)
		j.WithAllocator(mem).WithSpill(tables[0], tables[1], budget)
		j.spill.noMidEpoch = !midEpoch
		left.hook = func() { peaks[i] = max(peaks[i], j.StateBytes()) }
		outs[i], _ = netLines(drainAll(t, j))
		if midEpoch {
			require.Positive(t, j.SpillStats().MidEpochSpills)
		}
		require.NoError(t, j.Close())
		mem.AssertSize(t, 0)
	}
	t.Logf("join: peak state %d bytes at barriers only, %d with mid-epoch spills (budget %d)", peaks[0], peaks[1], budget)
	require.Equal(t, outs[0], outs[1])
	require.Greater(t, peaks[0], int64(8*budget))
	require.Less(t, peaks[1], int64(4*budget))
}
