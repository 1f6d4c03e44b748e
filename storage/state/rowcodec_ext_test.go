package state

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// Intervals and arrays (lists, also of strings and nested lists) round-trip
// through both encoders and both decoders, NULLs and empty lists included.
func TestRowCodecExtendedTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "iv", Type: arrow.FixedWidthTypes.MonthDayNanoInterval, Nullable: true},
		{Name: "ai", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
		{Name: "at", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "aai", Type: arrow.ListOf(arrow.ListOf(arrow.PrimitiveTypes.Int64)), Nullable: true},
	}, nil)
	codec, err := NewRowCodec(schema)
	require.NoError(t, err)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	iv := rb.Field(0).(*array.MonthDayNanoIntervalBuilder)
	ai := rb.Field(1).(*array.ListBuilder)
	at := rb.Field(2).(*array.ListBuilder)
	aai := rb.Field(3).(*array.ListBuilder)
	// row 0: values
	iv.Append(arrow.MonthDayNanoInterval{Months: 14, Days: -3, Nanoseconds: 4_005_006_789_000})
	ai.Append(true)
	ai.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	ai.ValueBuilder().(*array.Int32Builder).AppendNull()
	at.Append(true)
	at.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"a", "b c", ""}, nil)
	aai.Append(true)
	inner := aai.ValueBuilder().(*array.ListBuilder)
	inner.Append(true)
	inner.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{7, 8}, nil)
	inner.AppendNull()
	// row 1: NULLs; row 2: empty lists
	iv.AppendNull()
	ai.AppendNull()
	at.AppendNull()
	aai.AppendNull()
	iv.Append(arrow.MonthDayNanoInterval{})
	ai.Append(true)
	at.Append(true)
	aai.Append(true)
	b := rb.NewRecordBatch()
	defer b.Release()

	offs := make([]int, b.NumRows()+1)
	enc := codec.EncodeRows(nil, b, nil, offs)
	vals := make([][]byte, b.NumRows())
	found := make([]bool, b.NumRows())
	for i := range vals {
		row := codec.AppendRow(nil, b, i)
		require.Equal(t, row, enc[offs[i]:offs[i+1]], "row %d: both encoders agree", i)
		vals[i], found[i] = row, true
	}
	got, err := BuildRows(mem, codec, vals, found)
	require.NoError(t, err)
	defer got.Release()
	for c := 0; c < int(b.NumCols()); c++ {
		require.True(t, array.Equal(b.Column(c), got.Column(c)), "column %d: %s vs %s", c, b.Column(c), got.Column(c))
	}
	rb2 := array.NewRecordBuilder(mem, schema)
	defer rb2.Release()
	for _, v := range vals {
		require.NoError(t, codec.DecodeInto(rb2, v))
	}
	got2 := rb2.NewRecordBatch()
	defer got2.Release()
	for c := 0; c < int(b.NumCols()); c++ {
		require.True(t, array.Equal(b.Column(c), got2.Column(c)), "column %d", c)
	}
	// A truncated row is corruption, not a panic.
	for i := range vals {
		for cut := 0; cut < len(vals[i]); cut++ {
			rb3 := array.NewRecordBuilder(mem, schema)
			require.Error(t, codec.DecodeInto(rb3, vals[i][:cut]))
			rb3.Release()
		}
	}
}
