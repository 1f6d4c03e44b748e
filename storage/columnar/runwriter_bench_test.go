package columnar

import (
	"fmt"
	"testing"

	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/state/keys"
)

// BenchmarkRunWriterAdd: CPU per entry of writing a run of n sorted
// 9-byte keys with 12-byte values and a Bloom filter sized for 2n keys (a
// compaction's upper bound), to an OS file: block building,
// encoding, checksums, the filter (whose blocks are cache misses once it
// outgrows the CPU cache) and the writes to the OS page cache.
func BenchmarkRunWriterAdd(b *testing.B) {
	val := []byte("value-000000")
	for _, n := range []int{1 << 20, 8 << 20} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			fs, err := vfs.NewOS(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				w, err := newRunWriter(fs, "bench.run", 256, 2*n)
				if err != nil {
					b.Fatal(err)
				}
				var k []byte
				for j := range n {
					k = keys.AppendInt64(keys.AppendMarker(k[:0]), int64(j))
					if err := w.addKey(k, 7, false, val); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := w.finish(1); err != nil {
					b.Fatal(err)
				}
				if err := fs.Remove("bench.run"); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/entry")
		})
	}
}
