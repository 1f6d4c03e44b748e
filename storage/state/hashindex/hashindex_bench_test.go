package hashindex_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sabotsql/sabotsql/storage/state/hashindex"
)

// BenchmarkGetBatch: batched lookups of BenchBatch-sized groups of random
// keys in an index of n uint32 ids whose 9-byte keys live in one array
// indexed by id (as a memtable's entries do); half of the keys are absent.
// ns per key.
func BenchmarkGetBatch(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			kb := make([]byte, 2*n*9) // ids 0..2n-1; only even ids are added
			for id := range 2 * n {
				kb[9*id] = 1
				binary.BigEndian.PutUint64(kb[9*id+1:], uint64(id)*0x9e3779b97f4a7c15)
			}
			key := func(id uint32) string { return string(kb[9*id : 9*id+9]) }
			x := hashindex.New(key)
			for id := 0; id < 2*n; id += 2 {
				x.Put(uint32(id))
			}
			rng := rand.New(rand.NewPCG(1, 2))
			const batch = 4096
			qs := make([][][]byte, 16)
			for i := range qs {
				qs[i] = make([][]byte, batch)
				for j := range qs[i] {
					id := rng.IntN(2 * n)
					qs[i][j] = kb[9*id : 9*id+9]
				}
			}
			out := make([]uint32, batch)
			found := make([]bool, batch)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				x.GetBatch(qs[i%len(qs)], out, found)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/key")
		})
	}
}
