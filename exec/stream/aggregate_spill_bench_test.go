package stream

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/backends"
)

// BenchmarkHashAggregateSpill measures rows/s through HashAggregate(count,
// sum) over 1M distinct int8 keys (uniformly random, 1024-row chunks, a
// barrier every 16 chunks) in memory and spilling into a memory or
// columnar table under a 16 MiB budget.
func BenchmarkHashAggregateSpill(b *testing.B) {
	const keys = 1 << 20
	rng := rand.New(rand.NewPCG(3, 4))
	s, ts := int8Schema("k", "v")
	src := &replaySource{schema: s, every: 16}
	for c := 0; c < 1024; c++ {
		rows := make([]row, 1024)
		for i := range rows {
			k, v := rng.Int64N(keys), rng.Int64N(1000)
			rows[i] = row{op: Insert, vals: []*int64{&k, &v}}
		}
		src.chunks = append(src.chunks, makeChunk(b, s, rows))
	}
	defer func() {
		for _, c := range src.chunks {
			c.Release()
		}
	}()
	for _, mode := range []string{"memory", "spill_memtable", "spill_columnar"} {
		b.Run(mode, func(b *testing.B) {
			src.i, src.n, src.epoch = 0, 0, 0
			calls, _ := aggCalls(b, 1)
			calls = calls[:2] // count(*), sum(v)
			h, err := NewHashAggregate(src, ts, []int{0}, calls, nil)
			require.NoError(b, err)
			ctx := context.Background()
			switch mode {
			case "spill_memtable":
				t, err := state.NewMemoryTable(AggSpillSchema(), memory.DefaultAllocator)
				require.NoError(b, err)
				h.WithSpill(t, 16<<20)
			case "spill_columnar":
				f := &backends.Factory{Dir: b.TempDir()}
				defer f.Close()
				t, err := f.Open(ctx, state.BackendColumnar, "spill", AggSpillSchema())
				require.NoError(b, err)
				h.WithSpill(t, 16<<20)
			}
			defer h.Close()
			b.ResetTimer()
			rows := 0
			for rows < b.N*1024 {
				m, err := h.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				switch m := m.(type) {
				case *Chunk:
					m.Release()
				case Barrier:
					rows += 16 * 1024
				}
			}
			st := h.SpillStats()
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(st.Spills), "spills")
			b.ReportMetric(float64(h.memoryBytes())/(1<<20), "MiB_in_memory")
		})
	}
}
