package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

const bpBound = 16 << 10 // the tests' changelog share

func openBackpressure(t *testing.T) (*Engine, *Session) {
	t.Helper()
	return openBackpressureOpts(t, Options{})
}

func openBackpressureOpts(t *testing.T, opts Options) (*Engine, *Session) {
	t.Helper()
	opts.ChangelogMemory = bpBound
	e, err := Open(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	return e, s
}

func tableLog(t *testing.T, e *Engine, name string) *stream.Changelog {
	t.Helper()
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, ts := range e.tables {
		if ts.def.Name == name && ts.log != nil {
			return ts.log
		}
	}
	t.Fatalf("table %q has no changelog", name)
	return nil
}

// stallReader subscribes to l at the last injected barrier (so truncation
// stops at whatever it has not read) and returns the subscription.
func stallReader(t *testing.T, e *Engine, l *stream.Changelog) *stream.Subscription {
	t.Helper()
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	sub, err := l.Subscribe(e.st.coord.Injected())
	require.NoError(t, err)
	return sub
}

func insertStmt(from, n int) string {
	return fmt.Sprintf("INSERT INTO t SELECT g %% 97, g FROM generate_series(%d, %d) g", from, from+n-1)
}

// statementBytes is what one insertStmt of n rows adds to t's changelog,
// measured while a stalled reader keeps it from being truncated.
func statementBytes(t *testing.T, e *Engine, s *Session, l *stream.Changelog, n int) int64 {
	t.Helper()
	sub := stallReader(t, e, l)
	defer sub.Close()
	before := l.RetainedBytes()
	query(t, s, insertStmt(-n, n)) // keys -n..-1: the tests sum them too
	return l.RetainedBytes() - before
}

// A writer much faster than its view is throttled: t's changelog never
// retains more than the bound plus one statement, and the view is exact.
func TestIngestBackpressureBoundsChangelog(t *testing.T) {
	e, s := openBackpressure(t)
	query(t, s, "CREATE TABLE t (k bigint, v bigint)")
	query(t, s, "CREATE MATERIALIZED VIEW mv AS SELECT k, count(*) AS n, sum(v) AS s FROM t GROUP BY k")
	l := tableLog(t, e, "t")
	const rows = 2000
	stmt := statementBytes(t, e, s, l, rows)
	require.Greater(t, stmt, int64(bpBound)/2, "a statement must overflow the tiny bound")
	var peak int64
	for i := range 40 {
		query(t, s, insertStmt(i*rows, rows))
		peak = max(peak, l.RetainedBytes())
	}
	require.LessOrEqual(t, peak, int64(bpBound)+stmt)
	query(t, s, "FLUSH")
	// Rows -rows..40*rows-1, key g % 97 (Go's % matches PostgreSQL's).
	want := map[int64][2]int64{}
	for g := int64(-rows); g < 40*rows; g++ {
		w := want[g%97]
		want[g%97] = [2]int64{w[0] + 1, w[1] + g}
	}
	got := query(t, s, "SELECT k, n, s FROM mv")
	require.Len(t, got, len(want))
	for _, r := range got {
		var k, n, sum int64
		_, err := fmt.Sscan(r[0]+" "+r[1]+" "+r[2], &k, &n, &sum)
		require.NoError(t, err)
		require.Equal(t, want[k], [2]int64{n, sum}, "key %d", k)
	}
}

// A statement throttled by a reader that does not move waits until it is
// canceled (57014, statement_timeout) without changing anything; once the
// reader goes away the next statement proceeds.
func TestIngestBackpressureWaitsAndCancels(t *testing.T) {
	e, s := openBackpressure(t)
	query(t, s, "CREATE TABLE t (k bigint, v bigint)")
	query(t, s, "CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM t")
	l := tableLog(t, e, "t")
	sub := stallReader(t, e, l)
	query(t, s, insertStmt(0, 2000)) // under the bound before it: not throttled
	require.Greater(t, l.RetainedBytes(), int64(bpBound))

	query(t, s, "SET statement_timeout = '20ms'")
	_, _, _, err := s.Exec(context.Background(), insertStmt(2000, 10))
	require.Error(t, err)
	require.Equal(t, pgerror.QueryCanceled, pgerror.CodeOf(err))
	require.Contains(t, err.Error(), "statement timeout")
	query(t, s, "SET statement_timeout = 0")
	require.Equal(t, [][]string{{"2000"}}, query(t, s, "SELECT count(*) FROM t"), "the canceled insert changed nothing")

	done := make(chan error, 1)
	go func() {
		_, _, _, err := s.Exec(context.Background(), insertStmt(2000, 10))
		done <- err
	}()
	sub.Close() // the stalled reader leaves: truncation frees the backlog
	require.NoError(t, <-done)
	require.LessOrEqual(t, l.RetainedBytes(), int64(bpBound))
	query(t, s, "FLUSH")
	require.Equal(t, [][]string{{"2010"}}, query(t, s, "SELECT n FROM mv"))
}

// A view that failed closes its subscriptions: it neither keeps its
// input's changelog nor throttles the input's writers.
func TestIngestBackpressureFailedViewDoesNotBlock(t *testing.T) {
	// The join's state outgrows the streaming share: the view fails (53200).
	e, s := openBackpressureOpts(t, Options{StreamMemory: 256 << 10})
	query(t, s, "CREATE TABLE t (k bigint, v bigint)")
	query(t, s, "CREATE TABLE u (k bigint, w bigint)")
	query(t, s, "CREATE MATERIALIZED VIEW bad AS SELECT t.k, v, w FROM t JOIN u ON t.k = u.k")
	query(t, s, "CREATE MATERIALIZED VIEW good AS SELECT count(*) AS n FROM t")
	query(t, s, "INSERT INTO u VALUES (1, 1)")
	l := tableLog(t, e, "t")
	// The guard turns a regression (a hang) into a failure.
	query(t, s, "SET statement_timeout = '60s'")
	for i := range 40 {
		query(t, s, insertStmt(i*2000, 2000))
		require.LessOrEqual(t, l.RetainedBytes(), int64(bpBound)+64<<10)
	}
	query(t, s, "FLUSH")
	require.Error(t, e.view(viewID(t, e, "bad")).failure())
	require.Equal(t, [][]string{{"80000"}}, query(t, s, "SELECT n FROM good"))
	query(t, s, "DROP MATERIALIZED VIEW good")
	// Only the failed view remains: writers are not throttled for it.
	for i := range 10 {
		query(t, s, insertStmt(80000+i*2000, 2000))
	}
	query(t, s, "FLUSH")
	require.LessOrEqual(t, l.RetainedBytes(), int64(bpBound)+64<<10)
}

func viewID(t *testing.T, e *Engine, name string) catalog.ObjectID {
	t.Helper()
	e.st.mu.RLock()
	defer e.st.mu.RUnlock()
	for id, v := range e.st.views {
		if v.def.Name == name {
			return id
		}
	}
	t.Fatalf("no view %q", name)
	return 0
}
