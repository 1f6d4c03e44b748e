package bigstate

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// TestPacedBackfillEmbedded checks views whose backfill spreads over many
// epochs (a small aggregate share makes slices of 16Ki rows) and whose
// aggregates spill (a data directory), for inputs that are tables, a join
// and another view, with changes right after CREATE: every view equals the
// same query run by the batch engine.
func TestPacedBackfillEmbedded(t *testing.T) {
	ctx := context.Background()
	e, err := engine.Open(ctx, engine.Options{DataDir: t.TempDir(), MemoryLimit: 256 << 20, AggregateMemory: 1 << 20})
	require.NoError(t, err)
	defer e.Close()
	s, err := e.Session("", "", nil)
	require.NoError(t, err)
	ex := func(q string) {
		t.Helper()
		_, _, _, err := s.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	rows := func(q string) []string {
		t.Helper()
		_, rs, _, err := s.Exec(ctx, q)
		require.NoError(t, err, q)
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = fmt.Sprint(r...)
		}
		sort.Strings(out)
		return out
	}
	ex("CREATE TABLE a (k int, v int)")
	ex("CREATE TABLE b (k int, w int)")
	ex("INSERT INTO a SELECT g::bigint * 7919 % 60000, g % 100 FROM generate_series(1, 100000) g")
	ex("INSERT INTO b SELECT g % 5000, g FROM generate_series(1, 20000) g")

	views := []struct{ name, query string }{
		{"v_agg", "SELECT k, sum(v) AS s, count(*) AS c FROM a GROUP BY k"},
		{"v_join", "SELECT a.k, count(*) AS n, sum(b.w) AS sw FROM a JOIN b ON a.k = b.k GROUP BY a.k"},
		{"v_rows", "SELECT k, v FROM a WHERE v < 10"},
		{"v_over", "SELECT c, count(*) AS n FROM v_agg GROUP BY c"},
	}
	for _, v := range views {
		ex("CREATE MATERIALIZED VIEW " + v.name + " AS " + v.query)
	}
	// Changes after the backfills: they must follow the contents.
	ex("DELETE FROM a WHERE k % 11 = 0")
	ex("UPDATE a SET v = v + 1 WHERE k % 13 = 1")
	ex("INSERT INTO a SELECT g, 1 FROM generate_series(60000, 60999) g")
	ex("FLUSH")
	for _, v := range views {
		q := v.query
		if v.name == "v_over" {
			q = "SELECT c, count(*) FROM (" + views[0].query + ") x GROUP BY c"
		}
		want := rows(q)
		require.NotEmpty(t, want, v.name)
		require.Equal(t, want, rows("SELECT * FROM "+v.name), v.name)
	}
}

// TestDropViewDuringRead drops a view while a SELECT is streaming it: the
// read either finishes or fails with an error, and nothing panics.
func TestDropViewDuringRead(t *testing.T) {
	ctx := context.Background()
	e, err := engine.Open(ctx, engine.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()
	s1, err := e.Session("", "", nil)
	require.NoError(t, err)
	s2, err := e.Session("", "", nil)
	require.NoError(t, err)
	for _, q := range []string{
		"CREATE TABLE a (k int, v int)",
		"INSERT INTO a SELECT g, g FROM generate_series(1, 50000) g",
		"CREATE MATERIALIZED VIEW mv AS SELECT k, sum(v) AS s FROM a GROUP BY k",
	} {
		_, _, _, err := s1.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	var n int64
	err = s1.ExecSimple(ctx, "SELECT k, s FROM mv", func(res api.Result) error {
		defer res.Rows.Close()
		first := true
		for {
			b, err := res.Rows.Next(ctx)
			if err != nil || b == nil {
				return err
			}
			n += b.NumRows()
			if first {
				first = false
				_, _, _, err := s2.Exec(ctx, "DROP MATERIALIZED VIEW mv")
				require.NoError(t, err)
			}
		}
	})
	t.Logf("read %d rows, then: %v", n, err)
	require.Positive(t, n)
	if err == nil {
		require.Equal(t, int64(50000), n)
	} else {
		require.Equal(t, "55006", pgerror.CodeOf(err), "%v", err)
	}
}
