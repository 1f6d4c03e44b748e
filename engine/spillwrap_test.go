package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// Aggregates wrapped by the planner (FILTER, order-dependent aggregates over
// an append-only table) spill like plain ones, and the spilled views agree
// with the batch engine.
func TestWrappedAggregatesSpill(t *testing.T) {
	dir := t.TempDir()
	e, err := Open(context.Background(), Options{DataDir: dir, AggregateMemory: 1 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
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
	var v *mview
	e.st.mu.Lock()
	for _, x := range e.st.views {
		v = x
	}
	e.st.mu.Unlock()
	require.NotNil(t, v)
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
	e, err := Open(context.Background(), Options{DataDir: t.TempDir(), AggregateMemory: 1 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
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
	var v *mview
	e.st.mu.Lock()
	for _, x := range e.st.views {
		v = x
	}
	e.st.mu.Unlock()
	require.NotNil(t, v)
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
