package columnar

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

var bigBench = flag.Bool("bench.big", false, "include the 10M-key benchmark sizes")

// getBlockRows is BlockRows of the lookup benchmarks' tables (0: the
// engine's default; smaller blocks: less to read, checksum and decode per
// uncached lookup, a larger index).
var getBlockRows = flag.Int("bench.blockrows", 0, "rows per block in BenchmarkColumnarGet (0: default)")

func benchSizes() []int {
	s := []int{1_000, 100_000, 1_000_000}
	if *bigBench || statetest.BigBench() {
		s = append(s, 10_000_000)
	}
	return s
}

func benchTable(b *testing.B, mut func(*Options)) *Table {
	fs, err := vfs.NewOS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	o := Options{FS: fs}
	if mut != nil {
		mut(&o)
	}
	tbl, err := Open(context.Background(), statetest.Schema, o)
	if err != nil {
		b.Fatal(err)
	}
	return tbl
}

// BenchmarkColumnarUpsert: batched upserts of random int64 keys (memtable,
// with flushes to OS files when it passes MemtableSize).
func BenchmarkColumnarUpsert(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			tbl := benchTable(b, nil)
			defer tbl.Close()
			statetest.BenchUpsert(b, tbl, n)
		})
	}
}

// BenchmarkColumnarUpsertInPlace: the 1M-key upserts of
// BenchmarkColumnarUpsert with a memtable that never flushes (every key
// already in it), the cost of absorbing the working set in place.
func BenchmarkColumnarUpsertInPlace(b *testing.B) {
	const n = 1_000_000
	tbl := benchTable(b, func(o *Options) { o.MemtableSize = 1 << 40 })
	defer tbl.Close()
	statetest.Fill(b, tbl, n)
	statetest.BenchUpsert(b, tbl, n)
}

// BenchmarkColumnarGet: lookups of keys that live in on-disk runs, with a
// warm block cache and with no cache (every lookup reads, verifies and
// decodes a block).
func BenchmarkColumnarGet(b *testing.B) {
	for _, n := range benchSizes() {
		for _, cached := range []bool{true, false} {
			name := fmt.Sprintf("keys=%d/cached=%v", n, cached)
			b.Run(name, func(b *testing.B) {
				tbl := benchTable(b, func(o *Options) {
					o.BlockRows = *getBlockRows
					if !cached {
						o.CacheSize = 1
					}
				})
				defer tbl.Close()
				statetest.Fill(b, tbl, n)
				if _, err := tbl.Checkpoint(context.Background()); err != nil {
					b.Fatal(err)
				}
				if err := tbl.CompactAll(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.Logf("%+v", tbl.Shape())
				b.Run("batch", func(b *testing.B) { statetest.BenchGetBatch(b, tbl, n) })
				b.Run("single", func(b *testing.B) { statetest.BenchGetLatency(b, tbl, n) })
				b.Run("single-cpu", func(b *testing.B) { benchGetSingleCPU(b, tbl, n) })
			})
		}
	}
}

// BenchmarkColumnarEWMABytes: memory and disk per key of an EWMA state
// (symbol text key; float8, int8, timestamp value), after a checkpoint.
func BenchmarkColumnarEWMABytes(b *testing.B) {
	statetest.BenchEWMABytes(b, 100_000, func() state.Table {
		fs, err := vfs.NewOS(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		tbl, err := Open(context.Background(), statetest.EWMASchema, Options{FS: fs})
		if err != nil {
			b.Fatal(err)
		}
		return tbl
	}, func(t state.Table) error {
		if _, err := t.(*Table).Checkpoint(context.Background()); err != nil {
			return err
		}
		return t.(*Table).CompactAll(context.Background())
	})
}

// BenchmarkColumnarMemtableGC: the cost of a full garbage collection with
// a memtable of 1M keys resident (no flush), the scan work a pointer-heavy
// memtable adds to every GC cycle of the process.
func BenchmarkColumnarMemtableGC(b *testing.B) {
	const n = 1_000_000
	tbl := benchTable(b, func(o *Options) { o.MemtableSize = 1 << 40 })
	defer tbl.Close()
	statetest.Fill(b, tbl, n)
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/GC")
	runtime.KeepAlive(tbl)
}

// BenchmarkColumnarFlushCompact: freezing and writing 4 memtables of 256K
// keys each (the same keys, newer values) as runs, then merging the 4 runs
// into one. It reports rows per CPU-second (process CPU time, steadier than
// wall time on a shared machine) of the flushes and of the merge.
func BenchmarkColumnarFlushCompact(b *testing.B) {
	const n, runs = 256 << 10, 4
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tbl := benchTable(b, func(o *Options) {
			o.DisableAutoCompaction, o.MemtableSize, o.BlockRows = true, 1<<40, *upsertBlockRows
		})
		var flushT, compT time.Duration
		for range runs {
			statetest.Fill(b, tbl, n)
			b.StartTimer()
			t0 := cpuTime()
			if _, err := tbl.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			flushT += cpuTime() - t0
			b.StopTimer()
		}
		b.StartTimer()
		t0 := cpuTime()
		if err := tbl.CompactAll(ctx); err != nil {
			b.Fatal(err)
		}
		compT += cpuTime() - t0
		b.StopTimer()
		if s := tbl.Shape(); s.Runs != 1 || s.Entries != n {
			b.Fatalf("shape after compaction: %+v", s)
		}
		require.NoError(b, tbl.Close())
		b.ReportMetric(float64(n*runs)/flushT.Seconds(), "flush-rows/cpu-s")
		b.ReportMetric(float64(n*runs)/compT.Seconds(), "merge-rows/cpu-s")
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

// benchGetSingleCPU measures single-key lookups of random present keys by
// process CPU time per lookup (steadier than latency percentiles on a
// loaded machine).
func benchGetSingleCPU(b *testing.B, tbl *Table, nkeys int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 10))
	k := make([][]byte, 1)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		k[0] = keys.Int64Key(rng.Int64N(int64(nkeys)))
		lk, err := tbl.Get(ctx, k)
		if err != nil {
			b.Fatal(err)
		}
		lk.Values.Release()
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkColumnarFlushMergeRandom: 4 memtables of random upserts (100
// batches of BenchBatch keys out of 1M, ~330K distinct keys each) flushed
// as runs, then merged into one: CPU ns per flushed entry (freeze, sort,
// block encoding, writes; entries visited in key order sit in memory in
// insertion order) and per merged input entry.
func BenchmarkColumnarFlushMergeRandom(b *testing.B) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	bl := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	for i := 0; i < statetest.BenchBatch; i++ {
		bl.Field(0).(*array.Int64Builder).Append(int64(i))
		bl.Field(1).(*array.StringBuilder).Append("value")
	}
	vals := bl.NewRecordBatch()
	bl.Release()
	defer vals.Release()
	ks := make([][]byte, statetest.BenchBatch)
	var flushT, mergeT time.Duration
	var flushN, mergeN int64
	for i := 0; i < b.N; i++ {
		tbl := benchTable(b, func(o *Options) {
			o.DisableAutoCompaction, o.MemtableSize, o.BlockRows = true, 1<<40, *upsertBlockRows
		})
		for range 4 {
			for range 100 {
				for x := range ks {
					ks[x] = keys.Int64Key(rng.Int64N(1_000_000))
				}
				require.NoError(b, tbl.Write(ctx, ks, nil, vals))
			}
			require.NoError(b, tbl.Commit(ctx, tbl.CommittedEpoch()+1))
			n := int64(tbl.mem.idx.Len())
			t0 := cpuTime()
			_, err := tbl.Checkpoint(ctx)
			require.NoError(b, err)
			flushT += cpuTime() - t0
			flushN += n
		}
		mergeN += tbl.Shape().Entries
		t0 := cpuTime()
		require.NoError(b, tbl.CompactAll(ctx))
		mergeT += cpuTime() - t0
		require.NoError(b, tbl.Close())
	}
	b.ReportMetric(float64(flushT.Nanoseconds())/float64(flushN), "flush-cpu-ns/entry")
	b.ReportMetric(float64(mergeT.Nanoseconds())/float64(mergeN), "merge-cpu-ns/entry")
}
