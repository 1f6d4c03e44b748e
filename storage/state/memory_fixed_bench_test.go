package state_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

// The typed-path benchmarks (issue #6): keyed vectorized upserts and point
// lookups through a FixedView of a memory table with an int64 key (the
// one-column memcomparable layout, marker + 8 bytes) and (int8, float8)
// values — an aggregate's or a view's row per group — in batches of
// statetest.BenchBatch random keys drawn from n, a commit every 16
// batches as BenchUpsert does. They report wall and CPU ns per key and
// keys per CPU-second. BenchmarkRandomFloor is the machine's floor at the
// same sizes: a bare []float64 read and written at random indexes.

var fixedBenchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

var int64Layout = state.FixedKeyLayout{Prefix: keys.AppendMarker(nil), Width: 8}

// int64Word is the key word of int64 v under int64Layout.
func int64Word(v int64) uint64 { return uint64(v) ^ 1<<63 }

func newFixedBench(b *testing.B) (*state.MemoryTable, state.FixedView) {
	tbl, err := state.OpenMemoryTable(fixedBenchSchema, state.MemoryOptions{})
	require.NoError(b, err)
	fv, ok := tbl.Fixed(int64Layout)
	require.True(b, ok)
	return tbl, fv
}

// fixedBatches is 64 batches of random key words in [0, n).
func fixedBatches(n int, seed uint64) [][]uint64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([][]uint64, 64)
	for i := range out {
		out[i] = make([]uint64, statetest.BenchBatch)
		for j := range out[i] {
			out[i][j] = int64Word(rng.Int64N(int64(n)))
		}
	}
	return out
}

func benchWords() [][]uint64 {
	vals := [][]uint64{make([]uint64, statetest.BenchBatch), make([]uint64, statetest.BenchBatch)}
	for i := range vals[0] {
		vals[0][i], vals[1][i] = uint64(i), uint64(i)*3
	}
	return vals
}

func reportKeys(b *testing.B, keys int, wall, cpu time.Duration) {
	b.ReportMetric(float64(wall.Nanoseconds())/float64(keys), "ns/key")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(keys), "cpu-ns/key")
	b.ReportMetric(float64(keys)/cpu.Seconds(), "keys/cpu-s")
}

func BenchmarkMemoryFixedUpsert(b *testing.B) {
	ctx := context.Background()
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			tbl, fv := newFixedBench(b)
			defer tbl.Close()
			batches, vals := fixedBatches(n, 1), benchWords()
			e := tbl.CommittedEpoch()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				if err := fv.WriteFixed(ctx, batches[i%len(batches)], nil, vals); err != nil {
					b.Fatal(err)
				}
				if i%16 == 15 {
					e++
					if err := tbl.Commit(ctx, e); err != nil {
						b.Fatal(err)
					}
				}
			}
			e++
			require.NoError(b, tbl.Commit(ctx, e))
			wall, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			reportKeys(b, b.N*statetest.BenchBatch, wall, cpu)
		})
	}
}

func BenchmarkMemoryFixedGet(b *testing.B) {
	ctx := context.Background()
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			tbl, fv := newFixedBench(b)
			defer tbl.Close()
			vals := benchWords()
			ks := make([]uint64, 0, statetest.BenchBatch)
			for lo := 0; lo < n; lo += statetest.BenchBatch {
				ks = ks[:0]
				for k := lo; k < min(lo+statetest.BenchBatch, n); k++ {
					ks = append(ks, int64Word(int64(k)))
				}
				require.NoError(b, fv.WriteFixed(ctx, ks, nil, vals))
			}
			require.NoError(b, tbl.Commit(ctx, 1))
			batches := fixedBatches(n, 3)
			found := make([]bool, statetest.BenchBatch)
			for _, ks := range batches { // warm caches
				require.NoError(b, fv.GetFixed(ctx, ks, vals, found, nil))
			}
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				if err := fv.GetFixed(ctx, batches[i%len(batches)], vals, found, nil); err != nil {
					b.Fatal(err)
				}
			}
			wall, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			require.True(b, found[0])
			reportKeys(b, b.N*statetest.BenchBatch, wall, cpu)
		})
	}
}

// BenchmarkRandomFloor reads (get) or adds to (upsert) a bare []float64 at
// the same random indexes, a batch at a time: what a key access costs
// with no hashing, versions or epochs — the memory system's floor.
func BenchmarkRandomFloor(b *testing.B) {
	for _, n := range benchSizes() {
		for _, mode := range []string{"get", "upsert"} {
			b.Run(fmt.Sprintf("keys=%d/%s", n, mode), func(b *testing.B) {
				arr := make([]float64, n)
				rng := rand.New(rand.NewPCG(3, 2))
				idx := make([][]int32, 64)
				for i := range idx {
					idx[i] = make([]int32, statetest.BenchBatch)
					for j := range idx[i] {
						idx[i][j] = int32(rng.IntN(n))
					}
				}
				out := make([]float64, statetest.BenchBatch)
				b.ResetTimer()
				start, cpu0 := time.Now(), cpuTime()
				for i := 0; i < b.N; i++ {
					ix := idx[i%len(idx)]
					if mode == "get" {
						for j, k := range ix {
							out[j] = arr[k]
						}
					} else {
						for j, k := range ix {
							arr[k] = float64(j)
						}
					}
				}
				wall, cpu := time.Since(start), cpuTime()-cpu0
				b.StopTimer()
				floorSink = out[0] + arr[0]
				reportKeys(b, b.N*statetest.BenchBatch, wall, cpu)
			})
		}
	}
}

var floorSink float64

// BenchmarkMemoryFixedFill is a table's growth: n new keys (a random
// permutation of [0, n)) upserted into an empty table in batches of
// statetest.BenchBatch, a commit every 16 batches, as an insert-mostly
// view fills. It reports CPU ns per key, growth of the index, entries,
// slots and columns (and their page faults) included.
func BenchmarkMemoryFixedFill(b *testing.B) {
	ctx := context.Background()
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 2))
			perm := make([]uint64, n)
			for i, p := range rng.Perm(n) {
				perm[i] = int64Word(int64(p))
			}
			vals := benchWords()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				tbl, fv := newFixedBench(b)
				e := state.Epoch(0)
				for lo, j := 0, 0; lo < n; lo, j = lo+statetest.BenchBatch, j+1 {
					ks := perm[lo:min(lo+statetest.BenchBatch, n)]
					if err := fv.WriteFixed(ctx, ks, nil, vals); err != nil {
						b.Fatal(err)
					}
					if j%16 == 15 {
						e++
						if err := tbl.Commit(ctx, e); err != nil {
							b.Fatal(err)
						}
					}
				}
				require.NoError(b, tbl.Commit(ctx, e+1))
				require.NoError(b, tbl.Close())
			}
			wall, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			reportKeys(b, b.N*n, wall, cpu)
		})
	}
}
