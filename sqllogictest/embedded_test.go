package sqllogictest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// fakeEngine is a scripted api.Engine: each session answers a few fixed
// statements with Arrow batches, as the real engine would.
type fakeEngine struct {
	mu       sync.Mutex
	sessions int
	closed   int
	engines  int
}

func (e *fakeEngine) open(context.Context) (api.Engine, func() error, error) {
	e.mu.Lock()
	e.engines++
	e.mu.Unlock()
	return e, func() error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.closed++
		return nil
	}, nil
}

func (e *fakeEngine) NewSession(_ context.Context, user, database string, _ map[string]string) (api.Session, error) {
	if user != "postgres" || database != "postgres" {
		return nil, pgerror.New(pgerror.InvalidAuthorizationSpec, "no such role")
	}
	e.mu.Lock()
	e.sessions++
	e.mu.Unlock()
	return &fakeSession{}, nil
}

func (e *fakeEngine) Authenticate(string) (string, bool, bool) { return "", true, true }

type fakeSession struct{ inserted int }

func (s *fakeSession) Prepare(context.Context, string, []types.T) (api.Prepared, error) {
	return nil, pgerror.Unsupported("prepare")
}
func (s *fakeSession) Execute(context.Context, api.Prepared, []types.Datum) (api.Result, error) {
	return api.Result{}, pgerror.Unsupported("execute")
}
func (s *fakeSession) CopyIn(context.Context, *api.CopySpec, io.Reader) (int64, error) {
	return 0, pgerror.Unsupported("copy")
}
func (s *fakeSession) TxStatus() byte { return 'I' }
func (s *fakeSession) Setting(name string) (string, bool) {
	if name == "TimeZone" {
		return "UTC", true
	}
	return "", false
}
func (s *fakeSession) ReportedSettings() map[string]string { return nil }
func (s *fakeSession) Close() error                        { return nil }

func (s *fakeSession) ExecSimple(ctx context.Context, sql string, fn func(api.Result) error) error {
	for _, stmt := range strings.Split(sql, ";") {
		stmt = strings.TrimSpace(stmt)
		if stmt == "" {
			continue
		}
		var r api.Result
		switch stmt {
		case "insert into t values (1), (2)":
			s.inserted += 2
			r.Tag = "INSERT 0 2"
		case "select * from t":
			r.Rows = sampleRows()
		case "select count(*) from t":
			r.Rows = oneInt(int64(s.inserted))
		case "select 1/0":
			return pgerror.New(pgerror.DivisionByZero, "division by zero")
		case "internal":
			return errors.New("something broke")
		default:
			return pgerror.New(pgerror.SyntaxError, "syntax error at or near %q", stmt)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

type fakeRows struct {
	cols  []api.Column
	batch arrow.RecordBatch
	done  bool
}

func (r *fakeRows) Columns() []api.Column { return r.cols }
func (r *fakeRows) Next(context.Context) (arrow.RecordBatch, error) {
	if r.done {
		return nil, nil
	}
	r.done = true
	return r.batch, nil
}
func (r *fakeRows) Tag() string  { return "SELECT " + strconv.FormatInt(r.batch.NumRows(), 10) }
func (r *fakeRows) Close() error { r.batch.Release(); return nil }

func buildRows(cols []api.Column, rows [][]types.Datum) *fakeRows {
	mem := memory.NewGoAllocator()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for j, c := range cols {
		fields[j] = types.ArrowField(c.Name, c.T)
		b := array.NewBuilder(mem, types.ArrowType(c.T))
		for _, row := range rows {
			types.AppendDatum(b, row[j], c.T)
		}
		arrs[j] = b.NewArray()
		b.Release()
	}
	batch := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(len(rows)))
	for _, a := range arrs {
		a.Release()
	}
	return &fakeRows{cols: cols, batch: batch}
}

func sampleRows() *fakeRows {
	dec, _, _ := apd.NewFromString("2.50")
	cols := []api.Column{{Name: "i", T: types.Int4T}, {Name: "f", T: types.Float8T}, {Name: "s", T: types.TextT},
		{Name: "b", T: types.BoolT}, {Name: "n", T: types.NumericT}}
	return buildRows(cols, [][]types.Datum{
		{int64(1), 1.5, "a b", true, dec},
		{nil, nil, "", false, nil},
		{int64(-3), -0.25, nil, nil, dec},
	})
}

func oneInt(n int64) *fakeRows {
	return buildRows([]api.Column{{Name: "count", T: types.Int8T}}, [][]types.Datum{{n}})
}

func TestEmbeddedDriverRendering(t *testing.T) {
	eng := &fakeEngine{}
	drv := NewEmbeddedDriver(eng.open)
	ctx := context.Background()
	db, err := drv.Open(ctx)
	require.NoError(t, err)
	res, err := db.Exec(ctx, "select * from t")
	require.NoError(t, err)
	require.Equal(t, []Column{{"i", KindInt}, {"f", KindFloat}, {"s", KindText}, {"b", KindBool}, {"n", KindNumeric}}, res.Columns)
	require.Equal(t, [][]Value{
		{{Text: "1"}, {Text: "1.5"}, {Text: "a b"}, {Text: "t"}, {Text: "2.50"}},
		{{Null: true}, {Null: true}, {Text: ""}, {Text: "f"}, {Null: true}},
		{{Text: "-3"}, {Text: "-0.25"}, {Null: true}, {Null: true}, {Text: "2.50"}},
	}, res.Rows)
	require.EqualValues(t, 3, res.RowsAffected)

	res, err = db.Exec(ctx, "insert into t values (1), (2); select count(*) from t")
	require.NoError(t, err)
	require.Equal(t, [][]Value{{{Text: "2"}}}, res.Rows, "the last result with rows")

	_, err = db.Exec(ctx, "select 1/0")
	var de *DBError
	require.ErrorAs(t, err, &de)
	require.Equal(t, "22012", de.Code)
	_, err = db.Exec(ctx, "internal")
	require.ErrorAs(t, err, &de)
	require.Equal(t, "XX000", de.Code)

	require.NoError(t, db.Close())
	require.Equal(t, 1, eng.closed)
}

// TestMainEmbedded runs the command line end to end on the fake engine:
// per-file engines, exit codes, JUnit, known failures, interleaved flags.
func TestMainEmbedded(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.slt", `statement count 2
insert into t values (1), (2)

query IRTBR rowsort
select * from t
----
-3 -0.25 NULL NULL 2.50
1 1.5 a b t 2.50
NULL NULL (empty) f NULL

statement error division
select 1/0

query I
select count(*) from t
----
2
`)
	sqliteStyle := writeFile(t, dir, "typed.test", `query IRTTR rowsort
select * from t
----
-3
-0.250
NULL
NULL
2.500
1
1.500
a b
t
2.500
NULL
NULL
(empty)
f
NULL
`)
	bad := writeFile(t, dir, "bad.slt", "statement ok\nselect nonsense\n")
	eng := &fakeEngine{}
	var stdout, stderr bytes.Buffer
	junit := filepath.Join(dir, "out.xml")
	code := Main(context.Background(), []string{"--engine", "embedded", good, "--jobs", "2", sqliteStyle, "--junit", junit}, &stdout, &stderr, eng.open)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.True(t, strings.HasSuffix(stdout.String(), "\n5 passed, 0 failed\n"), stdout.String())
	require.Equal(t, 2, eng.engines, "a fresh engine per file")
	require.Equal(t, 2, eng.closed)
	x, err := os.ReadFile(junit)
	require.NoError(t, err)
	require.Contains(t, string(x), `<testsuites tests="5" failures="0" skipped="0">`)

	stdout.Reset()
	code = Main(context.Background(), []string{"--engine=embedded", "--junit", junit, good, bad}, &stdout, &stderr, eng.open)
	require.Equal(t, 1, code, stdout.String())
	require.Contains(t, stdout.String(), "bad.slt:1: unexpected error")
	require.True(t, strings.HasSuffix(stdout.String(), "\n4 passed, 1 failed\n"), stdout.String())
	x, err = os.ReadFile(junit)
	require.NoError(t, err)
	require.Contains(t, string(x), `failures="1"`)
	require.Contains(t, string(x), `<failure message="unexpected error: syntax error`)

	known := writeFile(t, dir, "known.txt", "bad.slt:1 the engine cannot parse nonsense yet\n")
	stdout.Reset()
	code = Main(context.Background(), []string{"--engine", "embedded", "--known-failures", known, good, bad}, &stdout, &stderr, eng.open)
	require.Equal(t, 0, code, stdout.String())
	require.Contains(t, stdout.String(), "1 known failures")

	for _, args := range [][]string{
		{},     // no paths
		{good}, // no target
		{"--engine", "x", good},
		{"--addr", "postgres://x", "--engine", "embedded", good},
		{"--jobs", "0", "--engine", "embedded", good},
		{"--engine", "embedded", filepath.Join(dir, "missing.slt")},
		{"--engine", "embedded", "--known-failures", filepath.Join(dir, "missing.txt"), good},
		{"--frobnicate", good},
	} {
		stderr.Reset()
		require.Equal(t, 2, Main(context.Background(), args, io.Discard, &stderr, eng.open), "%v", args)
		require.NotEmpty(t, stderr.String(), "%v", args)
	}
	require.Equal(t, 2, Main(context.Background(), []string{"--engine", "embedded", good}, io.Discard, io.Discard, nil), "no embedded engine in this build")
	require.Equal(t, 0, Main(context.Background(), []string{"-h"}, io.Discard, io.Discard, nil))
}
