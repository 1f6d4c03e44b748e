package stream

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

func TestHopStreaming(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, _ := tsSchema("id", "ts")
	src := &etScript{schema: s, msgs: []Message{
		tchunk(t, mem, s, "+ 1 5\n+ 2 NULL\n+ 3 -1"),
		Watermark{Col: 1, Value: types.Timestamp(7)},
		// Same window count: update pairs window by window.
		tchunk(t, mem, s, "U- 1 5\nU+ 1 12"),
		// NULL time on one side: the other side becomes a plain op.
		tchunk(t, mem, s, "U- 3 -1\nU+ 3 NULL\n- 1 12"),
		Watermark{Col: 0, Value: int64(3)},
		Barrier{Epoch: 1},
	}}
	h, err := NewHop(src, 1, ivMicros(5), ivMicros(10), types.Interval{})
	require.NoError(t, err)
	h.WithAllocator(mem)
	require.Equal(t, []string{"id", "ts", "window_start", "window_end"}, fieldNames(h.Schema()))
	got := drainAll(t, h)
	require.Equal(t, etLines(`
		+ 1 5 0 10
		+ 1 5 5 15
		+ 3 -1 -10 0
		+ 3 -1 -5 5
		wm 1 7
		wm 2 0
		U- 1 5 0 10
		U+ 1 12 5 15
		U- 1 5 5 15
		U+ 1 12 10 20
		- 3 -1 -10 0
		- 3 -1 -5 5
		- 1 12 5 15
		- 1 12 10 20
		wm 0 3
		barrier 1`), got)
	require.NoError(t, h.Close())
}

func TestHopOffsetAndErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, _ := tsSchema("id", "ts")
	src := &etScript{schema: s, msgs: []Message{tchunk(t, mem, s, "+ 1 5")}}
	h, err := NewHop(src, 1, ivMicros(4), ivMicros(8), ivMicros(1))
	require.NoError(t, err)
	require.Equal(t, etLines("+ 1 5 1 9\n+ 1 5 5 13"), drainAll(t, h.WithAllocator(mem)))
	require.NoError(t, h.Close())

	_, err = NewHop(src, 1, ivMicros(3), ivMicros(8), types.Interval{})
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err))
	_, err = NewHop(src, 1, ivMicros(0), ivMicros(8), types.Interval{})
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err))
	_, err = NewHop(src, 1, types.Interval{Months: 1}, types.Interval{Months: 2}, types.Interval{})
	require.Equal(t, pgerror.FeatureNotSupported, pgerror.CodeOf(err))
}

func fieldNames(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i := range out {
		out[i] = s.Field(i).Name
	}
	return out
}
