//go:build unix

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
	src := &cycleSource{schema: s, every: 16}
	for c := 0; c < 256; c++ {
		rows := make([]row, 1024)
		for i := range rows {
			k, v := rng.Int64N(parts), rng.Int64N(1000)
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
			g, err := NewGroupTopN(src, ts, []int{0}, []SortCol{{Col: 1}}, "rank", 3, true)
			require.NoError(b, err)
			ctx := context.Background()
			var tbl state.Table
			switch mode {
			case "spill_memtable":
				tbl, err = state.NewMemoryTable(TopNSpillSchema(), memory.DefaultAllocator)
				require.NoError(b, err)
			case "spill_columnar":
				f := &backends.Factory{Dir: b.TempDir()}
				defer f.Close()
				tbl, err = f.Open(ctx, state.BackendColumnar, "topn", TopNSpillSchema())
				require.NoError(b, err)
			}
			if tbl != nil {
				g.WithSpill(tbl, 4<<20)
			}
			defer g.Close()
			b.ResetTimer()
			cpu0 := processCPU(b)
			rows, peak := 0, int64(0)
			for rows < b.N*1024 {
				m, err := g.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				switch m := m.(type) {
				case *Chunk:
					m.Release()
				case Barrier:
					rows += 16 * 1024
					peak = max(peak, g.StateBytes())
				}
			}
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
