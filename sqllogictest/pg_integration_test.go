package sqllogictest

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/internal/pgtest"
)

// TestSQLiteSelectCorpusAgainstPostgres validates the runner (parser,
// rendering, sorting, hashing) by running sqlite's select1-5.test against a
// real PostgreSQL 15: every record not skipped for PostgreSQL must pass.
func TestSQLiteSelectCorpusAgainstPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ~70k records against PostgreSQL")
	}
	srv := pgtest.StartT(t)
	// select5's joins of up to 64 tables spend ~1 s each in PostgreSQL's
	// planner; a small genetic-optimizer budget keeps the file fast (the
	// tables hold 10 rows, so plan quality does not matter).
	drv, err := NewPGDriver(srv.DSN() + "&options=" + strings.ReplaceAll(url.QueryEscape("-c geqo_threshold=6 -c geqo_pool_size=8 -c geqo_generations=8"), "+", "%20"))
	require.NoError(t, err)
	dir := filepath.Join(corpusDir(t), "sqlite-slt")
	var paths []string
	for i := 1; i <= 5; i++ {
		paths = append(paths, filepath.Join(dir, "select"+string(rune('0'+i))+".test"))
	}
	var out bytes.Buffer
	sum, err := Run(context.Background(), Options{Driver: drv, Jobs: 2}, paths, &out)
	require.NoError(t, err)
	t.Logf("%s", tailLines(out.String(), 8))
	require.Zero(t, sum.Failed, "failures:\n%s", headLines(out.String(), 60))
	require.Equal(t, 5, sum.Files)
	// Every statement and query record of the five files ran (none of
	// them is conditional): 1031+1031+3351+3857+1436.
	require.Equal(t, 10706, sum.Passed)
	require.Zero(t, sum.Skipped)
	require.Equal(t, "10706 passed, 0 failed", tailLines(out.String(), 1))
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func headLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// TestPostgresDriver runs both formats against a real PostgreSQL 15: a
// passing rs file, a file whose every record is wrong in a different way,
// and --complete through the command line.
func TestPostgresDriver(t *testing.T) {
	srv := pgtest.StartT(t)
	ctx := context.Background()
	dir := t.TempDir()

	t.Run("rs format passes", func(t *testing.T) {
		p := writeFile(t, dir, "ok.slt", `statement ok
create table t (v int, s text, b boolean);

statement count 3
insert into t values (1, 'a b', true), (2, '', false), (3, NULL, NULL);

query ITT rowsort
select v, s, b from t;
----
1 a b t
2 (empty) f
3 NULL NULL

statement error division by zero
select 1/0;

statement error 22012
select 1/0;

query error
select 1/0;
----
division by zero


query RR
select 1.5::float8 / 3, 2.50::numeric
----
0.5 2.50

statement count 2
update t set v = v + 10 where v < 3;

query I valuesort
select v from t
----
11 12 3
`)
		var out bytes.Buffer
		code := Main(ctx, []string{"--addr", srv.DSN(), p}, &out, &out, nil)
		require.Equal(t, 0, code, out.String())
		require.True(t, strings.HasSuffix(out.String(), "\n9 passed, 0 failed\n"), out.String())
	})

	t.Run("every wrong record fails", func(t *testing.T) {
		sqlite := writeFile(t, dir, "bad.test", `statement ok
CREATE TABLE t1(a INTEGER)

statement ok
INSERT INTO t1 VALUES(1),(2),(3)

query I rowsort
SELECT a FROM t1
----
1
2
4

query I rowsort
SELECT a FROM t1
----
3 values hashing to 0123456789abcdef0123456789abcdef

statement ok
SELECT nope FROM t1

statement error
SELECT a FROM t1

frobnicate
SELECT 1
`)
		rs := writeFile(t, dir, "bad.slt", `statement error no such thing
select 1/0;

statement count 5
select 1;

query I
select 1 where false
----
1
`)
		var out bytes.Buffer
		code := Main(ctx, []string{"--addr", srv.DSN(), "--jobs", "2", sqlite, rs}, &out, &out, nil)
		require.Equal(t, 1, code)
		for _, want := range []string{
			"bad.test:7: result differs", "bad.test:14: result hash differs",
			"bad.test:19: unexpected error: column \"nope\" does not exist (SQLSTATE 42703)",
			"bad.test:22: statement succeeded but an error was expected", "bad.test:25: unknown directive",
			"bad.slt:1: error does not match /no such thing/", "bad.slt:4: statement count: expected 5, got 1",
			"bad.slt:7: result differs",
		} {
			require.Contains(t, out.String(), want)
		}
		require.True(t, strings.HasSuffix(out.String(), "\n2 passed, 8 failed\n"), out.String())
	})

	t.Run("complete fills a prototype", func(t *testing.T) {
		p := writeFile(t, dir, "proto.test", `hash-threshold 4

statement ok
CREATE TABLE t1(a INTEGER, b VARCHAR(30), c REAL)

statement ok
INSERT INTO t1 VALUES(1,'x',1.5),(2,NULL,-2.25),(3,'',NULL)

query ITR rowsort
SELECT a, b, c FROM t1

query I nosort
SELECT a FROM t1 ORDER BY a
`)
		var out bytes.Buffer
		require.Equal(t, 0, Main(ctx, []string{"--addr", srv.DSN(), "--complete", p}, &out, &out, nil), out.String())
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		vals := []string{"1", "x", "1.500", "2", "NULL", "-2.250", "3", "(empty)", "NULL"}
		require.Contains(t, string(got), "query ITR rowsort\nSELECT a, b, c FROM t1\n----\n"+hashLine(vals)+"\n\n")
		require.True(t, strings.HasSuffix(string(got), "query I nosort\nSELECT a FROM t1 ORDER BY a\n----\n1\n2\n3\n"), string(got))
		out.Reset()
		require.Equal(t, 0, Main(ctx, []string{"--addr", srv.DSN(), p}, &out, &out, nil), out.String())
		require.True(t, strings.HasSuffix(out.String(), "\n4 passed, 0 failed\n"), out.String())
	})

	t.Run("databases are dropped", func(t *testing.T) {
		drv, err := NewPGDriver(srv.DSN())
		require.NoError(t, err)
		db, err := drv.Open(ctx)
		require.NoError(t, err)
		res, err := db.Exec(ctx, "SELECT count(*) FROM pg_database WHERE datname LIKE 'slt\\_%'")
		require.NoError(t, err)
		require.Equal(t, "1", res.Rows[0][0].Text, "only this file's database exists")
		require.NoError(t, db.Close())
	})
}

// TestPostgresRecordTimeout: a record that outlives the per-record timeout
// fails, is cancelled on the server, and the file goes on.
func TestPostgresRecordTimeout(t *testing.T) {
	srv := pgtest.StartT(t)
	p := writeFile(t, t.TempDir(), "slow.slt", "statement ok\nselect pg_sleep(60)\n\nquery I\nselect 1\n----\n1\n")
	var out bytes.Buffer
	code := Main(context.Background(), []string{"--addr", srv.DSN(), "--timeout", "300ms", p}, &out, &out, nil)
	require.Equal(t, 1, code, out.String())
	require.Contains(t, out.String(), "slow.slt:1: unexpected error: ")
	require.Contains(t, out.String(), "timed out after 300ms")
	require.True(t, strings.HasSuffix(out.String(), "\n1 passed, 1 failed\n"), out.String())
}
