package funcs

import (
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/sql/types"
)

const benchRows = 4096

func benchVec(b *testing.B, name string, argTypes []types.T, cols [][]types.Datum) {
	benchVecZone(b, "", name, argTypes, cols)
}

func benchVecZone(b *testing.B, zone, name string, argTypes []types.T, cols [][]types.Datum) {
	f := resolve(name, argTypes)
	if f == nil || f.Vec == nil {
		b.Fatalf("no vectorized %s%v", name, argTypes)
	}
	t := &testing.T{}
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		arrs[i] = buildArray(t, argTypes[i], c)
		defer arrs[i].Release()
	}
	ctx := newCtx(zone)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := f.Vec(ctx, arrs, benchRows)
		if err != nil {
			b.Fatal(err)
		}
		res.Release()
	}
	b.StopTimer()
	rows := float64(b.N) * benchRows
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/row")
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
}

func constCol(v types.Datum) []types.Datum {
	out := make([]types.Datum, benchRows)
	for i := range out {
		out[i] = v
	}
	return out
}

func tsCol(tz bool) []types.Datum {
	r := rand.New(rand.NewSource(1))
	out := make([]types.Datum, benchRows)
	base := int64(1_700_000_000) * types.MicrosPerSecond
	for i := range out {
		v := base + r.Int63n(365*types.MicrosPerDay)
		if tz {
			out[i] = types.TimestampTZ(v)
		} else {
			out[i] = types.Timestamp(v)
		}
	}
	return out
}

func BenchmarkLower(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	col := make([]types.Datum, benchRows)
	for i := range col {
		col[i] = randString(r) + "Some Mixed Case Text"
	}
	benchVec(b, "lower", []types.T{textT}, [][]types.Datum{col})
}

func BenchmarkDateTruncMinute(b *testing.B) {
	benchVec(b, "date_trunc", []types.T{textT, tsT}, [][]types.Datum{constCol("minute"), tsCol(false)})
}

func BenchmarkDateTruncMonthTZ(b *testing.B) {
	benchVec(b, "date_trunc", []types.T{textT, tstzT}, [][]types.Datum{constCol("month"), tsCol(true)})
}

func BenchmarkExtractEpoch(b *testing.B) {
	benchVec(b, "extract", []types.T{textT, tsT}, [][]types.Datum{constCol("epoch"), tsCol(false)})
}

func BenchmarkDatePartEpoch(b *testing.B) {
	benchVec(b, "date_part", []types.T{textT, tsT}, [][]types.Datum{constCol("epoch"), tsCol(false)})
}

func BenchmarkDateBin(b *testing.B) {
	benchVec(b, "date_bin", []types.T{intervalT, tsT, tsT},
		[][]types.Datum{constCol(types.Interval{Micros: 15 * types.MicrosPerMinute}), tsCol(false), constCol(types.Timestamp(0))})
}

func BenchmarkDateTruncMinuteTZNewYork(b *testing.B) {
	benchVecZone(b, "America/New_York", "date_trunc", []types.T{textT, tstzT}, [][]types.Datum{constCol("minute"), tsCol(true)})
}

func BenchmarkExtractHourTZNewYork(b *testing.B) {
	benchVecZone(b, "America/New_York", "date_part", []types.T{textT, tstzT}, [][]types.Datum{constCol("hour"), tsCol(true)})
}
