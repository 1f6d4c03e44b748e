package stream

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// BenchmarkHashJoinMemBudget measures the cost of charging a budget: rows/s
// into one side of a HashJoin (1024-row chunks of fresh int8 keys, the
// other side empty), without a budget and with an (ample) MemLimit.
func BenchmarkHashJoinMemBudget(b *testing.B) {
	const per = 1024
	schema, ts := int8Schema("k", "v")
	for _, bc := range []struct {
		name   string
		budget func() MemBudget
	}{
		{"none", func() MemBudget { return nil }},
		{"limit", func() MemBudget { return NewMemLimit("bench", 1<<40, nil) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			chunks := b.N
			mk := func(c int) *Chunk {
				kb := array.NewInt64Builder(memory.DefaultAllocator)
				defer kb.Release()
				for i := c * per; i < (c+1)*per; i++ {
					kb.Append(int64(i))
				}
				k := kb.NewArray()
				defer k.Release()
				return &Chunk{Batch: array.NewRecordBatch(schema, []arrow.Array{k, k}, per), Ops: make([]Op, per)}
			}
			left := &genSource{schema: schema, chunks: chunks, barrierEvery: 64, rows: mk}
			right := &genSource{schema: schema, chunks: chunks, barrierEvery: 64, rows: func(int) *Chunk { return nil }}
			j, err := NewHashJoin(left, right, ts, ts, []int{0}, []int{0}, InnerJoin)
			require.NoError(b, err)
			j.WithMemBudget(bc.budget())
			ctx := context.Background()
			b.ResetTimer()
			for {
				m, err := j.Next(ctx)
				require.NoError(b, err)
				if m == nil {
					break
				}
				ReleaseMessage(m)
			}
			b.StopTimer()
			b.ReportMetric(float64(chunks*per)/b.Elapsed().Seconds(), "rows/s")
			require.NoError(b, j.Close())
		})
	}
}
