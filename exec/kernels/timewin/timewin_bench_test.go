package timewin

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/types"
)

func BenchmarkHopExpand(b *testing.B) {
	const n = 4096
	mem := memory.DefaultAllocator
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	ib := array.NewInt64Builder(mem)
	for i := 0; i < n; i++ {
		tb.Append(arrow.Timestamp(int64(i) * 997 * types.MicrosPerSecond))
		ib.Append(int64(i))
	}
	ts, ids := tb.NewArray(), ib.NewArray()
	tb.Release()
	ib.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: ids.DataType()}, {Name: "ts", Type: ts.DataType(), Nullable: true}}, nil)
	batch := array.NewRecordBatch(schema, []arrow.Array{ids, ts}, n)
	ts.Release()
	ids.Release()
	defer batch.Release()
	slide, size := minutes(1), minutes(5)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, _, err := HopExpand(mem, batch, 1, slide, size, types.Interval{})
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
