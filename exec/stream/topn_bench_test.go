package stream

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// topnBenchSource returns a replaySource of 64 chunks of 1024 rows (k in
// [0, groups), v random), each ending with deletes of 10% of its own rows,
// with a barrier every 16 chunks.
func topnBenchSource(b *testing.B, groups int64) *replaySource {
	rng := rand.New(rand.NewPCG(1, 2))
	s, _ := int8Schema("k", "v")
	src := &replaySource{schema: s, every: 16}
	for c := 0; c < 64; c++ {
		rows := make([]row, 0, 1024)
		for len(rows) < 922 {
			k, v := rng.Int64N(groups), rng.Int64N(1_000_000)
			rows = append(rows, row{op: Insert, vals: []*int64{&k, &v}})
		}
		for i := 0; len(rows) < 1024; i += 9 {
			rows = append(rows, row{op: Delete, vals: rows[i].vals})
		}
		src.chunks = append(src.chunks, makeChunk(b, s, rows))
	}
	return src
}

// benchEpochs pulls b.N epochs through e and reports input rows/s.
func benchEpochs(b *testing.B, e Executor, rowsPerEpoch int) {
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for {
			m, err := e.Next(ctx)
			require.NoError(b, err)
			if _, ok := m.(Barrier); ok {
				break
			}
			ReleaseMessage(m)
		}
	}
	b.ReportMetric(float64(b.N*rowsPerEpoch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkTopN measures ORDER BY v DESC LIMIT 10 (and OFFSET 100 LIMIT
// 100) over a stream of inserts with 10% deletes.
func BenchmarkTopN(b *testing.B) {
	for _, c := range []struct {
		name          string
		limit, offset int64
	}{{"limit=10", 10, 0}, {"offset=100,limit=100", 100, 100}} {
		b.Run(c.name, func(b *testing.B) {
			src := topnBenchSource(b, 1000)
			_, ts := int8Schema("k", "v")
			op, err := NewTopN(src, ts, []SortCol{{Col: 1, Desc: true}}, c.limit, c.offset, false)
			require.NoError(b, err)
			defer op.Close()
			benchEpochs(b, op, 16*1024)
		})
	}
}

// BenchmarkGroupTopN measures row_number() OVER (PARTITION BY k ORDER BY
// v) <= 3 with the rank column, over 1K and 100K partitions.
func BenchmarkGroupTopN(b *testing.B) {
	for _, groups := range []int64{1_000, 100_000} {
		b.Run(map[int64]string{1_000: "groups=1K", 100_000: "groups=100K"}[groups], func(b *testing.B) {
			src := topnBenchSource(b, groups)
			_, ts := int8Schema("k", "v")
			op, err := NewGroupTopN(src, ts, []int{0}, []SortCol{{Col: 1}}, "row_number", 3, true)
			require.NoError(b, err)
			defer op.Close()
			benchEpochs(b, op, 16*1024)
		})
	}
}

// BenchmarkSetOp measures INTERSECT ALL of two streams of inserts with 10%
// deletes (input rows/s over both sides).
func BenchmarkSetOp(b *testing.B) {
	l, r := topnBenchSource(b, 1000), topnBenchSource(b, 1000)
	_, ts := int8Schema("k", "v")
	op, err := NewSetOp(l, r, ts, "intersect", true)
	require.NoError(b, err)
	defer op.Close()
	benchEpochs(b, op, 2*16*1024)
}

// dfRightSource emits, per epoch, the scalar v moving by one step (an
// update pair; an insert the first time), then a barrier.
type dfRightSource struct {
	schema *arrow.Schema
	epoch  uint64
	sent   bool
}

func (s *dfRightSource) Schema() *arrow.Schema { return s.schema }
func (s *dfRightSource) Close() error          { return nil }
func (s *dfRightSource) Next(context.Context) (Message, error) {
	if s.sent {
		s.sent = false
		return Barrier{Epoch: s.epoch}, nil
	}
	s.sent = true
	s.epoch++
	old, nv := int64(400_000+(s.epoch-1)%100*1000), int64(400_000+s.epoch%100*1000)
	rows := []row{{op: UpdateDelete, vals: []*int64{&old}}, {op: UpdateInsert, vals: []*int64{&nv}}}
	if s.epoch == 1 {
		rows = rows[1:]
		rows[0].op = Insert
	}
	bl := array.NewInt64Builder(memory.DefaultAllocator)
	defer bl.Release()
	ops := make([]Op, len(rows))
	for i, r := range rows {
		bl.Append(*r.vals[0])
		ops[i] = r.op
	}
	a := bl.NewArray()
	defer a.Release()
	return &Chunk{Batch: array.NewRecordBatch(s.schema, []arrow.Array{a}, int64(len(rows))), Ops: ops}, nil
}

// BenchmarkDynamicFilter measures WHERE v > (scalar) with the scalar
// moving every epoch (left input rows/s).
func BenchmarkDynamicFilter(b *testing.B) {
	l := topnBenchSource(b, 1000)
	rs, _ := int8Schema("v")
	_, ts := int8Schema("k", "v")
	op, err := NewDynamicFilter(l, &dfRightSource{schema: rs}, ts, 1, ">", ts[1])
	require.NoError(b, err)
	defer op.Close()
	benchEpochs(b, op, 16*1024)
}
