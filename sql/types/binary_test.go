package types

import (
	"encoding/binary"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/stretchr/testify/require"
)

// TestDecodeBinaryFromPgx decodes values that pgx's pgtype encodes in the
// binary format, proving wire compatibility with a real client driver.
func TestDecodeBinaryFromPgx(t *testing.T) {
	m := pgtype.NewMap()
	utc := &Ctx{}
	cases := []struct {
		typ  T
		val  any
		text string
	}{
		{BoolT, true, "t"},
		{Int2T, int16(-32768), "-32768"},
		{Int4T, int32(2147483647), "2147483647"},
		{Int8T, int64(-9223372036854775808), "-9223372036854775808"},
		{Float4T, float32(0.1), "0.1"},
		{Float8T, 1e20, "1e+20"},
		{Float8T, math.Inf(-1), "-Infinity"},
		{NumericT, pgtype.Numeric{Int: big.NewInt(150), Exp: -2, Valid: true}, "1.50"},
		{NumericT, pgtype.Numeric{Int: big.NewInt(-123456789), Exp: -12, Valid: true}, "-0.000123456789"},
		{NumericT, pgtype.Numeric{Int: big.NewInt(12), Exp: 5, Valid: true}, "1200000"},
		{NumericT, pgtype.Numeric{NaN: true, Valid: true}, "NaN"},
		{NumericT, pgtype.Numeric{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, "-Infinity"},
		{TextT, "héllo", "héllo"},
		{ByteaT, []byte{0xde, 0xad}, `\xdead`},
		{DateT, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), "2024-01-02"},
		{DateT, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), "1969-12-31"},
		{TimeT, pgtype.Time{Microseconds: 12*3600e6 + 34*60e6 + 56e6 + 789, Valid: true}, "12:34:56.000789"},
		{TimestampT, time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC), "2024-01-02 03:04:05.123456"},
		{TimestampTZT, time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 2*3600)), "2024-01-02 01:04:05+00"},
		{IntervalT, pgtype.Interval{Months: 14, Days: -3, Microseconds: 3600e6 + 500000, Valid: true}, "1 year 2 mons -3 days +01:00:00.5"},
		{OidT, uint32(4294967295), "4294967295"},
		{ArrayOf(Int4T), []int32{1, 2, 3}, "{1,2,3}"},
		{ArrayOf(Int8T), []*int64{ptr(int64(1)), nil}, "{1,NULL}"},
		{ArrayOf(TextT), []string{"a b", "", `q"`}, `{"a b","",q"}`},
		{ArrayOf(TextT), []string{}, "{}"},
	}
	for _, c := range cases {
		buf, err := m.Encode(c.typ.Oid(), pgtype.BinaryFormatCode, c.val, nil)
		require.NoError(t, err, "%s %v", c.typ, c.val)
		d, err := DecodeBinary(utc, buf, c.typ)
		require.NoError(t, err, "%s %v", c.typ, c.val)
		got := FormatText(utc, d, c.typ)
		if c.typ.Family == FamArray && c.text == `{"a b","",q"}` {
			c.text = `{"a b","","q\""}`
		}
		require.Equal(t, c.text, got, "%s", c.typ)

		// And the reverse: our encoding is what pgx encoded (except the
		// dscale of numeric infinities and the zero-dimensional empty array,
		// where we follow PostgreSQL's own send functions).
		ours, err := EncodeBinary(utc, d, c.typ)
		require.NoError(t, err)
		if n, ok := c.val.(pgtype.Numeric); (!ok || n.InfinityModifier == pgtype.Finite) && c.text != "{}" {
			require.Equal(t, buf, ours, "%s %v", c.typ, c.val)
		}
	}
}

func ptr[V any](v V) *V { return &v }

// TestEncodeBinaryScannedByPgx scans our binary encodings with pgtype.
func TestEncodeBinaryScannedByPgx(t *testing.T) {
	m := pgtype.NewMap()
	ctx := &Ctx{}
	parse := func(s string, typ T) Datum {
		d, err := ParseText(ctx, s, typ)
		require.NoError(t, err)
		return d
	}
	b, err := EncodeBinary(ctx, parse("-12345678901234567890.000123", NumericT), NumericT)
	require.NoError(t, err)
	var n pgtype.Numeric
	require.NoError(t, m.Scan(OidNumeric, pgtype.BinaryFormatCode, b, &n))
	v, err := n.Value()
	require.NoError(t, err)
	require.Equal(t, "-12345678901234567890.000123", v)

	b, err = EncodeBinary(ctx, parse("2024-02-29 23:59:59.5", TimestampTZT), TimestampTZT)
	require.NoError(t, err)
	var ts time.Time
	require.NoError(t, m.Scan(OidTimestampTZ, pgtype.BinaryFormatCode, b, &ts))
	require.Equal(t, time.Date(2024, 2, 29, 23, 59, 59, 5e8, time.UTC), ts.UTC())

	b, err = EncodeBinary(ctx, parse("{1.5,NULL,-2}", ArrayOf(Float8T)), ArrayOf(Float8T))
	require.NoError(t, err)
	var fs []*float64
	require.NoError(t, m.Scan(OidFloat8Array, pgtype.BinaryFormatCode, b, &fs))
	require.Len(t, fs, 3)
	require.Equal(t, 1.5, *fs[0])
	require.Nil(t, fs[1])
	require.Equal(t, -2.0, *fs[2])

	b, err = EncodeBinary(ctx, parse("1 year 2 mons 3 days 04:05:06", IntervalT), IntervalT)
	require.NoError(t, err)
	var iv pgtype.Interval
	require.NoError(t, m.Scan(OidInterval, pgtype.BinaryFormatCode, b, &iv))
	require.Equal(t, pgtype.Interval{Months: 14, Days: 3, Microseconds: 4*3600e6 + 5*60e6 + 6e6, Valid: true}, iv)
}

func TestDecodeBinaryMalformed(t *testing.T) {
	be32 := func(vs ...int32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		}
		return b
	}
	cases := []struct {
		typ T
		b   []byte
	}{
		{Int4T, []byte{1, 2}},
		{Int8T, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{BoolT, nil},
		{Float8T, []byte{0}},
		{NumericT, []byte{0, 1, 0, 0, 0, 0, 0, 0}},             // one digit announced, none present
		{NumericT, []byte{0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10}}, // digit 10000
		{NumericT, []byte{0, 0, 0, 0, 0x12, 0x34, 0, 0}},       // bad sign
		{NumericT, []byte{0, 0, 0, 0, 0, 0, 0xff, 0xff}},       // bad dscale
		{IntervalT, make([]byte, 15)},
		{DateT, make([]byte, 3)},
		{ArrayOf(Int4T), be32(1, 0, int32(OidInt4), 2, 1, 4, 7)},    // second element missing
		{ArrayOf(Int4T), be32(1, 0, int32(OidInt4), 1, 1, 100)},     // length past the end
		{ArrayOf(Int4T), be32(1, 0, int32(OidInt4), -5, 1)},         // negative count
		{ArrayOf(Int4T), be32(1, 0, int32(OidInt4), 1, 1, 2, 0)},    // int4 of 2 bytes
		{ArrayOf(Int4T), be32(0, 0)},                                // short header
		{ArrayOf(Int4T), be32(-1, 0, int32(OidInt4))},               // negative ndim
		{ArrayOf(Int4T), be32(1, 0, int32(OidInt4), 1, 1, 4, 7, 9)}, // trailing junk
	}
	for i, c := range cases {
		_, err := DecodeBinary(nil, c.b, c.typ)
		requireCode(t, err, pgerror.InvalidBinaryRepresentation, "case %d", i)
	}
	_, err := DecodeBinary(nil, be32(1, 0, int32(OidText), 0, 1), ArrayOf(Int4T))
	requireCode(t, err, pgerror.DatatypeMismatch)
	_, err = DecodeBinary(nil, be32(-1, -1), TimeT)
	requireCode(t, err, pgerror.NumericValueOutOfRange)
}
