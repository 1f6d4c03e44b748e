package stream

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

func TestHashAggregateWatermarkCleanup(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, ts := tsSchema("w", "k", "v")
	src := &etScript{schema: s, msgs: []Message{
		tchunk(t, mem, s, "+ 0 1 5\n+ 0 2 3\n+ 10 1 4"),
		Barrier{Epoch: 1},
		tchunk(t, mem, s, "+ 0 1 1\n+ 10 1 1"),
		Watermark{Col: 0, Value: int64(10)},
		tchunk(t, mem, s, "+ 0 2 7\n+ 10 1 2\n+ 20 1 1"),
		Watermark{Col: 2, Value: int64(100)}, // not a group column: dropped
		Barrier{Epoch: 2},
		Watermark{Col: 0, Value: int64(15)},
		Watermark{Col: 0, Value: int64(30)},
		tchunk(t, mem, s, "+ 30 1 1\n- 20 1 1"),
		Barrier{Epoch: 3},
	}}
	reg := testRegistry()
	cnt, err := LookupAgg(reg, "count", nil, nil)
	require.NoError(t, err)
	sum, err := LookupAgg(reg, "sum", []int{2}, []types.T{types.Int8T})
	require.NoError(t, err)
	h, err := NewHashAggregate(src, ts, []int{0, 1}, []AggCall{cnt, sum}, &kernels.EvalContext{Mem: mem})
	require.NoError(t, err)
	next := func(want string) {
		t.Helper()
		var got []string
		for len(got) < len(etLines(want)) {
			m, err := h.Next(t.Context())
			require.NoError(t, err)
			require.NotNil(t, m)
			got = append(got, renderMsg(m)...)
			ReleaseMessage(m)
		}
		require.Equal(t, etLines(want), got)
	}
	next(`
		+ 0 1 1 5
		+ 0 2 1 3
		+ 10 1 1 4
		barrier 1`)
	require.Equal(t, 3, h.Groups())
	// The watermark first flushes the epoch's pending changes.
	next(`
		U- 0 1 1 5
		U+ 0 1 2 6
		U- 10 1 1 4
		U+ 10 1 2 5
		wm 0 10`)
	require.Equal(t, 1, h.Groups(), "groups of window 0 are gone")
	require.Len(t, h.gens, 2, "half of the generation died: a new one started")
	next(`
		U- 10 1 2 5
		U+ 10 1 3 7
		+ 20 1 1 1
		barrier 2`)
	require.Equal(t, int64(1), h.LateRows())
	require.Equal(t, 2, h.Groups())
	next(`wm 0 15`)
	require.Len(t, h.gens, 1, "the old generation died entirely")
	require.Equal(t, 1, h.Groups())
	next(`wm 0 30`)
	require.Equal(t, 0, h.Groups())
	next(`
		+ 30 1 1 1
		barrier 3`)
	require.Equal(t, int64(2), h.LateRows())
	m, err := h.Next(t.Context())
	require.NoError(t, err)
	require.Nil(t, m)
	require.NoError(t, h.Close())
}

// TestHashAggregateWatermarkRandom drives a windowed aggregate with random
// inserts and deletes at or above the watermark and random watermark
// advances, applies its output to a view and checks, at every barrier, the
// view against a naive aggregation of every row (rows of cleaned windows
// keep their last view row) and the state size against the open keys.
func TestHashAggregateWatermarkRandom(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	for iter := 0; iter < 20; iter++ {
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		s, ts := tsSchema("w", "k", "v")
		wCol := r.Intn(2) // group by (w, k) or (k, w)
		group := []int{0, 1}
		if wCol == 1 {
			group = []int{1, 0}
		}
		type rw struct{ w, k, v int64 }
		var live []rw
		wm := int64(0)
		var msgs []Message
		type check struct {
			view map[string]string
			open int
		}
		var checks []check
		all := map[[2]int64][]rw{} // every live row by key, cleaned or not
		epoch := uint64(0)
		for step := 0; step < 60; step++ {
			switch x := r.Intn(10); {
			case x < 6:
				var text []string
				for n := r.Intn(8); n >= 0; n-- {
					// Deletes only of rows at or above the watermark.
					var cand []int
					for i, l := range live {
						if l.w >= wm {
							cand = append(cand, i)
						}
					}
					if len(cand) > 0 && r.Intn(3) == 0 {
						i := cand[r.Intn(len(cand))]
						l := live[i]
						text = append(text, fmt.Sprintf("- %d %d %d", l.w, l.k, l.v))
						live = append(live[:i], live[i+1:]...)
						key := [2]int64{l.w, l.k}
						rows := all[key]
						for j, o := range rows {
							if o == l {
								all[key] = append(rows[:j], rows[j+1:]...)
								break
							}
						}
						continue
					}
					l := rw{wm + int64(r.Intn(30)), int64(r.Intn(3)), int64(r.Intn(10))}
					live = append(live, l)
					all[[2]int64{l.w, l.k}] = append(all[[2]int64{l.w, l.k}], l)
					text = append(text, fmt.Sprintf("+ %d %d %d", l.w, l.k, l.v))
				}
				msgs = append(msgs, tchunk(t, mem, s, strings.Join(text, "\n")))
			case x < 8:
				wm += int64(r.Intn(12))
				msgs = append(msgs, Watermark{Col: 0, Value: wm})
			default:
				epoch++
				msgs = append(msgs, Barrier{Epoch: epoch})
				view := map[string]string{}
				open := map[[2]int64]bool{}
				for key, rows := range all {
					if key[0] >= wm {
						open[key] = true
					}
					if len(rows) == 0 {
						continue
					}
					sum := int64(0)
					for _, l := range rows {
						sum += l.v
					}
					view[fmt.Sprintf("%d %d", key[0], key[1])] = fmt.Sprintf("%d %d", len(rows), sum)
				}
				checks = append(checks, check{view: view, open: len(open)})
			}
		}
		reg := testRegistry()
		cnt, err := LookupAgg(reg, "count", nil, nil)
		require.NoError(t, err)
		sum, err := LookupAgg(reg, "sum", []int{2}, []types.T{types.Int8T})
		require.NoError(t, err)
		h, err := NewHashAggregate(&etScript{schema: s, msgs: msgs}, ts, group, []AggCall{cnt, sum}, &kernels.EvalContext{Mem: mem})
		require.NoError(t, err)
		view := map[string]string{}
		lastWM := int64(-1)
		maxGens := 0
		for i := 0; i < len(checks); {
			m, err := h.Next(t.Context())
			require.NoError(t, err)
			require.NotNil(t, m)
			switch m := m.(type) {
			case *Chunk:
				for _, line := range renderMsg(m) {
					f := strings.Fields(line)
					w, k := f[1], f[2]
					if wCol == 1 {
						w, k = f[2], f[1]
					}
					key := w + " " + k
					if f[0] == "-" || f[0] == "U-" {
						_, ok := view[key]
						require.True(t, ok, "retract of a missing row %s", line)
						delete(view, key)
						continue
					}
					_, dup := view[key]
					require.False(t, dup, "insert of an existing row %s", line)
					view[key] = f[3] + " " + f[4]
				}
				m.Release()
			case Watermark:
				require.Equal(t, wCol, m.Col)
				v := m.Value.(int64)
				require.Greater(t, v, lastWM)
				lastWM = v
			case Barrier:
				maxGens = max(maxGens, len(h.gens))
				require.Equal(t, checks[i].view, view, "iter %d barrier %d", iter, m.Epoch)
				require.Equal(t, checks[i].open, h.Groups(), "iter %d barrier %d: state holds the open keys only", iter, m.Epoch)
				i++
			}
		}
		t.Logf("iter %d: up to %d generations", iter, maxGens)
		require.Zero(t, h.LateRows())
		require.NoError(t, h.Close())
		mem.AssertSize(t, 0)
	}
}
