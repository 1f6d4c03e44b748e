package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// A temporal filter moves with the views' clock: rows leave a "last hour"
// view as the clock passes them (and the filter drops them from its
// state), rows enter an "older than an hour" view, and both equal the
// batch query evaluated at the clock's time.
func TestTemporalFilter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(t0.UnixMicro())
	clock := func() time.Time { return time.UnixMicro(now.Load()) }
	e, err := Open(context.Background(), Options{Clock: clock, BarrierInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	query(t, s, "CREATE TABLE t (ts timestamptz, v int) APPEND ONLY")
	query(t, s, "CREATE MATERIALIZED VIEW recent AS SELECT v FROM t WHERE ts > now() - INTERVAL '1 hour'")
	query(t, s, "CREATE MATERIALIZED VIEW old AS SELECT v FROM t WHERE now() - INTERVAL '1 hour' >= ts")
	// One row a minute over the three hours before t0.
	for m := 0; m < 180; m++ {
		query(t, s, fmt.Sprintf("INSERT INTO t VALUES ('%s', %d)", t0.Add(-time.Duration(m)*time.Minute).Format(time.RFC3339), m))
	}
	check := func(at time.Time) {
		t.Helper()
		now.Store(at.UnixMicro())
		query(t, s, "FLUSH") // an epoch at the new time
		query(t, s, "FLUSH")
		cutoff := at.Add(-time.Hour).Format(time.RFC3339)
		require.Equal(t, query(t, s, fmt.Sprintf("SELECT v FROM t WHERE ts > '%s' ORDER BY v", cutoff)),
			query(t, s, "SELECT v FROM recent ORDER BY v"), "recent at %s", at)
		require.Equal(t, query(t, s, fmt.Sprintf("SELECT v FROM t WHERE ts <= '%s' ORDER BY v", cutoff)),
			query(t, s, "SELECT v FROM old ORDER BY v"), "old at %s", at)
	}
	check(t0)
	require.Len(t, query(t, s, "SELECT * FROM recent"), 60)
	memAt := func(view string) string {
		return query(t, s, "SELECT operator_mem_bytes FROM sabot_materialized_views WHERE view_name = '"+view+"'")[0][0]
	}
	before := memAt("recent")
	check(t0.Add(30 * time.Minute))
	check(t0.Add(59 * time.Minute))
	require.Len(t, query(t, s, "SELECT * FROM recent"), 1)
	check(t0.Add(2 * time.Hour))
	require.Empty(t, query(t, s, "SELECT * FROM recent"))
	require.Len(t, query(t, s, "SELECT * FROM old"), 180)
	// The last-hour filter keeps only what passes; the other keeps all.
	var b, a int64
	fmt.Sscan(before, &b)
	fmt.Sscan(memAt("recent"), &a)
	require.Less(t, a, b/4, "the recent view's filter dropped the rows it let go")
	// A clock going back does not move the views back.
	check(t0.Add(2 * time.Hour))
	now.Store(t0.UnixMicro())
	query(t, s, "FLUSH")
	require.Empty(t, query(t, s, "SELECT * FROM recent"))

	// now() anywhere else in a view would be frozen at CREATE: refused.
	for _, q := range []string{
		"CREATE MATERIALIZED VIEW bad AS SELECT v, now() AS at FROM t",
		"CREATE MATERIALIZED VIEW bad AS SELECT v FROM t WHERE ts + (now() - ts) > now()",
		"CREATE MATERIALIZED VIEW bad AS SELECT current_date AS d, count(*) FROM t GROUP BY 1",
	} {
		_, _, _, err := s.Exec(context.Background(), q)
		require.Error(t, err, q)
		require.Equal(t, "0A000", pgerror.CodeOf(err), q)
		require.Contains(t, err.Error(), "temporal filter", q)
	}
}
