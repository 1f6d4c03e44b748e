package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkAsOfJoin measures input rows/s through an ASOF LEFT JOIN fed by
// two replayed streams of 1024-row insert chunks (trades (k, ts, id) and
// quotes (k, ts, v), times rising chunk by chunk, 10% of the quote chunk
// rows late by up to 50 time units), a barrier every 16 chunks per side.
func BenchmarkAsOfJoin(b *testing.B) {
	for _, keys := range []int64{100, 10_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			ls, lts := int8Schema("k", "ts", "id")
			rs, rts := int8Schema("k", "ts", "v")
			left := &replaySource{schema: ls, every: 16}
			right := &replaySource{schema: rs, every: 16}
			for c := 0; c < 64; c++ {
				for side, src := range []*replaySource{left, right} {
					rows := make([]row, 1024)
					for i := range rows {
						k, ts, v := rng.Int64N(keys), int64(c*1024+i), rng.Int64N(1000)
						if side == 1 && rng.IntN(10) == 0 {
							ts -= rng.Int64N(50)
						}
						rows[i] = row{op: Insert, vals: []*int64{&k, &ts, &v}}
					}
					src.chunks = append(src.chunks, makeChunk(b, src.schema, rows))
				}
			}
			defer func() {
				for _, src := range []*replaySource{left, right} {
					for _, c := range src.chunks {
						c.Release()
					}
				}
			}()
			j, err := NewAsOfJoin(left, right, lts, rts, []int{0}, []int{0}, 1, 1, ">=", 3, true)
			require.NoError(b, err)
			defer j.Close()
			ctx := context.Background()
			b.ResetTimer()
			rows := 0
			for rows < b.N*1024 {
				m, err := j.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				switch m := m.(type) {
				case Barrier:
					rows += 2 * 16 * 1024
				case *Chunk:
					m.Release()
				}
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
		})
	}
}
