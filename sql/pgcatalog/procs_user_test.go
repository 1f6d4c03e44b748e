package pgcatalog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/types"
)

func TestPgProcListsSQLFunctions(t *testing.T) {
	cat := catalog.New()
	id, err := cat.AddFunction(&catalog.Function{Schema: "public", Name: "add1",
		Args: []catalog.FuncArg{{Name: "a", T: types.Int4T}}, Ret: types.Int8T,
		Body: "SELECT a + 1", Volatility: 'i'}, false)
	require.NoError(t, err)
	tb := New(cat, testRegistry(), Info{})
	r := find(rowsOf(t, tb, "pg_catalog", "pg_proc"), "proname", "add1")
	require.NotNil(t, r)
	require.EqualValues(t, id, r["oid"])
	require.EqualValues(t, 2200, r["pronamespace"])
	require.EqualValues(t, sqlLangOID, r["prolang"])
	require.EqualValues(t, types.OidInt8, r["prorettype"])
	require.Equal(t, "i", r["provolatile"])
	require.Equal(t, "SELECT a + 1", r["prosrc"])
	require.Equal(t, &types.Array{Elem: types.OidT, Elems: []types.Datum{int64(types.OidInt4)}}, r["proargtypes"])
}

func TestPgTypeListsJSONB(t *testing.T) {
	tb := New(catalog.New(), nil, Info{})
	rows := rowsOf(t, tb, "pg_catalog", "pg_type")
	j := find(rows, "typname", "jsonb")
	require.NotNil(t, j)
	require.EqualValues(t, 3802, j["oid"])
	require.EqualValues(t, 3807, j["typarray"])
	require.Equal(t, "jsonb_in", j["typinput"])
	require.Equal(t, "U", j["typcategory"])
	a := find(rows, "typname", "_jsonb")
	require.NotNil(t, a)
	require.EqualValues(t, 3807, a["oid"])
	require.EqualValues(t, 3802, a["typelem"])
}
