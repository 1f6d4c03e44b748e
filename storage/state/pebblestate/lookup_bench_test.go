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
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
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

// BenchmarkPebbleLookupLayered: as BenchmarkPebbleLookup's uniform cases
// (block-cached), but the keys are committed through the memtable (no
// ingestion; the "ingested" case takes the default path, every round an
// sstable ingested into L0) and then overwritten in six rounds of n/16 random keys, each
// checkpointed: a lookup meets several overlapping sstables (L0 sublevels
// over the first flush or Lbase), as an updated aggregate's state does.
func BenchmarkPebbleLookupLayered(b *testing.B) {
	for _, n := range benchSizes() {
		if n < 100_000 {
			continue
		}
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			o := pebblestate.Options{CacheSize: 512 << 20, IngestMinKeys: -1}
			b.Run("uniform", func(b *testing.B) { layeredBench(b, o, n) })
			o.RowCacheSize = -1
			b.Run("rowcache=false/uniform", func(b *testing.B) { layeredBench(b, o, n) })
			// The default write path: each overwrite round is ingested as
			// an sstable into L0.
			o = pebblestate.Options{CacheSize: 512 << 20, RowCacheSize: -1}
			b.Run("ingested/rowcache=false/uniform", func(b *testing.B) { layeredBench(b, o, n) })
		})
	}
}

func layeredBench(b *testing.B, o pebblestate.Options, n int) {
	ctx := context.Background()
	tbl := benchTable(b, o)
	defer tbl.Close()
	statetest.Fill(b, tbl, n)
	if _, err := tbl.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	vb := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	for i := 0; i < statetest.BenchBatch; i++ {
		vb.Field(0).(*array.Int64Builder).Append(int64(i))
		vb.Field(1).(*array.StringBuilder).Append("updated")
	}
	vals := vb.NewRecordBatch()
	vb.Release()
	defer vals.Release()
	rng := rand.New(rand.NewPCG(7, 8))
	ks := make([][]byte, statetest.BenchBatch)
	for round := 0; round < 6; round++ {
		for w := 0; w < n/16; w += len(ks) {
			for j := range ks {
				ks[j] = keys.Int64Key(rng.Int64N(int64(n)))
			}
			if err := tbl.Write(ctx, ks, nil, vals); err != nil {
				b.Fatal(err)
			}
		}
		if err := tbl.Commit(ctx, tbl.CommittedEpoch()+1); err != nil {
			b.Fatal(err)
		}
		if _, err := tbl.Checkpoint(ctx); err != nil {
			b.Fatal(err)
		}
	}
	err := tbl.Scan(ctx, state.KeyRange{}, func([][]byte, arrow.RecordBatch) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("sstables per level: %v", pebblestate.LevelFiles(tbl))
	lookupLatency(b, tbl, n, 1<<20)
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
