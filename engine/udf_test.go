package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

func TestSQLFunctionCreateUseReplaceDrop(t *testing.T) {
	s := openTest(t)
	query(t, s, `CREATE FUNCTION count_char(s varchar, c varchar) RETURNS int LANGUAGE SQL AS
  $$SELECT LENGTH(s) - LENGTH(REPLACE(s, c, ''))$$`)
	require.Equal(t, [][]string{{"3"}}, query(t, s, "SELECT count_char('abcabcc', 'c')"))
	require.Equal(t, [][]string{{"integer"}}, query(t, s, "SELECT pg_typeof(count_char('x', 'x'))"))

	// $n references, the RETURN form, argument and result coercion.
	query(t, s, "CREATE FUNCTION add1(int) RETURNS bigint LANGUAGE SQL IMMUTABLE AS 'SELECT $1 + 1'")
	query(t, s, "CREATE FUNCTION half(x numeric) RETURNS numeric RETURN x / 2")
	require.Equal(t, [][]string{{"42", "bigint"}}, query(t, s, "SELECT add1(41), pg_typeof(add1(41))"))
	require.Equal(t, [][]string{{"2.5000000000000000"}}, query(t, s, "SELECT half(5)"))
	require.Equal(t, [][]string{{"NULL"}}, query(t, s, "SELECT add1(NULL)"))

	// Nested calls and use over table columns.
	query(t, s, "CREATE TABLE t (id int, s text)")
	query(t, s, "INSERT INTO t VALUES (1, 'cc'), (2, 'abc'), (3, NULL)")
	require.Equal(t, [][]string{{"1", "3"}, {"2", "2"}, {"3", "NULL"}},
		query(t, s, "SELECT id, add1(count_char(s, 'c')) FROM t ORDER BY id"))
	require.Equal(t, [][]string{{"3"}}, query(t, s, "SELECT sum(count_char(s, 'c')) FROM t"))

	// Wrong argument types and counts: 42883.
	require.Equal(t, pgerror.UndefinedFunction, execErr(t, s, "SELECT add1(DATE '2020-01-01')"))
	require.Equal(t, pgerror.UndefinedFunction, execErr(t, s, "SELECT add1(1, 2)"))
	// Duplicate without OR REPLACE; replacement keeps the return type.
	require.Equal(t, pgerror.DuplicateFunction, execErr(t, s, "CREATE FUNCTION add1(int) RETURNS bigint LANGUAGE SQL AS 'SELECT $1 + 2'"))
	require.Equal(t, "42P13", execErr(t, s, "CREATE OR REPLACE FUNCTION add1(int) RETURNS text LANGUAGE SQL AS 'SELECT 1::text'"))
	query(t, s, "CREATE OR REPLACE FUNCTION add1(int) RETURNS bigint LANGUAGE SQL AS 'SELECT $1 + 2'")
	require.Equal(t, [][]string{{"43"}}, query(t, s, "SELECT add1(41)"))
	// Overloads are chosen by argument types.
	query(t, s, "CREATE FUNCTION add1(text) RETURNS text LANGUAGE SQL AS $$SELECT $1 || '1'$$")
	require.Equal(t, [][]string{{"a1", "3"}}, query(t, s, "SELECT add1('a'::text), add1(1)"))
	require.Equal(t, "42725", execErr(t, s, "DROP FUNCTION add1"))
	query(t, s, "DROP FUNCTION add1(text)")

	// Unsupported bodies, bad return types, unknown argument names.
	require.Equal(t, pgerror.FeatureNotSupported, execErr(t, s, "CREATE FUNCTION f() RETURNS int LANGUAGE SQL AS 'SELECT id FROM t'"))
	require.Equal(t, pgerror.FeatureNotSupported, execErr(t, s, "CREATE FUNCTION f() RETURNS int LANGUAGE SQL AS 'SELECT 1, 2'"))
	require.Equal(t, pgerror.FeatureNotSupported, execErr(t, s, "CREATE FUNCTION f() RETURNS int LANGUAGE SQL AS 'SELECT (SELECT 1)'"))
	require.Equal(t, pgerror.FeatureNotSupported, execErr(t, s, "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS 'begin return 1; end'"))
	require.Equal(t, "42P13", execErr(t, s, "CREATE FUNCTION f() RETURNS int LANGUAGE SQL AS 'SELECT DATE ''2020-01-01'''"))
	require.Equal(t, pgerror.UndefinedColumn, execErr(t, s, "CREATE FUNCTION f(a int) RETURNS int LANGUAGE SQL AS 'SELECT b'"))
	require.Equal(t, pgerror.UndefinedParameter, execErr(t, s, "CREATE FUNCTION f(a int) RETURNS int LANGUAGE SQL AS 'SELECT $2'"))

	// Recursion (only reachable through OR REPLACE) is refused at call time.
	query(t, s, "CREATE FUNCTION r(a int) RETURNS int LANGUAGE SQL AS 'SELECT a'")
	query(t, s, "CREATE OR REPLACE FUNCTION r(a int) RETURNS int LANGUAGE SQL AS 'SELECT r(a) + 1'")
	require.Equal(t, pgerror.FeatureNotSupported, execErr(t, s, "SELECT r(1)"))

	// DROP with dependents: 2BP01 unless CASCADE; IF EXISTS.
	query(t, s, "CREATE VIEW v AS SELECT id, count_char(s, 'c') AS n FROM t")
	require.Equal(t, pgerror.DependentObjectsStillExist, execErr(t, s, "DROP FUNCTION count_char"))
	require.Equal(t, pgerror.DependentObjectsStillExist, execErr(t, s, "DROP FUNCTION count_char(varchar, varchar)"))
	query(t, s, "DROP FUNCTION count_char CASCADE")
	require.Equal(t, pgerror.UndefinedTable, execErr(t, s, "SELECT * FROM v"))
	require.Equal(t, pgerror.UndefinedFunction, execErr(t, s, "SELECT count_char('a', 'b')"))
	require.Equal(t, pgerror.UndefinedFunction, execErr(t, s, "DROP FUNCTION count_char"))
	query(t, s, "DROP FUNCTION IF EXISTS count_char")
	query(t, s, "DROP FUNCTION add1(integer), half")
	require.Equal(t, pgerror.UndefinedFunction, execErr(t, s, "SELECT add1(1)"))
}

func TestSQLFunctionInMaterializedView(t *testing.T) {
	s := openTest(t)
	query(t, s, "SET RW_IMPLICIT_FLUSH TO true")
	query(t, s, "CREATE TABLE bid (id int, extra varchar, price bigint)")
	query(t, s, `CREATE FUNCTION count_char(s varchar, c varchar) RETURNS int LANGUAGE SQL AS
  $$SELECT LENGTH(s) - LENGTH(REPLACE(s, c, ''))$$`)
	query(t, s, "INSERT INTO bid VALUES (1, 'cac', 10)")
	query(t, s, "CREATE MATERIALIZED VIEW mv AS SELECT id, count_char(extra, 'c') AS n, price FROM bid")
	query(t, s, "INSERT INTO bid VALUES (2, 'ccccx', 20), (3, 'x', 30)")
	require.Equal(t, [][]string{{"1", "2", "10"}, {"2", "4", "20"}, {"3", "0", "30"}},
		query(t, s, "SELECT * FROM mv ORDER BY id"))
	query(t, s, "CREATE MATERIALIZED VIEW agg AS SELECT sum(count_char(extra, 'c')) AS total FROM bid")
	require.Equal(t, [][]string{{"6"}}, query(t, s, "SELECT * FROM agg"))
	require.Equal(t, pgerror.DependentObjectsStillExist, execErr(t, s, "DROP FUNCTION count_char"))
	query(t, s, "DROP MATERIALIZED VIEW mv")
	query(t, s, "DROP MATERIALIZED VIEW agg")
	query(t, s, "DROP FUNCTION count_char")
}

func TestSQLFunctionDurable(t *testing.T) {
	dir := t.TempDir()
	e, s := openDir(t, dir, 0)
	query(t, s, "CREATE FUNCTION add1(a int) RETURNS int LANGUAGE SQL AS 'SELECT a + 1'")
	query(t, s, "CHECKPOINT")
	query(t, s, "CREATE FUNCTION gone(a int) RETURNS int LANGUAGE SQL AS 'SELECT a'")
	query(t, s, "CREATE FUNCTION twice(a int) RETURNS int RETURN add1(add1(a))")
	query(t, s, "DROP FUNCTION gone")
	e.crashForTest()
	e, s = openDir(t, dir, 0)
	require.Equal(t, [][]string{{"2", "3"}}, query(t, s, "SELECT add1(1), twice(1)"))
	require.Equal(t, pgerror.UndefinedFunction, execErr(t, s, "SELECT gone(1)"))
	require.NoError(t, e.Close())
}

func TestSQLFunctionRollback(t *testing.T) {
	s := openTest(t)
	query(t, s, "BEGIN")
	query(t, s, "CREATE FUNCTION f(a int) RETURNS int LANGUAGE SQL AS 'SELECT a * 2'")
	require.Equal(t, [][]string{{"4"}}, query(t, s, "SELECT f(2)"))
	query(t, s, "ROLLBACK")
	require.Equal(t, pgerror.UndefinedFunction, execErr(t, s, "SELECT f(2)"))
	query(t, s, "BEGIN")
	query(t, s, "CREATE FUNCTION f(a int) RETURNS int LANGUAGE SQL AS 'SELECT a * 3'")
	query(t, s, "COMMIT")
	require.Equal(t, [][]string{{"6"}}, query(t, s, "SELECT f(2)"))
}

func TestSQLFunctionStrict(t *testing.T) {
	s := openTest(t)
	query(t, s, "CREATE FUNCTION lax(a int, b int) RETURNS int LANGUAGE SQL AS 'SELECT coalesce(a, 0) + coalesce(b, 0)'")
	query(t, s, "CREATE FUNCTION strict2(a int, b int) RETURNS int LANGUAGE SQL STRICT AS 'SELECT coalesce(a, 0) + coalesce(b, 0)'")
	query(t, s, "CREATE FUNCTION rnoi(a int) RETURNS int LANGUAGE SQL RETURNS NULL ON NULL INPUT AS 'SELECT coalesce(a, 7)'")
	require.Equal(t, [][]string{{"1", "NULL", "3", "NULL"}},
		query(t, s, "SELECT lax(1, NULL), strict2(1, NULL), strict2(1, 2), rnoi(NULL)"))
}
