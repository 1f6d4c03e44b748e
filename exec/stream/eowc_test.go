package stream

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func TestEOWCKeyed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, ts := tsSchema("k", "w", "v")
	src := &etScript{schema: s, msgs: []Message{
		tchunk(t, mem, s, "+ 1 0 5\n+ 2 0 7\n+ 1 10 3\n+ 5 NULL 1"),
		Barrier{Epoch: 1},
		tchunk(t, mem, s, "U- 1 0 5\nU+ 1 0 6\n- 2 0 7\n+ 3 0 1\n+ 2 -5 2"),
		Watermark{Col: 1, Value: int64(10)},
		tchunk(t, mem, s, "+ 4 0 9\nU- 1 10 3\nU+ 1 10 4\n- 3 0 1"),
		Watermark{Col: 0, Value: int64(5)},
		Watermark{Col: 1, Value: int64(10)}, // not an advance: dropped
		Barrier{Epoch: 2},
		Watermark{Col: 1, Value: int64(20)},
	}}
	e, err := NewEOWC(src, ts, []int{0, 1}, 1)
	require.NoError(t, err)
	e.WithAllocator(mem)
	got := drainAll(t, e)
	require.Equal(t, etLines(`
		barrier 1
		+ 2 -5 2
		+ 1 0 6
		+ 3 0 1
		wm 1 10
		wm 0 5
		barrier 2
		+ 1 10 4
		wm 1 20`), got)
	require.Equal(t, int64(2), e.LateRows())
	require.Equal(t, 1, e.Pending(), "the NULL window never closes")
	require.NoError(t, e.Close())
}

func TestEOWCMultiset(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, ts := tsSchema("w", "v")
	src := &etScript{schema: s, msgs: []Message{
		tchunk(t, mem, s, "+ 0 1\n+ 0 1\n+ 0 2\n+ 5 1\n- 0 2"),
		Watermark{Col: 0, Value: int64(3)},
	}}
	e, err := NewEOWC(src, ts, nil, 0)
	require.NoError(t, err)
	got := drainAll(t, e.WithAllocator(mem))
	require.Equal(t, etLines("+ 0 1\n+ 0 1\nwm 0 3"), got)
	require.Equal(t, 1, e.Pending())
	require.NoError(t, e.Close())
}

// TestEOWCAllColumnsKey keys by every column (as a view without a key
// does): duplicates keep their multiplicity.
func TestEOWCAllColumnsKey(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, ts := tsSchema("w", "v")
	src := &etScript{schema: s, msgs: []Message{
		tchunk(t, mem, s, "+ 0 2\n+ 0 1\n+ 0 1\n+ 0 1\n- 0 1\nU- 0 2\nU+ 0 3"),
		Watermark{Col: 0, Value: int64(1)},
	}}
	e, err := NewEOWC(src, ts, []int{0, 1}, 0)
	require.NoError(t, err)
	got := drainAll(t, e.WithAllocator(mem))
	require.Equal(t, etLines("+ 0 1\n+ 0 1\n+ 0 3\nwm 0 1"), got)
	require.NoError(t, e.Close())
}
