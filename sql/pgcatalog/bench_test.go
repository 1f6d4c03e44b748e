package pgcatalog

import (
	"fmt"
	"testing"

	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// benchCatalog holds n tables of 8 columns, each with a primary key.
func benchCatalog(b *testing.B, n int) *catalog.Catalog {
	cat := catalog.New()
	for i := 0; i < n; i++ {
		t := &catalog.Table{ID: cat.NextID(), Schema: "public", Name: fmt.Sprintf("t%d", i), PrimaryKey: []int{0}}
		for j := 0; j < 8; j++ {
			t.Columns = append(t.Columns, catalog.Column{Name: fmt.Sprintf("c%d", j), T: types.Int8T})
		}
		if err := cat.Add(t, nil); err != nil {
			b.Fatal(err)
		}
	}
	return cat
}

func benchmarkResolve(b *testing.B, name string) {
	tb := New(benchCatalog(b, 1000), nil, Info{})
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for i := 0; i < b.N; i++ {
		n, ok := tb.Resolve("pg_catalog", name)
		if !ok {
			b.Fatal("not resolved")
		}
		rows += len(n.(*planner.Values).Rows)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkResolvePgClass: 1000 tables, their primary keys and the
// emulated catalogs (~2100 rows per call).
func BenchmarkResolvePgClass(b *testing.B) { benchmarkResolve(b, "pg_class") }

// BenchmarkResolvePgAttribute: 8000 user columns plus the catalogs' own.
func BenchmarkResolvePgAttribute(b *testing.B) { benchmarkResolve(b, "pg_attribute") }
