package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Aggregates wrapped by the planner (FILTER, order-dependent aggregates over
// an append-only table) spill like plain ones, and the spilled views agree
// with the batch engine.
func TestWrappedAggregatesSpill(t *testing.T) {
	e, s := spillEngine(t)
	query(t, s, "CREATE TABLE t (k int, v int) APPEND ONLY")
	const view = `SELECT k, sum(v) FILTER (WHERE v % 3 = 0) AS f, round(ewma(v::float8, 0.5)::numeric, 6) AS e, count(*) AS c FROM t GROUP BY k`
	query(t, s, "CREATE MATERIALIZED VIEW w AS "+view)
	for i := 0; i < 3; i++ {
		query(t, s, "INSERT INTO t SELECT g % 100000, g FROM generate_series(1, 100000) g")
		query(t, s, "FLUSH")
	}
	got := query(t, s, "SELECT * FROM w ORDER BY k")
	query(t, s, "SET query_memory_limit = '2GB'")
	want := query(t, s, view+" ORDER BY k")
	require.Len(t, want, 100000)
	require.Equal(t, want, got)
	v := onlyView(t, e)
	require.Len(t, v.spilling, 1)
	query(t, s, "DROP MATERIALIZED VIEW w") // stops the dataflow: its counters are final
	st := v.spilling[0].SpillStats()
	require.Positive(t, st.Spills, "FILTER and ewma over APPEND ONLY can spill")
	require.Positive(t, st.LoadedGroups)
}

// TestJoinSpill: a FULL JOIN view with deletes and updates on both sides
// spills its join state under a small share, equals the batch query, and
// the spilled state counts in the view's state size.
func TestJoinSpill(t *testing.T) {
	e, s := spillEngine(t)
	query(t, s, "CREATE TABLE a (k int, x int)")
	query(t, s, "CREATE TABLE b (k int, y text)")
	const view = `SELECT a.k AS ak, b.k AS bk, x, y FROM a FULL JOIN b ON a.k = b.k`
	query(t, s, "CREATE MATERIALIZED VIEW j AS "+view)
	query(t, s, "INSERT INTO a SELECT g, g * 2 FROM generate_series(1, 60000) g")
	query(t, s, "FLUSH")
	query(t, s, "INSERT INTO b SELECT g * 3, 'b' || g FROM generate_series(1, 40000) g")
	query(t, s, "FLUSH")
	query(t, s, "DELETE FROM a WHERE k % 7 = 0")
	query(t, s, "UPDATE b SET y = y || '!' WHERE k % 5 = 0")
	query(t, s, "INSERT INTO a SELECT g * 3, -g FROM generate_series(1, 1000) g")
	query(t, s, "FLUSH")
	got := query(t, s, "SELECT * FROM j ORDER BY ak, bk, x, y")
	query(t, s, "SET query_memory_limit = '2GB'")
	want := query(t, s, view+" ORDER BY ak, bk, x, y")
	require.Greater(t, len(want), 70000)
	require.Equal(t, want, got)
	v := onlyView(t, e)
	require.Len(t, v.spillingJoins, 1)
	require.Len(t, v.spillTables, 2)
	all := v.stateStats()
	own := v.mat.StateStats()
	require.Greater(t, all.Keys, own.Keys, "spilled buckets count in the view's state")
	sys := query(t, s, "SELECT state_keys FROM sabot_materialized_views WHERE view_name = 'j'")
	require.Len(t, sys, 1)
	query(t, s, "DROP MATERIALIZED VIEW j") // stops the dataflow: its counters are final
	st := v.spillingJoins[0].SpillStats()
	require.Positive(t, st.Spills)
	require.Positive(t, st.LoadedBuckets)
}

// TestTopNSpill: a per-partition top-2 view over 50K partitions spills its
// partitions under a small share and equals the batch query.
func TestTopNSpill(t *testing.T) {
	e, s := spillEngine(t)
	query(t, s, "CREATE TABLE t (k int, v int)")
	const view = `SELECT k, v, rn FROM (SELECT k, v, row_number() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t) x WHERE rn <= 2`
	query(t, s, "CREATE MATERIALIZED VIEW top2 AS "+view)
	for i := 0; i < 3; i++ {
		query(t, s, fmt.Sprintf("INSERT INTO t SELECT g %% 50000, g * 7 %% 1000 + %d FROM generate_series(1, 100000) g", i))
		query(t, s, "FLUSH")
	}
	query(t, s, "DELETE FROM t WHERE v % 5 = 0")
	query(t, s, "FLUSH")
	got := query(t, s, "SELECT * FROM top2 ORDER BY k, rn")
	query(t, s, "SET query_memory_limit = '2GB'")
	want := query(t, s, view+" ORDER BY k, rn")
	require.Len(t, want, 100000)
	require.Equal(t, want, got)
	v := onlyView(t, e)
	require.Len(t, v.spillingParts, 1)
	query(t, s, "DROP MATERIALIZED VIEW top2")
	st := v.spillingParts[0].SpillStats()
	require.Positive(t, st.Spills)
	require.Positive(t, st.LoadedPartitions)
}

// TestLogsTrimmedWithoutViews: a table whose last view was dropped does
// not keep logging changes forever: the barrier loop trims its changelog.
func TestLogsTrimmedWithoutViews(t *testing.T) {
	e, err := Open(context.Background(), Options{BarrierInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	query(t, s, "CREATE TABLE t (k int)")
	query(t, s, "CREATE MATERIALIZED VIEW c AS SELECT count(*) FROM t")
	query(t, s, "DROP MATERIALIZED VIEW c")
	query(t, s, "INSERT INTO t SELECT g FROM generate_series(1, 1000) g")
	require.Eventually(t, func() bool { return !e.logsRetain() }, 30*time.Second, 5*time.Millisecond)
}

// spillEngine opens an engine with a data directory and a 1 MiB aggregate
// share, so views' operators spill early.
func spillEngine(t *testing.T) (*Engine, *Session) {
	t.Helper()
	e, err := Open(context.Background(), Options{DataDir: t.TempDir(), AggregateMemory: 1 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	return e, s
}

// onlyView is the engine's one materialized view.
func onlyView(t *testing.T, e *Engine) *mview {
	t.Helper()
	e.st.mu.Lock()
	defer e.st.mu.Unlock()
	require.Len(t, e.st.views, 1)
	for _, v := range e.st.views {
		return v
	}
	return nil
}

// TestSpillMidEpoch: one INSERT (one epoch) of 300K rows into a table
// under a top-N view and a join view: their operators spill between the
// epoch's chunks instead of holding the whole epoch, and the views equal
// the batch queries.
func TestSpillMidEpoch(t *testing.T) {
	for _, c := range []struct{ name, view string }{
		{"top2", `SELECT k, v, rn FROM (SELECT k, v, row_number() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t) x WHERE rn <= 2`},
		{"selfjoin", `SELECT a.k, a.v AS av, b.v AS bv FROM t a JOIN u b ON a.k = b.k`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, s := spillEngine(t)
			query(t, s, "CREATE TABLE t (k int, v int)")
			query(t, s, "CREATE TABLE u (k int, v int)")
			query(t, s, "INSERT INTO u SELECT g * 3, g FROM generate_series(1, 30000) g")
			query(t, s, "CREATE MATERIALIZED VIEW m AS "+c.view)
			query(t, s, "INSERT INTO t SELECT g % 100000, g * 7 % 1000 FROM generate_series(1, 300000) g")
			query(t, s, "FLUSH")
			got := query(t, s, "SELECT * FROM m ORDER BY 1, 2, 3")
			query(t, s, "SET query_memory_limit = '2GB'")
			want := query(t, s, c.view+" ORDER BY 1, 2, 3")
			require.Greater(t, len(want), 50000)
			require.Equal(t, want, got)
			v := onlyView(t, e)
			peak := v.opMem.Peak()
			query(t, s, "DROP MATERIALIZED VIEW m")
			var mid int64
			for _, p := range v.spillingParts {
				mid += p.SpillStats().MidEpochSpills
			}
			for _, j := range v.spillingJoins {
				mid += j.SpillStats().MidEpochSpills
			}
			t.Logf("%s: operator memory peak %d bytes", c.name, peak)
			require.Positive(t, mid, "spills between the epoch's chunks")
			require.Less(t, peak, int64(16<<20), "the operators held about their share, not the epoch (34-53 MB without mid-epoch spills)")
		})
	}
}
