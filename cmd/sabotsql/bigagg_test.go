package main

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// bigAggExpect agrees with summing the generated rows, for key counts
// with and without a factor in common with the row count, and refuses key
// counts where 7919 has no inverse.
func TestBigAggExpect(t *testing.T) {
	for _, keys := range []int{1, 2, 7, 1000, 4096, 10007} {
		rows := keys + keys/4
		sum := make([]int64, keys)
		cnt := make([]int64, keys)
		for g := 1; g <= rows; g++ {
			k := g * 7919 % keys
			sum[k] += int64(g % 1000)
			cnt[k]++
		}
		want := bigAggExpect(keys, rows)
		require.NotNil(t, want)
		for k := range keys {
			s, c := want(int64(k))
			require.Equal(t, sum[k], s, "keys %d key %d", keys, k)
			require.Equal(t, cnt[k], c, "keys %d key %d", keys, k)
		}
	}
	require.Nil(t, bigAggExpect(7919*3, 7919*4))

	// A row off by one in either column is reported.
	want := bigAggExpect(1000, 1250)
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int32},
		{Name: "s", Type: arrow.PrimitiveTypes.Int64}, {Name: "c", Type: arrow.PrimitiveTypes.Int64}}, nil)
	batch := func(ds, dc int64) arrow.RecordBatch {
		b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
		defer b.Release()
		for k := range 1000 {
			s, c := want(int64(k))
			if k == 500 {
				s, c = s+ds, c+dc
			}
			b.Field(0).(*array.Int32Builder).Append(int32(k))
			b.Field(1).(*array.Int64Builder).Append(s)
			b.Field(2).(*array.Int64Builder).Append(c)
		}
		return b.NewRecordBatch()
	}
	for _, d := range [][2]int64{{0, 0}, {1, 0}, {0, -1}} {
		rec := batch(d[0], d[1])
		err := checkBigAggRows(rec, want)
		rec.Release()
		if d == [2]int64{} {
			require.NoError(t, err)
		} else {
			require.ErrorContains(t, err, "key 500")
		}
	}
}
