package stream

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

func TestProjectDerivedWatermark(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, _ := tsSchema("id", "ts")
	src := &etScript{schema: s, msgs: []Message{
		tchunk(t, mem, s, "+ 1 17"),
		Watermark{Col: 1, Value: types.Timestamp(17)},
		Watermark{Col: 1, Value: types.Timestamp(19)}, // same bucket: no derived one
		Watermark{Col: 0, Value: int64(4)},            // not mapped: dropped
		Watermark{Col: 1, Value: types.Timestamp(-1)}, // f yields NULL
		Watermark{Col: 1, Value: types.Timestamp(25)},
		Barrier{Epoch: 1},
	}}
	out, _ := tsSchema("ts", "bucket_ts")
	p, err := NewProject(src, []Evaluator{colEval(1), colEval(1)}, out)
	require.NoError(t, err)
	p.WithWatermarks(map[int]int{1: 0}).WithDerivedWatermark(1, 1, func(d types.Datum) (types.Datum, error) {
		v := int64(d.(types.Timestamp))
		if v < 0 {
			return nil, nil
		}
		return types.Timestamp(v / 10 * 10), nil
	})
	require.Equal(t, etLines(`
		+ 17 17
		wm 0 17
		wm 1 10
		wm 0 19
		wm 0 -1
		wm 0 25
		wm 1 20
		barrier 1`), drainAll(t, p))
	require.NoError(t, p.Close())

	src = &etScript{schema: s, msgs: []Message{Watermark{Col: 1, Value: types.Timestamp(1)}}}
	p, err = NewProject(src, []Evaluator{colEval(1)}, arrowSchemaOf(out, 0))
	require.NoError(t, err)
	boom := errors.New("boom")
	p.WithDerivedWatermark(1, 0, func(types.Datum) (types.Datum, error) { return nil, boom })
	_, err = p.Next(t.Context())
	require.ErrorIs(t, err, boom)
	require.NoError(t, p.Close())
}
