package pgcatalog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// testCatalog holds a table with a primary key and a default, a view and a
// materialized view.
func testCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat := catalog.New()
	tbl := &catalog.Table{
		ID: cat.NextID(), Schema: "public", Name: "t",
		Columns: []catalog.Column{
			{Name: "a", T: types.Int4T, NotNull: true},
			{Name: "b", T: types.VarcharT.WithMod(10), NotNull: true, Default: "'x'::character varying"},
			{Name: "c", T: types.NumericT.WithMod(types.NumericMod(10, 2))},
			{Name: "_row_id", T: types.Int8T, Hidden: true},
			{Name: "ts", T: types.TimestampTZT},
		},
		PrimaryKey:  []int{0},
		PKIndexName: "t_pkey",
	}
	require.NoError(t, cat.Add(tbl, nil))
	v := &catalog.View{ID: cat.NextID(), Schema: "public", Name: "v", SQL: "SELECT a FROM t", Kind: catalog.KindView,
		Columns: []catalog.Column{{Name: "a", T: types.Int4T, NotNull: true}}}
	require.NoError(t, cat.Add(v, []catalog.ObjectID{tbl.ID}))
	m := &catalog.View{ID: cat.NextID(), Schema: "public", Name: "m", SQL: "SELECT a, count(*) AS n FROM t GROUP BY a",
		Kind:    catalog.KindMaterializedView,
		Columns: []catalog.Column{{Name: "a", T: types.Int4T}, {Name: "n", T: types.Int8T}}}
	require.NoError(t, cat.Add(m, []catalog.ObjectID{tbl.ID}))
	return cat
}

func testRegistry() *kernels.Registry {
	reg := kernels.NewRegistry()
	reg.AddScalar(&kernels.ScalarFunc{Name: "upper", Args: []types.T{types.TextT}, Ret: types.TextT, Strict: true})
	reg.AddScalar(&kernels.ScalarFunc{Name: "+", Args: []types.T{types.Int4T, types.Int4T}, Ret: types.Int4T})
	reg.AddScalar(&kernels.ScalarFunc{Name: "concat", Args: []types.T{types.AnyT}, Variadic: true, Ret: types.TextT,
		Volatility: kernels.Stable})
	reg.AddAgg(&kernels.AggFunc{Name: "sum", Args: []types.T{types.Int8T}, Ret: types.NumericT})
	return reg
}

// rowsOf resolves a relation and returns its rows keyed by column name.
func rowsOf(t *testing.T, tb *Tables, schema, name string) []map[string]types.Datum {
	t.Helper()
	n, ok := tb.Resolve(schema, name)
	require.True(t, ok, "%s.%s", schema, name)
	v, ok := n.(*planner.Values)
	require.True(t, ok)
	var out []map[string]types.Datum
	for _, r := range v.Rows {
		require.Len(t, r, len(v.Out))
		m := map[string]types.Datum{}
		for i, e := range r {
			c, ok := e.(*planner.Const)
			require.True(t, ok)
			require.Equal(t, v.Out[i].T, c.T, "column %s", v.Out[i].Name)
			m[v.Out[i].Name] = c.Val
		}
		out = append(out, m)
	}
	return out
}

func find(rows []map[string]types.Datum, col string, val types.Datum) map[string]types.Datum {
	for _, r := range rows {
		if r[col] == val {
			return r
		}
	}
	return nil
}

func TestEveryRelationMaterializes(t *testing.T) {
	cat := testCatalog(t)
	cat.PutRole(&catalog.Role{Name: "alice", Superuser: true})
	tb := New(cat, testRegistry(), Info{CurrentUser: "alice"})
	for i := range pgRelations {
		d := &pgRelations[i]
		v, err := tb.values(d)
		require.NoError(t, err, "%s.%s", d.schema, d.name)
		require.Len(t, v.Out, len(d.cols))
		for _, r := range v.Rows {
			for j, e := range r {
				c := e.(*planner.Const)
				if d.cols[j].notNull {
					// NOT NULL columns of catalog tables are never NULL
					// (except types we leave NULL by design).
					if c.T.Family != types.FamTimestampTZ && c.T.Family != types.FamInterval && c.T.Family != types.FamBytea {
						require.NotNil(t, c.Val, "%s.%s.%s", d.schema, d.name, d.cols[j].name)
					}
				}
			}
		}
	}
}

func TestResolveSearchPath(t *testing.T) {
	tb := New(catalog.New(), nil, Info{})
	_, ok := tb.Resolve("", "pg_class")
	require.True(t, ok)
	_, ok = tb.Resolve("pg_catalog", "pg_class")
	require.True(t, ok)
	// information_schema is not on the search path.
	_, ok = tb.Resolve("", "tables")
	require.False(t, ok)
	_, ok = tb.Resolve("information_schema", "tables")
	require.True(t, ok)
	_, ok = tb.Resolve("public", "pg_class")
	require.False(t, ok)
	_, ok = tb.Resolve("", "no_such_relation")
	require.False(t, ok)
	_, ok = tb.Resolve("information_schema", "pg_class")
	require.False(t, ok)

	oid, ok := tb.OID("pg_catalog", "pg_class")
	require.True(t, ok)
	require.EqualValues(t, 1259, oid)
	oid, ok = tb.OID("", "pg_extension")
	require.True(t, ok)
	require.EqualValues(t, 3079, oid)
	_, ok = tb.OID("", "t") // catalog relations are the binder's business
	require.False(t, ok)
	_, ok = tb.OID("", "tables")
	require.False(t, ok)
	oid, ok = tb.OID("", "16384")
	require.True(t, ok)
	require.EqualValues(t, 16384, oid)
	_, ok = tb.OID("", "99999999999")
	require.False(t, ok)
	_, ok = tb.OID("public", "16384")
	require.False(t, ok)

	cat := testCatalog(t)
	tbl, _ := cat.Lookup("public", "t")
	tb = New(cat, nil, Info{})
	oid, ok = tb.OID("", "t_pkey")
	require.True(t, ok)
	require.EqualValues(t, pkIndexOIDBase+int64(tbl.ObjID()), oid)
	oid2, ok := tb.OID("public", "t_pkey")
	require.True(t, ok)
	require.Equal(t, oid, oid2)
	_, ok = tb.OID("other", "t_pkey")
	require.False(t, ok)
}

func TestSchemasMatchPostgres(t *testing.T) {
	tb := New(catalog.New(), nil, Info{})
	check := func(schema, name string, want map[string]types.T) {
		n, ok := tb.Resolve(schema, name)
		require.True(t, ok)
		got := map[string]types.T{}
		for _, c := range n.Schema() {
			got[c.Name] = c.T
		}
		for col, typ := range want {
			require.Contains(t, got, col, "%s.%s", name, col)
			require.Equal(t, typ, got[col], "%s.%s", name, col)
		}
	}
	check("pg_catalog", "pg_class", map[string]types.T{
		"oid": types.OidT, "relname": types.NameT, "relnamespace": types.OidT, "relkind": types.TextT,
		"reltuples": types.Float4T, "relhasindex": types.BoolT, "relnatts": types.Int2T, "relchecks": types.Int2T,
		"relacl": types.ArrayOf(types.TextT), "reloptions": types.ArrayOf(types.TextT), "relpartbound": types.TextT,
	})
	check("pg_catalog", "pg_attribute", map[string]types.T{
		"attrelid": types.OidT, "attname": types.NameT, "atttypid": types.OidT, "atttypmod": types.Int4T,
		"attnum": types.Int2T, "attnotnull": types.BoolT, "attisdropped": types.BoolT, "attidentity": types.TextT,
	})
	check("pg_catalog", "pg_index", map[string]types.T{
		"indexrelid": types.OidT, "indkey": types.ArrayOf(types.Int2T), "indisprimary": types.BoolT,
	})
	check("pg_catalog", "pg_proc", map[string]types.T{
		"proname": types.NameT, "proargtypes": types.ArrayOf(types.OidT), "prokind": types.TextT, "prorettype": types.OidT,
	})
	check("pg_catalog", "pg_type", map[string]types.T{"typinput": types.TextT, "typarray": types.OidT, "typlen": types.Int2T})
	check("pg_catalog", "pg_roles", map[string]types.T{"rolvaliduntil": types.TimestampTZT, "rolconnlimit": types.Int4T})
	check("information_schema", "columns", map[string]types.T{
		"column_name": types.NameT, "ordinal_position": types.Int4T, "is_nullable": types.TextT, "data_type": types.TextT,
	})
	// Column order follows PostgreSQL (SELECT * output).
	n, _ := tb.Resolve("pg_catalog", "pg_namespace")
	var names []string
	for _, c := range n.Schema() {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"oid", "nspname", "nspowner", "nspacl"}, names)
}
