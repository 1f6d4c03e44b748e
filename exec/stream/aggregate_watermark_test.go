package stream

import (
	"testing"

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
