package difftest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/internal/pgtest"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// errorCase is one statement that must fail with code. setup runs first
// and must succeed; oursOnly cases are not run on PostgreSQL (a construct
// PostgreSQL supports, or a limit only our engine has).
type errorCase struct {
	name     string
	setup    []string
	sql      string
	code     string
	position bool // the error must carry a statement position
	oursOnly bool
}

var errorCases = []errorCase{
	{name: "syntax", sql: "SELEC 1", code: "42601", position: true},
	{name: "syntax mid-statement", sql: "SELECT 1 FROM WHERE", code: "42601", position: true},
	{name: "undefined table", sql: "SELECT * FROM no_such_table", code: "42P01"},
	{name: "undefined column", setup: []string{"CREATE TABLE t (k int4, v text)"}, sql: "SELECT nope FROM t", code: "42703"},
	{name: "ambiguous column", setup: []string{"CREATE TABLE t (k int4, v text)"}, sql: "SELECT k FROM t a JOIN t b ON true", code: "42702"},
	{name: "undefined function", sql: "SELECT no_such_function(1)", code: "42883"},
	{name: "datatype mismatch", sql: "SELECT 1 WHERE 1", code: "42804"},
	{name: "grouping", setup: []string{"CREATE TABLE t (k int4, v text)"}, sql: "SELECT k, count(*) FROM t", code: "42803"},
	{name: "unique violation", setup: []string{"CREATE TABLE u (id int4 PRIMARY KEY)", "INSERT INTO u VALUES (1)"}, sql: "INSERT INTO u VALUES (1)", code: "23505"},
	{name: "not-null violation", setup: []string{"CREATE TABLE nn (id int4 NOT NULL)"}, sql: "INSERT INTO nn VALUES (NULL)", code: "23502"},
	{name: "division by zero", setup: []string{"CREATE TABLE t (k int4)", "INSERT INTO t VALUES (1), (0)"}, sql: "SELECT 10 / k FROM t", code: "22012"},
	{name: "int4 out of range", setup: []string{"CREATE TABLE t (k int4)", "INSERT INTO t VALUES (2147483647)"}, sql: "SELECT k + 1 FROM t", code: "22003"},
	{name: "numeric out of range", sql: "SELECT 123456.789::numeric(5,2)", code: "22003"},
	{name: "invalid text representation", sql: "SELECT 'abc'::int4", code: "22P02"},
	{name: "string data right truncation", setup: []string{"CREATE TABLE vc (s varchar(3))"}, sql: "INSERT INTO vc VALUES ('abcd')", code: "22001"},
	{name: "duplicate table", setup: []string{"CREATE TABLE t (k int4)"}, sql: "CREATE TABLE t (k int4)", code: "42P07"},
	{name: "dependent objects", setup: []string{"CREATE TABLE t (k int4)", "CREATE VIEW v AS SELECT k FROM t"}, sql: "DROP TABLE t", code: "2BP01"},
	{name: "cardinality violation", setup: []string{"CREATE TABLE t (k int4)", "INSERT INTO t VALUES (1), (2)"}, sql: "SELECT (SELECT k FROM t)", code: "21000"},
	{name: "invalid datetime format", sql: "SELECT 'not a date'::date", code: "22007"},
	{name: "datetime field overflow", sql: "SELECT '2024-02-30'::date", code: "22008"},
	{name: "statement timeout", setup: []string{"SET statement_timeout = '50ms'"},
		sql: "SELECT count(*) FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b WHERE a.a + b.b < 0", code: "57014"},
	{name: "unsupported", sql: "SELECT 1 FROM generate_series(1, 3) FOR UPDATE", code: "0A000", oursOnly: true},
	{name: "memory limit", setup: []string{"SET query_memory_limit = '1MB'"},
		sql: "SELECT count(DISTINCT g::text) FROM generate_series(1, 2000000) g", code: "53200", oursOnly: true},
}

// TestErrorCodes checks that each error class yields the same SQLSTATE in
// PostgreSQL and in our engine.
func TestErrorCodes(t *testing.T) {
	srv := pgtest.StartT(t)
	ctx := context.Background()
	admin, err := pgconn.Connect(ctx, srv.DSN())
	require.NoError(t, err)
	defer admin.Close(ctx)
	for i, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			pgPos := 0
			if !tc.oursOnly {
				var code string
				code, pgPos = pgError(t, ctx, srv, admin, i, tc)
				require.Equal(t, tc.code, code, "PostgreSQL")
				if tc.position {
					require.Positive(t, pgPos, "PostgreSQL position")
				}
			}
			code, pos := oursError(t, ctx, tc)
			require.Equal(t, tc.code, code, "ours")
			if tc.position {
				require.Equal(t, pgPos, pos, "error position (1-based character)")
			}
		})
	}
}

func pgError(t *testing.T, ctx context.Context, srv *pgtest.Server, admin *pgconn.PgConn, i int, tc errorCase) (string, int) {
	db := fmt.Sprintf("errcase_%d", i)
	_, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db).ReadAll()
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+db).ReadAll()
	require.NoError(t, err)
	defer func() { _, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db).ReadAll() }()
	c, err := pgconn.Connect(ctx, srv.DSNFor(db))
	require.NoError(t, err)
	defer c.Close(ctx)
	for _, s := range tc.setup {
		_, err := c.Exec(ctx, s).ReadAll()
		require.NoError(t, err, "PostgreSQL setup %q", s)
	}
	_, err = c.Exec(ctx, tc.sql).ReadAll()
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "PostgreSQL: want error %s, got %v", tc.code, err)
	return pe.Code, int(pe.Position)
}

func oursError(t *testing.T, ctx context.Context, tc errorCase) (string, int) {
	opts := engine.Options{}
	eng, err := engine.Open(ctx, opts)
	require.NoError(t, err)
	defer eng.Close()
	s, err := eng.Session(engine.DefaultUser, "sabot", nil)
	require.NoError(t, err)
	defer s.Close()
	for _, st := range tc.setup {
		_, _, _, err := s.Exec(ctx, st)
		require.NoError(t, err, "our setup %q", st)
	}
	_, _, _, err = s.Exec(ctx, tc.sql)
	require.Error(t, err, "ours: want error %s", tc.code)
	pos := 0
	if pe := pgerror.As(err); pe != nil {
		pos = pe.Position
	}
	return pgerror.CodeOf(err), pos
}
