package state

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/stretchr/testify/require"
)

// oneRowSchema has a column of every type RowCodec supports.
var oneRowSchema = arrow.NewSchema([]arrow.Field{
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
	{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
	{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
	{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ls", Type: arrow.BinaryTypes.LargeString, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "lbin", Type: arrow.BinaryTypes.LargeBinary, Nullable: true},
	{Name: "d32", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "d64", Type: arrow.FixedWidthTypes.Date64, Nullable: true},
	{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: true},
	{Name: "t32", Type: arrow.FixedWidthTypes.Time32ms, Nullable: true},
	{Name: "t64", Type: arrow.FixedWidthTypes.Time64ns, Nullable: true},
	{Name: "dur", Type: arrow.FixedWidthTypes.Duration_us, Nullable: true},
	{Name: "iv", Type: arrow.FixedWidthTypes.MonthDayNanoInterval, Nullable: true},
	{Name: "li", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
}, nil)

// randomRow encodes a random row of schema (flag byte and body per
// column), NULL with probability 1/nullOneIn.
func randomRow(rng *rand.Rand, schema *arrow.Schema, nullOneIn int) []byte {
	var row []byte
	for _, f := range schema.Fields() {
		if rng.IntN(nullOneIn) == 0 {
			row = append(row, 0)
			continue
		}
		row = append(row, 1)
		switch id := f.Type.ID(); {
		case id == arrow.BOOL:
			row = append(row, byte(rng.IntN(2)))
		case bodyWidth(id) > 0:
			for range bodyWidth(id) {
				row = append(row, byte(rng.Uint32()))
			}
		case id == arrow.STRING || id == arrow.LARGE_STRING || id == arrow.BINARY || id == arrow.LARGE_BINARY:
			s := make([]byte, rng.IntN(3)*rng.IntN(40))
			for i := range s {
				s[i] = byte('a' + rng.IntN(26))
			}
			row = binary.AppendUvarint(row, uint64(len(s)))
			row = append(row, s...)
		case id == arrow.INTERVAL_MONTH_DAY_NANO:
			row = binary.AppendUvarint(row, 16)
			row = binary.LittleEndian.AppendUint32(row, rng.Uint32())
			row = binary.LittleEndian.AppendUint32(row, rng.Uint32())
			row = binary.LittleEndian.AppendUint64(row, rng.Uint64())
		case id == arrow.LIST: // of int32
			m := rng.IntN(4)
			body := binary.AppendUvarint(nil, uint64(m))
			for range m {
				if rng.IntN(3) == 0 {
					body = append(body, 0)
					continue
				}
				body = append(body, 1)
				body = binary.LittleEndian.AppendUint32(body, rng.Uint32())
			}
			row = binary.AppendUvarint(row, uint64(len(body)))
			row = append(row, body...)
		}
	}
	return row
}

// TestBuildOneMatchesGeneral: the one-row fast path returns what the
// general path returns for the same row, for every supported type, with
// NULLs, all-NULL rows, not-found rows and corrupt rows (truncated,
// overlong, bytes flipped), and leaks nothing.
func TestBuildOneMatchesGeneral(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schemas := []*arrow.Schema{
		oneRowSchema,
		arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil),
		arrow.NewSchema([]arrow.Field{{Name: "i8", Type: arrow.PrimitiveTypes.Int8}, {Name: "f64", Type: arrow.PrimitiveTypes.Float64}, {Name: "b", Type: arrow.FixedWidthTypes.Boolean}}, nil),
		arrow.NewSchema(nil, nil),
	}
	rng := rand.New(rand.NewPCG(3, 4))
	same := func(t *testing.T, codec *RowCodec, row []byte, found bool) {
		t.Helper()
		want, wantErr := buildRows(mem, codec, [][]byte{row}, []bool{found})
		got, gotErr := BuildRows(mem, codec, [][]byte{row}, []bool{found})
		if wantErr != nil {
			require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(gotErr), "row %x", row)
			require.Nil(t, got)
			return
		}
		require.NoError(t, gotErr, "row %x", row)
		defer want.Release()
		defer got.Release()
		for _, c := range got.Columns() {
			if v, ok := c.(interface{ Validate() error }); ok {
				require.NoError(t, v.Validate())
			}
		}
		require.True(t, array.RecordApproxEqual(want, got, array.WithNaNsEqual(true)), "row %x:\nwant %v\ngot  %v", row, want, got)
		for c := range int(got.NumCols()) {
			require.Equal(t, want.Column(c).NullN(), got.Column(c).NullN())
		}
	}
	for _, schema := range schemas {
		codec, err := NewRowCodec(schema)
		require.NoError(t, err)
		same(t, codec, nil, false)
		for i := range 300 {
			row := randomRow(rng, schema, []int{1, 2, 4, 1 << 30}[i%4])
			same(t, codec, row, true)
			same(t, codec, row, false)
			if i%10 == 0 {
				for l := range len(row) {
					same(t, codec, row[:l], true)
				}
			}
			same(t, codec, append(row[:len(row):len(row)], 1), true)
			if len(row) > 0 {
				bad := append([]byte(nil), row...)
				bad[rng.IntN(len(bad))] ^= 1 << rng.IntN(8)
				same(t, codec, bad, true)
			}
		}
	}
}

// A truncated or overlong row is XX001 from the fast path too.
func TestBuildOneCorrupt(t *testing.T) {
	codec, err := NewRowCodec(oneRowSchema)
	require.NoError(t, err)
	row := randomRow(rand.New(rand.NewPCG(5, 6)), oneRowSchema, 1<<30)
	for _, bad := range [][]byte{row[:len(row)-1], append(row[:len(row):len(row)], 0), {}} {
		_, err := BuildRows(memory.DefaultAllocator, codec, [][]byte{bad}, []bool{true})
		require.ErrorIs(t, err, ErrCorruptRow)
	}
}
