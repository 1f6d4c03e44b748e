package lazyorder_test

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/sabotsql/sabotsql/storage/state/lazyorder"
)

// BenchmarkSortFresh: the first Sorted over 500K fresh entries with
// memcomparable-like 9-byte integer keys in random order (a memtable's
// freeze after a load of new keys); ns/entry.
func BenchmarkSortFresh(b *testing.B) {
	const n = 500_000
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]string, n)
	for i, v := range rng.Perm(n) {
		var k [9]byte
		k[0] = 1
		binary.BigEndian.PutUint64(k[1:], uint64(v)*7)
		keys[i] = string(k[:])
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := lazyorder.New(func(id uint32) string { return keys[id] }, func(uint32) bool { return false })
		for id := range n {
			o.Add(uint32(id))
		}
		_ = o.Sorted()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
}
