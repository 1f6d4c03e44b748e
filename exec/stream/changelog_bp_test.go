package stream

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChangelogRetainedBytes: appends count a chunk's buffers and ops,
// truncation subtracts what it drops, Release clears the rest.
func TestChangelogRetainedBytes(t *testing.T) {
	ctx := context.Background()
	s, _ := int8Schema("a")
	l := NewChangelog(s)
	push := func(v string) int64 {
		c := makeChunk(t, s, parseRows(t, v))
		defer c.Release()
		n := chunkBytes(c)
		require.NoError(t, l.Append(c))
		return n
	}
	require.Zero(t, l.RetainedBytes())
	n1 := push("+ 1\n+ 2\n+ 3")
	require.Positive(t, n1)
	require.Equal(t, n1, l.RetainedBytes())
	require.NoError(t, l.AppendBarrier(Barrier{Epoch: 1}))
	n2 := push("+ 4")
	require.NoError(t, l.AppendBarrier(Barrier{Epoch: 2}))
	require.Equal(t, n1+n2, l.RetainedBytes())

	sub, err := l.Subscribe(0)
	require.NoError(t, err)
	require.Zero(t, l.Truncate(2), "the subscriber read nothing")
	require.Equal(t, n1+n2, l.RetainedBytes())
	m, err := sub.Next(ctx) // chunk 1
	require.NoError(t, err)
	ReleaseMessage(m)
	m, err = sub.Next(ctx) // barrier 1
	require.NoError(t, err)
	ReleaseMessage(m)
	require.Equal(t, 2, l.Truncate(2))
	require.Equal(t, n2, l.RetainedBytes())
	sub.Close()
	require.Equal(t, 2, l.Truncate(2))
	require.Zero(t, l.RetainedBytes())
	push("+ 5")
	l.Release()
	require.Zero(t, l.RetainedBytes())
}

// TestChangelogBackpressure: Backpressure is nil at or under the limit and
// otherwise a channel that a reader's progress, a truncation or Close
// closes.
func TestChangelogBackpressure(t *testing.T) {
	ctx := context.Background()
	s, _ := int8Schema("a")
	l := NewChangelog(s)
	defer l.Release()
	c := makeChunk(t, s, parseRows(t, "+ 1\n+ 2"))
	n := chunkBytes(c)
	require.NoError(t, l.Append(c))
	c.Release()
	p, read := l.Backpressure(n)
	require.Nil(t, p)
	require.Zero(t, read)
	sub, err := l.Subscribe(0)
	require.NoError(t, err)

	p, read = l.Backpressure(n - 1)
	require.NotNil(t, p)
	require.Zero(t, read, "nothing read yet")
	requireOpen(t, p)
	m, err := sub.Next(ctx)
	require.NoError(t, err)
	ReleaseMessage(m)
	requireClosed(t, p, "a read is progress")

	p, read = l.Backpressure(n - 1)
	require.NotNil(t, p, "read but not truncated")
	require.Equal(t, n, read, "a barrier now would free the chunk read")
	require.NoError(t, l.AppendBarrier(Barrier{Epoch: 1}))
	requireClosed(t, p, "an append is progress")
	p, _ = l.Backpressure(n - 1)
	require.NotNil(t, p)
	sub.Close()
	requireClosed(t, p, "closing a subscription is progress")
	p, _ = l.Backpressure(n - 1)
	require.NotNil(t, p)
	require.Equal(t, 2, l.Truncate(1))
	requireClosed(t, p, "truncation is progress")
	p, _ = l.Backpressure(0)
	require.Nil(t, p)

	c = makeChunk(t, s, parseRows(t, "+ 3"))
	n3 := chunkBytes(c)
	require.NoError(t, l.Append(c))
	c.Release()
	p, read = l.Backpressure(0)
	require.NotNil(t, p)
	require.Equal(t, n3, read, "no subscriber: every chunk is freeable")
	l.Close()
	requireClosed(t, p, "close ends the wait")
	p, _ = l.Backpressure(0)
	require.Nil(t, p, "a closed log never throttles")
}

func requireOpen(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
		t.Fatal("channel closed early")
	default:
	}
}

func requireClosed(t *testing.T, ch <-chan struct{}, msg string) {
	t.Helper()
	select {
	case <-ch:
	default:
		t.Fatal("channel not closed: " + msg)
	}
}
