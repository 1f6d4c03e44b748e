package stream

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels/timewin"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

func TestSessionMergeSplitWatermark(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, ts := tsSchema("id", "ts")
	src := &etScript{schema: s, msgs: []Message{
		tchunk(t, mem, s, "+ 1 0\n+ 2 5\n+ 3 30"),
		tchunk(t, mem, s, "+ 4 21"),
		tchunk(t, mem, s, "+ 5 12"),
		Barrier{Epoch: 1},
		tchunk(t, mem, s, "- 5 12"),
		Watermark{Col: 1, Value: types.Timestamp(16)},
		tchunk(t, mem, s, "+ 6 3\n- 1 0\n+ 7 NULL"),
	}}
	sess, err := NewSession(src, ts, 1, ivMicros(10))
	require.NoError(t, err)
	sess.WithAllocator(mem)
	require.Equal(t, []string{"id", "ts", "window_start", "window_end"}, fieldNames(sess.Schema()))
	got := drainAll(t, sess)
	require.Equal(t, etLines(`
		+ 1 0 0 15
		+ 2 5 0 15
		+ 3 30 30 40
		+ 4 21 21 40
		- 3 30 30 40
		+ 3 30 21 40
		- 1 0 0 15
		+ 1 0 0 40
		- 2 5 0 15
		+ 2 5 0 40
		+ 5 12 0 40
		- 4 21 21 40
		+ 4 21 0 40
		- 3 30 21 40
		+ 3 30 0 40
		barrier 1
		- 5 12 0 40
		- 1 0 0 40
		+ 1 0 0 15
		- 2 5 0 40
		+ 2 5 0 15
		- 4 21 0 40
		+ 4 21 21 40
		- 3 30 0 40
		+ 3 30 21 40
		wm 1 16
		wm 2 16
		+ 7 NULL NULL NULL`), got)
	require.Equal(t, int64(2), sess.LateRows())
	require.Equal(t, int64(2), sess.StateRows())
	require.NoError(t, sess.Close())

	_, err = NewSession(src, ts, 1, ivMicros(0))
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err))
	_, err = NewSession(src, ts, 1, types.Interval{Months: 1})
	require.Equal(t, pgerror.FeatureNotSupported, pgerror.CodeOf(err))
}

// TestSessionRandomVsNaive applies random inserts and deletes (with
// duplicates) in random chunks and checks, after every chunk, that the
// output so far nets to the sessions recomputed from scratch.
func TestSessionRandomVsNaive(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, ts := tsSchema("id", "ts")
	cleaned := int64(0)
	for iter := 0; iter < 30; iter++ {
		gap := int64(1 + r.Intn(20))
		type rw struct{ id, ts int64 }
		var live []rw
		var msgs []Message
		var wants [][]string
		// With watermarks, rows are inserted and deleted at or above the
		// watermark only (as a WatermarkFilter upstream guarantees); the
		// sessions dropped from state must still net to the naive result.
		useWM := iter%2 == 1
		wm := int64(-100)
		for step := 0; step < 40; step++ {
			var text []string
			for k := r.Intn(6); k >= 0; k-- {
				var cand []int
				for i, x := range live {
					if x.ts >= wm {
						cand = append(cand, i)
					}
				}
				if len(cand) > 0 && r.Intn(3) == 0 {
					i := cand[r.Intn(len(cand))]
					text = append(text, fmt.Sprintf("- %d %d", live[i].id, live[i].ts))
					live = append(live[:i], live[i+1:]...)
					continue
				}
				x := rw{int64(r.Intn(3)), wm + int64(r.Intn(200))}
				if !useWM {
					x.ts = int64(r.Intn(200) - 100)
				}
				if len(cand) > 0 && r.Intn(5) == 0 {
					x = live[cand[r.Intn(len(cand))]] // duplicate
				}
				live = append(live, x)
				text = append(text, fmt.Sprintf("+ %d %d", x.id, x.ts))
			}
			msgs = append(msgs, tchunk(t, mem, s, strings.Join(text, "\n")))
			if useWM && r.Intn(3) == 0 {
				wm += int64(r.Intn(40))
				msgs = append(msgs, Watermark{Col: 1, Value: types.Timestamp(wm)})
			}
			msgs = append(msgs, Barrier{Epoch: uint64(step + 1)})
			// Naive: sort the live rows by time and assign sessions.
			sorted := append([]rw(nil), live...)
			sort.Slice(sorted, func(i, j int) bool { return sorted[i].ts < sorted[j].ts })
			tsv := make([]int64, len(sorted))
			for i, x := range sorted {
				tsv[i] = x.ts
			}
			starts, ends, err := timewin.SessionWindows(tsv, ivMicros(gap))
			require.NoError(t, err)
			var want []string
			for i, x := range sorted {
				want = append(want, fmt.Sprintf("%d %d %d %d", x.id, x.ts, starts[i], ends[i]))
			}
			sort.Strings(want)
			wants = append(wants, want)
		}
		sess, err := NewSession(&etScript{schema: s, msgs: msgs}, ts, 1, ivMicros(gap))
		require.NoError(t, err)
		sess.WithAllocator(mem)
		net := map[string]int{}
		for step := range wants {
			for {
				m, err := sess.Next(t.Context())
				require.NoError(t, err)
				require.NotNil(t, m)
				if _, ok := m.(Barrier); ok {
					break
				}
				if _, ok := m.(Watermark); ok {
					continue
				}
				for _, line := range renderMsg(m) {
					op, rest, _ := strings.Cut(line, " ")
					if op == "+" {
						net[rest]++
					} else {
						net[rest]--
						require.GreaterOrEqual(t, net[rest], 0, "retracted a row never emitted: %s", rest)
					}
				}
				ReleaseMessage(m)
			}
			require.Zero(t, sess.LateRows())
			var got []string
			for k, n := range net {
				for ; n > 0; n-- {
					got = append(got, k)
				}
			}
			sort.Strings(got)
			require.Equal(t, wants[step], nilIfEmpty(got), "iter %d step %d gap %d", iter, step, gap)
		}
		distinct := map[rw]bool{}
		for _, x := range live {
			distinct[x] = true
		}
		require.LessOrEqual(t, sess.StateRows(), int64(len(distinct)))
		if useWM {
			cleaned += int64(len(distinct)) - sess.StateRows()
		}
		require.NoError(t, sess.Close())
	}
	require.Positive(t, cleaned, "watermarks dropped final sessions from state")
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
