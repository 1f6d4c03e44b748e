package pebblestate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/pebblestate"
)

// BenchmarkPebbleEpochUpsert is the state side of a keyed view such as the
// fintech ewma view (issue #8): per epoch (b.N counts them) 16 Ki (or 4
// Ki: less than half a memtable) blind writes of one float8 column to keys
// drawn uniformly from n, written in chunks of 1024 and committed once, on an in-memory filesystem with the
// backends factory's default sizes. Reports CPU ns per write, background
// flushes and compactions included.
func BenchmarkPebbleEpochUpsert(b *testing.B) {
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{{Name: "e", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	const chunk = 1024
	for _, c := range []struct{ n, chunks int }{{1_000, 16}, {100_000, 16}, {1_000_000, 16}, {1_000_000, 4}} {
		n, chunks := c.n, c.chunks
		b.Run(fmt.Sprintf("keys=%d/writes=%d", n, chunks*chunk), func(b *testing.B) {
			tbl, err := pebblestate.Open(ctx, schema, pebblestate.Options{Dir: "t", FS: vfs.NewMem(), CacheSize: 32 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer tbl.Close()
			rng := rand.New(rand.NewPCG(uint64(n), 3))
			const nbatches = 64
			batches := make([][][]byte, nbatches)
			for i := range batches {
				batches[i] = make([][]byte, chunk)
				for j := range batches[i] {
					batches[i][j] = keys.Int64Key(rng.Int64N(int64(n)))
				}
			}
			bld := array.NewFloat64Builder(memory.NewGoAllocator())
			for j := range chunk {
				bld.Append(float64(j))
			}
			col := bld.NewArray()
			bld.Release()
			vals := array.NewRecordBatch(schema, []arrow.Array{col}, chunk)
			col.Release()
			defer vals.Release()
			b.ResetTimer()
			cpu0 := procCPU()
			c := 0
			for e := range b.N {
				for range chunks {
					if err := tbl.Write(ctx, batches[c%nbatches], nil, vals); err != nil {
						b.Fatal(err)
					}
					c++
				}
				if err := tbl.Commit(ctx, tbl.CommittedEpoch()+1); err != nil {
					b.Fatal(err, e)
				}
			}
			b.ReportMetric(float64(procCPU()-cpu0)/float64(b.N*chunk*chunks), "cpu-ns/update")
		})
	}
}
