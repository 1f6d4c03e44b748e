package types

import (
	"testing"
)

func benchRows(b *testing.B, n int, f func(i int)) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f(i)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	_ = n
}

func BenchmarkAppendTextInt8(b *testing.B) {
	buf := make([]byte, 0, 64)
	benchRows(b, 1, func(i int) { buf = AppendText(buf[:0], nil, int64(i)*7919, Int8T) })
}

func BenchmarkAppendTextFloat8(b *testing.B) {
	buf := make([]byte, 0, 64)
	benchRows(b, 1, func(i int) { buf = AppendText(buf[:0], nil, float64(i)*0.37, Float8T) })
}

func BenchmarkAppendTextTimestampTZ(b *testing.B) {
	buf := make([]byte, 0, 64)
	benchRows(b, 1, func(i int) {
		buf = AppendText(buf[:0], nil, TimestampTZ(int64(i)*1_000_123), TimestampTZT)
	})
}

func BenchmarkParseTextInt4(b *testing.B) {
	benchRows(b, 1, func(i int) {
		if _, err := ParseText(nil, "123456", Int4T); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkParseTextTimestamp(b *testing.B) {
	benchRows(b, 1, func(i int) {
		if _, err := ParseText(nil, "2024-01-02 03:04:05.123456", TimestampT); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkParseTextNumeric(b *testing.B) {
	benchRows(b, 1, func(i int) {
		if _, err := ParseText(nil, "12345.6789", NumericT); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkAppendKeyText(b *testing.B) {
	buf := make([]byte, 0, 64)
	benchRows(b, 1, func(i int) { buf = AppendKey(buf[:0], "some group key", TextT) })
}

func BenchmarkHash64Int8(b *testing.B) {
	var sink uint64
	benchRows(b, 1, func(i int) { sink += Hash64(int64(i), Int8T) })
	_ = sink
}

func BenchmarkCompareNumeric(b *testing.B) {
	x, _ := NumericFromString("1234.5678")
	y, _ := NumericFromString("1234.56780")
	benchRows(b, 1, func(i int) { _ = Compare(x, y, NumericT) })
}
