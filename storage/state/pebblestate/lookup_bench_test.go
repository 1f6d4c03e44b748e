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
// (reads decode blocks from the OS page cache). single draws its keys from
// a working set of 4096 (which the default 4 MiB row cache holds: after
// the first pass every lookup is a row-cache hit); uniform draws them from
// the whole key space (row-cache hits ≈ its share of the keys);
// rowcache=false turns the row cache off (Pebble's seek and the batch
// build on every lookup).
func BenchmarkPebbleLookup(b *testing.B) {
	for _, n := range benchSizes() {
		for _, cached := range []bool{true, false} {
			b.Run(fmt.Sprintf("keys=%d/cached=%v", n, cached), func(b *testing.B) {
				o := pebblestate.Options{CacheSize: 512 << 20}
				if !cached {
					o.CacheSize = 256 << 10
				}
				b.Run("single", func(b *testing.B) { lookupBench(b, o, n, cached, 1<<12) })
				b.Run("uniform", func(b *testing.B) { lookupBench(b, o, n, cached, 1<<20) })
				o.RowCacheSize = -1
				b.Run("rowcache=false/single", func(b *testing.B) { lookupBench(b, o, n, cached, 1<<12) })
				b.Run("rowcache=false/uniform", func(b *testing.B) { lookupBench(b, o, n, cached, 1<<20) })
			})
		}
	}
}

// lookupBench fills a table of n keys with options o, checkpoints it,
// warms the block cache if cached, and measures lookups of nk random keys
// (cycled).
func lookupBench(b *testing.B, o pebblestate.Options, n int, cached bool, nk int) {
	ctx := context.Background()
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
	lookupLatency(b, tbl, n, nk)
}

func lookupLatency(b *testing.B, r state.Reader, nkeys, nk int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
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
