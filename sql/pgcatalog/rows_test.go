package pgcatalog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/types"
)

func TestPgClassRows(t *testing.T) {
	cat := testCatalog(t)
	tb := New(cat, nil, Info{CurrentUser: "bob"})
	rows := rowsOf(t, tb, "pg_catalog", "pg_class")
	tr := find(rows, "relname", "t")
	require.NotNil(t, tr)
	require.Equal(t, "r", tr["relkind"])
	require.EqualValues(t, 2200, tr["relnamespace"])
	require.EqualValues(t, 5, tr["relnatts"]) // the highest attnum: the hidden row id leaves a gap
	require.Equal(t, true, tr["relhasindex"])
	require.EqualValues(t, heapAMOID, tr["relam"])
	require.EqualValues(t, bootstrapRoleOID, tr["relowner"])
	require.Equal(t, "p", tr["relpersistence"])
	require.Equal(t, false, tr["relispartition"])
	require.EqualValues(t, 0, tr["relchecks"])
	require.Nil(t, tr["reloptions"])
	require.Nil(t, tr["relacl"])

	vr := find(rows, "relname", "v")
	require.Equal(t, "v", vr["relkind"])
	require.Equal(t, false, vr["relhasindex"])
	require.EqualValues(t, 0, vr["relam"])
	mr := find(rows, "relname", "m")
	require.Equal(t, "m", mr["relkind"])
	ir := find(rows, "relname", "t_pkey")
	require.NotNil(t, ir)
	require.Equal(t, "i", ir["relkind"])
	require.EqualValues(t, btreeAMOID, ir["relam"])
	require.EqualValues(t, pkIndexOIDBase+int64(tr["oid"].(int64)), ir["oid"])
	// The emulated catalogs are in pg_class with PostgreSQL's OIDs.
	pc := find(rows, "relname", "pg_class")
	require.EqualValues(t, 1259, pc["oid"])
	require.EqualValues(t, pgCatalogNSOID, pc["relnamespace"])
	require.Equal(t, "r", pc["relkind"])
	require.Equal(t, "v", find(rows, "relname", "pg_roles")["relkind"])
	require.Equal(t, true, find(rows, "relname", "pg_database")["relisshared"])
}

func TestPgAttributeRows(t *testing.T) {
	cat := testCatalog(t)
	tb := New(cat, nil, Info{})
	tbl, _ := cat.Lookup("public", "t")
	var cols []map[string]types.Datum
	for _, r := range rowsOf(t, tb, "pg_catalog", "pg_attribute") {
		if r["attrelid"] == int64(tbl.ObjID()) {
			cols = append(cols, r)
		}
	}
	require.Len(t, cols, 4)
	require.Equal(t, "a", cols[0]["attname"])
	require.EqualValues(t, types.OidInt4, cols[0]["atttypid"])
	require.EqualValues(t, 1, cols[0]["attnum"])
	require.Equal(t, true, cols[0]["attnotnull"])
	require.EqualValues(t, 4, cols[0]["attlen"])
	require.EqualValues(t, -1, cols[0]["atttypmod"])
	require.Equal(t, "b", cols[1]["attname"])
	require.EqualValues(t, types.OidVarchar, cols[1]["atttypid"])
	require.EqualValues(t, 14, cols[1]["atttypmod"]) // varchar(10) → 10+4
	require.Equal(t, true, cols[1]["atthasdef"])
	require.EqualValues(t, defaultCollOID, cols[1]["attcollation"])
	require.EqualValues(t, (10<<16|2)+4, cols[2]["atttypmod"])
	require.Equal(t, false, cols[2]["attnotnull"])
	require.Equal(t, false, cols[2]["attisdropped"])
	require.Equal(t, "", cols[2]["attidentity"])
	require.Equal(t, "", cols[2]["attgenerated"])
	// The hidden column keeps its slot: ts is the 5th catalog column.
	require.Equal(t, "ts", cols[3]["attname"])
	require.EqualValues(t, 5, cols[3]["attnum"])

	view, _ := cat.Lookup("public", "v")
	for _, r := range rowsOf(t, tb, "pg_catalog", "pg_attribute") {
		if r["attrelid"] == int64(view.ObjID()) {
			require.Equal(t, false, r["attnotnull"], "view columns are never NOT NULL")
		}
	}

	defs := rowsOf(t, tb, "pg_catalog", "pg_attrdef")
	require.Len(t, defs, 1)
	require.EqualValues(t, tbl.ObjID(), defs[0]["adrelid"])
	require.EqualValues(t, 2, defs[0]["adnum"])
	require.Equal(t, "'x'::character varying", defs[0]["adbin"])
}

func TestIndexesAndConstraints(t *testing.T) {
	cat := testCatalog(t)
	tbl, _ := cat.Lookup("public", "t")
	mv, _ := cat.Lookup("public", "m")
	uid := cat.NextID()
	info := Info{Indexes: func() []IndexInfo {
		return []IndexInfo{{ID: uid, Name: "m_a_key", TableID: mv.ObjID(), Columns: []int{0}, Unique: true}}
	}}
	tb := New(cat, nil, info)
	idx := rowsOf(t, tb, "pg_catalog", "pg_index")
	require.Len(t, idx, 2)
	pk := find(idx, "indrelid", int64(tbl.ObjID()))
	require.Equal(t, true, pk["indisprimary"])
	require.Equal(t, true, pk["indisunique"])
	require.Equal(t, true, pk["indisvalid"])
	require.Equal(t, false, pk["indisclustered"])
	require.EqualValues(t, 1, pk["indnatts"])
	require.Equal(t, &types.Array{Elem: types.Int2T, Elems: []types.Datum{int64(1)}}, pk["indkey"])
	require.Nil(t, pk["indexprs"])
	uq := find(idx, "indexrelid", int64(uid))
	require.Equal(t, false, uq["indisprimary"])
	require.Equal(t, true, uq["indisunique"])

	cons := rowsOf(t, tb, "pg_catalog", "pg_constraint")
	require.Len(t, cons, 2)
	pc := find(cons, "contype", "p")
	require.Equal(t, "t_pkey", pc["conname"])
	require.EqualValues(t, tbl.ObjID(), pc["conrelid"])
	require.Equal(t, pk["indexrelid"], pc["conindid"])
	require.Equal(t, &types.Array{Elem: types.Int2T, Elems: []types.Datum{int64(1)}}, pc["conkey"])
	require.Equal(t, "m_a_key", find(cons, "contype", "u")["conname"])

	ixv := rowsOf(t, tb, "pg_catalog", "pg_indexes")
	require.Equal(t, "CREATE UNIQUE INDEX t_pkey ON t USING btree (a)", find(ixv, "indexname", "t_pkey")["indexdef"])

	// Relations outside the search path are schema-qualified.
	require.NoError(t, cat.CreateSchema("s2", false))
	t3 := &catalog.Table{ID: cat.NextID(), Schema: "s2", Name: "Order", PrimaryKey: []int{1}, PKIndexName: "order_pkey",
		Columns: []catalog.Column{{Name: "x", T: types.TextT}, {Name: "select", T: types.Int8T}}}
	require.NoError(t, cat.Add(t3, nil))
	ixv = rowsOf(t, tb, "pg_catalog", "pg_indexes")
	require.Equal(t, `CREATE UNIQUE INDEX order_pkey ON s2."Order" USING btree ("select")`, find(ixv, "indexname", "order_pkey")["indexdef"])

	tc := rowsOf(t, tb, "information_schema", "table_constraints")
	require.Equal(t, "PRIMARY KEY", find(tc, "constraint_name", "t_pkey")["constraint_type"])
	require.Equal(t, "UNIQUE", find(tc, "constraint_name", "m_a_key")["constraint_type"])
	kcu := rowsOf(t, tb, "information_schema", "key_column_usage")
	k := find(kcu, "constraint_name", "t_pkey")
	require.Equal(t, "a", k["column_name"])
	require.EqualValues(t, 1, k["ordinal_position"])
	require.Equal(t, "t", k["table_name"])

	// An engine-supplied primary key replaces the synthesized one.
	pkid := cat.NextID()
	tb = New(cat, nil, Info{Indexes: func() []IndexInfo {
		return []IndexInfo{{ID: pkid, Name: "t_pkey", TableID: tbl.ObjID(), Columns: []int{0}, Primary: true, Unique: true}}
	}})
	var onT []map[string]types.Datum
	for _, r := range rowsOf(t, tb, "pg_catalog", "pg_index") {
		if r["indrelid"] == int64(tbl.ObjID()) {
			onT = append(onT, r)
		}
	}
	require.Len(t, onT, 1)
	require.EqualValues(t, pkid, onT[0]["indexrelid"])
}

func TestNamespaceRolesDatabase(t *testing.T) {
	cat := testCatalog(t)
	require.NoError(t, cat.CreateSchema("s1", false))
	tb := New(cat, nil, Info{CurrentUser: "carol", Database: "db1"})
	ns := rowsOf(t, tb, "pg_catalog", "pg_namespace")
	require.EqualValues(t, 2200, find(ns, "nspname", "public")["oid"])
	require.EqualValues(t, 11, find(ns, "nspname", "pg_catalog")["oid"])
	require.NotNil(t, find(ns, "nspname", "s1"))

	// No roles in the catalog: a bootstrap role named after the session user.
	roles := rowsOf(t, tb, "pg_catalog", "pg_roles")
	require.Len(t, roles, 1)
	require.Equal(t, "carol", roles[0]["rolname"])
	require.EqualValues(t, 10, roles[0]["oid"])
	require.Equal(t, true, roles[0]["rolsuper"])
	require.Nil(t, roles[0]["rolvaliduntil"])
	require.EqualValues(t, -1, roles[0]["rolconnlimit"])

	cat.PutRole(&catalog.Role{Name: "zed"})
	cat.PutRole(&catalog.Role{Name: "admin", Superuser: true, Verifier: "SCRAM-SHA-256$secret"})
	roles = rowsOf(t, tb, "pg_catalog", "pg_roles")
	require.Len(t, roles, 2)
	require.Equal(t, "admin", roles[0]["rolname"])
	require.Equal(t, "********", roles[0]["rolpassword"])
	require.Equal(t, false, roles[1]["rolsuper"])
	for _, r := range rowsOf(t, tb, "pg_catalog", "pg_authid") {
		require.Nil(t, r["rolpassword"], "verifiers are never exposed")
	}
	users := rowsOf(t, tb, "pg_catalog", "pg_user")
	require.Equal(t, "zed", users[1]["usename"])
	admin, _ := cat.Role("admin")
	// Objects are owned by the first superuser.
	require.EqualValues(t, admin.ID, find(rowsOf(t, tb, "pg_catalog", "pg_class"), "relname", "t")["relowner"])
	require.Equal(t, "admin", find(rowsOf(t, tb, "pg_catalog", "pg_tables"), "tablename", "t")["tableowner"])

	db := rowsOf(t, tb, "pg_catalog", "pg_database")
	require.Len(t, db, 1)
	require.Equal(t, "db1", db[0]["datname"])
	require.EqualValues(t, 6, db[0]["encoding"])
	require.Equal(t, "C", db[0]["datcollate"])
	require.EqualValues(t, -1, db[0]["datconnlimit"])
	require.EqualValues(t, admin.ID, db[0]["datdba"])
}

func TestPgTypeRows(t *testing.T) {
	tb := New(catalog.New(), nil, Info{})
	rows := rowsOf(t, tb, "pg_catalog", "pg_type")
	int4 := find(rows, "typname", "int4")
	require.EqualValues(t, 23, int4["oid"])
	require.EqualValues(t, 1007, int4["typarray"])
	require.EqualValues(t, 4, int4["typlen"])
	require.Equal(t, "b", int4["typtype"])
	require.Equal(t, "N", int4["typcategory"])
	require.Equal(t, "int4in", int4["typinput"])
	require.Equal(t, "int4out", int4["typoutput"])
	require.EqualValues(t, 0, int4["typbasetype"])
	require.EqualValues(t, -1, int4["typtypmod"])
	arr := find(rows, "typname", "_int4")
	require.EqualValues(t, 1007, arr["oid"])
	require.EqualValues(t, 23, arr["typelem"])
	require.Equal(t, "A", arr["typcategory"])
	require.Equal(t, "array_in", arr["typinput"])
	require.Equal(t, "timestamptz_in", find(rows, "typname", "timestamptz")["typinput"])
	require.EqualValues(t, 1043, find(rows, "typname", "varchar")["oid"])
	require.EqualValues(t, 1015, find(rows, "typname", "_varchar")["oid"])
	require.Equal(t, "p", find(rows, "typname", "record")["typtype"])
	// OIDs are unique, and every array row's element exists.
	seen := map[types.Datum]bool{}
	for _, r := range rows {
		require.False(t, seen[r["oid"]], "duplicate type oid %v", r["oid"])
		seen[r["oid"]] = true
	}
	for _, r := range rows {
		if r["typcategory"] == "A" {
			require.True(t, seen[r["typelem"]], "%v", r["typname"])
		}
	}
}

func TestPgProcRows(t *testing.T) {
	tb := New(catalog.New(), testRegistry(), Info{})
	rows := rowsOf(t, tb, "pg_catalog", "pg_proc")
	require.Nil(t, find(rows, "proname", "+"), "operators are not functions")
	up := find(rows, "proname", "upper")
	require.Equal(t, "f", up["prokind"])
	require.EqualValues(t, types.OidText, up["prorettype"])
	require.Equal(t, &types.Array{Elem: types.OidT, Elems: []types.Datum{int64(types.OidText)}}, up["proargtypes"])
	require.Equal(t, true, up["proisstrict"])
	require.Equal(t, "i", up["provolatile"])
	require.EqualValues(t, 1, up["pronargs"])
	cc := find(rows, "proname", "concat")
	require.EqualValues(t, oidAnyElement, cc["provariadic"])
	require.Equal(t, "s", cc["provolatile"])
	require.Equal(t, "a", find(rows, "proname", "sum")["prokind"])
	require.Equal(t, "w", find(rows, "proname", "row_number")["prokind"])
	routines := rowsOf(t, tb, "information_schema", "routines")
	require.Equal(t, "text", find(routines, "routine_name", "upper")["data_type"])
}

func TestPgSettingsRows(t *testing.T) {
	tb := New(catalog.New(), nil, Info{ServerVersion: "15.4"})
	rows := rowsOf(t, tb, "pg_catalog", "pg_settings")
	require.Equal(t, "15.4", find(rows, "name", "server_version")["setting"])
	require.Equal(t, "150004", find(rows, "name", "server_version_num")["setting"])
	tb = New(catalog.New(), nil, Info{Settings: func() []Setting {
		return []Setting{{Name: "barrier_interval", Setting: "100", Unit: "ms", VarType: "integer", MinVal: "1"},
			{Name: "state_backend", Setting: "columnar", VarType: "enum", EnumVals: []string{"memory", "pebble", "columnar"}}}
	}})
	rows = rowsOf(t, tb, "pg_catalog", "pg_settings")
	require.Len(t, rows, 2)
	bi := rows[0]
	require.Equal(t, "ms", bi["unit"])
	require.Equal(t, "1", bi["min_val"])
	require.Nil(t, bi["max_val"])
	require.Equal(t, "user", bi["context"])
	require.Equal(t, "default", bi["source"])
	require.Equal(t, "100", bi["reset_val"])
	require.Equal(t, false, bi["pending_restart"])
	require.Equal(t, &types.Array{Elem: types.TextT, Elems: []types.Datum{"memory", "pebble", "columnar"}}, rows[1]["enumvals"])
}

func TestViewRows(t *testing.T) {
	tb := New(testCatalog(t), nil, Info{})
	views := rowsOf(t, tb, "pg_catalog", "pg_views")
	require.Equal(t, "SELECT a FROM t", find(views, "viewname", "v")["definition"])
	require.Nil(t, find(views, "viewname", "m"))
	mv := rowsOf(t, tb, "pg_catalog", "pg_matviews")
	require.Len(t, mv, 1)
	require.Equal(t, "m", mv[0]["matviewname"])
	require.Equal(t, true, mv[0]["ispopulated"])
	require.Equal(t, "SELECT a, count(*) AS n FROM t GROUP BY a", mv[0]["definition"])
	tables := rowsOf(t, tb, "pg_catalog", "pg_tables")
	require.Equal(t, true, find(tables, "tablename", "t")["hasindexes"])
	require.Equal(t, "pg_catalog", find(tables, "tablename", "pg_class")["schemaname"])
	require.Nil(t, find(tables, "tablename", "v"))
}

func TestInformationSchema(t *testing.T) {
	tb := New(testCatalog(t), nil, Info{Database: "db1"})
	tables := rowsOf(t, tb, "information_schema", "tables")
	require.Equal(t, "BASE TABLE", find(tables, "table_name", "t")["table_type"])
	require.Equal(t, "YES", find(tables, "table_name", "t")["is_insertable_into"])
	require.Equal(t, "VIEW", find(tables, "table_name", "v")["table_type"])
	require.Equal(t, "VIEW", find(tables, "table_name", "m")["table_type"])
	require.Equal(t, "db1", find(tables, "table_name", "t")["table_catalog"])
	require.Equal(t, "pg_catalog", find(tables, "table_name", "pg_class")["table_schema"])

	var cols []map[string]types.Datum
	for _, r := range rowsOf(t, tb, "information_schema", "columns") {
		if r["table_name"] == "t" {
			cols = append(cols, r)
		}
	}
	require.Len(t, cols, 4)
	require.Equal(t, "integer", cols[0]["data_type"])
	require.Equal(t, "NO", cols[0]["is_nullable"])
	require.EqualValues(t, 32, cols[0]["numeric_precision"])
	require.Equal(t, "int4", cols[0]["udt_name"])
	require.Equal(t, "character varying", cols[1]["data_type"])
	require.EqualValues(t, 10, cols[1]["character_maximum_length"])
	require.Equal(t, "'x'::character varying", cols[1]["column_default"])
	require.Equal(t, "numeric", cols[2]["data_type"])
	require.EqualValues(t, 10, cols[2]["numeric_precision"])
	require.EqualValues(t, 2, cols[2]["numeric_scale"])
	require.Equal(t, "YES", cols[2]["is_nullable"])
	require.Equal(t, "timestamp with time zone", cols[3]["data_type"])
	require.EqualValues(t, 6, cols[3]["datetime_precision"])
	require.EqualValues(t, 5, cols[3]["ordinal_position"])

	views := rowsOf(t, tb, "information_schema", "views")
	require.Equal(t, "SELECT a FROM t", find(views, "table_name", "v")["view_definition"])
	sch := rowsOf(t, tb, "information_schema", "schemata")
	require.NotNil(t, find(sch, "schema_name", "public"))
	require.Equal(t, "db1", find(sch, "schema_name", "public")["catalog_name"])
}
