package state_test

import (
	"flag"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
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

func newMem(b *testing.B) *state.MemoryTable {
	tbl, err := state.NewMemoryTable(statetest.Schema, memory.NewGoAllocator())
	if err != nil {
		b.Fatal(err)
	}
	return tbl
}

func BenchmarkMemoryUpsert(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			tbl := newMem(b)
			defer tbl.Close()
			statetest.BenchUpsert(b, tbl, n)
		})
	}
}

func BenchmarkMemoryGet(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			tbl := newMem(b)
			defer tbl.Close()
			statetest.Fill(b, tbl, n)
			b.Run("batch", func(b *testing.B) { statetest.BenchGetBatch(b, tbl, n) })
			b.Run("single", func(b *testing.B) { statetest.BenchGetLatency(b, tbl, n) })
		})
	}
}

// BenchmarkMemoryEWMABytes: memory per key of an EWMA state (symbol text
// key; float8, int8, timestamp value).
func BenchmarkMemoryEWMABytes(b *testing.B) {
	statetest.BenchEWMABytes(b, 100_000, func() state.Table {
		tbl, err := state.NewMemoryTable(statetest.EWMASchema, memory.NewGoAllocator())
		if err != nil {
			b.Fatal(err)
		}
		return tbl
	}, nil)
}
