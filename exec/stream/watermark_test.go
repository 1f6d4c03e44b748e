package stream

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// clockStep is a script message that moves the fake clock when read.
type clockedScript struct {
	etScript
	clock *fakeClock
	steps map[int]time.Duration // message index → clock advance before it
	n     int
}

func (s *clockedScript) Next(ctx context.Context) (Message, error) {
	if d, ok := s.steps[s.n]; ok {
		s.clock.t = s.clock.t.Add(d)
	}
	s.n++
	return s.etScript.Next(ctx)
}

func TestWatermarkFilterLateRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, _ := tsSchema("id", "ts")
	src := &etScript{schema: s, msgs: []Message{
		tchunk(t, mem, s, "+ 1 100\n+ 2 50\n+ 9 NULL"),
		Barrier{Epoch: 1},
		tchunk(t, mem, s, "+ 3 85\n+ 4 95\n- 2 50\nU- 1 100\nU+ 1 80\nU- 4 95\nU+ 4 96"),
		Watermark{Col: 0, Value: int64(7)},
		Barrier{Epoch: 2},
		tchunk(t, mem, s, "+ 5 89"),
		Barrier{Epoch: 3},
		Watermark{Col: 1, Value: types.Timestamp(200)},
		Barrier{Epoch: 4},
	}}
	var late atomic.Int64
	var lateSeen []string
	f := NewWatermarkFilter(src, 1, minusEval(1, 10), WatermarkOptions{
		LateRows: &late,
		Late: func(_ context.Context, b arrow.RecordBatch) error {
			for i := 0; i < int(b.NumRows()); i++ {
				lateSeen = append(lateSeen, fmtInts(b, i))
			}
			return nil
		},
	}).WithAllocator(mem)
	got := drainAll(t, f)
	require.Equal(t, etLines(`
		+ 1 100
		+ 2 50
		+ 9 NULL
		wm 1 90
		barrier 1
		+ 4 95
		- 1 100
		U- 4 95
		U+ 4 96
		wm 0 7
		barrier 2
		barrier 3
		wm 1 200
		barrier 4`), got)
	require.Equal(t, int64(4), late.Load())
	require.Equal(t, []string{"3 85", "1 80", "5 89"}, lateSeen)
	cur, ok := f.Current()
	require.True(t, ok)
	require.Equal(t, types.Timestamp(200), cur)
	require.NoError(t, f.Close())
}

func TestWatermarkFilterIdleTimeout(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, _ := tsSchema("id", "ts")
	clock := &fakeClock{t: time.Unix(1000, 0)}
	src := &clockedScript{clock: clock, etScript: etScript{schema: s, msgs: []Message{
		tchunk(t, mem, s, "+ 1 100"),
		Barrier{Epoch: 1}, // t0: the watermark moves to 90
		Barrier{Epoch: 2}, // t0+0.5s: idle for less than the timeout
		Barrier{Epoch: 3}, // t0+1.5s: idle: +1.5s
		Barrier{Epoch: 4}, // t0+2s: still idle: +0.5s
		tchunk(t, mem, s, "+ 2 1000000\n+ 3 2000100"),
		Barrier{Epoch: 5}, // t0+2.2s: a row arrived: no idle advance; rows move it
		Barrier{Epoch: 6}, // t0+2.7s: idle for 0.5s only
	}}, steps: map[int]time.Duration{2: 500 * time.Millisecond, 3: time.Second, 4: 500 * time.Millisecond, 6: 200 * time.Millisecond, 7: 500 * time.Millisecond}}
	var late atomic.Int64
	f := NewWatermarkFilter(src, 1, minusEval(1, 10), WatermarkOptions{IdleTimeout: time.Second, Now: clock.now, LateRows: &late}).WithAllocator(mem)
	got := drainAll(t, f)
	require.Equal(t, etLines(`
		+ 1 100
		wm 1 90
		barrier 1
		barrier 2
		wm 1 1500090
		barrier 3
		wm 1 2000090
		barrier 4
		+ 3 2000100
		barrier 5
		barrier 6`), got)
	require.Equal(t, int64(1), late.Load())
	require.NoError(t, f.Close())
}
