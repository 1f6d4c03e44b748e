//go:build unix

package stream

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkGroupTopNSpill measures input rows/s through a GroupTopN
// (rank() <= 3 per partition, emitting the rank) over 256Ki partitions of
// an int8 key: 256 chunks of 1024 rows of random keys and values, a
// barrier every 16 chunks, replayed as inserts, then deletes, and so on.
// In memory, and spilling into a memory or columnar table under a 4 MiB
// budget. rows/cpu-s counts the process's CPU time.
func BenchmarkGroupTopNSpill(b *testing.B) {
	const parts = 1 << 18
	rng := rand.New(rand.NewPCG(7, 8))
	s, ts := int8Schema("k", "v")
	src := &cycleSource{schema: s, every: 16, chunks: randomKVChunks(b, rng, s, 256, parts)}
	defer releaseChunks(src.chunks)
	for _, mode := range []string{"memory", "spill_memtable", "spill_columnar"} {
		b.Run(mode, func(b *testing.B) {
			src.i, src.n, src.epoch = 0, 0, 0
			g, err := NewGroupTopN(src, ts, []int{0}, []SortCol{{Col: 1}}, "rank", 3, true)
			require.NoError(b, err)
			ctx := context.Background()
			if tbls := spillBenchTables(b, mode, TopNSpillSchema(), "topn"); tbls != nil {
				g.WithSpill(tbls[0], 4<<20)
			}
			defer g.Close()
			b.ResetTimer()
			cpu0 := processCPU(b)
			peak := int64(0)
			rows := drainBench(b, ctx, g, 16*1024, func() { peak = max(peak, g.StateBytes()) })
			cpu := processCPU(b) - cpu0
			st := g.SpillStats()
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
			b.ReportMetric(float64(st.Spills), "spills")
			b.ReportMetric(float64(st.LoadedPartitions)/float64(rows), "loads/row")
			b.ReportMetric(float64(peak)/(1<<20), "peak_MiB_after_barrier")
		})
	}
}
