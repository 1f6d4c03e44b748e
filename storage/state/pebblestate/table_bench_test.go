package pebblestate_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state/keys"

	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/pebblestate"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
)

var bigBench = flag.Bool("bench.big", false, "include the 10M-key benchmark sizes")

func benchSizes() []int {
	s := []int{1_000, 100_000, 1_000_000}
	if *bigBench || statetest.BigBench() {
		s = append(s, 10_000_000)
	}
	return s
}

func benchTable(b *testing.B, o pebblestate.Options) *pebblestate.Table {
	o.Dir = b.TempDir()
	tbl, err := pebblestate.Open(context.Background(), statetest.Schema, o)
	if err != nil {
		b.Fatal(err)
	}
	return tbl
}

// BenchmarkPebbleUpsert: batched upserts of random int64 keys on the OS
// filesystem (commits without a WAL, as the backend runs).
func BenchmarkPebbleUpsert(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			tbl := benchTable(b, pebblestate.Options{MemTableSize: 64 << 20})
			defer tbl.Close()
			statetest.BenchUpsert(b, tbl, n)
		})
	}
}

// BenchmarkPebbleGet: lookups after the keys were checkpointed (flushed to
// sstables), with a block cache that holds them (cached) and with a 256 KiB
// one (uncached: reads go through the OS page cache and decode blocks).
func BenchmarkPebbleGet(b *testing.B) {
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
				if _, err := tbl.Checkpoint(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.Run("batch", func(b *testing.B) { statetest.BenchGetBatch(b, tbl, n) })
				b.Run("single", func(b *testing.B) { statetest.BenchGetLatency(b, tbl, n) })
			})
		}
	}
}

// BenchmarkPebbleEWMABytes: memory and disk per key of an EWMA state
// (symbol text key; float8, int8, timestamp value), after a checkpoint.
func BenchmarkPebbleEWMABytes(b *testing.B) {
	statetest.BenchEWMABytes(b, 100_000, func() state.Table {
		tbl, err := pebblestate.Open(context.Background(), statetest.EWMASchema, pebblestate.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		return tbl
	}, func(t state.Table) error {
		_, err := t.(*pebblestate.Table).Checkpoint(context.Background())
		return err
	})
}

// BenchmarkPebbleReadModifyWrite: an aggregate's pattern, per epoch a
// batched Get of 1024 keys (from a hot set of 8192 half the time, else
// from all keys), a Write of the same keys and a Commit, with and without
// the row cache (whose Commit then updates the cached rows). Reports CPU
// per key.
func BenchmarkPebbleReadModifyWrite(b *testing.B) {
	ctx := context.Background()
	const n, batch = 100_000, 1024
	for _, rc := range []int64{0, -1} {
		b.Run(fmt.Sprintf("rowcache=%v", rc == 0), func(b *testing.B) {
			tbl := benchTable(b, pebblestate.Options{RowCacheSize: rc, CacheSize: 64 << 20})
			defer tbl.Close()
			statetest.Fill(b, tbl, n)
			rng := rand.New(rand.NewPCG(8, 9))
			ks := make([][]byte, batch)
			bld := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
			defer bld.Release()
			b.ResetTimer()
			cpu0 := procCPU()
			for i := 0; i < b.N; i++ {
				span := int64(n)
				if i%2 == 0 {
					span = 8192
				}
				for j := range ks {
					ks[j] = keys.Int64Key(rng.Int64N(span))
				}
				lk, err := tbl.Get(ctx, ks)
				if err != nil {
					b.Fatal(err)
				}
				v := lk.Values.Column(0).(*array.Int64)
				for j := range ks {
					bld.Field(0).(*array.Int64Builder).Append(v.Value(j) + 1)
					bld.Field(1).AppendNull()
				}
				lk.Values.Release()
				rec := bld.NewRecordBatch()
				err = tbl.Write(ctx, ks, nil, rec)
				rec.Release()
				if err == nil {
					err = tbl.Commit(ctx, tbl.CommittedEpoch()+1)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(procCPU()-cpu0)/float64(b.N*batch), "cpu-ns/key")
		})
	}
}
