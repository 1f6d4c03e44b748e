package sqllogictest

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParseSQLite parses select4.test (~44k lines); reports records/s.
func BenchmarkParseSQLite(b *testing.B) {
	path := filepath.Join(corpusDir(b), "sqlite-slt", "select4.test")
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	records := 0
	for i := 0; i < b.N; i++ {
		records += len(Parse(path, data, FormatSQLite).Records)
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRenderSQLite renders and hashes a 1000-row, 3-column result.
func BenchmarkRenderSQLite(b *testing.B) {
	res := &Result{Columns: []Column{{Kind: KindInt}, {Kind: KindNumeric}, {Kind: KindText}}}
	for i := 0; i < 1000; i++ {
		res.Rows = append(res.Rows, []Value{{Text: "12345"}, {Text: "-17.2500"}, {Text: "table t1 row 7"}})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = hashValues(sqliteValues(res, "IRT", RowSort))
	}
	b.ReportMetric(float64(b.N*len(res.Rows))/b.Elapsed().Seconds(), "rows/s")
}
