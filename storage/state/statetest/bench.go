package statetest

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
)

// BenchBatch is the rows per Write in the benchmarks.
const BenchBatch = 4096

func benchValues() arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.NewGoAllocator(), Schema)
	defer b.Release()
	for i := 0; i < BenchBatch; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("value")
	}
	return b.NewRecordBatch()
}

// BenchUpsert measures batched upserts of random int64 keys drawn from
// nkeys distinct keys, committing every 16 batches. It reports rows/s and
// ns/row.
func BenchUpsert(b *testing.B, tbl state.Table, nkeys int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	vals := benchValues()
	defer vals.Release()
	const nbatches = 64
	batches := make([][][]byte, nbatches)
	for i := range batches {
		batches[i] = make([][]byte, BenchBatch)
		for j := range batches[i] {
			batches[i][j] = keys.Int64Key(rng.Int64N(int64(nkeys)))
		}
	}
	epoch := tbl.CommittedEpoch()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		if err := tbl.Write(ctx, batches[i%nbatches], nil, vals); err != nil {
			b.Fatal(err)
		}
		if i%16 == 15 {
			epoch++
			if err := tbl.Commit(ctx, epoch); err != nil {
				b.Fatal(err)
			}
		}
	}
	epoch++
	if err := tbl.Commit(ctx, epoch); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	rows := float64(b.N) * BenchBatch
	b.ReportMetric(rows/el.Seconds(), "rows/s")
	b.ReportMetric(float64(el.Nanoseconds())/rows, "ns/row")
	b.ReportMetric(float64(cpuTime()-cpu0)/rows, "cpu-ns/row")
}

// Fill writes keys 0..nkeys-1 and commits them as epoch 1.
func Fill(b *testing.B, tbl state.Table, nkeys int) {
	ctx := context.Background()
	vals := benchValues()
	defer vals.Release()
	ks := make([][]byte, BenchBatch)
	for lo := 0; lo < nkeys; lo += BenchBatch {
		n := min(BenchBatch, nkeys-lo)
		for j := 0; j < n; j++ {
			ks[j] = keys.Int64Key(int64(lo + j))
		}
		sl := vals.NewSlice(0, int64(n))
		err := tbl.Write(ctx, ks[:n], nil, sl)
		sl.Release()
		if err != nil {
			b.Fatal(err)
		}
		if (lo/BenchBatch)%64 == 63 {
			if err := tbl.Commit(ctx, tbl.CommittedEpoch()+1); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tbl.Commit(ctx, tbl.CommittedEpoch()+1); err != nil {
		b.Fatal(err)
	}
}

// BenchGetBatch measures vectorized lookups of BenchBatch random present
// keys; it reports ns per key.
func BenchGetBatch(b *testing.B, r state.Reader, nkeys int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	const nbatches = 64
	batches := make([][][]byte, nbatches)
	for i := range batches {
		batches[i] = make([][]byte, BenchBatch)
		for j := range batches[i] {
			batches[i][j] = keys.Int64Key(rng.Int64N(int64(nkeys)))
		}
	}
	for _, ks := range batches { // warm caches
		lk, err := r.Get(ctx, ks)
		if err != nil {
			b.Fatal(err)
		}
		lk.Values.Release()
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		lk, err := r.Get(ctx, batches[i%nbatches])
		if err != nil {
			b.Fatal(err)
		}
		lk.Values.Release()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*BenchBatch), "ns/key")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*BenchBatch), "cpu-ns/key")
}

// BenchGetLatency measures single-key lookups and reports p50 and p99.
func BenchGetLatency(b *testing.B, r state.Reader, nkeys int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	lat := make([]time.Duration, b.N)
	k := make([][]byte, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k[0] = keys.Int64Key(rng.Int64N(int64(nkeys)))
		t0 := time.Now()
		lk, err := r.Get(ctx, k)
		lat[i] = time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		lk.Values.Release()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// cpuTime is the process's user+system CPU time. On a loaded machine it is a
// steadier cost measure than wall time (it includes GC and other threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BigBench reports whether the 10M-key benchmark sizes were asked for with
// the environment variable SABOTSQL_BENCH_BIG (packages also offer a
// -bench.big flag).
func BigBench() bool { return os.Getenv("SABOTSQL_BENCH_BIG") != "" }
