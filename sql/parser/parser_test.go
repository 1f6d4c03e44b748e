package parser

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

func TestParseSplitsStatements(t *testing.T) {
	stmts, err := Parse("SELECT 1; ; -- c\nSELECT 'a;b' ;FLUSH;")
	require.NoError(t, err)
	require.Len(t, stmts, 3)
	require.Equal(t, KindPG, stmts[0].Kind)
	require.Equal(t, "SELECT 1", stmts[0].SQL)
	require.Equal(t, "SELECT 'a;b'", stmts[1].SQL)
	require.Equal(t, KindFlush, stmts[2].Kind)
	require.NotNil(t, stmts[1].AST.GetSelectStmt())
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := Parse("SELECT 1;\nSELEC 2")
	require.Error(t, err)
	pe := pgerror.As(err)
	require.NotNil(t, pe)
	require.Equal(t, pgerror.SyntaxError, pe.Code)
	require.Equal(t, 11, pe.Position) // 'SELEC' starts at character 11
	require.Contains(t, pe.Message, `syntax error at or near "SELEC"`)

	_, err = Parse("SELECT 'unterminated")
	require.Equal(t, pgerror.SyntaxError, pgerror.CodeOf(err))

	_, err = Parse("FLUSH now")
	require.Equal(t, pgerror.SyntaxError, pgerror.CodeOf(err))
}

func TestStreamClauses(t *testing.T) {
	st, err := ParseOne(`CREATE TABLE t (ts timestamp, v int, WATERMARK FOR ts AS ts - INTERVAL '5 seconds') APPEND ONLY`)
	require.NoError(t, err)
	require.True(t, st.Stream.AppendOnly)
	require.Equal(t, []Watermark{{Column: "ts", Expr: "ts - INTERVAL '5 seconds'"}}, st.Stream.Watermarks)
	cs := st.AST.GetCreateStmt()
	require.NotNil(t, cs)
	require.Len(t, cs.TableElts, 2)

	st, err = ParseOne(`CREATE MATERIALIZED VIEW v AS SELECT 1 EMIT ON WINDOW CLOSE`)
	require.NoError(t, err)
	require.True(t, st.Stream.EmitOnWindowClose)

	st, err = ParseOne("")
	require.NoError(t, err)
	require.Nil(t, st)

	_, err = ParseOne("SELECT 1; SELECT 2")
	require.Equal(t, pgerror.SyntaxError, pgerror.CodeOf(err))
}
