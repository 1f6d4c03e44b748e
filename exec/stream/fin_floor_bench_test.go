package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// finChunks is the number of 1024-row chunks of the fintech benchmarks'
// symbol stream for ng symbols: 64, or enough for two rows per symbol.
// (Until the fifth session it was 64 at every size: 64Ki rows touch at
// most ~48K of 100K symbols and ~63K of 1M, so the "100K" and "1M"
// figures measured ~50-60K live symbols.)
func finChunks(ng int) int { return max(64, 2*ng/1024) }

// finStream is the (symbol, price) stream of prebuiltFinSource:
// finChunks(ng) chunks of 1024 rows from the same generator and seed, so
// the machine floor below and the operator benchmarks touch the same
// symbols in the same order.
func finStream(ng int) (syms [][]int64, pxs [][]float64) {
	rng := rand.New(rand.NewPCG(uint64(ng), 3))
	for range finChunks(ng) {
		sy, px := make([]int64, 1024), make([]float64, 1024)
		for i := range sy {
			sy[i] = rng.Int64N(int64(ng))
			px[i] = 100 + rng.NormFloat64()
		}
		syms, pxs = append(syms, sy), append(pxs, px)
	}
	return syms, pxs
}

// BenchmarkFinEWMAFloor is the machine floor of a per-symbol ewma update:
// a bare typed loop over the benchmarks' symbol stream, the state a
// []float64 indexed by symbol id (what a native map does at best, Sabot's
// 5–10 ns/update is such a map in cache). No grouping, no bookkeeping, no
// output: at 100K and 1M symbols it is the cost of the cache misses alone.
func BenchmarkFinEWMAFloor(b *testing.B) {
	for _, ng := range finBenchSymbols {
		b.Run(fmt.Sprintf("symbols=%d", ng), func(b *testing.B) {
			syms, pxs := finStream(ng)
			st := make([]float64, ng)
			for i := range st {
				st[i] = 100
			}
			const alpha = 0.06
			rows := 0
			b.ResetTimer()
			cpu0 := cpuTime()
			for c := 0; rows < b.N; c++ {
				sy, px := syms[c%len(syms)], pxs[c%len(pxs)]
				px = px[:len(sy)]
				for i, s := range sy {
					prev := st[s]
					st[s] = prev + alpha*(px[i]-prev)
				}
				rows += len(sy)
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			reportUpdates(b, rows, cpu)
			var sum float64
			for _, v := range st {
				sum += v
			}
			require.False(b, sum != sum)
		})
	}
}

// BenchmarkFinRollingFloor is the machine floor of a rolling stddev(20)
// update: per symbol a 20-slot ring and running Σx, Σx² in one slice
// (O(1) per update: add the new value, subtract the one leaving), the
// result written to an output slice. Same stream as the operator's.
func BenchmarkFinRollingFloor(b *testing.B) {
	const w = 20
	for _, ng := range finBenchSymbols {
		b.Run(fmt.Sprintf("symbols=%d", ng), func(b *testing.B) {
			syms, pxs := finStream(ng)
			type sym struct {
				n      int64
				s1, s2 float64
				ring   [w]float64
			}
			st := make([]sym, ng)
			out := make([]float64, 1024)
			rows := 0
			b.ResetTimer()
			cpu0 := cpuTime()
			for c := 0; rows < b.N; c++ {
				sy, px := syms[c%len(syms)], pxs[c%len(pxs)]
				px = px[:len(sy)]
				out = out[:len(sy)]
				for i, s := range sy {
					m := &st[s]
					x := px[i] - 100
					slot := m.n % w
					if m.n >= w {
						old := m.ring[slot]
						m.s1 -= old
						m.s2 -= old * old
					}
					m.ring[slot] = x
					m.n++
					m.s1 += x
					m.s2 += x * x
					n := float64(min(m.n, w))
					out[i] = (m.s2 - m.s1*m.s1/n) / max(n-1, 1)
				}
				rows += len(sy)
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			reportUpdates(b, rows, cpu)
		})
	}
}

// rollBenchSource replays finStream's symbols and prices (prebuilt arrays,
// retained per chunk) with a fresh increasing ts column per chunk (one
// wrapped slice, ~1 ns per row), a barrier after every 16 chunks preceded
// by a watermark on ts one epoch behind: the steady state of a rolling
// window over a stream with WATERMARK FOR ts, history trimmed at every
// barrier.
type rollBenchSource struct {
	schema *arrow.Schema
	syms   []arrow.Array
	pxs    []arrow.Array
	i, n   int
	epoch  uint64
	wm     bool
}

func newRollBenchSource(b *testing.B, ng int) *rollBenchSource {
	syms, pxs := finStream(ng)
	s := &rollBenchSource{schema: arrow.NewSchema([]arrow.Field{types.ArrowField("sym", types.Int8T),
		types.ArrowField("px", types.Float8T), types.ArrowField("ts", types.Int8T)}, nil)}
	mem := memory.DefaultAllocator
	for k := range syms {
		sb, pb := array.NewInt64Builder(mem), array.NewFloat64Builder(mem)
		sb.AppendValues(syms[k], nil)
		pb.AppendValues(pxs[k], nil)
		s.syms, s.pxs = append(s.syms, sb.NewArray()), append(s.pxs, pb.NewArray())
		sb.Release()
		pb.Release()
	}
	b.Cleanup(func() {
		for k := range s.syms {
			s.syms[k].Release()
			s.pxs[k].Release()
		}
	})
	return s
}

func (s *rollBenchSource) Schema() *arrow.Schema { return s.schema }
func (s *rollBenchSource) Close() error          { return nil }
func (s *rollBenchSource) Next(context.Context) (Message, error) {
	const every = 16
	if s.n == every {
		if !s.wm {
			// Everything before the epoch's first row is final.
			s.wm = true
			return Watermark{Col: 2, Value: int64(s.i-every) * 1024}, nil
		}
		s.n, s.wm = 0, false
		s.epoch++
		return Barrier{Epoch: s.epoch}, nil
	}
	s.n++
	k := s.i % len(s.syms)
	ts := make([]int64, 1024)
	for i := range ts {
		ts[i] = int64(s.i)*1024 + int64(i)
	}
	s.i++
	tsa := array.NewInt64Data(array.NewData(arrow.PrimitiveTypes.Int64, len(ts),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(ts))}, nil, 0, 0))
	rb := array.NewRecordBatch(s.schema, []arrow.Array{s.syms[k], s.pxs[k], tsa}, 1024)
	tsa.Release()
	return &Chunk{Batch: rb, Ops: make([]Op, 1024)}, nil
}

// BenchmarkRollingOperator is the rolling stddev_samp(px) OVER (PARTITION
// BY sym ORDER BY ts ROWS 19 PRECEDING) operator alone over a cheap source
// (rollBenchSource: no input building to speak of, watermarks trimming the
// history as in a real stream): CPU ns per update of the window
// computation, partition lookup, history and output batch.
func BenchmarkRollingOperator(b *testing.B) {
	for _, ng := range finBenchSymbols {
		b.Run(fmt.Sprintf("symbols=%d", ng), func(b *testing.B) {
			rw := stddevWindow(b, newRollBenchSource(b, ng))
			defer rw.Close()
			ctx := context.Background()
			rows := 0
			b.ResetTimer()
			cpu0 := cpuTime()
			for rows < b.N {
				m, err := rw.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if c, ok := m.(*Chunk); ok {
					rows += c.NumRows()
					c.Release()
				}
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			reportUpdates(b, rows, cpu)
			b.ReportMetric(float64(rw.StateBytes())/float64(ng), "state-B/symbol")
		})
	}
}
