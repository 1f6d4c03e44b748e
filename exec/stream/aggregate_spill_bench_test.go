package stream

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
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
	src := &replaySource{schema: s, every: 16, chunks: randomKVChunks(b, rng, s, 1024, keys)}
	defer releaseChunks(src.chunks)
	for _, mode := range []string{"memory", "spill_memtable", "spill_columnar"} {
		b.Run(mode, func(b *testing.B) {
			src.i, src.n, src.epoch = 0, 0, 0
			calls, _ := aggCalls(b, 1)
			calls = calls[:2] // count(*), sum(v)
			h, err := NewHashAggregate(src, ts, []int{0}, calls, nil)
			require.NoError(b, err)
			ctx := context.Background()
			if tbls := spillBenchTables(b, mode, AggSpillSchema(), "spill"); tbls != nil {
				h.WithSpill(tbls[0], 16<<20)
			}
			defer h.Close()
			b.ResetTimer()
			rows := drainBench(b, ctx, h, 16*1024, nil)
			st := h.SpillStats()
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(st.Spills), "spills")
			b.ReportMetric(float64(h.memoryBytes())/(1<<20), "MiB_in_memory")
		})
	}
}

// randomKVChunks returns n chunks of 1024 insert rows of schema s (two int8
// columns): a key uniform in [0, keys) and a value in [0, 1000).
func randomKVChunks(b *testing.B, rng *rand.Rand, s *arrow.Schema, n int, keys int64) []*Chunk {
	chunks := make([]*Chunk, 0, n)
	for range n {
		rows := make([]row, 1024)
		for i := range rows {
			k, v := rng.Int64N(keys), rng.Int64N(1000)
			rows[i] = row{op: Insert, vals: []*int64{&k, &v}}
		}
		chunks = append(chunks, makeChunk(b, s, rows))
	}
	return chunks
}

// releaseChunks releases every chunk.
func releaseChunks(chunks []*Chunk) {
	for _, c := range chunks {
		c.Release()
	}
}

// spillBenchTables returns the spill tables of a spill benchmark's mode, one
// per name, with value schema vs: nil for "memory", in-memory tables for
// "spill_memtable", columnar tables in a temporary directory (closed when
// the benchmark ends) for "spill_columnar".
func spillBenchTables(b *testing.B, mode string, vs *arrow.Schema, names ...string) []state.Table {
	var tables []state.Table
	switch mode {
	case "spill_memtable":
		for range names {
			t, err := state.NewMemoryTable(vs, memory.DefaultAllocator)
			require.NoError(b, err)
			tables = append(tables, t)
		}
	case "spill_columnar":
		f := &backends.Factory{Dir: b.TempDir()}
		b.Cleanup(func() { _ = f.Close() })
		for _, name := range names {
			t, err := f.Open(context.Background(), state.BackendColumnar, name, vs)
			require.NoError(b, err)
			tables = append(tables, t)
		}
	}
	return tables
}

// drainBench pulls op until b.N*1024 input rows have passed, counting
// perBarrier rows at each barrier (after which afterBarrier, when set, runs),
// and returns the rows counted.
func drainBench(b *testing.B, ctx context.Context, op interface {
	Next(context.Context) (Message, error)
}, perBarrier int, afterBarrier func()) int {
	rows := 0
	for rows < b.N*1024 {
		m, err := op.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		switch m := m.(type) {
		case *Chunk:
			m.Release()
		case Barrier:
			rows += perBarrier
			if afterBarrier != nil {
				afterBarrier()
			}
		}
	}
	return rows
}
