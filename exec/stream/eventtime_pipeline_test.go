package stream

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/timewin"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TestTumbleAggregateEOWC runs RisingWave's time_window.slt rows through
//
//	CREATE TABLE t1 (row_id int, uid int, v int, ts timestamp,
//	                 WATERMARK FOR ts AS ts - INTERVAL '5 minutes');
//	SELECT window_start, uid, sum(v) FROM tumble(t1, ts, INTERVAL '30 minutes')
//	GROUP BY window_start, uid EMIT ON WINDOW CLOSE;
//
// as WatermarkFilter → Project (tumble_start with a derived watermark) →
// HashAggregate (cleaned by the watermark) → EOWC, with a late row and an
// idle input whose watermark advances on a fake clock.
func TestTumbleAggregateEOWC(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	at := func(hm string) int64 {
		tm, err := time.Parse("2006-01-02 15:04", "2022-01-01 "+hm)
		require.NoError(t, err)
		return tm.UnixMicro()
	}
	s, _ := tsSchema("row_id", "uid", "v", "ts")
	chunk := func(rows ...string) *Chunk {
		text := ""
		for _, r := range rows {
			var id, uid, v int64
			var hm string
			_, err := fmt.Sscanf(r, "%d %d %d %s", &id, &uid, &v, &hm)
			require.NoError(t, err)
			text += fmt.Sprintf("+ %d %d %d %d\n", id, uid, v, at(hm))
		}
		return tchunk(t, mem, s, text)
	}
	clock := &fakeClock{t: time.Unix(0, 0)}
	src := &clockedScript{clock: clock, etScript: etScript{schema: s, msgs: []Message{
		chunk("1 1 4 10:00", "2 3 3 10:05"), Barrier{Epoch: 1},
		chunk("3 2 2 10:14", "4 1 1 10:22"), Barrier{Epoch: 2},
		chunk("5 3 5 10:33", "6 2 7 10:42"), Barrier{Epoch: 3},
		chunk("7 1 6 10:51", "8 3 8 11:02", "9 1 100 10:20"), Barrier{Epoch: 4},
		Barrier{Epoch: 5}, // 10 minutes of wall time later: idle
		Barrier{Epoch: 6}, // and 30 more
	}}, steps: map[int]time.Duration{8: 10 * time.Minute, 9: 30 * time.Minute}}

	var late atomic.Int64
	five := 5 * types.MicrosPerMinute
	wf := NewWatermarkFilter(src, 3, minusEval(3, five), WatermarkOptions{IdleTimeout: time.Minute, Now: clock.now, LateRows: &late}).WithAllocator(mem)

	size := types.Interval{Micros: 30 * types.MicrosPerMinute}
	tumble := EvalFunc(func(_ context.Context, b arrow.RecordBatch) (arrow.Array, error) {
		return timewin.TumbleStartArray(mem, b.Column(3), size, types.Interval{})
	})
	ps, _ := tsSchema("uid", "v", "start_ts")
	pr, err := NewProject(wf, []Evaluator{colEval(1), colEval(2), tumble}, ps)
	require.NoError(t, err)
	pr.WithDerivedWatermark(3, 2, func(d types.Datum) (types.Datum, error) {
		v, err := timewin.TumbleStart(int64(d.(types.Timestamp)), size, types.Interval{})
		return types.Timestamp(v), err
	})

	reg := testRegistry()
	sum, err := LookupAgg(reg, "sum", []int{1}, []types.T{types.Int8T})
	require.NoError(t, err)
	_, pts := tsSchema("uid", "v", "start_ts")
	h, err := NewHashAggregate(pr, pts, []int{2, 0}, []AggCall{sum}, &kernels.EvalContext{Mem: mem})
	require.NoError(t, err)
	e, err := NewEOWC(h, []types.T{types.TimestampT, types.Int8T, types.NumericT}, []int{0, 1}, 0)
	require.NoError(t, err)
	e.WithAllocator(mem)

	var got []string
	for _, line := range drainAll(t, e) {
		var ws, uid, sum int64
		if n, _ := fmt.Sscanf(line, "+ %d %d %d", &ws, &uid, &sum); n == 3 {
			line = fmt.Sprintf("+ %s %d %d", time.UnixMicro(ws).UTC().Format("15:04"), uid, sum)
		}
		got = append(got, line)
	}
	want := etLines(fmt.Sprintf(`
		wm 0 %d
		barrier 1
		barrier 2
		+ 10:00 1 5
		+ 10:00 2 2
		+ 10:00 3 3
		wm 0 %d
		barrier 3
		barrier 4
		+ 10:30 1 6
		+ 10:30 2 7
		+ 10:30 3 5
		wm 0 %d
		barrier 5
		+ 11:00 3 8
		wm 0 %d
		barrier 6`, at("10:00"), at("10:30"), at("11:00"), at("11:30")))
	require.Equal(t, want, got)
	require.Equal(t, int64(1), late.Load())
	require.Equal(t, 0, e.Pending())
	require.Equal(t, 0, h.Groups(), "every window closed: the aggregate state is empty")
	require.NoError(t, e.Close())
}
