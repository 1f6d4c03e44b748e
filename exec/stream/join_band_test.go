package stream

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
)

// bandTestBands are the bands of r.w BETWEEN l.w - 5 AND l.w + 3:
// r.w >= l.w - 5 gives l.w <= r.w + 5 (right rows cleaned), r.w <= l.w + 3
// gives r.w <= l.w + 3 (left rows cleaned).
var bandTestBands = []JoinBand{{Side: 1, Col: 0, OCol: 0, Off: 5}, {Side: 0, Col: 0, OCol: 0, Off: 3}}

func bandTestCond(l, r []types.Datum) (bool, error) {
	if l[0] == nil || r[0] == nil {
		return false, nil
	}
	lw, rw := l[0].(int64), r[0].(int64)
	return rw >= lw-5 && rw <= lw+3, nil
}

// keepBand filters rendered inner-join rows "lw lk la rw rk rb" by the
// band condition, as the planner's filter above an inner join does.
func keepBand(rows []string) []string {
	var out []string
	for _, r := range rows {
		var lw, lk, la, rw int64
		if _, err := fmt.Sscan(r, &lw, &lk, &la, &rw); err == nil && rw >= lw-5 && rw <= lw+3 {
			out = append(out, r)
		}
	}
	return out
}

// An interval join drops the rows no later row of the other side can join
// (and that their own input can no longer retract); rows within the band
// keep joining.
func TestHashJoinBandCleanup(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	ls, lt := tsSchema("w", "k", "a")
	rs, rt := tsSchema("w", "k", "b")
	left := &etScript{schema: ls, msgs: []Message{
		tchunk(t, mem, ls, "+ 0 1 10\n+ 9 1 11\n+ 20 1 12"),
		Barrier{Epoch: 1},
		Watermark{Col: 0, Value: int64(20)},
		Barrier{Epoch: 2},
		tchunk(t, mem, ls, "+ 21 1 13"),
		Barrier{Epoch: 3},
	}}
	right := &etScript{schema: rs, msgs: []Message{
		tchunk(t, mem, rs, "+ 2 1 100"),
		Barrier{Epoch: 1},
		Watermark{Col: 0, Value: int64(12)},
		Barrier{Epoch: 2},
		tchunk(t, mem, rs, "+ 22 1 200"),
		Barrier{Epoch: 3},
	}}
	j, err := NewHashJoin(left, right, lt, rt, []int{1}, []int{1}, LeftJoin)
	require.NoError(t, err)
	j.WithAllocator(mem).WithCondition(bandTestCond).WithBands(bandTestBands)
	rows, _ := netLines(drainAll(t, j))
	require.Equal(t, []string{
		"0 1 10 2 1 100",
		"20 1 12 22 1 200",
		"21 1 13 22 1 200",
		"9 1 11 NULL NULL NULL",
	}, rows)
	// Left rows below min(20, 12-3) = 9 went (w=0); right rows below
	// min(12, 20-5) = 12 went (w=2).
	require.Equal(t, 3, j.sides[0].live)
	require.Equal(t, 1, j.sides[1].live)
	require.NoError(t, j.Close())
}

// Random two-sided streams whose rows (inserts and deletes) respect their
// watermarks join under a band condition to the same result with and
// without the watermarks, for every join type, in memory and spilling at
// every barrier; with them the state ends smaller.
func TestHashJoinBandRandom(t *testing.T) {
	cleaned, total, forwarded, sweeps, spillCleaned := 0, 0, 0, 0, 0
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
						for e := int64(1); e <= 30; e++ {
							rs.epoch(t, mem, e, 8, e*4-6, 10, 6)
							rs.advance(e, e*4-3-r.Int63n(6)+int64(s), withWM)
						}
						out[s] = rs.sc
					}
					return out[0], out[1]
				}
				run := func(withWM, spill bool) ([]string, int) {
					l, r := scripts(withWM)
					j, err := NewHashJoin(l, r, lt, rt, []int{1}, []int{1}, jt)
					require.NoError(t, err)
					j.WithAllocator(mem).WithBands(bandTestBands)
					j.bands.sweepMin = 1
					if jt != InnerJoin {
						j.WithCondition(bandTestCond)
					}
					var tables [2]state.Table
					if spill {
						tables = memSpillTables(t, mem)
						j.WithSpill(tables[0], tables[1], 1<<10)
					}
					lines := drainAll(t, j)
					if withWM {
						forwarded += checkBandWatermarks(t, lines)
					}
					rows, _ := netLines(lines)
					if jt == InnerJoin {
						rows = keepBand(rows)
					}
					live := j.sides[0].live + j.sides[1].live
					if spill {
						live = int(tables[0].Stats().Keys + tables[1].Stats().Keys)
						sweeps += j.bands.sweeps
					}
					require.NoError(t, j.Close())
					return rows, live
				}
				want, liveAll := run(false, false)
				got, liveWM := run(true, false)
				require.Equal(t, want, got)
				require.Less(t, liveWM, liveAll)
				got, keysWM := run(true, true)
				require.Equal(t, want, got)
				_, keysAll := run(false, true)
				require.LessOrEqual(t, keysWM, keysAll)
				spillCleaned += keysAll - keysWM
				cleaned += liveAll - liveWM
				total += liveAll
			})
		}
	}
	// The bands keep a few epochs' rows, not the whole history.
	require.Greater(t, 2*cleaned, total, "the bands cleaned most of the state")
	require.Positive(t, forwarded)
	require.Positive(t, sweeps, "the spill tables were swept")
	require.Positive(t, spillCleaned, "sweeps left fewer spilled buckets")
}

// checkBandWatermarks requires every output row within the band (rows
// "op lw lk la rw rk rb"; an inner join's rows outside it are dropped by
// the filter after the join) to be at or above the watermarks forwarded
// on its columns 0 and 3 before it, and returns how many were forwarded.
func checkBandWatermarks(t *testing.T, lines []string) int {
	wm := map[int]int64{}
	n := 0
	for _, l := range lines {
		f := strings.Fields(l)
		if f[0] == "wm" {
			var c int
			var v int64
			fmt.Sscan(f[1], &c)
			fmt.Sscan(f[2], &v)
			if prev, ok := wm[c]; ok {
				require.Greater(t, v, prev, "watermarks rise")
			}
			wm[c] = v
			n++
			continue
		}
		if len(f) != 7 || f[0] == "barrier" {
			continue
		}
		var lw, rw int64
		_, e1 := fmt.Sscan(f[1], &lw)
		_, e2 := fmt.Sscan(f[4], &rw)
		if e1 == nil && e2 == nil && !(rw >= lw-5 && rw <= lw+3) {
			continue
		}
		for c, v := range map[int]string{0: f[1], 3: f[4]} {
			var x int64
			if _, err := fmt.Sscan(v, &x); err != nil {
				continue // NULL
			}
			if w, ok := wm[c]; ok {
				require.GreaterOrEqual(t, x, w, "row %q below the watermark on column %d", l, c)
			}
		}
	}
	return n
}

// An append-only side is cleaned by the other side's watermark alone (as
// Nexmark's auctions by the bids' watermark past their expiry): the same
// results as without cleanup, for every join type and spilling, with less
// state.
func TestHashJoinBandAppendOnly(t *testing.T) {
	bands := []JoinBand{{Side: 0, Col: 0, OCol: 0, Off: 3, AppendOnly: true}}
	cleaned := 0
	for seed := int64(1); seed <= 8; seed++ {
		for _, jt := range []JoinType{InnerJoin, LeftJoin, RightJoin, FullJoin} {
			t.Run(fmt.Sprintf("seed=%d/type=%d", seed, jt), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
				defer mem.AssertSize(t, 0)
				ls, lt := tsSchema("w", "k", "a")
				rs, rt := tsSchema("w", "k", "b")
				scripts := func() (*etScript, *etScript) {
					r := rand.New(rand.NewSource(seed))
					l := &etScript{schema: ls}
					right := &randSide{r: r, sc: &etScript{schema: rs}, wm: -1000}
					for e := int64(1); e <= 30; e++ {
						// Left: inserts only, times anywhere, no watermark.
						var lines []string
						for range r.Intn(8) {
							lines = append(lines, fmt.Sprintf("+ %d %d %d", e*4-20+r.Int63n(40), r.Intn(3), r.Intn(4)))
						}
						if len(lines) > 0 {
							l.msgs = append(l.msgs, tchunk(t, mem, ls, strings.Join(lines, "\n")))
						}
						l.msgs = append(l.msgs, Barrier{Epoch: uint64(e)})
						// Right: inserts and deletes at or above its watermark.
						right.epoch(t, mem, e, 8, e*4-6, 10, 6)
						right.advance(e, e*4-3-r.Int63n(6), true)
					}
					return l, right.sc
				}
				run := func(bands []JoinBand, spill bool) ([]string, int) {
					l, r := scripts()
					j, err := NewHashJoin(l, r, lt, rt, []int{1}, []int{1}, jt)
					require.NoError(t, err)
					j.WithAllocator(mem).WithBands(bands)
					if jt != InnerJoin {
						j.WithCondition(bandTestCond)
					}
					if spill {
						tables := memSpillTables(t, mem)
						j.WithSpill(tables[0], tables[1], 1)
					}
					lines := drainAll(t, j)
					for _, x := range lines {
						require.False(t, strings.HasPrefix(x, "wm 0 "), "no watermark on the left time column: %s", x)
					}
					rows, _ := netLines(lines)
					if jt == InnerJoin {
						rows = keepBand(rows)
					}
					live := j.sides[0].live
					require.NoError(t, j.Close())
					return rows, live
				}
				want, liveAll := run(nil, false)
				got, liveBand := run(bands, false)
				require.Equal(t, want, got)
				require.Less(t, liveBand, liveAll)
				got, _ = run(bands, true)
				require.Equal(t, want, got)
				cleaned += liveAll - liveBand
			})
		}
	}
	require.Positive(t, cleaned)
}
