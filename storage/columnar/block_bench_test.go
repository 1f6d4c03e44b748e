package columnar

import (
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/sabotsql/sabotsql/storage/state"
)

// BenchmarkBlockPointRead: the CPU of an uncached point lookup's block
// work on a 256-row block of 9-byte keys and 20-byte values: checksum,
// lazy decode plus one versionIn, and the full decode for comparison.
func BenchmarkBlockPointRead(b *testing.B) {
	rows := make([]testRow, 256)
	for i := range rows {
		rows[i] = testRow{key: fmt.Appendf(nil, "k%08d", i), epoch: 7, val: fmt.Appendf(nil, "value-%013d", i)}
	}
	data := encodeBlockForBench(b, rows)
	k := rows[137].key
	b.Run("crc", func(b *testing.B) {
		for b.Loop() {
			crc32.Checksum(data, castagnoli)
		}
		b.ReportMetric(float64(len(data)), "block-bytes")
	})
	b.Run("lazy+lookup", func(b *testing.B) {
		for b.Loop() {
			blk, err := decodeBlockLazy(data)
			if err != nil {
				b.Fatal(err)
			}
			if _, ok, err := versionIn(blk, k, state.MaxEpoch); !ok || err != nil {
				b.Fatal("not found", err)
			}
		}
	})
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeBlock(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
