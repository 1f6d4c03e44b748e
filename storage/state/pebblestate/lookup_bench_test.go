package pebblestate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/pebblestate"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
)

func procCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPebbleLookup: single-key Gets after a checkpoint, reporting
// p50/p99 wall latency and process CPU per lookup. cached=true sizes the
// block cache to hold every block and warms it with a full scan first, so
// every lookup is a block-cache hit; cached=false gives a 256 KiB cache
// (reads decode blocks from the OS page cache).
func BenchmarkPebbleLookup(b *testing.B) {
	ctx := context.Background()
	for _, n := range benchSizes() {
		for _, cached := range []bool{true, false} {
			b.Run(fmt.Sprintf("keys=%d/cached=%v", n, cached), func(b *testing.B) {
				o := pebblestate.Options{CacheSize: 512 << 20}
				if !cached {
					o.CacheSize = 256 << 10
				}
				tbl := benchTable(b, o)
				defer tbl.Close()
				statetest.Fill(b, tbl, n)
				if _, err := tbl.Checkpoint(ctx); err != nil {
					b.Fatal(err)
				}
				if cached {
					err := tbl.Scan(ctx, state.KeyRange{}, func([][]byte, arrow.RecordBatch) error { return nil })
					if err != nil {
						b.Fatal(err)
					}
				}
				b.Run("single", func(b *testing.B) { lookupLatency(b, tbl, n) })
			})
		}
	}
}

func lookupLatency(b *testing.B, r state.Reader, nkeys int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	const nk = 1 << 12
	ks := make([][]byte, nk)
	for i := range ks {
		ks[i] = keys.Int64Key(rng.Int64N(int64(nkeys)))
	}
	lat := make([]time.Duration, b.N)
	k := make([][]byte, 1)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := procCPU()
	for i := 0; i < b.N; i++ {
		k[0] = ks[i%nk]
		t0 := time.Now()
		lk, err := r.Get(ctx, k)
		lat[i] = time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if !lk.Found[0] {
			b.Fatal("key not found")
		}
		lk.Values.Release()
	}
	cpu := procCPU() - cpu0
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
