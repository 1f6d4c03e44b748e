package statetest

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
)

// EWMASchema is the value of an exponentially weighted moving average per
// symbol: the smoothed value, the sample count and the last event time.
var EWMASchema = arrow.NewSchema([]arrow.Field{
	{Name: "s", Type: arrow.PrimitiveTypes.Float64},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	{Name: "last", Type: arrow.FixedWidthTypes.Timestamp_us},
}, nil)

// EWMAKey is the state key of symbol i: the memcomparable text "SYM000123".
func EWMAKey(i int) []byte {
	return keys.AppendBytes(keys.AppendMarker(nil), fmt.Appendf(nil, "SYM%06d", i))
}

// BenchEWMABytes writes nkeys EWMA states (symbol keys, 3-column values)
// in 4K-row epochs, updates each once more, then reports the table's own
// size estimate per key (mem-B/key, disk-B/key after checkpoint, when
// checkpoint is non-nil) and the Go heap growth per key (heap-B/key), which
// includes everything the table allocated and still holds. open returns an
// empty table of EWMASchema.
func BenchEWMABytes(b *testing.B, nkeys int, open func() state.Table, checkpoint func(state.Table) error) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		heap0 := liveHeap()
		tbl := open()
		bld := array.NewRecordBuilder(memory.NewGoAllocator(), EWMASchema)
		ks := make([][]byte, 0, BenchBatch)
		e := tbl.CommittedEpoch()
		for pass := 0; pass < 2; pass++ {
			for lo := 0; lo < nkeys; lo += BenchBatch {
				ks = ks[:0]
				for j := lo; j < min(lo+BenchBatch, nkeys); j++ {
					ks = append(ks, EWMAKey(j))
					bld.Field(0).(*array.Float64Builder).Append(100 + float64(j%977)/7)
					bld.Field(1).(*array.Int64Builder).Append(int64(pass + 1))
					bld.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() + int64(j)))
				}
				rec := bld.NewRecordBatch()
				err := tbl.Write(ctx, ks, nil, rec)
				rec.Release()
				if err == nil {
					e++
					err = tbl.Commit(ctx, e)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		bld.Release()
		if checkpoint != nil {
			if err := checkpoint(tbl); err != nil {
				b.Fatal(err)
			}
		}
		st := tbl.Stats()
		heap1 := liveHeap()
		if i == b.N-1 {
			b.ReportMetric(float64(st.MemBytes)/float64(nkeys), "mem-B/key")
			b.ReportMetric(float64(st.DiskBytes)/float64(nkeys), "disk-B/key")
			b.ReportMetric(float64(int64(heap1)-int64(heap0))/float64(nkeys), "heap-B/key")
		}
		if err := tbl.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
