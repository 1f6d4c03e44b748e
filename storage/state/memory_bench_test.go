package state_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

var bigBench = flag.Bool("bench.big", false, "include the 10M-key benchmark sizes")

func benchSizes() []int {
	s := []int{1_000, 100_000, 1_000_000}
	if *bigBench || statetest.BigBench() {
		s = append(s, 10_000_000)
	}
	return s
}

func newMem(b *testing.B) *state.MemoryTable {
	tbl, err := state.NewMemoryTable(statetest.Schema, memory.NewGoAllocator())
	if err != nil {
		b.Fatal(err)
	}
	return tbl
}

func BenchmarkMemoryUpsert(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			tbl := newMem(b)
			defer tbl.Close()
			statetest.BenchUpsert(b, tbl, n)
		})
	}
}

func BenchmarkMemoryGet(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			tbl := newMem(b)
			defer tbl.Close()
			statetest.Fill(b, tbl, n)
			b.Run("batch", func(b *testing.B) { statetest.BenchGetBatch(b, tbl, n) })
			b.Run("single", func(b *testing.B) { statetest.BenchGetLatency(b, tbl, n) })
		})
	}
}

// BenchmarkMemoryEWMABytes: memory per key of an EWMA state (symbol text
// key; float8, int8, timestamp value).
func BenchmarkMemoryEWMABytes(b *testing.B) {
	statetest.BenchEWMABytes(b, 100_000, func() state.Table {
		tbl, err := state.NewMemoryTable(statetest.EWMASchema, memory.NewGoAllocator())
		if err != nil {
			b.Fatal(err)
		}
		return tbl
	}, nil)
}

// BenchmarkMemoryEpochs is the write pattern of a grouped view on the
// memory backend: every epoch upserts each of the keys once (an EWMA state
// per symbol), commits, pins a snapshot of the new epoch and releases the
// previous one, so Commit and Release settle two versions per key. It
// reports CPU ns per key per epoch (write, commit and settle).
func BenchmarkMemoryEpochs(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			ctx := context.Background()
			tbl, err := state.NewMemoryTable(statetest.EWMASchema, memory.NewGoAllocator())
			require.NoError(b, err)
			defer tbl.Close()
			ks := make([][]byte, n)
			for i := range ks {
				ks[i] = statetest.EWMAKey(i)
			}
			bld := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.EWMASchema)
			for i := range n {
				bld.Field(0).(*array.Float64Builder).Append(float64(i))
				bld.Field(1).(*array.Int64Builder).Append(int64(i))
				bld.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(i))
			}
			vals := bld.NewRecordBatch()
			bld.Release()
			defer vals.Release()
			var prev state.Snapshot
			step := func(e state.Epoch) {
				for lo := 0; lo < n; lo += statetest.BenchBatch {
					hi := min(lo+statetest.BenchBatch, n)
					sl := vals.NewSlice(int64(lo), int64(hi))
					err := tbl.Write(ctx, ks[lo:hi], nil, sl)
					sl.Release()
					require.NoError(b, err)
				}
				require.NoError(b, tbl.Commit(ctx, e))
				snap, err := tbl.Snapshot(e)
				require.NoError(b, err)
				if prev != nil {
					prev.Release()
				}
				prev = snap
			}
			step(1)
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				step(state.Epoch(i + 2))
			}
			b.StopTimer()
			prev.Release()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/key")
		})
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMemoryUpdate is a read-modify-write of random present keys
// (4096-row batches, a commit every 16): Get then Write, against one
// Update. It reports CPU ns per key.
func BenchmarkMemoryUpdate(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		for _, mode := range []string{"get+write", "update"} {
			b.Run(fmt.Sprintf("keys=%d/%s", n, mode), func(b *testing.B) {
				ctx := context.Background()
				tbl := newMem(b)
				defer tbl.Close()
				statetest.Fill(b, tbl, n)
				rng := rand.New(rand.NewPCG(9, 9))
				batches := make([][][]byte, 16)
				for i := range batches {
					batches[i] = make([][]byte, statetest.BenchBatch)
					for j := range batches[i] {
						batches[i][j] = keys.Int64Key(rng.Int64N(int64(n)))
					}
				}
				// The new values: the old ones plus one (a counter).
				next := func(cur state.Lookup) arrow.RecordBatch {
					old := cur.Values.Column(0).(*array.Int64).Int64Values()
					v := make([]int64, len(old))
					for i, x := range old {
						v[i] = x + 1
					}
					cols := []arrow.Array{array.NewInt64Data(array.NewData(arrow.PrimitiveTypes.Int64, len(v),
						[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(v))}, nil, 0, 0)), cur.Values.Column(1)}
					cols[1].Retain()
					rec := array.NewRecordBatch(statetest.Schema, cols, int64(len(v)))
					cols[0].Release()
					cols[1].Release()
					return rec
				}
				e := tbl.CommittedEpoch()
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					ks := batches[i%len(batches)]
					if mode == "update" {
						var rec arrow.RecordBatch
						require.NoError(b, tbl.Update(ctx, ks, func(cur state.Lookup) ([]state.Op, arrow.RecordBatch, error) {
							rec = next(cur)
							return nil, rec, nil
						}))
						rec.Release()
					} else {
						cur, err := tbl.Get(ctx, ks)
						require.NoError(b, err)
						rec := next(cur)
						cur.Values.Release()
						require.NoError(b, tbl.Write(ctx, ks, nil, rec))
						rec.Release()
					}
					if i%16 == 15 {
						e++
						require.NoError(b, tbl.Commit(ctx, e))
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*statetest.BenchBatch), "cpu-ns/key")
			})
		}
	}
}
