package pgcatalog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/types"
)

type fakeSession struct{ user string }

func (f fakeSession) CurrentUser() string           { return f.user }
func (f fakeSession) CurrentDatabase() string       { return "sabot" }
func (f fakeSession) Setting(string) (string, bool) { return "", false }

// call evaluates the overload of name whose argument families match args.
func call(t *testing.T, reg *kernels.Registry, name string, args []types.T, vals ...types.Datum) types.Datum {
	t.Helper()
	for _, f := range reg.Scalars(name) {
		if len(f.Args) != len(args) {
			continue
		}
		match := true
		for i := range args {
			match = match && f.Args[i].Family == args[i].Family
		}
		if !match {
			continue
		}
		if f.Strict {
			for _, v := range vals {
				if v == nil {
					return nil
				}
			}
		}
		ctx := &kernels.EvalContext{Session: fakeSession{user: "sess"}}
		v, err := f.Eval(ctx, vals)
		require.NoError(t, err)
		return v
	}
	t.Fatalf("no overload %s%v", name, args)
	return nil
}

func TestRegisterFunctions(t *testing.T) {
	cat := testCatalog(t)
	reg := kernels.NewRegistry()
	RegisterFunctions(reg, cat, Info{})
	oid, text, b, i4 := types.OidT, types.TextT, types.BoolT, types.Int4T
	tbl, _ := cat.Lookup("public", "t")
	view, _ := cat.Lookup("public", "v")
	tid, vid := int64(tbl.ObjID()), int64(view.ObjID())
	pkid := pkIndexOIDBase + tid

	require.Equal(t, "SELECT a FROM t", call(t, reg, "pg_get_viewdef", []types.T{oid}, vid))
	require.Equal(t, "SELECT a FROM t", call(t, reg, "pg_get_viewdef", []types.T{oid, b}, vid, true))
	require.Equal(t, "SELECT a FROM t", call(t, reg, "pg_get_viewdef", []types.T{text}, "public.v"))
	require.Nil(t, call(t, reg, "pg_get_viewdef", []types.T{oid}, tid))
	require.Nil(t, call(t, reg, "pg_get_viewdef", []types.T{oid}, int64(-5)))

	require.Equal(t, "CREATE UNIQUE INDEX t_pkey ON t USING btree (a)", call(t, reg, "pg_get_indexdef", []types.T{oid}, pkid))
	require.Equal(t, "CREATE UNIQUE INDEX t_pkey ON t USING btree (a)",
		call(t, reg, "pg_get_indexdef", []types.T{oid, i4, b}, pkid, int64(0), true))
	require.Equal(t, "a", call(t, reg, "pg_get_indexdef", []types.T{oid, i4, b}, pkid, int64(1), true))
	require.Equal(t, "", call(t, reg, "pg_get_indexdef", []types.T{oid, i4, b}, pkid, int64(2), true))
	require.Nil(t, call(t, reg, "pg_get_indexdef", []types.T{oid}, tid))

	require.Equal(t, "PRIMARY KEY (a)", call(t, reg, "pg_get_constraintdef", []types.T{oid, b}, constraintOID(pkid), true))
	require.Nil(t, call(t, reg, "pg_get_constraintdef", []types.T{oid}, pkid))

	require.Equal(t, tid, call(t, reg, "to_regclass", []types.T{text}, "t"))
	require.Equal(t, tid, call(t, reg, "to_regclass", []types.T{text}, "public.T"))
	require.Nil(t, call(t, reg, "to_regclass", []types.T{text}, `"T"`))
	require.Nil(t, call(t, reg, "to_regclass", []types.T{text}, "nope"))
	require.Nil(t, call(t, reg, "to_regclass", []types.T{text}, `"unterminated`))
	require.Nil(t, call(t, reg, "to_regclass", []types.T{text}, "a.b.c.d"))
	require.EqualValues(t, 1259, call(t, reg, "to_regclass", []types.T{text}, "pg_catalog.pg_class"))
	require.EqualValues(t, 1259, call(t, reg, "to_regclass", []types.T{text}, "pg_class"))
	require.Equal(t, pkid, call(t, reg, "to_regclass", []types.T{text}, "t_pkey"))

	// No roles in the catalog: the bootstrap owner is the session user.
	require.Equal(t, "sess", call(t, reg, "pg_get_userbyid", []types.T{oid}, int64(10)))
	require.Equal(t, "unknown (OID=77)", call(t, reg, "pg_get_userbyid", []types.T{oid}, int64(77)))
	cat.PutRole(&catalog.Role{Name: "root", Superuser: true})
	root, _ := cat.Role("root")
	require.Equal(t, "root", call(t, reg, "pg_get_userbyid", []types.T{oid}, int64(root.ID)))
	// OID 10 (the bootstrap owner of built-in objects) names the owner too.
	require.Equal(t, "root", call(t, reg, "pg_get_userbyid", []types.T{oid}, int64(10)))

	require.Equal(t, true, call(t, reg, "pg_table_is_visible", []types.T{oid}, tid))
	require.Equal(t, true, call(t, reg, "pg_table_is_visible", []types.T{oid}, pkid))
	require.Equal(t, true, call(t, reg, "pg_table_is_visible", []types.T{oid}, int64(1259)))
	require.Nil(t, call(t, reg, "pg_table_is_visible", []types.T{oid}, int64(999999)))
	require.NoError(t, cat.CreateSchema("other", false))
	require.NoError(t, cat.Add(&catalog.Table{ID: cat.NextID(), Schema: "other", Name: "t2",
		Columns: []catalog.Column{{Name: "x", T: types.TextT}}}, nil))
	t2, _ := cat.Lookup("other", "t2")
	require.Equal(t, false, call(t, reg, "pg_table_is_visible", []types.T{oid}, int64(t2.ObjID())))
	require.Equal(t, int64(t2.ObjID()), call(t, reg, "to_regclass", []types.T{text}, "other.t2"))
	require.Nil(t, call(t, reg, "to_regclass", []types.T{text}, "t2"))

	require.Nil(t, call(t, reg, "obj_description", []types.T{oid, types.NameT}, tid, "pg_class"))
	require.EqualValues(t, 0, call(t, reg, "pg_total_relation_size", []types.T{types.RegclassT}, tid))
	require.EqualValues(t, 0, call(t, reg, "pg_relation_size", []types.T{types.RegclassT}, tid))
	require.Len(t, reg.Scalars("pg_table_size"), 1)
	require.Equal(t, true, call(t, reg, "pg_relation_is_publishable", []types.T{types.RegclassT}, tid))
	require.Equal(t, false, call(t, reg, "pg_relation_is_publishable", []types.T{types.RegclassT}, vid))
}

func TestFunctionIntrospection(t *testing.T) {
	reg := testRegistry()
	RegisterFunctions(reg, catalog.New(), Info{})
	tb := New(catalog.New(), reg, Info{})
	procs := rowsOf(t, tb, "pg_catalog", "pg_proc")
	up := find(procs, "proname", "upper")
	require.Equal(t, "text", call(t, reg, "pg_get_function_result", []types.T{types.OidT}, up["oid"]))
	require.Equal(t, "text", call(t, reg, "pg_get_function_arguments", []types.T{types.OidT}, up["oid"]))
	cc := find(procs, "proname", "concat")
	require.Equal(t, "VARIADIC anyelement[]", call(t, reg, "pg_get_function_arguments", []types.T{types.OidT}, cc["oid"]))
	require.Nil(t, call(t, reg, "pg_get_function_result", []types.T{types.OidT}, int64(5)))
}

func TestRegclassName(t *testing.T) {
	cat := testCatalog(t)
	require.NoError(t, cat.CreateSchema("Odd", false))
	require.NoError(t, cat.Add(&catalog.Table{ID: cat.NextID(), Schema: "Odd", Name: "My Table",
		Columns: []catalog.Column{{Name: "x", T: types.TextT}}}, nil))
	odd, _ := cat.Lookup("Odd", "My Table")
	tbl, _ := cat.Lookup("public", "t")
	tb := New(cat, nil, Info{})
	require.Equal(t, "t", tb.RegclassName(int64(tbl.ObjID())))
	require.Equal(t, "t_pkey", tb.RegclassName(pkIndexOIDBase+int64(tbl.ObjID())))
	require.Equal(t, `"Odd"."My Table"`, tb.RegclassName(int64(odd.ObjID())))
	require.Equal(t, "pg_class", tb.RegclassName(1259))
	require.Equal(t, "information_schema.tables", tb.RegclassName(13425))
	require.Equal(t, "424242", tb.RegclassName(424242))
	require.Equal(t, "-1", tb.RegclassName(-1))
	require.Equal(t, `"select"`, quoteIdent("select"))
	require.Equal(t, `"a""b"`, quoteIdent(`a"b`))
	require.Equal(t, "a1$", quoteIdent("a1$"))
	require.Equal(t, `"1a"`, quoteIdent("1a"))
}
