package engine

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/stream"
)

// barriers is an executor that returns n barriers, then ends.
type barriers struct {
	schema *arrow.Schema
	n      int
}

func (b *barriers) Schema() *arrow.Schema { return b.schema }
func (b *barriers) Next(context.Context) (stream.Message, error) {
	if b.n == 0 {
		return nil, nil
	}
	b.n--
	return stream.Barrier{Epoch: uint64(10 - b.n)}, nil
}
func (b *barriers) Close() error { return nil }

// A paced backfill cuts read batches into chunks of at most chunk rows, in
// order and without losing rows, counts them against its per-epoch slice,
// and releases what it still holds when closed early.
func TestPacedBackfillChunks(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}}, nil)
	batch := func(lo, n int) arrow.RecordBatch {
		bld := array.NewInt64Builder(mem)
		defer bld.Release()
		for i := range n {
			bld.Append(int64(lo + i))
		}
		a := bld.NewArray()
		defer a.Release()
		return array.NewRecordBatch(schema, []arrow.Array{a}, int64(n))
	}
	run := func(sizes []int, chunk, slice int64, stopAfter int) (got [][]int64, barriersSeen int) {
		i, lo := 0, 0
		rows := backfillRows{
			next: func(context.Context) (arrow.RecordBatch, error) {
				if i == len(sizes) {
					return nil, nil
				}
				b := batch(lo, sizes[i])
				lo += sizes[i]
				i++
				return b, nil
			},
			release: func() {},
		}
		p := &pacedBackfill{schema: schema, rows: rows, next: &barriers{schema: schema, n: 10}, slice: slice, chunk: chunk}
		defer func() { require.NoError(t, p.Close()) }()
		for len(got) < stopAfter {
			m, err := p.Next(context.Background())
			require.NoError(t, err)
			if m == nil {
				break
			}
			switch m := m.(type) {
			case *stream.Chunk:
				require.LessOrEqual(t, m.Batch.NumRows(), chunk)
				require.Len(t, m.Ops, int(m.Batch.NumRows()))
				require.Equal(t, schema, m.Batch.Schema())
				got = append(got, append([]int64(nil), m.Batch.Column(0).(*array.Int64).Int64Values()...))
				stream.ReleaseMessage(m)
			case stream.Barrier:
				barriersSeen++
			}
		}
		return got, barriersSeen
	}

	got, _ := run([]int{2500, 10, 1024, 0, 3000}, 1024, 1<<30, 100)
	var lens []int
	var all []int64
	for _, c := range got {
		lens = append(lens, len(c))
		all = append(all, c...)
	}
	require.Equal(t, []int{1024, 1024, 452, 10, 1024, 1024, 1024, 952}, lens)
	for i, v := range all {
		require.Equal(t, int64(i), v)
	}

	// Slices count against the epoch's slice: 3000 rows at 1000 per epoch.
	got, seen := run([]int{3000}, 512, 1000, 100)
	require.Len(t, got, 6)
	require.Equal(t, 10, seen, "every barrier passes")

	// Closing with a remainder pending releases it (the checked allocator).
	got, _ = run([]int{5000}, 1024, 1<<30, 2)
	require.Len(t, got, 2)
}
