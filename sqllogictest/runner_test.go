package sqllogictest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runOne runs files written into a temp dir with drv and returns the
// summary and output.
func runFiles(t *testing.T, opts Options, files map[string]string) (Summary, string, string) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for name, content := range files {
		p := writeFile(t, dir, name, content)
		if !strings.HasSuffix(name, ".part") {
			paths = append(paths, p)
		}
	}
	var out bytes.Buffer
	sum, err := Run(context.Background(), opts, paths, &out)
	require.NoError(t, err)
	return sum, out.String(), dir
}

func TestRunSQLitePassingFile(t *testing.T) {
	d := newFake().
		ok("CREATE TABLE t(a INTEGER)", 0).
		rows("SELECT a, b FROM t", "it", []any{3, "x"}, []any{1, nil}, []any{2, ""}).
		rows("SELECT a FROM t", "i", []any{10}, []any{9}, []any{1}).
		rows("SELECT avg(a) FROM t", "n", []any{"-2.5000000000000000"}).
		rows("SELECT r FROM t", "f", []any{"1.0005"}, []any{"-0.25"}).
		rows("SELECT s FROM t", "t", []any{"a\tb\x7f"})
	vals := []string{"1", "10", "9"}
	sum, out, _ := runFiles(t, Options{Driver: d}, map[string]string{"a.test": `statement ok
CREATE TABLE t(a INTEGER)

query IT rowsort
SELECT a, b FROM t
----
1
NULL
2
(empty)
3
x

query I valuesort
SELECT a FROM t
----
1
10
9

hash-threshold 2

query I valuesort
SELECT a FROM t
----
` + hashLine(vals) + `

query I nosort
SELECT avg(a) FROM t
----
-2

query R nosort
SELECT r FROM t
----
1.000
-0.250

query T nosort
SELECT s FROM t
----
a@b@

onlyif mysql
query I
SELECT nothing

skipif postgresql
query I
SELECT nothing

onlyif sabotsql
skipif mysql
query I valuesort
SELECT a FROM t
----
3 values hashing to ` + hashValues(vals) + `
`})
	require.Equal(t, 0, sum.Failed, out)
	require.Equal(t, 8, sum.Passed)
	require.Equal(t, 2, sum.Skipped)
	require.True(t, strings.HasSuffix(out, "\n8 passed, 0 failed, 2 skipped\n"), out)
	require.Equal(t, 1, d.opened)
	require.Equal(t, 1, d.closed)
}

// TestRunReportsFailures: each kind of wrong record is reported as failed.
func TestRunReportsFailures(t *testing.T) {
	cases := map[string]struct {
		format string
		body   string
		want   string
	}{
		"wrong result":          {"test", "query I nosort\nSELECT a FROM t\n----\n10\n9\n2\n", "result differs"},
		"wrong row order":       {"test", "query I nosort\nSELECT a FROM t\n----\n1\n9\n10\n", "result differs"},
		"wrong hash":            {"test", "query I nosort\nSELECT a FROM t\n----\n3 values hashing to 0123456789abcdef0123456789abcdef\n", "result hash differs"},
		"wrong hash count":      {"test", "query I valuesort\nSELECT a FROM t\n----\n4 values hashing to " + hashValues([]string{"1", "10", "9"}) + "\n", "result hash differs"},
		"wrong column count":    {"test", "query II nosort\nSELECT a FROM t\n----\n10\n9\n1\n", "expected 2 columns"},
		"unexpected error":      {"test", "statement ok\nSELECT bad\n", "unexpected error: boom (SQLSTATE 42601)"},
		"query error":           {"test", "query I\nSELECT bad\n----\n1\n", "unexpected error"},
		"missing error":         {"test", "statement error\nSELECT a FROM t\n", "succeeded but an error was expected"},
		"unknown directive":     {"test", "frobnicate\nSELECT a FROM t\n", "unknown directive"},
		"label mismatch":        {"test", "query I valuesort L\nSELECT a FROM t\n----\n1\n10\n9\n\nquery I nosort L\nSELECT b FROM t\n----\n7\n", "earlier query labelled L"},
		"rs wrong rows":         {"slt", "query I\nSELECT a FROM t\n----\n10\n9\n", "result differs"},
		"rs wrong error regex":  {"slt", "statement error division\nSELECT bad\n", "does not match"},
		"rs wrong error text":   {"slt", "statement error\nSELECT bad\n----\nkaboom\n\n", "error message differs"},
		"rs missing query err":  {"slt", "query error\nSELECT a FROM t\n", "succeeded but an error was expected"},
		"rs wrong count":        {"slt", "statement count 2\nSELECT a FROM t\n", "statement count: expected 2, got 3"},
		"rs unknown directive":  {"slt", "connection c1\nstatement ok\nSELECT a FROM t\n", "unknown directive"},
		"rs include nothing":    {"slt", "include ./missing/*.slt\n", "matches no file"},
		"rs statement w/ rows":  {"slt", "statement ok\nSELECT a FROM t\n----\n1\n", "no result block"},
		"rs bad hash":           {"slt", "query I\nSELECT a FROM t\n----\n3 values hashing to 0123456789abcdef0123456789abcdef\n", "result hash differs"},
		"rs valuesort mismatch": {"slt", "query I valuesort\nSELECT a FROM t\n----\n1\n9\n11\n", "result differs"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := newFake().
				rows("SELECT a FROM t", "i", []any{10}, []any{9}, []any{1}).
				rows("SELECT b FROM t", "i", []any{7}).
				fail("SELECT bad", "42601", "boom")
			sum, out, _ := runFiles(t, Options{Driver: d}, map[string]string{"f." + c.format: c.body})
			require.Equal(t, 1, sum.Failed, out)
			require.Contains(t, out, c.want)
			require.Contains(t, out, "FAIL ")
			require.False(t, strings.HasSuffix(out, " 0 failed\n"), out)
		})
	}
}

func TestRunRSFormat(t *testing.T) {
	d := newFake().
		ok("create table t (v int);", 0).
		ok("insert into t values (1), (2), (3);", 3).
		rows("select v, s, b from t;", "itb", []any{2, "two words", "f"}, []any{1, nil, "t"}, []any{3, "", "t"}).
		rows("select v from t;", "i", []any{3}, []any{1}, []any{2}).
		fail("select 1/0;", "22012", "division by zero").
		ok("flush;", 0)
	sum, out, _ := runFiles(t, Options{Driver: d}, map[string]string{
		"main.slt": `statement ok
create table t (v int);

include ./parts/*.slt.part

query ITT rowsort
select v, s, b from t;
----
1   NULL t
2 two   words f
3 (empty) t

control sortmode rowsort

query I
select v from t;
----
1
2
3

query I valuesort
select v from t;
----
3 2 1

statement error division
select 1/0;

statement error 22012
select 1/0;

query error
select 1/0;
----
division by zero


statement ok
flush;

control substitution on

subtest tail

skipif postgresql
statement ok
not run

onlyif risingwave
statement ok
not run either
`,
		"parts/insert.slt.part": "statement count 3\ninsert into t values (1), (2), (3);\n",
	})
	require.Equal(t, 0, sum.Failed, out)
	require.Equal(t, 9, sum.Passed)
	require.Equal(t, 2, sum.Skipped)
}

func TestRunTimeout(t *testing.T) {
	d := newFake()
	d.script["SELECT slow()"] = fakeResp{block: true}
	d.ok("SELECT 1", 0)
	sum, out, _ := runFiles(t, Options{Driver: d, RecordTimeout: 20 * time.Millisecond},
		map[string]string{"a.test": "statement ok\nSELECT slow()\n\nstatement ok\nSELECT 1\n"})
	require.Equal(t, 1, sum.Failed, out)
	require.Equal(t, 1, sum.Passed, "the file goes on after a timed-out record")
	require.Contains(t, out, "timed out after 20ms")

	// A timeout never counts as the error a record expects.
	sum, out, _ = runFiles(t, Options{Driver: d, RecordTimeout: 20 * time.Millisecond},
		map[string]string{"b.slt": "statement error\nSELECT slow()\n"})
	require.Equal(t, 1, sum.Failed, out)
	require.Contains(t, out, "got a failure to run it: timed out")
}

func TestRunHalt(t *testing.T) {
	d := newFake().ok("SELECT 1", 0)
	sum, out, _ := runFiles(t, Options{Driver: d}, map[string]string{"a.test": "onlyif mssql\nhalt\n\nstatement ok\nSELECT 1\n\nskipif mssql\nhalt\n\nstatement ok\nSELECT 2\n"})
	require.Equal(t, Summary{Files: 1, Passed: 1}, sum, out)
	require.True(t, strings.HasSuffix(out, "\n1 passed, 0 failed\n"), out)
}

func TestKnownFailuresEnforcedBothWays(t *testing.T) {
	d := newFake().ok("SELECT 1", 0)
	body := "statement ok\nSELECT 1\n\nstatement ok\nSELECT broken\n\nstatement ok\nSELECT 1\n"
	dir := t.TempDir()
	path := writeFile(t, dir, "sub/k.test", body)
	run := func(list string) (Summary, string) {
		kf, err := ParseKnownFailures("known.txt", strings.NewReader(list))
		require.NoError(t, err)
		var out bytes.Buffer
		sum, err := Run(context.Background(), Options{Driver: d, KnownFailures: kf}, []string{path}, &out)
		require.NoError(t, err)
		return sum, out.String()
	}

	// Without the list the broken record fails.
	sum, out := run("")
	require.Equal(t, 1, sum.Failed, out)

	// Listed (path matched as a suffix): a known failure, not a failure.
	sum, out = run("# comment\n\nsub/k.test:4 broken on purpose\n")
	require.Equal(t, 0, sum.Failed, out)
	require.Equal(t, 1, sum.KnownFailures)
	require.Equal(t, 2, sum.Passed)
	require.Contains(t, out, "1 known failures")
	require.True(t, strings.HasSuffix(out, "\n2 passed, 0 failed\n"), out)

	// A listed record that passes is a failure: the list only shrinks.
	sum, out = run("sub/k.test:4 broken\nk.test:7 fixed meanwhile\n")
	require.Equal(t, 1, sum.Failed, out)
	require.Contains(t, out, "remove it from the known-failures list")
	require.Contains(t, out, "known.txt:2")

	// An entry naming no record that ran is stale, hence a failure.
	sum, out = run("sub/k.test:4 broken\nsub/k.test:5 not a record line\n")
	require.Equal(t, 1, sum.Failed, out)
	require.Contains(t, out, "names no statement or query that ran")

	// Paths relative to the list's directory match too.
	sum, out = run("../../x/sub/k.test:4 broken\n")
	require.Equal(t, 1, sum.Failed, out)
	sum, out = run("../sub/k.test:4 broken\n")
	require.Equal(t, 0, sum.Failed, out)

	// Entries for other files are ignored.
	sum, out = run("sub/k.test:4 broken\nother.test:3 elsewhere\n")
	require.Equal(t, 0, sum.Failed, out)

	_, err := ParseKnownFailures("k", strings.NewReader("no-line-number reason\n"))
	require.Error(t, err)
	_, err = ParseKnownFailures("k", strings.NewReader("a.test:x reason\n"))
	require.Error(t, err)
}

func TestCompleteRewritesResults(t *testing.T) {
	d := newFake().
		ok("CREATE TABLE t(a INTEGER)", 0).
		rows("SELECT a FROM t", "i", []any{10}, []any{9}, []any{1}).
		rows("select a, a from t", "ii", []any{2, 2}, []any{1, 1})
	sqlite := "# header\r\nstatement ok\r\nCREATE TABLE t(a INTEGER)\r\n\r\nquery I rowsort\r\nSELECT a FROM t\r\n----\r\nstale\r\n\r\nhash-threshold 2\r\n\r\nquery I valuesort\r\nSELECT a FROM t\r\n\r\nquery I nosort\r\nSELECT a FROM t\r\n"
	rs := "query II rowsort\nselect a, a from t\n----\n9 9\n\n# end\n"
	sum, out, dir := runFiles(t, Options{Driver: d, Complete: true}, map[string]string{"c.test": sqlite, "c.slt": rs})
	require.Equal(t, 0, sum.Failed, out)
	got, err := os.ReadFile(filepath.Join(dir, "c.test"))
	require.NoError(t, err)
	require.Equal(t, "# header\r\nstatement ok\r\nCREATE TABLE t(a INTEGER)\r\n\r\nquery I rowsort\r\nSELECT a FROM t\r\n----\r\n1\r\n10\r\n9\r\n\r\nhash-threshold 2\r\n\r\nquery I valuesort\r\nSELECT a FROM t\r\n----\r\n"+hashLine([]string{"1", "10", "9"})+"\r\n\r\nquery I nosort\r\nSELECT a FROM t\r\n----\r\n"+hashLine([]string{"10", "9", "1"})+"\r\n", string(got))
	got, err = os.ReadFile(filepath.Join(dir, "c.slt"))
	require.NoError(t, err)
	require.Equal(t, "query II rowsort\nselect a, a from t\n----\n1 1\n2 2\n\n# end\n", string(got))

	// The completed files now pass as they are.
	sum, out = runPaths(t, Options{Driver: d}, filepath.Join(dir, "c.test"), filepath.Join(dir, "c.slt"))
	require.Equal(t, 0, sum.Failed, out)
	require.Equal(t, 5, sum.Passed)
}

func runPaths(t *testing.T, opts Options, paths ...string) (Summary, string) {
	t.Helper()
	var out bytes.Buffer
	sum, err := Run(context.Background(), opts, paths, &out)
	require.NoError(t, err)
	return sum, out.String()
}

func TestRunParallelKeepsOrderAndIsolation(t *testing.T) {
	d := newFake().ok("SELECT 1", 0)
	dir := t.TempDir()
	for i := 0; i < 6; i++ {
		writeFile(t, dir, string(rune('a'+i))+".test", "statement ok\nSELECT 1\n")
	}
	writeFile(t, dir, "ignored.txt", "not a test")
	writeFile(t, dir, "x.slt.part", "frobnicate\n")
	sum, out := runPaths(t, Options{Driver: d, Jobs: 3}, dir)
	require.Equal(t, Summary{Files: 6, Passed: 6}, sum, out)
	require.Equal(t, 6, d.opened, "one fresh DB per file")
	require.Equal(t, 6, d.closed)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 7)
	for i := 0; i < 6; i++ {
		require.True(t, strings.HasPrefix(lines[i], filepath.Join(dir, string(rune('a'+i))+".test")+": 1 passed, 0 failed"), lines[i])
	}
}

func TestRenderSQLite(t *testing.T) {
	cases := []struct {
		v    Value
		kind ValueKind
		typ  byte
		want string
	}{
		{Value{Null: true}, KindInt, 'I', "NULL"},
		{Value{Text: ""}, KindText, 'T', "(empty)"},
		{Value{Text: "42"}, KindInt, 'I', "42"},
		{Value{Text: "-7.9"}, KindNumeric, 'I', "-7"},
		{Value{Text: "-0.5"}, KindNumeric, 'I', "0"},
		{Value{Text: "12345678901234567890.5"}, KindNumeric, 'I', "12345678901234567890"},
		{Value{Text: "2.75"}, KindFloat, 'I', "2"},
		{Value{Text: "1e+20"}, KindFloat, 'I', "100000000000000000000"},
		{Value{Text: "t"}, KindBool, 'I', "1"},
		{Value{Text: "12abc"}, KindText, 'I', "12"},
		{Value{Text: "abc"}, KindText, 'I', "0"},
		{Value{Text: "3"}, KindInt, 'R', "3.000"},
		{Value{Text: "2.0004"}, KindNumeric, 'R', "2.000"},
		{Value{Text: "-1.25"}, KindFloat, 'R', "-1.250"},
		{Value{Text: "a\nb\x01é"}, KindText, 'T', "a@b@@@"},
		{Value{Text: "5"}, KindInt, 'T', "5"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, renderSQLite(c.v, c.kind, c.typ), "%+v", c)
	}
	require.Equal(t, "NULL", renderRS(Value{Null: true}))
	require.Equal(t, "(empty)", renderRS(Value{}))
	require.Equal(t, "t", renderRS(Value{Text: "t"}))
}

// TestHashMatchesReference: the MD5 rule (each value followed by "\n") on
// a known input. md5("1\n2\n") computed independently.
func TestHashMatchesReference(t *testing.T) {
	require.Equal(t, "6ddb4095eb719e2a9f0a3f95677d24e0", hashValues([]string{"1", "2"}), "md5(\"1\\n2\\n\")")
	require.Equal(t, "d41d8cd98f00b204e9800998ecf8427e", hashValues(nil), "md5 of nothing")
	require.Equal(t, "b026324c6904b2a9cb4b88d6d61c81d1", hashValues([]string{"1"}), "md5(\"1\\n\")")
}

func TestRowSortComparesColumnwise(t *testing.T) {
	res := &Result{Columns: []Column{{Kind: KindText}, {Kind: KindInt}},
		Rows: [][]Value{{{Text: "a b"}, {Text: "1"}}, {{Text: "a"}, {Text: "2"}}, {{Text: "a"}, {Text: "10"}}}}
	// strcmp per column: "a" < "a b"; then "10" < "2".
	require.Equal(t, []string{"a", "10", "a", "2", "a b", "1"}, sqliteValues(res, "TI", RowSort))
	require.Equal(t, []string{"1", "10", "2", "a", "a", "a b"}, sqliteValues(res, "TI", ValueSort))
	require.Equal(t, []string{"a b", "1", "a", "2", "a", "10"}, sqliteValues(res, "TI", NoSort))
}

func TestCheckedInKnownFailuresListParses(t *testing.T) {
	kf, err := LoadKnownFailures("known_failures.txt")
	require.NoError(t, err)
	require.GreaterOrEqual(t, kf.Len(), 0)
}
