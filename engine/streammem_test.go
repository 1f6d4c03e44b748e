package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// A view whose join state outgrows the streaming-operator share fails with
// 53200; other views, the tables and the engine carry on, and the failed
// view's operators return their share at once.
func TestStreamMemoryShareFailsOnlyTheView(t *testing.T) {
	e, err := Open(context.Background(), Options{StreamMemory: 2 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	query(t, s, "CREATE TABLE a (k int, v text)")
	query(t, s, "CREATE TABLE b (k int, w text)")
	query(t, s, "CREATE MATERIALIZED VIEW j AS SELECT a.k, v, w FROM a JOIN b ON a.k = b.k")
	query(t, s, "CREATE MATERIALIZED VIEW c AS SELECT count(*) AS n FROM a")
	query(t, s, "INSERT INTO b SELECT g, 'w' || g FROM generate_series(1, 10) g")
	query(t, s, "INSERT INTO a SELECT g % 1000, repeat('x', 50) || g FROM generate_series(1, 100000) g")
	query(t, s, "FLUSH")
	require.Equal(t, pgerror.OutOfMemory, execErr(t, s, "SELECT count(*) FROM j"))
	require.Equal(t, [][]string{{"100000"}}, query(t, s, "SELECT n FROM c"))
	// The failed view gives its operators' share back without a DROP (its
	// join state would otherwise starve the next view), stays listed and
	// keeps failing reads with its error until dropped.
	require.Eventually(t, func() bool { return e.streamMem.Used() == 0 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, pgerror.OutOfMemory, execErr(t, s, "SELECT count(*) FROM j"))
	require.Equal(t, [][]string{{"j", "failed"}},
		query(t, s, "SELECT view_name, status FROM sabot_materialized_views WHERE view_name = 'j'"))
	query(t, s, "DROP MATERIALIZED VIEW j")
	require.Zero(t, e.streamMem.Used())
	// A view that fits is maintained as usual.
	query(t, s, "CREATE MATERIALIZED VIEW j2 AS SELECT b.k, count(*) AS n FROM a JOIN b ON a.k = b.k WHERE a.k < 3 GROUP BY b.k")
	require.Equal(t, [][]string{{"1", "100"}, {"2", "100"}}, query(t, s, "SELECT * FROM j2 ORDER BY k"))
}
