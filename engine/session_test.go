package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

func TestTransactionsRollbackAndAbort(t *testing.T) {
	s := openTest(t)
	query(t, s, "CREATE TABLE t (a int PRIMARY KEY, b text)")
	query(t, s, "INSERT INTO t VALUES (1, 'one')")
	query(t, s, "BEGIN")
	require.Equal(t, byte('T'), s.TxStatus())
	query(t, s, "INSERT INTO t VALUES (2, 'two')")
	query(t, s, "UPDATE t SET b = 'uno' WHERE a = 1")
	query(t, s, "DELETE FROM t WHERE a = 1")
	require.Equal(t, [][]string{{"2", "two"}}, query(t, s, "SELECT * FROM t"))
	query(t, s, "ROLLBACK")
	require.Equal(t, byte('I'), s.TxStatus())
	require.Equal(t, [][]string{{"1", "one"}}, query(t, s, "SELECT * FROM t"))
	// The primary-key index was restored too.
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "INSERT INTO t VALUES (1, 'dup')"))
	query(t, s, "INSERT INTO t VALUES (2, 'two')")

	// An error aborts the block until ROLLBACK; COMMIT of a failed block rolls back.
	query(t, s, "BEGIN")
	query(t, s, "INSERT INTO t VALUES (3, 'three')")
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "INSERT INTO t VALUES (1, 'x')"))
	require.Equal(t, byte('E'), s.TxStatus())
	require.Equal(t, pgerror.InFailedSQLTransaction, execErr(t, s, "SELECT 1"))
	_, _, tag, err := s.Exec(context.Background(), "COMMIT")
	require.NoError(t, err)
	require.Equal(t, "ROLLBACK", tag)
	require.Equal(t, [][]string{{"1"}, {"2"}}, query(t, s, "SELECT a FROM t ORDER BY a"))

	// CREATE inside a rolled-back block disappears.
	query(t, s, "BEGIN")
	query(t, s, "CREATE TABLE gone (x int)")
	query(t, s, "ROLLBACK")
	require.Equal(t, pgerror.UndefinedTable, execErr(t, s, "SELECT * FROM gone"))
}

func TestStatementAtomicity(t *testing.T) {
	s := openTest(t)
	query(t, s, "CREATE TABLE t (a int PRIMARY KEY)")
	query(t, s, "INSERT INTO t VALUES (1)")
	// The second row conflicts: nothing of the statement is applied.
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "INSERT INTO t VALUES (2), (1)"))
	require.Equal(t, [][]string{{"1"}}, query(t, s, "SELECT a FROM t"))
	// Duplicates inside one statement conflict as well.
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "INSERT INTO t VALUES (5), (5)"))
	// UPDATE may move keys through each other's old values.
	query(t, s, "INSERT INTO t VALUES (2)")
	query(t, s, "UPDATE t SET a = a + 1")
	require.Equal(t, [][]string{{"2"}, {"3"}}, query(t, s, "SELECT a FROM t ORDER BY a"))
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "UPDATE t SET a = 7"))
	query(t, s, "INSERT INTO t VALUES (3) ON CONFLICT DO NOTHING")
	require.Equal(t, [][]string{{"2"}}, query(t, s, "SELECT count(*) FROM t"))
}

func TestReturningDefaultsSerial(t *testing.T) {
	s := openTest(t)
	query(t, s, "CREATE TABLE t (id serial PRIMARY KEY, name text DEFAULT 'anon', n int)")
	require.Equal(t, [][]string{{"1", "anon"}, {"2", "bob"}},
		query(t, s, "INSERT INTO t (n, name) VALUES (10, DEFAULT), (20, 'bob') RETURNING id, name"))
	require.Equal(t, [][]string{{"2", "21"}}, query(t, s, "UPDATE t SET n = n + 1 WHERE id = 2 RETURNING id, n"))
	require.Equal(t, [][]string{{"1"}}, query(t, s, "DELETE FROM t WHERE n = 10 RETURNING id"))
}

func TestViewsAndDropCascade(t *testing.T) {
	s := openTest(t)
	query(t, s, "CREATE TABLE t (a int, b int)")
	query(t, s, "INSERT INTO t VALUES (1, 2), (3, 4)")
	query(t, s, "CREATE VIEW v AS SELECT a + b AS s FROM t")
	query(t, s, "CREATE VIEW w AS SELECT s * 2 AS d FROM v")
	require.Equal(t, [][]string{{"6"}, {"14"}}, query(t, s, "SELECT d FROM w ORDER BY d"))
	require.Equal(t, pgerror.DependentObjectsStillExist, execErr(t, s, "DROP TABLE t"))
	require.Equal(t, pgerror.WrongObjectType, execErr(t, s, "DROP VIEW t"))
	query(t, s, "DROP TABLE t CASCADE")
	require.Equal(t, pgerror.UndefinedTable, execErr(t, s, "SELECT * FROM w"))
	query(t, s, "DROP TABLE IF EXISTS t")
	require.Equal(t, pgerror.UndefinedTable, execErr(t, s, "DROP TABLE t"))
}

func TestSetShowAndTimeouts(t *testing.T) {
	s := openTest(t)
	query(t, s, "SET TimeZone = 'Europe/Paris'")
	require.Equal(t, [][]string{{"Europe/Paris"}}, query(t, s, "SHOW timezone"))
	require.Equal(t, [][]string{{"2024-01-01 13:00:00+01"}}, query(t, s, "SELECT timestamptz '2024-01-01 12:00:00+00'"))
	query(t, s, "SET RW_IMPLICIT_FLUSH TO true")
	require.Equal(t, [][]string{{"on"}}, query(t, s, "SHOW implicit_flush"))
	require.Equal(t, pgerror.UndefinedObject, execErr(t, s, "SET no_such_setting = 1"))
	require.Equal(t, pgerror.CantChangeRuntimeParam, execErr(t, s, "SET server_version = '1'"))
	query(t, s, "RESET ALL")
	require.Equal(t, [][]string{{"UTC"}}, query(t, s, "SHOW TimeZone"))

	query(t, s, "SET statement_timeout = '30ms'")
	require.Equal(t, pgerror.QueryCanceled, execErr(t, s,
		"SELECT count(*) FROM generate_series(1, 3000) a, generate_series(1, 3000) b, generate_series(1, 3000) c"))
	query(t, s, "SET statement_timeout = 0")

	query(t, s, "SET query_memory_limit = '1MB'")
	require.Equal(t, pgerror.OutOfMemory, execErr(t, s, "SELECT g FROM generate_series(1, 2000000) g ORDER BY g DESC"))
}

func TestCopyInAndOut(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	query(t, s, "CREATE TABLE t (a int PRIMARY KEY, b text, c date)")
	var spec *api.CopySpec
	require.NoError(t, s.ExecSimple(ctx, "COPY t FROM STDIN", func(r api.Result) error {
		spec = r.Copy
		return nil
	}))
	require.NotNil(t, spec)
	n, err := s.CopyIn(ctx, spec, strings.NewReader("1\thello\t2024-01-02\n2\t\\N\t\\N\n3\ttab\\there\t2024-03-04\n\\.\n"))
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	require.Equal(t, [][]string{{"1", "hello", "2024-01-02"}, {"2", "NULL", "NULL"}, {"3", "tab\there", "2024-03-04"}},
		query(t, s, "SELECT * FROM t ORDER BY a"))

	require.NoError(t, s.ExecSimple(ctx, "COPY t (a, b) FROM STDIN WITH (FORMAT csv, HEADER)", func(r api.Result) error {
		spec = r.Copy
		return nil
	}))
	n, err = s.CopyIn(ctx, spec, strings.NewReader("a,b\n4,\"x,y\"\n5,\n"))
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	require.Equal(t, [][]string{{"x,y"}, {"NULL"}}, query(t, s, "SELECT b FROM t WHERE a >= 4 ORDER BY a"))

	// A bad row loads nothing.
	require.NoError(t, s.ExecSimple(ctx, "COPY t FROM STDIN", func(r api.Result) error { spec = r.Copy; return nil }))
	_, err = s.CopyIn(ctx, spec, strings.NewReader("9\tok\t2024-01-01\nnotanint\tx\t2024-01-01\n"))
	require.Equal(t, pgerror.InvalidTextRepresentation, pgerror.CodeOf(err))
	require.Equal(t, [][]string{{"5"}}, query(t, s, "SELECT count(*) FROM t"))
}

func TestTruncateInTransaction(t *testing.T) {
	s := openTest(t)
	query(t, s, "CREATE TABLE t (a int PRIMARY KEY)")
	query(t, s, "INSERT INTO t VALUES (1), (2)")
	query(t, s, "BEGIN")
	query(t, s, "TRUNCATE t")
	require.Equal(t, [][]string{{"0"}}, query(t, s, "SELECT count(*) FROM t"))
	query(t, s, "INSERT INTO t VALUES (1)")
	query(t, s, "ROLLBACK")
	require.Equal(t, [][]string{{"1"}, {"2"}}, query(t, s, "SELECT a FROM t ORDER BY a"))
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "INSERT INTO t VALUES (2)"))
	query(t, s, "TRUNCATE t")
	require.Equal(t, [][]string{{"0"}}, query(t, s, "SELECT count(*) FROM t"))
}

func TestAlterTable(t *testing.T) {
	s := openTest(t)
	query(t, s, "CREATE TABLE t (a int, b text)")
	query(t, s, "INSERT INTO t VALUES (1, 'x'), (2, 'y')")
	query(t, s, "ALTER TABLE t ADD COLUMN c int DEFAULT 7, ADD COLUMN d text")
	require.Equal(t, [][]string{{"1", "x", "7", "NULL"}, {"2", "y", "7", "NULL"}}, query(t, s, "SELECT * FROM t ORDER BY a"))
	require.Equal(t, pgerror.NotNullViolation, execErr(t, s, "ALTER TABLE t ADD COLUMN e int NOT NULL"))
	require.Equal(t, pgerror.NotNullViolation, execErr(t, s, "ALTER TABLE t ALTER COLUMN d SET NOT NULL"))
	query(t, s, "ALTER TABLE t ADD PRIMARY KEY (a)")
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "INSERT INTO t (a) VALUES (1)"))
	query(t, s, "ALTER TABLE t DROP COLUMN b")
	query(t, s, "INSERT INTO t (a) VALUES (3)")
	require.Equal(t, [][]string{{"1", "7"}, {"2", "7"}, {"3", "7"}}, query(t, s, "SELECT a, c FROM t ORDER BY a"))
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "INSERT INTO t (a) VALUES (3)"))
	query(t, s, "ALTER TABLE t RENAME COLUMN c TO cc")
	query(t, s, "ALTER TABLE t RENAME TO u")
	require.Equal(t, [][]string{{"3"}}, query(t, s, "SELECT count(cc) FROM u"))
	query(t, s, "ALTER TABLE u DROP CONSTRAINT t_pkey") // indexes keep their names on RENAME, as in PostgreSQL
	require.Equal(t, pgerror.UndefinedObject, execErr(t, s, "ALTER TABLE u DROP CONSTRAINT t_pkey"))
	query(t, s, "INSERT INTO u (a) VALUES (3)")
	query(t, s, "CREATE VIEW v AS SELECT a FROM u")
	require.Equal(t, pgerror.DependentObjectsStillExist, execErr(t, s, "ALTER TABLE u DROP COLUMN d"))
	query(t, s, "ALTER TABLE u DROP COLUMN d CASCADE")
	require.Equal(t, pgerror.UndefinedTable, execErr(t, s, "SELECT * FROM v"))
	require.Equal(t, pgerror.FeatureNotSupported, execErr(t, s, "ALTER TABLE u ADD CONSTRAINT ck CHECK (a > 0)"))
}
