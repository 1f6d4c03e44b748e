package pgcatalog

// userProcRows lists the catalog's SQL-language functions in pg_proc: the
// object id is the OID, the namespace is the function's schema and prosrc
// holds the body text.
func (t *Tables) userProcRows(owner int64) []row {
	if t.cat == nil {
		return nil
	}
	var out []row
	for _, f := range t.cat.AllFunctions() {
		ns, _ := t.cat.SchemaID(f.Schema)
		args := make([]int64, len(f.Args))
		names := make([]string, len(f.Args))
		named := false
		for i, a := range f.Args {
			args[i] = int64(a.T.Oid())
			names[i] = a.Name
			named = named || a.Name != ""
		}
		x := row{
			"oid": int64(f.ID), "proname": f.Name, "pronamespace": int64(ns), "proowner": owner,
			"prolang": int64(sqlLangOID), "procost": float64(100), "prorows": float64(0), "prosupport": "-",
			"prokind": "f", "proisstrict": f.Strict, "provolatile": string(f.Volatility),
			"proparallel": "u", "pronargs": len(args), "prorettype": int64(f.Ret.Oid()), "proargtypes": args,
			"prosrc": f.Body,
		}
		if named {
			x["proargnames"] = names
		}
		out = append(out, x)
	}
	return out
}
