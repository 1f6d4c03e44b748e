package stream

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHashAggregateStateBytesCountsKeptResults checks that the aggregate's
// memory estimate (the spill budget's measure) includes the results it
// keeps per group for the next epoch's changes: count, min and max of
// int8 keep 8 bytes per group each.
func TestHashAggregateStateBytesCountsKeptResults(t *testing.T) {
	s, ts := int8Schema("k", "v")
	const groups = 4096
	rows := make([]row, groups)
	for i := range rows {
		k, v := int64(i), int64(i%7)
		rows[i] = row{op: Insert, vals: []*int64{&k, &v}}
	}
	src := &replaySource{schema: s, every: 1, chunks: []*Chunk{makeChunk(t, s, rows)}}
	defer src.chunks[0].Release()
	calls, _ := aggCalls(t, 1)
	h, err := NewHashAggregate(src, ts, []int{0}, calls, nil)
	require.NoError(t, err)
	defer h.Close()
	var before int64
	for _, gen := range h.gens {
		for _, o := range gen.outs {
			before += o.memoryBytes()
		}
	}
	for {
		m, err := h.Next(context.Background())
		require.NoError(t, err)
		if c, ok := m.(*Chunk); ok {
			c.Release()
			continue
		}
		if _, ok := m.(Barrier); ok {
			break
		}
	}
	require.Equal(t, int64(groups), int64(h.Groups()))
	var outs, rest int64
	for _, gen := range h.gens {
		for _, o := range gen.outs {
			outs += o.memoryBytes()
		}
		if gen.gt != nil {
			rest += gen.gt.MemoryBytes()
		}
		for _, a := range gen.accs {
			rest += a.MemoryBytes()
		}
	}
	require.GreaterOrEqual(t, outs-before, int64(3*8*groups))
	require.GreaterOrEqual(t, h.StateBytes(), rest+outs)
}
