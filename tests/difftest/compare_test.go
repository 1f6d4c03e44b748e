package difftest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCompare(t *testing.T) {
	rows := func(rs ...string) [][]string {
		var out [][]string
		for _, r := range rs {
			out = append(out, strings.Split(r, "|"))
		}
		return out
	}
	intText := []uint32{23, 25}
	floats := []uint32{701}
	cases := []struct {
		name     string
		pg, ours Result
		ordered  bool
		mismatch string // substring of the reason, "" when equal
	}{
		{name: "same multiset", pg: Result{OIDs: intText, Rows: rows("1|a", "2|b")}, ours: Result{OIDs: intText, Rows: rows("2|b", "1|a")}},
		{name: "order matters when ordered", pg: Result{OIDs: intText, Rows: rows("1|a", "2|b")}, ours: Result{OIDs: intText, Rows: rows("2|b", "1|a")}, ordered: true, mismatch: "row 1"},
		{name: "duplicates count", pg: Result{OIDs: intText, Rows: rows("1|a", "1|a")}, ours: Result{OIDs: intText, Rows: rows("1|a", "2|a")}, mismatch: "row 2"},
		{name: "row count", pg: Result{OIDs: intText, Rows: rows("1|a")}, ours: Result{OIDs: intText}, mismatch: "row count"},
		{name: "NULL is not the text NULL", pg: Result{OIDs: intText, Rows: [][]string{{"1", Null}}}, ours: Result{OIDs: intText, Rows: [][]string{{"1", cellText("NULL")}}}, mismatch: "column 2"},
		{name: "column type", pg: Result{OIDs: []uint32{23}, Rows: rows("1")}, ours: Result{OIDs: []uint32{20}, Rows: rows("1")}, mismatch: "type"},
		{name: "float within tolerance", pg: Result{OIDs: floats, Rows: rows("0.30000000000000004", "1")}, ours: Result{OIDs: floats, Rows: rows("1", "0.3")}},
		{name: "float beyond tolerance", pg: Result{OIDs: floats, Rows: rows("0.3")}, ours: Result{OIDs: floats, Rows: rows("0.3000001")}, mismatch: "column 1"},
		{name: "numeric is exact", pg: Result{OIDs: []uint32{1700}, Rows: rows("0.30")}, ours: Result{OIDs: []uint32{1700}, Rows: rows("0.3")}, mismatch: "column 1"},
		{name: "infinity", pg: Result{OIDs: floats, Rows: rows("Infinity")}, ours: Result{OIDs: floats, Rows: rows("-Infinity")}, mismatch: "column 1"},
		{name: "same error", pg: Result{Code: "22012"}, ours: Result{Code: "22012", Msg: "division by zero"}},
		{name: "different error", pg: Result{Code: "22012"}, ours: Result{Code: "22003"}, mismatch: "error mismatch"},
		{name: "error on one side", pg: Result{OIDs: intText}, ours: Result{Code: "0A000"}, mismatch: "PostgreSQL OK"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			why := Compare(tc.pg, tc.ours, tc.ordered)
			if tc.mismatch == "" {
				require.Empty(t, why)
			} else {
				require.Contains(t, why, tc.mismatch)
			}
		})
	}
}

// TestGeneratorDeterministic checks invariant 1: a seed and query number
// regenerate the same schema and query.
func TestGeneratorDeterministic(t *testing.T) {
	a, b := NewSchema(42), NewSchema(42)
	require.Equal(t, a.Script(), b.Script())
	require.NotEqual(t, a.Script(), NewSchema(43).Script())
	for i := 0; i < 50; i++ {
		qa := NewQueryGen(a, 42, i, DefaultOptions()).Query()
		qb := NewQueryGen(b, 42, i, DefaultOptions()).Query()
		require.Equal(t, qa, qb)
	}
}

// TestGeneratorCoverage checks that the default generator reaches every
// construct the differential test claims to cover.
func TestGeneratorCoverage(t *testing.T) {
	want := []string{
		"CASE", "COALESCE", "NULLIF", "lower(", "upper(", "length(", "substr(", "||",
		" AND ", " OR ", "NOT ", "IS NULL", "IS NOT NULL", " IN (", "BETWEEN", "LIKE",
		"GROUP BY", "count(*)", "count(DISTINCT", "sum(", "avg(", "min(", "max(", "bool_and(", "bool_or(",
		"string_agg(", "stddev(", "HAVING", "SELECT DISTINCT", "NULLS FIRST", "NULLS LAST", " DESC", "LIMIT", "OFFSET",
		" JOIN ", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN", "USING (k)", " ON ",
		"EXISTS (SELECT", "IN (SELECT", "(SELECT min(", "UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL",
		"WITH ", "row_number()", "rank()", "dense_rank()", "lag(", "lead(", "first_value(", "PARTITION BY", "ROWS BETWEEN",
		"generate_series(",
	}
	seen := map[string]bool{}
	ordered := 0
	for seed := uint64(1); seed <= 10; seed++ {
		s := NewSchema(seed)
		for i := 0; i < 60; i++ {
			q := NewQueryGen(s, seed, i, DefaultOptions()).Query()
			if q.Ordered {
				ordered++
			}
			for _, w := range want {
				if strings.Contains(q.SQL, w) {
					seen[w] = true
				}
			}
		}
	}
	for _, w := range want {
		require.True(t, seen[w], "the CI seed set never generates %q", w)
	}
	require.Positive(t, ordered)

	var script strings.Builder
	for seed := uint64(1); seed <= 10; seed++ {
		script.WriteString(NewSchema(seed).Script())
	}
	for _, typ := range []string{" int4", " int8", " float8", " numeric(10,2)", " text", " bool", " date", " timestamp"} {
		require.Contains(t, script.String(), typ)
	}
	require.Contains(t, script.String(), "NULL")
}
