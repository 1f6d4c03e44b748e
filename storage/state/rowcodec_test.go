package state_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/stretchr/testify/require"
)

// TestEncodeRowsMatchesAppendRow: the column-at-a-time encoder produces
// AppendRow's bytes for every supported type, with NULLs, skipped rows and
// sliced (offset) batches, and the rows decode back.
func TestEncodeRowsMatchesAppendRow(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ls", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	codec, err := state.NewRowCodec(schema)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	bld := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer bld.Release()
	const n = 300
	for i := 0; i < n; i++ {
		for _, f := range bld.Fields() {
			if rng.IntN(4) == 0 && i%7 != 0 { // every 7th row has no NULLs
				f.AppendNull()
				continue
			}
			switch fb := f.(type) {
			case *array.BooleanBuilder:
				fb.Append(rng.IntN(2) == 0)
			case *array.Int8Builder:
				fb.Append(int8(rng.Int()))
			case *array.Int32Builder:
				fb.Append(rng.Int32())
			case *array.Int64Builder:
				fb.Append(rng.Int64() - rng.Int64())
			case *array.Uint16Builder:
				fb.Append(uint16(rng.Int()))
			case *array.Float32Builder:
				fb.Append(rng.Float32())
			case *array.Float64Builder:
				fb.Append(rng.NormFloat64())
			case *array.StringBuilder:
				fb.Append(fmt.Sprint("s", rng.IntN(1<<rng.IntN(20))))
			case *array.LargeStringBuilder:
				fb.Append(string(make([]byte, rng.IntN(200))))
			case *array.BinaryBuilder:
				fb.Append([]byte{byte(i), 0, 255})
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(rng.Int64()))
			case *array.Date32Builder:
				fb.Append(arrow.Date32(rng.Int32()))
			}
		}
	}
	full := bld.NewRecordBatch()
	defer full.Release()
	for _, rec := range []arrow.RecordBatch{full, full.NewSlice(37, 211)} {
		m := int(rec.NumRows())
		skip := make([]bool, m)
		for i := range skip {
			skip[i] = rng.IntN(5) == 0
		}
		for _, sk := range [][]bool{nil, skip} {
			offs := make([]int, m+1)
			prefix := []byte("prefix")
			enc := codec.EncodeRows(prefix, rec, sk, offs)
			require.Equal(t, "prefix", string(enc[:6]))
			out := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
			vals := make([][]byte, m)
			found := make([]bool, m)
			for i := 0; i < m; i++ {
				got := enc[offs[i]:offs[i+1]]
				if sk != nil && sk[i] {
					require.Empty(t, got)
					codec.AppendNullRow(out)
					continue
				}
				require.Equal(t, codec.AppendRow(nil, rec, i), got, "row %d", i)
				require.NoError(t, codec.DecodeInto(out, got))
				vals[i], found[i] = got, true
			}
			dec := out.NewRecordBatch()
			// The column-at-a-time decoder agrees with the row decoder.
			built, err := state.BuildRows(memory.NewGoAllocator(), codec, vals, found)
			require.NoError(t, err)
			require.True(t, array.RecordEqual(dec, built))
			built.Release()
			// Truncated or overlong rows are XX001, not a panic.
			for i := range vals {
				if found[i] {
					short := vals[i][:len(vals[i])-1]
					long := append(append([]byte(nil), vals[i]...), 1)
					for _, bad := range [][]byte{short, long} {
						_, err = state.BuildRows(memory.NewGoAllocator(), codec, [][]byte{bad}, []bool{true})
						require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err))
					}
					break
				}
			}
			dec.Release()
			out.Release()
		}
		if rec != full {
			rec.Release()
		}
	}
}
