package types

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"
)

func TestTimeHelpers(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	tm := time.Date(2024, 7, 1, 12, 30, 15, 250000000, paris)

	ts := TimestampFromTime(tm)
	require.Equal(t, "2024-07-01 12:30:15.25", FormatText(nil, ts, TimestampT))
	require.Equal(t, time.Date(2024, 7, 1, 12, 30, 15, 250000000, time.UTC), ts.Time())

	tz := TimestampTZFromTime(tm)
	require.Equal(t, "2024-07-01 10:30:15.25+00", FormatText(nil, tz, TimestampTZT))
	require.True(t, tz.Time().Equal(tm))

	d := DateFromTime(tm)
	require.Equal(t, "2024-07-01", FormatText(nil, d, DateT))
	require.Equal(t, time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), d.Time())

	tod := TimeOfDayFromTime(tm)
	require.Equal(t, "12:30:15.25", FormatText(nil, tod, TimeT))
	require.Equal(t, 12, tod.Time().Hour())

	require.Equal(t, 49*time.Hour+time.Second, Interval{Days: 2, Micros: 3600e6 + 1e6}.Duration())
	require.Equal(t, 30*24*time.Hour, Interval{Months: 1}.Duration())
}

func TestCivilRoundTrip(t *testing.T) {
	for days := int64(-2_500_000); days < 2_500_000; days += 37 {
		y, m, d := civilFromDays(days)
		require.Equal(t, days, daysFromCivil(y, m, d))
		require.True(t, m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m))
	}
	require.Equal(t, int64(0), daysFromCivil(1970, 1, 1))
	require.Equal(t, int64(pgEpochDays), daysFromCivil(2000, 1, 1))
}

func TestNumericHelpers(t *testing.T) {
	n := NumericFromInt(-42)
	require.Equal(t, "-42", FormatText(nil, n, NumericT))
	d, err := NumericFromString(" 1.50 ")
	require.NoError(t, err)
	require.Equal(t, "1.50", FormatText(nil, d, NumericT))
	_, err = NumericFromString("1.5.0")
	requireCode(t, err, "22P02")
	_, err = NumericFromString("1e200000")
	requireCode(t, err, "22003")

	// Each context is fresh: changing one does not affect the next.
	c1 := NumericContext()
	c1.Precision = 5
	c2 := NumericContext()
	require.Equal(t, uint32(1000), c2.Precision)
	require.Equal(t, apd.RoundHalfUp, c2.Rounding)
	var q apd.Decimal
	_, err = c2.Quo(&q, apd.New(2, 0), apd.New(3, 0))
	require.NoError(t, err)
	require.Equal(t, int64(1000), q.NumDigits())
}

func TestLoadZone(t *testing.T) {
	for _, c := range []struct{ name, out string }{
		{"UTC", "2024-01-02 03:04:05+00"},
		{"Europe/Paris", "2024-01-02 04:04:05+01"},
		// Recorded from PostgreSQL 15 (SET TimeZone = ...).
		{"+02", "2024-01-02 05:04:05+02"},
		{"-05:30", "2024-01-02 08:34:05+05:30"},
		{"UTC+3", "2024-01-02 00:04:05-03"},
		{"Etc/GMT+3", "2024-01-02 00:04:05-03"},
		{"EST", "2024-01-01 22:04:05-05"},
	} {
		loc, err := LoadZone(c.name)
		require.NoError(t, err, c.name)
		require.Equal(t, c.out, FormatText(&Ctx{Loc: loc}, TimestampTZ(1704164645000000), TimestampTZT), c.name)
	}
	_, err := LoadZone("Mars/Olympus")
	requireCode(t, err, "22023")
}

func TestArrowRoundTrip(t *testing.T) {
	ctx := &Ctx{}
	mem := memory.NewGoAllocator()
	cases := []struct {
		typ T
		in  string
	}{
		{BoolT, "t"}, {Int2T, "-7"}, {Int4T, "7"}, {Int8T, "-9000000000"}, {Float4T, "0.1"}, {Float8T, "1e+20"},
		{NumericT, "1000"}, {NumericT, "1.50"}, {NumericT, "NaN"}, {NumericT, "-Infinity"}, {NumericT, "-0.000001"}, {TextT, "héllo"}, {BpcharT.WithMod(3), "a  "}, {ByteaT, `\x00ff`},
		{DateT, "2024-01-02"}, {TimeT, "12:00:00.5"}, {TimestampT, "2024-01-02 03:04:05"},
		{TimestampTZT, "2024-01-02 03:04:05+00"}, {IntervalT, "1 mon -2 days +00:00:01.5"}, {ArrayOf(Int4T), "{1,NULL,3}"},
	}
	for _, c := range cases {
		d, err := ParseText(ctx, c.in, c.typ)
		require.NoError(t, err)
		if c.typ.Family == FamNumeric && c.in == "1000" {
			d = apd.New(1, 3) // 1E+3 must be stored as its canonical text
		}
		b := array.NewBuilder(mem, ArrowType(c.typ))
		AppendDatum(b, d, c.typ)
		AppendDatum(b, nil, c.typ)
		arr := b.NewArray()
		require.Equal(t, c.in, FormatText(ctx, GetDatum(arr, 0, c.typ), c.typ))
		require.Nil(t, GetDatum(arr, 1, c.typ))
		if s, ok := arr.(*array.String); ok && c.typ.Family == FamNumeric {
			require.Equal(t, c.in, s.Value(0))
		}
		arr.Release()
		b.Release()
	}
}
