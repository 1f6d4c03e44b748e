package sqllogictest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func parseString(format Format, s string) *File {
	return Parse("t", []byte(s), format)
}

func TestParseSQLiteRecords(t *testing.T) {
	src := strings.ReplaceAll(`# leading comment
hash-threshold 8

statement ok
CREATE TABLE t1(a INTEGER, b VARCHAR(30))

skipif mysql # not compatible
onlyif postgresql
query IT rowsort label-1
SELECT a,
# a comment inside the SQL is dropped
  b FROM t1
----
1
x
# a comment inside the results is dropped
2
y

statement error
SELECT nope

query R nosort
SELECT 1.5
----
20 values hashing to 0123456789abcdef0123456789abcdef

query I
SELECT 1 WHERE false

halt

statement ok
never parsed as run but still a record
`, "\n", "\r\n")
	f := parseString(FormatSQLite, src)
	require.True(t, f.CRLF)
	recs := f.Records
	require.Len(t, recs, 8)
	require.Equal(t, KindHashThreshold, recs[0].Kind)
	require.Equal(t, 8, recs[0].Threshold)

	require.Equal(t, KindStatement, recs[1].Kind)
	require.Equal(t, "CREATE TABLE t1(a INTEGER, b VARCHAR(30))", recs[1].SQL)
	require.Equal(t, 4, recs[1].Line)

	q := recs[2]
	require.Equal(t, KindQuery, q.Kind)
	require.Equal(t, 9, q.Line, "the directive line, after the conditions")
	require.Equal(t, []Condition{{SkipIf: true, Engine: "mysql"}, {SkipIf: false, Engine: "postgresql"}}, q.Conditions)
	require.Equal(t, "IT", q.Types)
	require.Equal(t, RowSort, q.SortMode)
	require.Equal(t, "label-1", q.Label)
	require.Equal(t, "SELECT a,\n  b FROM t1", q.SQL)
	require.Equal(t, []string{"1", "x", "2", "y"}, q.Results)
	require.Equal(t, "----", f.Lines[q.ResultStart])

	require.True(t, recs[3].ExpectError)
	n, h, ok := recs[4].expectedHash()
	require.True(t, ok)
	require.Equal(t, 20, n)
	require.Equal(t, "0123456789abcdef0123456789abcdef", h)

	require.Nil(t, recs[5].Results)
	require.Equal(t, recs[5].ResultStart, recs[5].ResultEnd, "no result block: empty insertion range")
	require.Equal(t, KindHalt, recs[6].Kind)
}

func TestParseSQLiteRejectsRSDirectivesAndBadHeaders(t *testing.T) {
	f := parseString(FormatSQLite, "include foo.slt\n\nquery IX\nSELECT 1\n\nquery I sideways\nSELECT 1\n\nfrobnicate\nSELECT 1\n\nstatement maybe\nSELECT 1\n")
	require.Len(t, f.Records, 5)
	for _, r := range f.Records {
		require.Equal(t, KindInvalid, r.Kind, "line %d", r.Line)
		require.NotEmpty(t, r.Problem)
	}
	require.Contains(t, f.Records[3].Problem, "unknown directive")
}

func TestParseRSRecords(t *testing.T) {
	src := `statement ok
create table t (v int);

statement count 3
insert into t values (1), (2), (3);

statement error Numeric out of range
select sum(d) from t;

statement error
select 1/0;
----
division by zero

detail after a single blank line


query error .*does not exist.*
select * from nope;

query IT rowsort
select v, 'a  b' from t;
----
1 a  b
# not a comment here
2 a b

control sortmode rowsort

control substitution on

subtest basic

sleep 250ms

include ./other/*.slt.part

query BB
select true, false
----
t f

connection other
statement ok
select 1
`
	f := parseString(FormatRS, src)
	kinds := []Kind{}
	for _, r := range f.Records {
		kinds = append(kinds, r.Kind)
	}
	require.Equal(t, []Kind{KindStatement, KindStatement, KindStatement, KindStatement, KindQuery, KindQuery,
		KindSortMode, KindSubstitution, KindSubtest, KindSleep, KindInclude, KindQuery, KindInvalid}, kinds)
	r := f.Records
	require.True(t, r[1].HasCount)
	require.EqualValues(t, 3, r[1].ExpectCount)
	require.True(t, r[2].ExpectError)
	require.Equal(t, "Numeric out of range", r[2].ErrorRegex.String())
	require.True(t, r[3].HasErrorMessage)
	require.Equal(t, "division by zero\n\ndetail after a single blank line", r[3].ErrorMessage)
	require.True(t, r[4].ExpectError)
	require.NotNil(t, r[4].ErrorRegex)
	require.Equal(t, []string{"1 a  b", "# not a comment here", "2 a b"}, r[5].Results)
	require.Equal(t, RowSort, r[6].SortMode)
	require.Equal(t, "basic", r[8].Arg)
	require.Equal(t, 250*time.Millisecond, r[9].Duration)
	require.Equal(t, "./other/*.slt.part", r[10].Arg)
	require.Equal(t, "BB", r[11].Types)
	require.Contains(t, r[12].Problem, `unknown directive "connection"`)
}

func TestParseRSInvalidForms(t *testing.T) {
	for _, src := range []string{
		"statement ok\nselect 1\n----\n1\n",     // results under a statement
		"statement error (unclosed\nselect 1\n", // bad regex
		"statement count x\nselect 1\n",
		"control sortmode sideways\n",
		"control frobnicate on\n",
		"sleep forever\n",
		"query II rowsort label extra\nselect 1, 2\n",
		"statement ok\n",
		"system ok\necho hi\n",
	} {
		f := parseString(FormatRS, src)
		require.NotEmpty(t, f.Records, src)
		require.Equal(t, KindInvalid, f.Records[0].Kind, "%q", src)
	}
}

func TestDetectFormat(t *testing.T) {
	require.Equal(t, FormatSQLite, DetectFormat("a/b.test", nil))
	require.Equal(t, FormatRS, DetectFormat("a/b.slt", nil))
	require.Equal(t, FormatRS, DetectFormat("a/b.slt.part", nil))
	require.Equal(t, FormatSQLite, DetectFormat("x", []byte("query I\nSELECT 1\n----\n30 values hashing to 0123456789abcdef0123456789abcdef\n")))
	require.Equal(t, FormatRS, DetectFormat("x", []byte("statement ok\nselect 1\n\nstatement error division\nselect 1/0\n")))
}

// TestParseCorpora parses every corpus file: no record may be invalid, and
// select1.test has exactly its 1031 statements and queries.
func TestParseCorpora(t *testing.T) {
	root := corpusDir(t)
	var n int
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() || !(strings.HasSuffix(p, ".test") || strings.HasSuffix(p, ".slt") || strings.HasSuffix(p, ".slt.part")) {
			return nil
		}
		f, err := ParseFile(p)
		require.NoError(t, err)
		for _, r := range f.Records {
			require.NotEqual(t, KindInvalid, r.Kind, "%s: %s: %s", r.Loc(), r.Problem, r.Arg)
		}
		n++
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, n, 50)

	f, err := ParseFile(filepath.Join(root, "sqlite-slt", "select1.test"))
	require.NoError(t, err)
	var stmts, queries, hashed int
	for _, r := range f.Records {
		switch r.Kind {
		case KindStatement:
			stmts++
		case KindQuery:
			queries++
			if _, _, ok := r.expectedHash(); ok {
				hashed++
			}
		}
	}
	require.Equal(t, 1031, stmts+queries)
	require.Greater(t, hashed, 0)
}
