package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

func openTest(t *testing.T) *Session {
	t.Helper()
	e, err := Open(context.Background(), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	return s
}

// query runs sql and renders the rows of the last statement as text.
func query(t *testing.T, s *Session, sql string) [][]string {
	t.Helper()
	cols, rows, _, err := s.Exec(context.Background(), sql)
	require.NoError(t, err, sql)
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = make([]string, len(r))
		for j, v := range r {
			if v == nil {
				out[i][j] = "NULL"
			} else {
				out[i][j] = types.FormatText(&s.tctx, v, cols[j].T)
			}
		}
	}
	return out
}

func execErr(t *testing.T, s *Session, sql string) string {
	t.Helper()
	_, _, _, err := s.Exec(context.Background(), sql)
	require.Error(t, err, sql)
	return pgerror.CodeOf(err)
}

func TestBasicTableRoundTrip(t *testing.T) {
	s := openTest(t)
	query(t, s, "CREATE TABLE t (a int PRIMARY KEY, b text, c numeric(10,2))")
	query(t, s, "INSERT INTO t VALUES (1, 'x', 1.5), (2, NULL, 2.25), (3, 'z', NULL)")
	require.Equal(t, [][]string{{"1", "x", "1.50"}, {"2", "NULL", "2.25"}, {"3", "z", "NULL"}},
		query(t, s, "SELECT * FROM t ORDER BY a"))
	require.Equal(t, [][]string{{"3"}}, query(t, s, "SELECT count(*) FROM t"))
	require.Equal(t, pgerror.UniqueViolation, execErr(t, s, "INSERT INTO t VALUES (1, 'dup', 0)"))
	require.Equal(t, pgerror.NotNullViolation, execErr(t, s, "INSERT INTO t VALUES (NULL, 'n', 0)"))
	query(t, s, "UPDATE t SET b = 'y' WHERE a = 2")
	query(t, s, "DELETE FROM t WHERE a = 3")
	require.Equal(t, [][]string{{"1", "x"}, {"2", "y"}}, query(t, s, "SELECT a, b FROM t ORDER BY a"))
	require.Equal(t, pgerror.UndefinedTable, execErr(t, s, "SELECT * FROM nope"))
	require.Equal(t, pgerror.SyntaxError, execErr(t, s, "SELEC 1"))
}
