package parser

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/stretchr/testify/require"
)

func deparsed(t *testing.T, sql string) string {
	t.Helper()
	st, err := ParseOne(sql)
	require.NoError(t, err)
	v, err := pg_query.Parse("SELECT 1")
	require.NoError(t, err)
	s, err := pg_query.Deparse(&pg_query.ParseResult{Version: v.Version, Stmts: []*pg_query.RawStmt{{Stmt: st.AST}}})
	require.NoError(t, err)
	return s
}

func TestDisplayAsOf(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT * FROM trades t ASOF JOIN quotes q ON t.symbol = q.symbol AND t.ts >= q.ts`,
			`SELECT * FROM trades t ASOF JOIN quotes q ON t.symbol = q.symbol AND t.ts >= q.ts`},
		{`SELECT * FROM trades t ASOF LEFT JOIN quotes q ON (t.ts >= q.ts)`,
			`SELECT * FROM trades t ASOF LEFT JOIN quotes q ON t.ts >= q.ts`},
		{`SELECT * FROM a JOIN b ON a.x = b.x ASOF JOIN c ON a.t >= c.t`,
			`SELECT * FROM a JOIN b ON a.x = b.x ASOF JOIN c ON a.t >= c.t`},
		{`SELECT * FROM a ASOF JOIN (b JOIN c ON b.x = c.x) ON a.t >= b.t`,
			`SELECT * FROM a ASOF JOIN (b JOIN c ON b.x = c.x) ON a.t >= b.t`},
		{`SELECT * FROM a ASOF JOIN b ON a.t >= b.t ASOF LEFT JOIN c ON (a.t >= c.t)`,
			`SELECT * FROM a ASOF JOIN b ON a.t >= b.t ASOF LEFT JOIN c ON a.t >= c.t`},
		{`SELECT * FROM a JOIN b ON a.x = b.x`, `SELECT * FROM a JOIN b ON a.x = b.x`},
	} {
		stored := deparsed(t, c.in)
		got := DisplayAsOf(stored)
		require.Equal(t, c.want, got, "stored text: %s", stored)
		// The displayed text parses back to the stored tree.
		require.Equal(t, stored, deparsed(t, got))
	}
	// Unscannable text is returned unchanged.
	require.Equal(t, `sabotsql_internal.asof('`, DisplayAsOf(`sabotsql_internal.asof('`))
}
