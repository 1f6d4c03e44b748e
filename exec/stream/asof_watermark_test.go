package stream

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// Random two-sided streams whose rows (inserts and deletes) respect their
// watermarks give an ASOF join ("trade time >= quote time") the same net
// output with and without the watermarks, inner and outer, ">=" and ">";
// with them the state ends smaller, and every output row after a forwarded
// watermark has its left time at or above it.
func TestAsOfJoinWatermarkRandom(t *testing.T) {
	var smaller, forwarded int
	for seed := int64(1); seed <= 12; seed++ {
		for _, op := range []string{">=", ">"} {
			for _, outer := range []bool{false, true} {
				t.Run(fmt.Sprintf("seed=%d/op=%s/outer=%v", seed, op, outer), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
					defer mem.AssertSize(t, 0)
					ls, lt := tsSchema("w", "k", "a")
					rs, rt := tsSchema("w", "k", "b")
					run := func(withWM bool) ([]string, int64, int) {
						r := rand.New(rand.NewSource(seed))
						var sides [2]*randSide
						for s, schema := range []*arrow.Schema{ls, rs} {
							sides[s] = &randSide{r: r, sc: &etScript{schema: schema}, wm: -1000}
						}
						for e := int64(1); e <= 30; e++ {
							for s, sd := range sides {
								sd.epoch(t, mem, e, 8, e*4-6, 10, 6)
								sd.advance(e, e*4-3-r.Int63n(6)+int64(s), withWM)
							}
						}
						j, err := NewAsOfJoin(sides[0].sc, sides[1].sc, lt, rt, []int{1}, []int{1}, 0, 0, op, 3, outer)
						require.NoError(t, err)
						lines := drainAll(t, j)
						n := checkLeftWatermarks(t, lines)
						rows, _ := netLines(lines)
						bytes := j.StateBytes()
						require.NoError(t, j.Close())
						return rows, bytes, n
					}
					want, bytesAll, _ := run(false)
					got, bytesWM, n := run(true)
					require.Equal(t, want, got)
					require.LessOrEqual(t, bytesWM, bytesAll)
					if bytesWM < bytesAll {
						smaller++
					}
					forwarded += n
				})
			}
		}
	}
	require.Greater(t, smaller, 40, "the watermarks cleaned the state of most runs")
	require.Positive(t, forwarded)
}

// checkLeftWatermarks requires every output row ("op lw lk la rw rk rb") to
// have its left time at or above the watermarks forwarded on column 0
// before it, only there, and returns how many were forwarded.
func checkLeftWatermarks(t *testing.T, lines []string) int {
	var wm int64
	n := 0
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case f[0] == "wm":
			require.Equal(t, "0", f[1], "watermarks only on the left time column: %s", l)
			var v int64
			fmt.Sscan(f[2], &v)
			require.True(t, n == 0 || v > wm, "watermarks rise")
			wm = v
			n++
		case len(f) == 7 && n > 0:
			var lw int64
			if _, err := fmt.Sscan(f[1], &lw); err == nil {
				require.GreaterOrEqual(t, lw, wm, "row %q below the watermark", l)
			}
		}
	}
	return n
}
