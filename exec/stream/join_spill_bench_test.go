//go:build unix

package stream

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

// cycleSource replays its chunks as inserts, then as deletes, then as
// inserts again, …, with a barrier after every `every` chunks: the state it
// builds stays bounded by one pass of its chunks.
type cycleSource struct {
	schema *arrow.Schema
	chunks []*Chunk
	every  int
	i, n   int
	epoch  uint64
}

func (r *cycleSource) Schema() *arrow.Schema { return r.schema }
func (r *cycleSource) Close() error          { return nil }
func (r *cycleSource) Next(context.Context) (Message, error) {
	if r.n == r.every {
		r.n = 0
		r.epoch++
		return Barrier{Epoch: r.epoch}, nil
	}
	r.n++
	c := r.chunks[r.i%len(r.chunks)]
	op := Insert
	if (r.i/len(r.chunks))%2 == 1 {
		op = Delete
	}
	r.i++
	c.Batch.Retain()
	ops := make([]Op, len(c.Ops))
	for i := range ops {
		ops[i] = op
	}
	return &Chunk{Batch: c.Batch, Ops: ops}, nil
}

// BenchmarkHashJoinSpill measures input rows/s (both sides) through an
// inner HashJoin on one int8 key over 1M distinct keys: each side replays
// 1M rows of uniformly random keys (1024-row chunks, a barrier every 16
// chunks per side) as inserts, then deletes, and so on. In memory, and
// spilling into a memory or columnar table under a 16 MiB budget. rows/cpu-s
// counts the process's CPU time (the figure that compares on a shared
// machine; the columnar table compacts in the background).
func BenchmarkHashJoinSpill(b *testing.B) {
	const keys = 1 << 20
	rng := rand.New(rand.NewPCG(5, 6))
	s, ts := int8Schema("k", "v")
	var srcs [2]*cycleSource
	for side := range srcs {
		srcs[side] = &cycleSource{schema: s, every: 16, chunks: randomKVChunks(b, rng, s, 1024, keys)}
	}
	defer func() {
		for _, src := range srcs {
			releaseChunks(src.chunks)
		}
	}()
	for _, mode := range []string{"memory", "spill_memtable", "spill_columnar"} {
		b.Run(mode, func(b *testing.B) {
			for _, src := range srcs {
				src.i, src.n, src.epoch = 0, 0, 0
			}
			j, err := NewHashJoin(srcs[0], srcs[1], ts, ts, []int{0}, []int{0}, InnerJoin)
			require.NoError(b, err)
			ctx := context.Background()
			if tables := spillBenchTables(b, mode, JoinSpillSchema(), "left", "right"); tables != nil {
				j.WithSpill(tables[0], tables[1], 16<<20)
			}
			defer j.Close()
			b.ResetTimer()
			cpu0 := processCPU(b)
			peak := int64(0)
			rows := drainBench(b, ctx, j, 2*16*1024, func() { peak = max(peak, j.StateBytes()) })
			cpu := processCPU(b) - cpu0
			st := j.SpillStats()
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
			b.ReportMetric(float64(st.Spills), "spills")
			b.ReportMetric(float64(st.LoadedBuckets)/float64(rows), "loads/row")
			b.ReportMetric(float64(peak)/(1<<20), "peak_MiB_after_barrier")
		})
	}
}
