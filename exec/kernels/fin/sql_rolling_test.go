package fin_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// TestSQLStandardRollingFrames checks the engine's standard aggregates over
// the rolling frames trading queries use (issue #8) against plain loops:
// ROWS frames narrower and wider than the executor's shifted-pass limit
// (64 rows) and a RANGE frame over an interval.
func TestSQLStandardRollingFrames(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const n = 300
	type row struct {
		sym string
		ms  int64
		x   float64
	}
	var rows []row
	seen := map[string]bool{}
	var sb strings.Builder
	sb.WriteString("(VALUES ")
	for i := 0; i < n; i++ {
		r := row{sym: []string{"A", "B"}[i%2], ms: int64(i/2)*1000 + int64(rng.IntN(3000)), x: 1e6 + math.Round(rng.NormFloat64()*100)/100}
		for key := fmt.Sprint(r.sym, r.ms); seen[key]; key = fmt.Sprint(r.sym, r.ms) {
			r.ms++ // unique (sym, ms): ROWS frames are then deterministic
		}
		seen[fmt.Sprint(r.sym, r.ms)] = true
		rows = append(rows, r)
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "('%s', %d::int8, %v::float8)", r.sym, r.ms, r.x)
	}
	sb.WriteString(") v(sym, ms, x)")
	for _, frame := range []struct {
		sql string
		in  func(cur, other row) bool
	}{
		{"ROWS BETWEEN 9 PRECEDING AND CURRENT ROW", nil},
		{"ROWS BETWEEN 99 PRECEDING AND CURRENT ROW", nil},
		{"RANGE BETWEEN INTERVAL '5 seconds' PRECEDING AND CURRENT ROW", func(cur, o row) bool {
			return o.ms <= cur.ms && o.ms >= cur.ms-5000
		}},
	} {
		got, err := query(t, `SELECT sym, ms, x, sum(x) OVER w, avg(x) OVER w, min(x) OVER w, max(x) OVER w,
			stddev(x) OVER w, count(x) OVER w
			FROM (SELECT sym, ms, x, TIMESTAMP '2024-01-01' + ms * INTERVAL '1 millisecond' AS ts FROM `+sb.String()+`) s
			WINDOW w AS (PARTITION BY sym ORDER BY ts `+frame.sql+`) ORDER BY sym, ts`)
		require.NoError(t, err, frame.sql)
		require.Len(t, got, n)
		// Rebuild each partition in output order (sorted by ts, ms).
		part := map[string][]int{}
		for i, r := range got {
			part[r[0].(string)] = append(part[r[0].(string)], i)
		}
		for _, idx := range part {
			for k, i := range idx {
				cur := row{ms: got[i][1].(int64), x: got[i][2].(float64)}
				var win []float64
				for j, o := range idx {
					or := row{ms: got[o][1].(int64), x: got[o][2].(float64)}
					var in bool
					if frame.in != nil {
						in = frame.in(cur, or)
					} else {
						w := 10
						if strings.Contains(frame.sql, "99") {
							w = 100
						}
						in = j <= k && j > k-w
					}
					if in {
						win = append(win, or.x)
					}
				}
				checkStd(t, win, got[i][3:], fmt.Sprintf("%s row %d", frame.sql, k))
			}
		}
	}
}

func checkStd(t *testing.T, win []float64, got []types.Datum, msg string) {
	t.Helper()
	sum, mn, mx := 0.0, math.Inf(1), math.Inf(-1)
	for _, v := range win {
		sum += v
		mn, mx = math.Min(mn, v), math.Max(mx, v)
	}
	mean := sum / float64(len(win))
	requireFloat(t, sum, got[0], "%s sum", msg)
	requireFloat(t, mean, got[1], "%s avg", msg)
	require.Equal(t, mn, got[2], "%s min", msg)
	require.Equal(t, mx, got[3], "%s max", msg)
	if len(win) > 1 {
		ss := 0.0
		for _, v := range win {
			ss += (v - mean) * (v - mean)
		}
		sd := math.Sqrt(ss / float64(len(win)-1))
		g := got[4].(float64)
		require.InDelta(t, sd, g, 1e-6*math.Max(sd, 1), "%s stddev", msg)
	} else {
		require.Nil(t, got[4], "%s stddev of one row", msg)
	}
	require.Equal(t, int64(len(win)), got[5], "%s count", msg)
}

// BenchmarkSQLRollingFrame measures ns per output row of rolling-frame
// window aggregates through the batch Window operator as the frame widens.
// An incremental frame costs the same per row at every width; a frame
// recomputed per row grows linearly with the width.
func BenchmarkSQLRollingFrame(b *testing.B) {
	const rows = 20000
	for _, agg := range []string{"avg(x)", "stddev(x)", "vwap(x, q)", "ewma(x, 0.1)"} {
		for _, width := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/width=%d", agg, width), func(b *testing.B) {
				sql := fmt.Sprintf(`SELECT %s OVER (ORDER BY i ROWS BETWEEN %d PRECEDING AND CURRENT ROW)
					FROM (SELECT i, (i %% 97)::float8 * 1.5 AS x, (i %% 7 + 1)::float8 AS q FROM generate_series(1, %d) g(i)) s`,
					agg, width-1, rows)
				for i := 0; i < b.N; i++ {
					out, err := query(b, sql)
					if err != nil || len(out) != rows {
						b.Fatalf("%v (%d rows)", err, len(out))
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
			})
		}
	}
}
