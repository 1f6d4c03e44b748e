package stream

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

// replaySource emits its chunks round-robin forever, a barrier after every
// `every` chunks.
type replaySource struct {
	schema *arrow.Schema
	chunks []*Chunk
	every  int
	i, n   int
	epoch  uint64
}

func (r *replaySource) Schema() *arrow.Schema { return r.schema }
func (r *replaySource) Close() error          { return nil }
func (r *replaySource) Next(context.Context) (Message, error) {
	if r.n == r.every {
		r.n = 0
		r.epoch++
		return Barrier{Epoch: r.epoch}, nil
	}
	r.n++
	c := r.chunks[r.i%len(r.chunks)]
	r.i++
	c.Batch.Retain()
	return &Chunk{Batch: c.Batch, Ops: append([]Op(nil), c.Ops...)}, nil
}

// BenchmarkProjectAggregateMaterialize measures rows/s through
// Source → Project → HashAggregate(count, sum, min, max) → Materialize with
// a barrier every 16 chunks of 1024 rows (10% deletes of earlier rows).
func BenchmarkProjectAggregateMaterialize(b *testing.B) {
	for _, groups := range []int64{1_000, 100_000} {
		b.Run(map[int64]string{1_000: "groups=1K", 100_000: "groups=100K"}[groups], func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			s, ts := int8Schema("k", "v")
			src := &replaySource{schema: s, every: 16}
			for c := 0; c < 64; c++ {
				rows := make([]row, 1024)
				for i := range rows {
					k, v := rng.Int64N(groups), rng.Int64N(1000)
					rows[i] = row{op: Insert, vals: []*int64{&k, &v}}
					if i > 0 && rng.IntN(10) == 0 {
						rows[i] = row{op: Delete, vals: rows[i-1].vals}
					}
				}
				src.chunks = append(src.chunks, makeChunk(b, s, rows))
			}
			defer func() {
				for _, c := range src.chunks {
					c.Release()
				}
			}()
			ps, _ := int8Schema("k", "v2")
			pr, err := NewProject(src, []Evaluator{colEval(0), int8Op(1, 1, func(x, y int64) int64 { return x + y })}, ps)
			require.NoError(b, err)
			calls, ats := aggCalls(b, 1)
			h, err := NewHashAggregate(pr, ts, []int{0}, calls, nil)
			require.NoError(b, err)
			mat, err := NewMaterialize(h, append(ts[:1:1], ats...), []int{0}, nil, nil)
			require.NoError(b, err)
			defer mat.Close()
			ctx := context.Background()
			b.ResetTimer()
			rows := 0
			for rows < b.N*1024 {
				m, err := mat.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, ok := m.(Barrier); ok {
					rows += 16 * 1024
				}
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
		})
	}
}
