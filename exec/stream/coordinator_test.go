package stream

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// waitGoroutines polls until at most n goroutines run, failing at a
// deadline (a bound, not a synchronization).
func waitGoroutines(t *testing.T, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutine leak: %d > %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// TestCoordinatorFlush runs two views over shared changelogs in their own
// goroutines, as the server will: after every Flush both views, read at the
// coordinator's committed epoch, equal the naive result, and shutting down
// leaks no goroutine.
func TestCoordinatorFlush(t *testing.T) {
	base := runtime.NumGoroutine()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	coord := NewCoordinator()
	s0, ts0 := int8Schema("k", "v")
	s1, ts1 := int8Schema("c", "d")
	l0, l1 := NewChangelog(s0), NewChangelog(s1)
	defer l0.Release()
	defer l1.Release()
	coord.AddChangelog(l0)
	coord.AddChangelog(l1)
	sub := func(l *Changelog) Executor {
		s, err := l.Subscribe(0)
		require.NoError(t, err)
		return NewSource(s)
	}

	calls, ats := aggCalls(t, 1)
	h, err := NewHashAggregate(sub(l0), ts0, []int{0}, calls, nil)
	require.NoError(t, err)
	c1, err := coord.RegisterView("agg", 0)
	require.NoError(t, err)
	aggTypes := append([]types.T{types.Int8T}, ats...)
	aggView, err := NewMaterialize(h, aggTypes, []int{0}, nil, c1)
	require.NoError(t, err)

	j, err := NewHashJoin(sub(l0), sub(l1), ts0, ts1, []int{0}, []int{0}, LeftJoin)
	require.NoError(t, err)
	c2, err := coord.RegisterView("join", 0)
	require.NoError(t, err)
	joinTypes := append(append([]types.T(nil), ts0...), ts1...)
	joinView, err := NewMaterialize(j, joinTypes, nil, nil, c2)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 2)
	for _, v := range []*Materialize{aggView, joinView} {
		go func() { errc <- v.Run(ctx) }()
	}

	// A deadline turns a hang into a failure.
	tctx, tcancel := context.WithTimeout(context.Background(), time.Minute)
	defer tcancel()
	var m0, m1 model
	logs := []*Changelog{l0, l1}
	models := []*model{&m0, &m1}
	for round := 0; round < 10; round++ {
		for tbl := range logs {
			m := models[tbl]
			var rows []row
			for i := rng.IntN(10); i >= 0; i-- {
				if len(m.rows) > 0 && rng.IntN(3) == 0 {
					k := rng.IntN(len(m.rows))
					rows = append(rows, row{op: Delete, vals: m.rows[k]})
					m.rows[k] = m.rows[len(m.rows)-1]
					m.rows = m.rows[:len(m.rows)-1]
					continue
				}
				v := []*int64{randVal(rng, 0, 4, 5), randVal(rng, -9, 9, 10)}
				m.rows = append(m.rows, v)
				rows = append(rows, row{op: Insert, vals: v})
			}
			c := makeChunk(t, logs[tbl].Schema(), rows)
			require.NoError(t, logs[tbl].Append(c))
			c.Release()
		}
		e, err := coord.Flush(tctx)
		require.NoError(t, err)
		require.GreaterOrEqual(t, coord.Committed(), e)
		at, got, err := coord.ReadViews(tctx, aggView, joinView)
		require.NoError(t, err)
		require.GreaterOrEqual(t, at, e)
		// No writes happen between Flush and the read, so the cut shows them all.
		require.Equal(t, sortedCopy(naiveAgg(m0.rows, 0, 1, true)), sortedCopy(render(got[0], aggTypes)), "seed %d", seed)
		require.Equal(t, sortedCopy(naiveJoin(m0.rows, m1.rows, true, false)), sortedCopy(render(got[1], joinTypes)), "seed %d", seed)
	}

	// Periodic barriers keep committing.
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- coord.Run(runCtx, time.Millisecond, 2) }()
	require.NoError(t, coord.WaitCommitted(tctx, coord.Injected()+2))
	stopRun()
	require.ErrorIs(t, <-runDone, context.Canceled)

	cancel()
	for range 2 {
		err := <-errc
		require.True(t, errors.Is(err, context.Canceled), "%v", err)
		require.Equal(t, pgerror.QueryCanceled, pgerror.CodeOf(err))
	}
	require.NoError(t, aggView.Close())
	require.NoError(t, joinView.Close())
	waitGoroutines(t, base)
}

func render(bs []arrow.RecordBatch, ts []types.T) []string {
	var out []string
	for _, b := range bs {
		out = append(out, formatRows(b, ts)...)
		b.Release()
	}
	return out
}

func TestSubscribeFromEpoch(t *testing.T) {
	ctx := context.Background()
	s, _ := int8Schema("a")
	l := NewChangelog(s)
	defer l.Release()
	push := func(v string) {
		c := makeChunk(t, s, parseRows(t, "+ "+v))
		require.NoError(t, l.Append(c))
		c.Release()
	}
	push("1")
	require.NoError(t, l.AppendBarrier(Barrier{Epoch: 1}))
	push("2")
	require.NoError(t, l.AppendBarrier(Barrier{Epoch: 2}))
	require.Error(t, l.AppendBarrier(Barrier{Epoch: 2}), "repeated epoch")
	_, err := l.Subscribe(7)
	require.Error(t, err)
	sub, err := l.Subscribe(1)
	require.NoError(t, err)
	m, err := sub.Next(ctx)
	require.NoError(t, err)
	c := m.(*Chunk)
	require.Equal(t, []string{"2"}, formatRows(c.Batch, []types.T{types.Int8T}))
	c.Release()
	m, err = sub.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, Barrier{Epoch: 2}, m)

	// Blocking read honours cancellation; a closed log ends the stream.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = sub.Next(cctx)
	require.ErrorIs(t, err, context.Canceled)
	l.Close()
	m, err = sub.Next(ctx)
	require.NoError(t, err)
	require.Nil(t, m)
}

func TestLookupAggErrors(t *testing.T) {
	reg := testRegistry()
	// An accumulator without Retract is refused with 0A000.
	reg.AddAgg(&kernels.AggFunc{Name: "noretract", Args: []types.T{types.Int8T}, Ret: types.Int8T,
		New: func([]types.T, types.T) kernels.GroupedAcc { return plainAcc{} }})
	_, err := LookupAgg(reg, "noretract", []int{0}, []types.T{types.Int8T})
	require.Equal(t, "0A000", pgerror.CodeOf(err), "non-retractable aggregates are refused: %v", err)
	c, err := LookupAgg(reg, "sum", []int{0}, []types.T{types.Float8T})
	require.NoError(t, err, "float sums retract exactly")
	require.Equal(t, types.Float8T.Family, c.Type.Family)
	_, err = LookupAgg(reg, "nosuch", []int{0}, []types.T{types.Int8T})
	require.Equal(t, "42883", pgerror.CodeOf(err))
	c, err = LookupAgg(reg, "avg", []int{0}, []types.T{types.Int8T})
	require.NoError(t, err)
	require.Equal(t, types.NumericT.Family, c.Type.Family)
}

// plainAcc is an accumulator that can neither retract nor report a group.
type plainAcc struct{}

func (plainAcc) Grow(int)                                                   {}
func (plainAcc) Update(*kernels.EvalContext, []uint32, []arrow.Array) error { return nil }
func (plainAcc) Finish(*kernels.EvalContext, array.Builder) error           { return nil }
func (plainAcc) MemoryBytes() int64                                         { return 0 }
