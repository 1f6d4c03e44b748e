package stream

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/storage/state"
)

// netLines sums rendered output rows by sign ("+"/"U+" add, "-"/"U-"
// subtract) and returns the rows left, sorted, plus the watermark lines in
// order.
func netLines(lines []string) (rows []string, wms []string) {
	net := map[string]int{}
	for _, l := range lines {
		op, rest, _ := strings.Cut(l, " ")
		switch op {
		case "+", "U+":
			net[rest]++
		case "-", "U-":
			net[rest]--
		case "wm":
			wms = append(wms, l)
		}
	}
	for r, n := range net {
		if n < 0 {
			rows = append(rows, fmt.Sprintf("NEGATIVE %d %s", n, r))
		}
		for range n {
			rows = append(rows, r)
		}
	}
	sort.Strings(rows)
	return rows, wms
}

// randSide builds one side of a random join input: rows "w k v" with w at
// or above the side's watermark, inserted and deleted.
type randSide struct {
	r    *rand.Rand
	sc   *etScript
	live []string
	wm   int64
}

// epoch appends the rows of epoch e: up to maxRows-1 inserts with w drawn
// from [lo, lo+span) (raised to the watermark), and deletes of live rows at
// or above the watermark, each with chance 1/delOneIn.
func (s *randSide) epoch(t *testing.T, mem memory.Allocator, e int64, maxRows int, lo, span int64, delOneIn int) {
	var lines []string
	for range s.r.Intn(maxRows) {
		row := fmt.Sprintf("%d %d %d", max(s.wm, lo+s.r.Int63n(span)), s.r.Intn(3), s.r.Intn(4))
		lines = append(lines, "+ "+row)
		s.live = append(s.live, row)
	}
	for k := 0; k < len(s.live); k++ {
		var w int64
		fmt.Sscan(s.live[k], &w)
		if w >= s.wm && s.r.Intn(delOneIn) == 0 {
			lines = append(lines, "- "+s.live[k])
			s.live = append(s.live[:k], s.live[k+1:]...)
			k--
		}
	}
	if len(lines) > 0 {
		s.sc.msgs = append(s.sc.msgs, tchunk(t, mem, s.sc.schema, strings.Join(lines, "\n")))
	}
}

// advance raises the watermark to nw if higher (sending it when send) and
// ends epoch e with its barrier.
func (s *randSide) advance(e, nw int64, send bool) {
	if nw > s.wm {
		s.wm = nw
		if send {
			s.sc.msgs = append(s.sc.msgs, Watermark{Col: 0, Value: nw})
		}
	}
	s.sc.msgs = append(s.sc.msgs, Barrier{Epoch: uint64(e)})
}

// A left join cleans both sides below the smaller of its inputs' key
// watermarks and forwards that watermark on both output key columns, never
// a watermark of another column; rows above it keep joining.
func TestHashJoinWatermarkCleanup(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	ls, lt := tsSchema("w", "k", "a")
	rs, rt := tsSchema("w", "k", "b")
	left := &etScript{schema: ls, msgs: []Message{
		tchunk(t, mem, ls, "+ 0 1 10\n+ 0 2 20\n+ 10 1 30"),
		Barrier{Epoch: 1},
		Watermark{Col: 0, Value: int64(10)},
		Barrier{Epoch: 2},
		tchunk(t, mem, ls, "+ 10 1 31"),
		Barrier{Epoch: 3},
	}}
	right := &etScript{schema: rs, msgs: []Message{
		tchunk(t, mem, rs, "+ 0 1 100"),
		Barrier{Epoch: 1},
		tchunk(t, mem, rs, "+ 10 1 200"),
		Watermark{Col: 0, Value: int64(5)},
		Barrier{Epoch: 2},
		Watermark{Col: 2, Value: int64(7)}, // not a key column
		Watermark{Col: 0, Value: int64(20)},
		Barrier{Epoch: 3},
	}}
	j, err := NewHashJoin(left, right, lt, rt, []int{0, 1}, []int{0, 1}, LeftJoin)
	require.NoError(t, err)
	j.WithAllocator(mem)
	rows, wms := netLines(drainAll(t, j))
	require.Equal(t, []string{
		"0 1 10 0 1 100",
		"0 2 20 NULL NULL NULL",
		"10 1 30 10 1 200",
		"10 1 31 10 1 200",
	}, rows)
	require.Equal(t, []string{"wm 0 5", "wm 3 5", "wm 0 10", "wm 3 10"}, wms)
	// Window 0 is gone from both sides; window 10 stays (not below 10).
	require.Equal(t, 2, j.sides[0].live)
	require.Equal(t, 1, j.sides[1].live)
	require.NoError(t, j.Close())
}

// Random two-sided streams whose rows (inserts and deletes) respect their
// watermarks join to the same result with and without the watermarks, for
// every join type, in memory and spilling at every barrier; with them the
// state (and the spill tables) end smaller.
func TestHashJoinWatermarkRandom(t *testing.T) {
	cleaned, spillCleaned, spilled := 0, int64(0), int64(0)
	for seed := int64(1); seed <= 12; seed++ {
		for _, jt := range []JoinType{InnerJoin, LeftJoin, RightJoin, FullJoin} {
			t.Run(fmt.Sprintf("seed=%d/type=%d", seed, jt), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
				defer mem.AssertSize(t, 0)
				ls, lt := tsSchema("w", "k", "a")
				rs, rt := tsSchema("w", "k", "b")
				scripts := func(withWM bool) (*etScript, *etScript) {
					r := rand.New(rand.NewSource(seed))
					var out [2]*etScript
					for s, schema := range []*arrow.Schema{ls, rs} {
						rs := &randSide{r: r, sc: &etScript{schema: schema}, wm: -1000}
						for e := int64(1); e <= 12; e++ {
							rs.epoch(t, mem, e, 6, e*10-15, 25, 5)
							rs.advance(e, e*10-5-r.Int63n(10)+int64(s), withWM)
						}
						out[s] = rs.sc
					}
					return out[0], out[1]
				}
				run := func(withWM, spill bool) ([]string, int, int64) {
					l, r := scripts(withWM)
					j, err := NewHashJoin(l, r, lt, rt, []int{0, 1}, []int{0, 1}, jt)
					require.NoError(t, err)
					j.WithAllocator(mem)
					var tables [2]state.Table
					if spill {
						tables = memSpillTables(t, mem)
						j.WithSpill(tables[0], tables[1], 1) // every barrier spills
					}
					rows, _ := netLines(drainAll(t, j))
					live := j.sides[0].live + j.sides[1].live
					var keys int64
					if spill {
						keys = tables[0].Stats().Keys + tables[1].Stats().Keys
					}
					require.NoError(t, j.Close())
					return rows, live, keys
				}
				want, liveAll, _ := run(false, false)
				got, liveWM, _ := run(true, false)
				require.Equal(t, want, got)
				require.LessOrEqual(t, liveWM, liveAll)
				got, _, keysAll := run(false, true)
				require.Equal(t, want, got)
				got, _, keysWM := run(true, true)
				require.Equal(t, want, got)
				require.LessOrEqual(t, keysWM, keysAll)
				spillCleaned += keysAll - keysWM
				spilled += keysAll
				cleaned += liveAll - liveWM
			})
		}
	}
	require.Positive(t, cleaned, "the watermarks cleaned some state")
	// Most spilled buckets are below the last watermarks: only the range
	// cleanup of the tables (not just dropping loaded buckets) removes them.
	require.Greater(t, 2*spillCleaned, spilled, "the watermarks cleaned the spilled state")
}
