package columnar

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
)

// upsertBlockRows is BlockRows of BenchmarkColumnarUpsertRandom's tables
// (0: the engine's default).
var upsertBlockRows = flag.Int("bench.upsertblockrows", 0, "rows per block in BenchmarkColumnarUpsertRandom and the flush/merge benchmarks (0: default)")

// upsertTrigger and upsertMemtable set CompactionTrigger and MemtableSize
// (MiB) of BenchmarkColumnarUpsertRandom's tables (0: defaults), for the
// write/read amplification trade-off.
var (
	upsertTrigger  = flag.Int("bench.upserttrigger", 0, "CompactionTrigger in BenchmarkColumnarUpsertRandom (0: default)")
	upsertMemtable = flag.Int("bench.upsertmemtable", 0, "MemtableSize in MiB in BenchmarkColumnarUpsertRandom (0: default)")
)

// countFS counts the bytes written to the files it creates (flushes,
// compactions and manifests), for write amplification.
type countFS struct {
	vfs.FS
	written atomic.Int64
}

type countFile struct {
	vfs.File
	n *atomic.Int64
}

func (f countFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.n.Add(int64(n))
	return n, err
}

func (c *countFS) Create(name string) (vfs.File, error) {
	f, err := c.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return countFile{File: f, n: &c.written}, nil
}

// BenchmarkColumnarUpsertRandom: batched upserts of random int64 keys over
// a table already holding all nkeys keys, every batch drawn afresh (so the
// written keys span the whole key space, unlike BenchmarkColumnarUpsert's
// 64 reused batches), with the default memtable size and the background
// compactor on. The timed work ends with Compact, paying the compaction
// debt the upserts left. It reports process CPU (writer, flushes and
// compactions) per upserted row and the bytes written to run files per
// row (write amplification; a run entry of these rows is ~35 bytes), and
// the entries flushed and read by compactions per row.
func BenchmarkColumnarUpsertRandom(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			osfs, err := vfs.NewOS(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			fs := &countFS{FS: osfs}
			tbl, err := Open(context.Background(), statetest.Schema, Options{FS: fs, BlockRows: *upsertBlockRows,
				CompactionTrigger: *upsertTrigger, MemtableSize: int64(*upsertMemtable) << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer tbl.Close()
			statetest.Fill(b, tbl, n)
			if err := tbl.Compact(context.Background()); err != nil {
				b.Fatal(err)
			}
			// One sub-benchmark over the filled table: its b.N rounds go on
			// upserting into the same table.
			rng := rand.New(rand.NewPCG(1, 2))
			b.Run("steady", func(b *testing.B) { benchUpsertRandom(b, tbl, fs, rng, n) })
			b.Logf("%+v", tbl.Shape())
		})
	}
}

func benchUpsertRandom(b *testing.B, tbl *Table, fs *countFS, rng *rand.Rand, nkeys int) {
	ctx := context.Background()
	vals := upsertValues()
	defer vals.Release()
	ks := make([][]byte, statetest.BenchBatch)
	kbuf := make([]byte, 0, 9*len(ks))
	epoch := tbl.CommittedEpoch()
	b.ResetTimer()
	w0, cpu0 := fs.written.Load(), cpuTime()
	f0, ci0 := tbl.flushedEntries.Load(), tbl.compactedIn.Load()
	for i := 0; i < b.N; i++ {
		kbuf = randomKeys(rng, int64(nkeys), ks, kbuf)
		if err := tbl.Write(ctx, ks, nil, vals); err != nil {
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
	if err := tbl.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	rows := float64(b.N) * statetest.BenchBatch
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/rows, "cpu-ns/row")
	b.ReportMetric(rows/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(fs.written.Load()-w0)/rows, "wr-bytes/row")
	b.ReportMetric(float64(tbl.flushedEntries.Load()-f0)/rows, "flushed/row")
	b.ReportMetric(float64(tbl.compactedIn.Load()-ci0)/rows, "merged/row")
}

// BenchmarkColumnarMemtableWriteRandom: the memtable write path alone of
// BenchmarkColumnarUpsertRandom: batches of BenchBatch random int64 keys
// out of 1M (committed every 16 batches) into a memtable that flushes only
// when the benchmark says so: after 128 batches (~400K distinct keys,
// about a default memtable's worth of these rows) it checkpoints
// untimed, so the next memtable starts empty as after a flush. b.N counts
// batches; it reports process CPU per row of the Write and Commit calls.
func BenchmarkColumnarMemtableWriteRandom(b *testing.B) {
	const nkeys, perMemtable = 1_000_000, 128
	ctx := context.Background()
	vals := upsertValues()
	defer vals.Release()
	rng := rand.New(rand.NewPCG(1, 2))
	ks := make([][]byte, statetest.BenchBatch)
	kbuf := make([]byte, 0, 9*len(ks))
	tbl := benchTable(b, func(o *Options) { o.MemtableSize, o.DisableAutoCompaction = 1<<40, true })
	defer tbl.Close()
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%perMemtable == 0 && i > 0 {
			b.StopTimer()
			if _, err := tbl.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			b.StartTimer()
		}
		kbuf = randomKeys(rng, nkeys, ks, kbuf)
		c0 := cpuTime()
		if err := tbl.Write(ctx, ks, nil, vals); err != nil {
			b.Fatal(err)
		}
		if i%16 == 15 || i == b.N-1 {
			if err := tbl.Commit(ctx, tbl.CommittedEpoch()+1); err != nil {
				b.Fatal(err)
			}
		}
		cpu += cpuTime() - c0
	}
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/(float64(b.N)*statetest.BenchBatch), "cpu-ns/row")
}

// upsertValues is the value batch of the random-upsert benchmarks:
// BenchBatch rows of (i, "value").
func upsertValues() arrow.RecordBatch {
	bl := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
	defer bl.Release()
	for i := 0; i < statetest.BenchBatch; i++ {
		bl.Field(0).(*array.Int64Builder).Append(int64(i))
		bl.Field(1).(*array.StringBuilder).Append("value")
	}
	return bl.NewRecordBatch()
}

// randomKeys fills ks with encoded random int64 keys below nkeys, in kbuf
// (returned for reuse).
func randomKeys(rng *rand.Rand, nkeys int64, ks [][]byte, kbuf []byte) []byte {
	kbuf = kbuf[:0]
	for j := range ks {
		s := len(kbuf)
		kbuf = keys.AppendInt64(keys.AppendMarker(kbuf), rng.Int64N(nkeys))
		ks[j] = kbuf[s:len(kbuf):len(kbuf)]
	}
	return kbuf
}
