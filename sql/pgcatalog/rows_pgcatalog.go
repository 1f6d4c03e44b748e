package pgcatalog

import (
	"github.com/sabotsql/sabotsql/sql/types"
)

// rows builds the rows of d from a fresh snapshot. Relations without a
// builder are empty (pg_inherits, pg_trigger, pg_policy, …).
func (t *Tables) rows(d *relDef) []row {
	if d.schema == "information_schema" {
		return t.infoSchemaRows(d.name)
	}
	switch d.name {
	case "pg_namespace":
		return t.snap().namespaceRows()
	case "pg_class":
		return t.snap().classRows()
	case "pg_attribute":
		return t.snap().attributeRows()
	case "pg_attrdef":
		return t.snap().attrdefRows()
	case "pg_index":
		return t.snap().indexRows()
	case "pg_indexes":
		return t.snap().indexesViewRows()
	case "pg_constraint":
		return t.snap().constraintRows()
	case "pg_type":
		return typeRows(takeSnapshotRolesOnly(t))
	case "pg_database":
		return t.snap().databaseRows()
	case "pg_roles", "pg_authid", "pg_user", "pg_shadow":
		return t.snap().roleRows(d.name)
	case "pg_proc":
		return t.procRows()
	case "pg_settings":
		return t.settingRows()
	case "pg_tables":
		return t.snap().tablesViewRows()
	case "pg_views":
		return t.snap().viewsViewRows()
	case "pg_matviews":
		return t.snap().matviewsViewRows()
	case "pg_am":
		return []row{
			{"oid": heapAMOID, "amname": "heap", "amhandler": "heap_tableam_handler", "amtype": "t"},
			{"oid": btreeAMOID, "amname": "btree", "amhandler": "bthandler", "amtype": "i"},
			{"oid": hashAMOID, "amname": "hash", "amhandler": "hashhandler", "amtype": "i"},
		}
	case "pg_tablespace":
		s := t.snap()
		return []row{
			{"oid": defaultTblspcOID, "spcname": "pg_default", "spcowner": s.owner.oid},
			{"oid": globalTblspcOID, "spcname": "pg_global", "spcowner": s.owner.oid},
		}
	case "pg_collation":
		s := t.snap()
		return []row{
			{"oid": defaultCollOID, "collname": "default", "collnamespace": pgCatalogNSOID, "collowner": s.owner.oid,
				"collprovider": "d", "collisdeterministic": true, "collencoding": -1},
			{"oid": cCollOID, "collname": "C", "collnamespace": pgCatalogNSOID, "collowner": s.owner.oid,
				"collprovider": "c", "collisdeterministic": true, "collencoding": -1, "collcollate": "C", "collctype": "C"},
			{"oid": cCollOID + 1, "collname": "POSIX", "collnamespace": pgCatalogNSOID, "collowner": s.owner.oid,
				"collprovider": "c", "collisdeterministic": true, "collencoding": -1, "collcollate": "POSIX", "collctype": "POSIX"},
		}
	case "pg_language":
		s := t.snap()
		return []row{
			{"oid": internalLangOID, "lanname": "internal", "lanowner": s.owner.oid, "lanvalidator": 2246},
			{"oid": sqlLangOID, "lanname": "sql", "lanowner": s.owner.oid, "lanpltrusted": true, "lanvalidator": 2248},
		}
	case "pg_stat_activity":
		return t.snap().activityRows()
	case "pg_stat_user_tables", "pg_statio_user_tables":
		return t.snap().statTableRows(d.name)
	case "pg_stat_database":
		s := t.snap()
		return []row{{"datid": databaseOID, "datname": s.info.database(), "numbackends": 1}}
	}
	return nil
}

func (t *Tables) snap() *snapshot { return takeSnapshot(t.cat, t.info) }

func (s *snapshot) namespaceRows() []row {
	out := make([]row, 0, len(s.schemas))
	for _, sc := range s.schemas {
		out = append(out, row{"oid": sc.ID, "nspname": sc.Name, "nspowner": s.owner.oid})
	}
	return out
}

func (s *snapshot) classRows() []row {
	out := make([]row, 0, len(s.rels))
	for _, r := range s.rels {
		nIdx := len(s.indexesOn(r.oid))
		x := row{
			"oid": r.oid, "relname": r.name, "relnamespace": r.nsOID, "relowner": s.owner.oid,
			"relkind": string(r.kind), "relnatts": maxAttnum(r), "relpersistence": "p",
			"relhasindex": nIdx > 0, "reltuples": float64(-1), "relispopulated": true,
			"relreplident": "d",
		}
		switch r.kind {
		case 'r', 'm':
			x["relam"] = heapAMOID
			x["relfilenode"] = r.oid
		case 'i':
			x["relam"] = btreeAMOID
			if r.index != nil && r.index.Method == "hash" {
				x["relam"] = hashAMOID
			}
			x["relfilenode"] = r.oid
			x["relreplident"] = "n"
		case 'v':
			x["relhasrules"] = true
			x["relreplident"] = "n"
		case 'f':
			x["relreplident"] = "n"
		}
		if r.system {
			x["relisshared"] = r.name == "pg_database" || r.name == "pg_authid" ||
				r.name == "pg_tablespace" || r.name == "pg_auth_members" || r.name == "pg_shdescription"
		}
		out = append(out, x)
	}
	return out
}

// maxAttnum is relnatts: the highest attnum (hidden columns leave gaps).
func maxAttnum(r *relInfo) int {
	n := 0
	for _, c := range r.cols {
		if c.attnum > n {
			n = c.attnum
		}
	}
	return n
}

// typeAttrs returns the storage facts pg_type and pg_attribute share.
func typeAttrs(t types.T) (length int, byval bool, align, storage string) {
	switch t.Family {
	case types.FamBool:
		return 1, true, "c", "p"
	case types.FamInt2:
		return 2, true, "s", "p"
	case types.FamInt4, types.FamFloat4, types.FamOid, types.FamRegclass, types.FamRegtype, types.FamDate:
		return 4, true, "i", "p"
	case types.FamInt8, types.FamFloat8, types.FamTime, types.FamTimestamp, types.FamTimestampTZ:
		return 8, true, "d", "p"
	case types.FamInterval:
		return 16, false, "d", "p"
	case types.FamName:
		return 64, false, "c", "p"
	case types.FamVoid:
		return 4, true, "i", "p"
	case types.FamUnknown:
		return -2, false, "c", "p"
	case types.FamNumeric:
		return -1, false, "i", "m"
	case types.FamRecord:
		return -1, false, "d", "x"
	case types.FamArray:
		_, _, a, _ := typeAttrs(t.ElemType())
		if a != "d" {
			a = "i"
		}
		return -1, false, a, "x"
	}
	return -1, false, "i", "x"
}

// collationOf is the column collation PostgreSQL gives t.
func collationOf(t types.T) int64 {
	switch t.Family {
	case types.FamText, types.FamVarchar, types.FamBpchar:
		return defaultCollOID
	case types.FamName:
		return cCollOID
	case types.FamArray:
		return collationOf(t.ElemType())
	}
	return 0
}

func (s *snapshot) attributeRows() []row {
	var out []row
	for _, r := range s.rels {
		for _, c := range r.cols {
			l, byval, align, storage := typeAttrs(c.t)
			ndims := 0
			if c.t.Family == types.FamArray {
				ndims = 1
			}
			out = append(out, row{
				"attrelid": r.oid, "attname": c.name, "atttypid": typeOID(c.t), "attstattarget": -1,
				"attlen": l, "attnum": c.attnum, "attndims": ndims, "attcacheoff": -1,
				"atttypmod": int(c.t.PGTypmod()), "attbyval": byval, "attalign": align, "attstorage": storage,
				"attcompression": "", "attnotnull": c.notNull, "atthasdef": c.def != "",
				"attidentity": "", "attgenerated": "", "attislocal": true,
				"attcollation": collationOf(c.t),
			})
		}
	}
	return out
}

func (s *snapshot) attrdefRows() []row {
	var out []row
	for _, r := range s.rels {
		for _, c := range r.cols {
			if c.def == "" {
				continue
			}
			out = append(out, row{"oid": attrdefOIDBase + len(out), "adrelid": r.oid, "adnum": c.attnum, "adbin": c.def})
		}
	}
	return out
}

func (s *snapshot) indexRows() []row {
	out := make([]row, 0, len(s.indexes))
	for i := range s.indexes {
		ix := &s.indexes[i]
		if _, ok := s.byOID[int64(ix.TableID)]; !ok {
			continue
		}
		key := make([]int64, len(ix.Columns))
		zeros := make([]int64, len(ix.Columns))
		colls := make([]int64, len(ix.Columns))
		for j, c := range ix.Columns {
			key[j] = int64(c + 1)
		}
		out = append(out, row{
			"indexrelid": ix.ID, "indrelid": ix.TableID, "indnatts": len(ix.Columns), "indnkeyatts": len(ix.Columns),
			"indisunique": ix.Unique || ix.Primary, "indisprimary": ix.Primary, "indimmediate": true,
			"indisvalid": true, "indisready": true, "indislive": true,
			"indkey": key, "indcollation": colls, "indclass": colls, "indoption": zeros,
		})
	}
	return out
}

func (s *snapshot) indexesViewRows() []row {
	var out []row
	for i := range s.indexes {
		ix := &s.indexes[i]
		t, ok := s.byOID[int64(ix.TableID)]
		if !ok {
			continue
		}
		out = append(out, row{"schemaname": t.schema, "tablename": t.name, "indexname": ix.Name, "indexdef": indexDef(ix, t)})
	}
	return out
}

func (s *snapshot) constraintRows() []row {
	var out []row
	for i := range s.indexes {
		ix := &s.indexes[i]
		t, ok := s.byOID[int64(ix.TableID)]
		if !ok || !ix.Primary && !ix.Unique {
			continue
		}
		contype := "u"
		if ix.Primary {
			contype = "p"
		}
		key := make([]int64, len(ix.Columns))
		for j, c := range ix.Columns {
			key[j] = int64(c + 1)
		}
		out = append(out, row{
			"oid": constraintOID(int64(ix.ID)), "conname": ix.Name, "connamespace": t.nsOID, "contype": contype,
			"convalidated": true, "conrelid": t.oid, "conindid": ix.ID,
			"confupdtype": " ", "confdeltype": " ", "confmatchtype": " ", "conislocal": true, "connoinherit": true,
			"conkey": key,
		})
	}
	return out
}

// pgTypes are the types pg_type lists (arrays follow from arrayOf).
var pgTypes = []types.T{
	types.BoolT, types.ByteaT, types.NameT, types.Int8T, types.Int2T, types.Int4T, types.TextT, types.OidT,
	types.Float4T, types.Float8T, types.UnknownT, types.BpcharT, types.VarcharT, types.DateT, types.TimeT,
	types.TimestampT, types.TimestampTZT, types.IntervalT, types.NumericT, types.RegclassT, types.RegtypeT,
	types.RecordT, types.VoidT, types.JSONBT,
}

var typeIO = map[types.Family]string{
	types.FamDate: "date", types.FamTime: "time", types.FamTimestamp: "timestamp", types.FamTimestampTZ: "timestamptz",
	types.FamInterval: "interval", types.FamNumeric: "numeric", types.FamRecord: "record", types.FamVoid: "void",
	types.FamJSONB: "jsonb",
}

func typeCategory(t types.T) string {
	switch {
	case t.Family == types.FamArray:
		return "A"
	case t.Family == types.FamBool:
		return "B"
	case t.IsNumeric() || t.Family == types.FamRegclass || t.Family == types.FamRegtype:
		return "N"
	case t.IsString():
		return "S"
	case t.IsDateTime():
		return "D"
	case t.Family == types.FamInterval:
		return "T"
	case t.Family == types.FamUnknown:
		return "X"
	case t.Family == types.FamRecord || t.Family == types.FamVoid:
		return "P"
	}
	return "U"
}

func typeRow(t types.T, owner int64) row {
	l, byval, align, storage := typeAttrs(t)
	oid := typeOID(t)
	in, out, recv, send := t.ShortName()+"in", t.ShortName()+"out", t.ShortName()+"recv", t.ShortName()+"send"
	if p, ok := typeIO[t.Family]; ok {
		in, out, recv, send = p+"_in", p+"_out", p+"_recv", p+"_send"
	}
	x := row{
		"oid": oid, "typname": t.ShortName(), "typnamespace": pgCatalogNSOID, "typowner": owner,
		"typlen": l, "typbyval": byval, "typtype": "b", "typcategory": typeCategory(t),
		"typispreferred": false, "typisdefined": true, "typdelim": ",", "typsubscript": "-",
		"typinput": in, "typoutput": out, "typreceive": recv, "typsend": send,
		"typmodin": "-", "typmodout": "-", "typanalyze": "-", "typalign": align, "typstorage": storage,
		"typtypmod": -1, "typcollation": collationOf(t),
	}
	switch t.Family {
	case types.FamBool, types.FamFloat8, types.FamOid, types.FamText, types.FamTimestampTZ, types.FamInterval:
		x["typispreferred"] = true
	case types.FamRecord, types.FamVoid, types.FamUnknown:
		x["typtype"] = "p"
	case types.FamArray:
		x["typelem"] = typeOID(t.ElemType())
		x["typsubscript"] = "array_subscript_handler"
		x["typinput"], x["typoutput"], x["typreceive"], x["typsend"] = "array_in", "array_out", "array_recv", "array_send"
		x["typanalyze"] = "array_typanalyze"
	}
	if t.Family != types.FamArray {
		if a := types.ArrayOf(t); a.Oid() != types.OidTextArray || t.Family == types.FamText {
			x["typarray"] = typeOID(a)
		}
	}
	return x
}

func typeRows(owner int64) []row {
	var out []row
	for _, t := range pgTypes {
		out = append(out, typeRow(t, owner))
	}
	for _, t := range pgTypes {
		a := types.ArrayOf(t)
		if a.Oid() != types.OidTextArray || t.Family == types.FamText {
			out = append(out, typeRow(a, owner))
		}
	}
	for _, p := range []struct {
		oid  int64
		name string
	}{{oidAnyElement, "anyelement"}, {oidAnyArray, "anyarray"}} {
		out = append(out, row{
			"oid": p.oid, "typname": p.name, "typnamespace": pgCatalogNSOID, "typowner": owner,
			"typlen": 4, "typbyval": true, "typtype": "p", "typcategory": "P", "typisdefined": true,
			"typdelim": ",", "typsubscript": "-", "typinput": p.name + "_in", "typoutput": p.name + "_out",
			"typreceive": "-", "typsend": "-", "typmodin": "-", "typmodout": "-", "typanalyze": "-",
			"typalign": "i", "typstorage": "p", "typtypmod": -1,
		})
	}
	return out
}

func (s *snapshot) databaseRows() []row {
	return []row{{
		"oid": databaseOID, "datname": s.info.database(), "datdba": s.owner.oid, "encoding": 6,
		"datlocprovider": "c", "datallowconn": true, "datconnlimit": -1, "datminmxid": 1,
		"dattablespace": defaultTblspcOID, "datcollate": "C", "datctype": "C",
	}}
}

func (s *snapshot) roleRows(rel string) []row {
	out := make([]row, 0, len(s.roles))
	for _, r := range s.roles {
		switch rel {
		case "pg_user", "pg_shadow":
			x := row{"usename": r.name, "usesysid": r.oid, "usecreatedb": r.super, "usesuper": r.super,
				"userepl": r.super, "usebypassrls": r.super}
			if rel == "pg_user" {
				x["passwd"] = "********"
			}
			out = append(out, x)
		default:
			x := row{"oid": r.oid, "rolname": r.name, "rolsuper": r.super, "rolinherit": true,
				"rolcreaterole": r.super, "rolcreatedb": r.super, "rolcanlogin": true,
				"rolreplication": r.super, "rolbypassrls": r.super, "rolconnlimit": -1}
			if rel == "pg_roles" {
				x["rolpassword"] = "********"
			}
			out = append(out, x)
		}
	}
	return out
}

func (t *Tables) procRows() []row {
	owner := takeSnapshotRolesOnly(t)
	procs := procsOf(t.reg)
	out := make([]row, 0, len(procs))
	for i := range procs {
		p := &procs[i]
		x := row{
			"oid": p.oid, "proname": p.name, "pronamespace": pgCatalogNSOID, "proowner": owner,
			"prolang": internalLangOID, "procost": float64(1), "prorows": float64(0), "prosupport": "-",
			"prokind": string(p.kind), "proisstrict": p.strict, "provolatile": string(p.volatility),
			"proparallel": "s", "pronargs": len(p.args), "prorettype": p.ret, "proargtypes": p.args,
			"prosrc": p.name,
		}
		if p.variadic && len(p.args) > 0 {
			x["provariadic"] = p.args[len(p.args)-1]
		}
		out = append(out, x)
	}
	return append(out, t.userProcRows(owner)...)
}

// takeSnapshotRolesOnly returns the owner OID without reading relations.
func takeSnapshotRolesOnly(t *Tables) int64 {
	_, owner := rolesOf(t.cat, t.info)
	return owner.oid
}

// defaultSettings is what pg_settings shows when Info.Settings is nil.
func (t *Tables) defaultSettings() []Setting {
	return []Setting{
		{Name: "client_encoding", Setting: "UTF8", Category: "Client Connection Defaults / Locale and Formatting"},
		{Name: "DateStyle", Setting: "ISO, MDY", Category: "Client Connection Defaults / Locale and Formatting"},
		{Name: "integer_datetimes", Setting: "on", VarType: "bool", Context: "internal", Category: "Preset Options"},
		{Name: "IntervalStyle", Setting: "postgres", VarType: "enum", Category: "Client Connection Defaults / Locale and Formatting",
			EnumVals: []string{"postgres", "postgres_verbose", "sql_standard", "iso_8601"}},
		{Name: "max_index_keys", Setting: "32", VarType: "integer", Context: "internal", Category: "Preset Options"},
		{Name: "max_identifier_length", Setting: "63", VarType: "integer", Context: "internal", Category: "Preset Options"},
		{Name: "search_path", Setting: `"$user", public`, Category: "Client Connection Defaults / Statement Behavior"},
		{Name: "server_encoding", Setting: "UTF8", Context: "internal", Category: "Preset Options"},
		{Name: "server_version", Setting: t.info.version(), Context: "internal", Category: "Preset Options"},
		{Name: "server_version_num", Setting: serverVersionNum(t.info.version()), VarType: "integer", Context: "internal", Category: "Preset Options"},
		{Name: "standard_conforming_strings", Setting: "on", VarType: "bool", Category: "Version and Platform Compatibility"},
		{Name: "TimeZone", Setting: "UTC", Category: "Client Connection Defaults / Locale and Formatting"},
	}
}

// serverVersionNum turns "15.0" into "150000".
func serverVersionNum(v string) string {
	major, minor := 0, 0
	i := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		major = major*10 + int(v[i]-'0')
	}
	if i < len(v) && v[i] == '.' {
		for i++; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			minor = minor*10 + int(v[i]-'0')
		}
	}
	n := major*10000 + minor
	return itoa(n)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func (t *Tables) settingRows() []row {
	settings := t.defaultSettings()
	if t.info.Settings != nil {
		settings = t.info.Settings()
	}
	out := make([]row, 0, len(settings))
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	for _, st := range settings {
		ctx, vt, src := st.Context, st.VarType, st.Source
		if ctx == "" {
			ctx = "user"
		}
		if vt == "" {
			vt = "string"
		}
		if src == "" {
			src = "default"
		}
		x := row{
			"name": st.Name, "setting": st.Setting, "unit": nullable(st.Unit), "category": st.Category,
			"short_desc": st.ShortDesc, "context": ctx, "vartype": vt, "source": src,
			"min_val": nullable(st.MinVal), "max_val": nullable(st.MaxVal),
			"boot_val": st.BootVal, "reset_val": st.ResetVal, "pending_restart": st.PendingRestart,
		}
		if st.BootVal == "" {
			x["boot_val"] = st.Setting
		}
		if st.ResetVal == "" {
			x["reset_val"] = st.Setting
		}
		if st.EnumVals != nil {
			x["enumvals"] = st.EnumVals
		}
		out = append(out, x)
	}
	return out
}

func (s *snapshot) tablesViewRows() []row {
	var out []row
	for _, r := range s.rels {
		if r.kind != 'r' {
			continue
		}
		out = append(out, row{"schemaname": r.schema, "tablename": r.name, "tableowner": s.owner.name,
			"hasindexes": len(s.indexesOn(r.oid)) > 0, "hasrules": false, "hastriggers": false, "rowsecurity": false})
	}
	return out
}

func (s *snapshot) viewsViewRows() []row {
	var out []row
	for _, r := range s.rels {
		if r.kind != 'v' {
			continue
		}
		x := row{"schemaname": r.schema, "viewname": r.name, "viewowner": s.owner.name}
		if !r.system {
			x["definition"] = r.viewSQL
		}
		out = append(out, x)
	}
	return out
}

func (s *snapshot) matviewsViewRows() []row {
	var out []row
	for _, r := range s.rels {
		if r.kind != 'm' {
			continue
		}
		out = append(out, row{"schemaname": r.schema, "matviewname": r.name, "matviewowner": s.owner.name,
			"hasindexes": len(s.indexesOn(r.oid)) > 0, "ispopulated": true, "definition": r.viewSQL})
	}
	return out
}

func (s *snapshot) activityRows() []row {
	acts := []Activity{{PID: 1, User: s.info.user(), Database: s.info.database(), State: "active"}}
	if s.info.Activity != nil {
		acts = s.info.Activity()
	}
	out := make([]row, 0, len(acts))
	for _, a := range acts {
		x := row{
			"datid": databaseOID, "datname": a.Database, "pid": a.PID, "usename": a.User,
			"application_name": a.ApplicationName, "state": a.State, "query": a.Query, "backend_type": "client backend",
		}
		for _, r := range s.roles {
			if r.name == a.User {
				x["usesysid"] = r.oid
			}
		}
		if a.ClientAddr != "" {
			x["client_addr"] = a.ClientAddr
		}
		if a.BackendStart != 0 {
			x["backend_start"] = a.BackendStart
		}
		if a.QueryStart != 0 {
			x["query_start"] = a.QueryStart
			x["state_change"] = a.QueryStart
		}
		out = append(out, x)
	}
	return out
}

func (s *snapshot) statTableRows(rel string) []row {
	var out []row
	for _, r := range s.rels {
		if r.kind != 'r' && r.kind != 'm' || r.system {
			continue
		}
		x := row{"relid": r.oid, "schemaname": r.schema, "relname": r.name}
		if rel == "pg_stat_user_tables" {
			for _, c := range []string{"seq_scan", "seq_tup_read", "n_tup_ins", "n_tup_upd", "n_tup_del", "n_tup_hot_upd",
				"n_live_tup", "n_dead_tup", "n_mod_since_analyze", "n_ins_since_vacuum", "vacuum_count",
				"autovacuum_count", "analyze_count", "autoanalyze_count"} {
				x[c] = 0
			}
		}
		out = append(out, x)
	}
	return out
}
