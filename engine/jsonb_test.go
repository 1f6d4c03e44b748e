package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/internal/pgtest"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// jsonbExprs are evaluated by SabotSQL and PostgreSQL 15 as (expr)::text;
// results (or SQLSTATEs) must agree.
var jsonbExprs = []string{
	`'{"b":1,"a":[1,2,{"x":"y"}]}'::jsonb -> 'a'`,
	`'{"b":1,"a":[1,2,{"x":"y"}]}'::jsonb -> 'a' -> 2 ->> 'x'`,
	`'{"a":1}'::jsonb -> 'b'`,
	`'{"a":1}'::jsonb -> 0`,
	`'[1,2,3]'::jsonb -> 0`,
	`'[1,2,3]'::jsonb -> -1`,
	`'[1,2,3]'::jsonb -> -4`,
	`'[1,2,3]'::jsonb -> 3`,
	`'[1,2,3]'::jsonb -> 'a'`,
	`'"s"'::jsonb -> 0`,
	`'{"a":"x\ny"}'::jsonb ->> 'a'`,
	`'{"a":"x\ny"}'::jsonb -> 'a'`,
	`'{"a":null}'::jsonb ->> 'a'`,
	`'{"a":null}'::jsonb -> 'a'`,
	`'{"a":{"b":[1,2.50]}}'::jsonb ->> 'a'`,
	`'[true, 1.0e1]'::jsonb ->> 1`,
	`'{"a":{"b":["c","d"]}}'::jsonb #>> '{a,b,1}'`,
	`'{"a":{"b":["c","d"]}}'::jsonb #> '{a,b}'`,
	`'{"a":{"b":["c","d"]}}'::jsonb #>> '{a,x}'`,
	`'{"a":{"b":["c","d"]}}'::jsonb #>> '{a,b,-1}'`,
	`'{"a":{"b":["c","d"]}}'::jsonb #>> '{}'`,
	`'{"a":1, "b":2}'::jsonb ? 'b'`,
	`'["a","b"]'::jsonb ? 'b'`,
	`'["a","b"]'::jsonb ? 'c'`,
	`'"b"'::jsonb ? 'b'`,
	`jsonb_typeof('{}')`, `jsonb_typeof('[]')`, `jsonb_typeof('"x"')`, `jsonb_typeof('1.5')`,
	`jsonb_typeof('false')`, `jsonb_typeof('null')`, `jsonb_typeof(NULL)`,
	`jsonb_array_length('[1,[2,3],{}]')`, `jsonb_array_length('{}')`, `jsonb_array_length('1')`,
	`'1.0'::jsonb = '1'::jsonb`, `'1.0'::jsonb <> '1.00'::jsonb`, `'{"a":1,"b":2}'::jsonb = '{"b":2,"a":1.0}'`,
	`'[1,2]'::jsonb = '[2,1]'`, `'"a"'::jsonb = 'null'`, `'[]'::jsonb < 'null'`, `'{"aa":1,"c":1}'::jsonb > '{"b":1,"d":1}'`,
	`'[1,2]'::jsonb > '[3]'`, `'true'::jsonb >= 'false'`, `'1'::jsonb <= '"1"'`,
	`'{"a":1}'::jsonb::text`, `'  [1 ,2 ]'::text::jsonb`, `'5'::jsonb::int + 1`, `'5.5'::jsonb::numeric`,
	`'2.5'::jsonb::float8`, `'true'::jsonb::bool`, `'"5"'::jsonb::int`, `'{}'::jsonb::bool`, `'null'::jsonb::int`,
	`'nope'::jsonb`, `'{"a":1'::jsonb`, `'"\u0000"'::jsonb`,
	`'{"a":1}'::jsonb < 1`,
}

func TestJSONBOperatorsMatchPostgres(t *testing.T) {
	srv := pgtest.StartT(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.DSN())
	require.NoError(t, err)
	defer conn.Close(ctx)
	s := openTest(t)
	for _, e := range jsonbExprs {
		sql := "SELECT (" + e + ")::text"
		var want *string
		wantCode := ""
		err := conn.QueryRow(ctx, sql).Scan(&want)
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			wantCode = pe.Code
		} else {
			require.NoError(t, err, sql)
		}
		_, rows, _, gerr := s.Exec(ctx, sql)
		if wantCode != "" {
			require.Error(t, gerr, "%s: PostgreSQL fails with %s", sql, wantCode)
			require.Equal(t, wantCode, pgerror.CodeOf(gerr), "%s: %v", sql, gerr)
			continue
		}
		require.NoError(t, gerr, sql)
		require.Len(t, rows, 1)
		if want == nil {
			require.Nil(t, rows[0][0], sql)
			continue
		}
		require.Equal(t, *want, rows[0][0], sql)
	}
}

func TestJSONBColumnsAndViews(t *testing.T) {
	s := openTest(t)
	query(t, s, "SET RW_IMPLICIT_FLUSH TO true")
	query(t, s, "CREATE TABLE t (id int, j jsonb)")
	query(t, s, `CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n, count(j) AS nj FROM t`)
	query(t, s, `CREATE MATERIALIZED VIEW kinds AS SELECT id, jsonb_typeof(j) AS k, j ->> 'name' AS name, j FROM t`)
	query(t, s, `INSERT INTO t VALUES (1, 'null'), (2, '{"name": "x", "a": [1, 2.50]}'), (3, '"a"'), (4, NULL)`)
	require.Equal(t, [][]string{{"4", "3"}}, query(t, s, "SELECT * FROM mv"))
	require.Equal(t, [][]string{
		{"1", "null", "NULL", "null"},
		{"2", "object", "x", `{"a": [1, 2.50], "name": "x"}`},
		{"3", "string", "NULL", `"a"`},
		{"4", "NULL", "NULL", "NULL"},
	}, query(t, s, "SELECT * FROM kinds ORDER BY id"))
	query(t, s, "DELETE FROM t WHERE id = 2")
	require.Equal(t, [][]string{{"3", "2"}}, query(t, s, "SELECT * FROM mv"))
	require.Equal(t, [][]string{{"jsonb"}}, query(t, s, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'j'"))
	require.Equal(t, pgerror.InvalidTextRepresentation, execErr(t, s, "INSERT INTO t VALUES (5, '{bad')"))
	require.Equal(t, [][]string{{"3"}}, query(t, s, `SELECT id FROM t WHERE j = '"a"'`))
}
