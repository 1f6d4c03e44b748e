package state

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkBuildRowsOne: the batch of one looked-up row (int64 and nullable
// text, the state harness's schema), by the fast path and the general one.
func BenchmarkBuildRowsOne(b *testing.B) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "v", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	codec, err := NewRowCodec(schema)
	if err != nil {
		b.Fatal(err)
	}
	row := randomRow(rand.New(rand.NewPCG(1, 1)), schema, 1<<30)
	vals, found := [][]byte{row}, []bool{true}
	for _, bc := range []struct {
		name  string
		build func(memory.Allocator, *RowCodec, [][]byte, []bool) (arrow.RecordBatch, error)
	}{{"fast", BuildRows}, {"general", buildRows}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec, err := bc.build(memory.DefaultAllocator, codec, vals, found)
				if err != nil {
					b.Fatal(err)
				}
				rec.Release()
			}
		})
	}
}
