package parser

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// joinsOf returns the JoinExprs of a SELECT's FROM tree in pre-order.
func joinsOf(n *pg_query.Node) []*pg_query.JoinExpr {
	var out []*pg_query.JoinExpr
	var walk func(n *pg_query.Node)
	walk = func(n *pg_query.Node) {
		switch {
		case n.GetJoinExpr() != nil:
			je := n.GetJoinExpr()
			out = append(out, je)
			walk(je.Larg)
			walk(je.Rarg)
		case n.GetRangeSubselect() != nil:
			for _, f := range n.GetRangeSubselect().Subquery.GetSelectStmt().FromClause {
				walk(f)
			}
		}
	}
	for _, f := range n.GetSelectStmt().FromClause {
		walk(f)
	}
	return out
}

func asofFlags(t *testing.T, sql string) []bool {
	t.Helper()
	st, err := ParseOne(sql)
	require.NoError(t, err)
	var out []bool
	for _, je := range joinsOf(st.AST) {
		_, ok := AsOfCondition(je.Quals)
		out = append(out, ok)
	}
	return out
}

func TestAsOfJoinMarked(t *testing.T) {
	st, err := ParseOne(`SELECT * FROM trades t ASOF JOIN quotes q ON t.symbol = q.symbol AND t.ts >= q.ts`)
	require.NoError(t, err)
	require.Equal(t, []AsOfJoin{{JoinOffset: 28}}, st.Stream.AsOfJoins)
	js := joinsOf(st.AST)
	require.Len(t, js, 1)
	require.Equal(t, pg_query.JoinType_JOIN_INNER, js[0].Jointype)
	cond, ok := AsOfCondition(js[0].Quals)
	require.True(t, ok)
	require.NotNil(t, cond.GetBoolExpr())

	st, err = ParseOne(`SELECT * FROM trades t ASOF LEFT OUTER JOIN quotes q ON t.ts >= q.ts`)
	require.NoError(t, err)
	require.True(t, st.Stream.AsOfJoins[0].Left)
	require.Equal(t, pg_query.JoinType_JOIN_LEFT, joinsOf(st.AST)[0].Jointype)

	// Pre-order: outermost join first.
	require.Equal(t, []bool{false, true}, asofFlags(t, `SELECT * FROM a ASOF JOIN b ON a.x >= b.x JOIN c ON c.y = a.y`))
	require.Equal(t, []bool{true, false}, asofFlags(t, `SELECT * FROM a JOIN b ON a.y = b.y ASOF JOIN c ON a.x >= c.x`))
	require.Equal(t, []bool{true, false}, asofFlags(t, `SELECT * FROM a ASOF LEFT JOIN (b JOIN c ON b.y = c.y) ON a.x >= b.x`))
	require.Equal(t, []bool{false, true}, asofFlags(t, `SELECT * FROM a JOIN (b ASOF JOIN c ON b.x >= c.x) ON a.y = b.y`))
	require.Equal(t, []bool{true, false}, asofFlags(t, `SELECT * FROM a ASOF JOIN (SELECT * FROM b JOIN c ON b.y = c.y) s ON a.x >= s.x`))
	// An alias named asof is not a clause.
	require.Equal(t, []bool{false}, asofFlags(t, `SELECT * FROM a AS asof JOIN b ON asof.x = b.x`))
}

func TestAsOfJoinSurvivesDeparse(t *testing.T) {
	st, err := ParseOne(`SELECT * FROM trades t ASOF LEFT JOIN quotes q ON t.symbol = q.symbol AND t.ts >= q.ts`)
	require.NoError(t, err)
	tree, err := pg_query.Parse("SELECT 1")
	require.NoError(t, err)
	text, err := pg_query.Deparse(&pg_query.ParseResult{Version: tree.Version, Stmts: []*pg_query.RawStmt{{Stmt: st.AST}}})
	require.NoError(t, err)
	require.Contains(t, text, "sabotsql_internal.asof(")
	again, err := ParseOne(text)
	require.NoError(t, err)
	js := joinsOf(again.AST)
	require.Len(t, js, 1)
	_, ok := AsOfCondition(js[0].Quals)
	require.True(t, ok)
	require.Equal(t, pg_query.JoinType_JOIN_LEFT, js[0].Jointype)
}

func TestAsOfJoinErrors(t *testing.T) {
	_, err := ParseOne(`SELECT * FROM a ASOF RIGHT JOIN b ON a.x >= b.x`)
	require.Equal(t, pgerror.FeatureNotSupported, pgerror.CodeOf(err))
	_, err = ParseOne(`SELECT * FROM a ASOF JOIN b USING (x)`)
	require.Equal(t, pgerror.FeatureNotSupported, pgerror.CodeOf(err))
	_, err = ParseOne(`SELECT * FROM a ASOF LEFT b`)
	require.Equal(t, pgerror.SyntaxError, pgerror.CodeOf(err))
}

func TestAsOfJoinInCTEAndSubquery(t *testing.T) {
	st, err := ParseOne(`WITH x AS (SELECT * FROM "Trades" t ASOF JOIN quotes q ON t.ts >= q.ts) SELECT * FROM x JOIN y ON x.a = y.a`)
	require.NoError(t, err)
	cte := st.AST.GetSelectStmt().WithClause.Ctes[0].GetCommonTableExpr().Ctequery
	js := joinsOf(cte)
	require.Len(t, js, 1)
	_, ok := AsOfCondition(js[0].Quals)
	require.True(t, ok)
	require.Equal(t, []bool{false}, asofFlags(t, `WITH x AS (SELECT * FROM a ASOF JOIN b ON a.t >= b.t) SELECT * FROM x JOIN y ON x.a = y.a`))
	// Two statements: offsets are per statement.
	stmts, err := Parse(`SELECT 1; SELECT * FROM a ASOF JOIN b ON a.t >= b.t`)
	require.NoError(t, err)
	require.Len(t, stmts, 2)
	_, ok = AsOfCondition(joinsOf(stmts[1].AST)[0].Quals)
	require.True(t, ok)
}
