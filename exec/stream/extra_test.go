package stream

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

// script is an executor that replays fixed messages, then ends.
type script struct {
	schema *arrow.Schema
	msgs   []Message
	closed bool
}

func (s *script) Schema() *arrow.Schema { return s.schema }
func (s *script) Close() error {
	s.closed = true
	for _, m := range s.msgs {
		ReleaseMessage(m)
	}
	s.msgs = nil
	return nil
}
func (s *script) Next(context.Context) (Message, error) {
	if len(s.msgs) == 0 {
		return nil, nil
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

func drain(t *testing.T, e Executor) []Message {
	var out []Message
	for {
		m, err := e.Next(context.Background())
		require.NoError(t, err)
		if m == nil {
			return out
		}
		if c, ok := m.(*Chunk); ok {
			out = append(out, Watermark{Col: -1, Value: int64(c.NumRows())}) // rows marker
			c.Release()
			continue
		}
		out = append(out, m)
	}
}

func TestWatermarks(t *testing.T) {
	s, ts := int8Schema("a", "b")
	chunk := func() *Chunk { return makeChunk(t, s, parseRows(t, "+ 1 2")) }

	// Union forwards the minimum once every input reported.
	u, err := NewUnion(ts,
		&script{schema: s, msgs: []Message{Watermark{Col: 1, Value: int64(5)}, chunk(), Barrier{Epoch: 1}}},
		&script{schema: s, msgs: []Message{Watermark{Col: 1, Value: int64(3)}, Barrier{Epoch: 1}, Watermark{Col: 1, Value: int64(9)}}})
	require.NoError(t, err)
	require.Equal(t, []Message{
		Watermark{Col: 1, Value: int64(3)},
		Watermark{Col: -1, Value: int64(1)},
		Barrier{Epoch: 1},
		Watermark{Col: 1, Value: int64(5)},
	}, drain(t, u))
	require.NoError(t, u.Close())

	// Join drops watermarks of non-key columns and forwards the smaller of
	// its inputs' key watermarks on both key columns (the right side's
	// renumbered), once both inputs reported.
	j, err := NewHashJoin(
		&script{schema: s, msgs: []Message{Watermark{Col: 1, Value: int64(1)}, Watermark{Col: 0, Value: int64(4)}, Watermark{Col: 0, Value: int64(9)}}},
		&script{schema: s, msgs: []Message{Watermark{Col: 1, Value: int64(2)}, Watermark{Col: 0, Value: int64(6)}}},
		ts, ts, []int{0}, []int{0}, InnerJoin)
	require.NoError(t, err)
	require.Equal(t, []Message{Watermark{Col: 0, Value: int64(4)}, Watermark{Col: 2, Value: int64(4)},
		Watermark{Col: 0, Value: int64(6)}, Watermark{Col: 2, Value: int64(6)}}, drain(t, j))

	// Aggregate passes watermarks of group columns, renumbered; Project only
	// declared columns.
	calls, _ := aggCalls(t, 0)
	h, err := NewHashAggregate(&script{schema: s, msgs: []Message{Watermark{Col: 1, Value: int64(7)}, Watermark{Col: 0, Value: int64(8)}}}, ts, []int{1}, calls, nil)
	require.NoError(t, err)
	require.Equal(t, []Message{Watermark{Col: 0, Value: int64(7)}}, drain(t, h))
	ps, _ := int8Schema("b")
	p, err := NewProject(&script{schema: s, msgs: []Message{Watermark{Col: 0, Value: int64(1)}, Watermark{Col: 1, Value: int64(2)}}}, []Evaluator{colEval(1)}, ps)
	require.NoError(t, err)
	require.Equal(t, []Message{Watermark{Col: 0, Value: int64(2)}}, drain(t, p.WithWatermarks(map[int]int{1: 0})))
}

func TestMisalignedBarriers(t *testing.T) {
	s, ts := int8Schema("a", "b")
	u, err := NewUnion(ts,
		&script{schema: s, msgs: []Message{Barrier{Epoch: 1}}},
		&script{schema: s, msgs: []Message{Barrier{Epoch: 2}}})
	require.NoError(t, err)
	_, err = u.Next(context.Background())
	require.Error(t, err)
	require.NoError(t, u.Close())
}

func TestTruncateAndViewScan(t *testing.T) {
	ctx := context.Background()
	p := buildPipeline(t, "agg")
	defer p.close()
	l := p.logs[0]
	for i := 0; i < 3; i++ {
		c := makeChunk(t, l.Schema(), parseRows(t, "+ 1 4\n+ 2 5"))
		require.NoError(t, l.Append(c))
		c.Release()
		e, err := p.coord.InjectBarrier(false)
		require.NoError(t, err)
		require.Equal(t, e, p.pullBarrier(t, ctx))
	}
	require.Equal(t, 6, l.Len())
	// A late subscriber at epoch 1 pins entries after barrier 1.
	late, err := l.Subscribe(1)
	require.NoError(t, err)
	require.Equal(t, 2, l.Truncate(3))
	require.Equal(t, 4, l.Len())
	late.Close()
	require.Equal(t, 4, l.Truncate(3))
	require.Equal(t, 0, l.Len())
	_, err = l.Subscribe(1)
	require.Error(t, err)
	_, err = l.Subscribe(3)
	require.NoError(t, err)

	scan := p.mat.Scan(p.mat.CommittedEpoch())
	require.NoError(t, scan.Init(ctx))
	var rows []string
	for {
		b, err := scan.Next()
		require.NoError(t, err)
		if b == nil {
			break
		}
		rows = append(rows, formatRows(b, p.ts)...)
	}
	require.NoError(t, scan.Close())
	require.Equal(t, []string{"1 3 12 4 4", "2 3 15 5 5"}, rows)
}

// TestTruncateLaggingLog: a log that has not reached barrier e yet (a
// view's output log when the engine truncates right after injecting e)
// truncates at the newest barrier it has, so it does not keep every change
// for the life of the view.
func TestTruncateLaggingLog(t *testing.T) {
	p := buildPipeline(t, "agg")
	defer p.close()
	l := NewChangelog(p.logs[0].Schema())
	defer l.Release()
	require.Equal(t, 0, l.Truncate(5), "no barrier yet")
	for e := uint64(1); e <= 3; e++ {
		c := makeChunk(t, l.Schema(), parseRows(t, "+ 1 4\n+ 2 5"))
		require.NoError(t, l.Append(c))
		c.Release()
		require.NoError(t, l.AppendBarrier(Barrier{Epoch: e}))
	}
	c := makeChunk(t, l.Schema(), parseRows(t, "+ 3 6"))
	require.NoError(t, l.Append(c))
	c.Release()
	require.Equal(t, 4, l.Truncate(2), "up to barrier 2")
	require.Equal(t, 3, l.Len())
	require.Equal(t, 2, l.Truncate(7), "up to barrier 3, the newest ≤ 7")
	require.Equal(t, 1, l.Len(), "the chunk after barrier 3 stays")
	sub, err := l.Subscribe(3)
	require.NoError(t, err)
	sub.Close()
}
