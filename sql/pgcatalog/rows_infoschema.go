package pgcatalog

import (
	"strconv"

	"github.com/sabotsql/sabotsql/sql/types"
)

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

// infoSchemaRows builds the information_schema views. Unlike PostgreSQL,
// materialized views appear in tables (as table_type 'VIEW') and views,
// since they are SabotSQL's main objects and dashboards list them there.
func (t *Tables) infoSchemaRows(name string) []row {
	switch name {
	case "schemata":
		return t.snap().schemataRows()
	case "tables":
		return t.snap().isTablesRows()
	case "columns":
		return t.snap().isColumnsRows()
	case "views":
		return t.snap().isViewsRows()
	case "table_constraints", "key_column_usage", "constraint_column_usage":
		return t.snap().isConstraintRows(name)
	case "routines":
		return t.routineRows()
	case "information_schema_catalog_name":
		return []row{{"catalog_name": t.info.database()}}
	case "enabled_roles", "applicable_roles":
		s := t.snap()
		var out []row
		for _, r := range s.roles {
			if name == "enabled_roles" {
				out = append(out, row{"role_name": r.name})
			} else {
				out = append(out, row{"grantee": r.name, "role_name": r.name, "is_grantable": "YES"})
			}
		}
		return out
	}
	return nil
}

func (s *snapshot) schemataRows() []row {
	out := make([]row, 0, len(s.schemas))
	for _, sc := range s.schemas {
		out = append(out, row{"catalog_name": s.info.database(), "schema_name": sc.Name, "schema_owner": s.owner.name})
	}
	return out
}

func tableType(r *relInfo) (string, bool) {
	switch r.kind {
	case 'r':
		return "BASE TABLE", true
	case 'v', 'm':
		return "VIEW", true
	case 'f':
		return "FOREIGN", true
	}
	return "", false
}

func (s *snapshot) isTablesRows() []row {
	var out []row
	for _, r := range s.rels {
		tt, ok := tableType(r)
		if !ok {
			continue
		}
		out = append(out, row{
			"table_catalog": s.info.database(), "table_schema": r.schema, "table_name": r.name, "table_type": tt,
			"is_insertable_into": yesNo(r.kind == 'r' && !r.system), "is_typed": "NO",
		})
	}
	return out
}

// dataType is information_schema's data_type for t.
func dataType(t types.T) string {
	if t.Family == types.FamArray {
		return "ARRAY"
	}
	return t.Unmodified().String()
}

func (s *snapshot) isColumnsRows() []row {
	var out []row
	for _, r := range s.rels {
		if _, ok := tableType(r); !ok {
			continue
		}
		for i, c := range r.cols {
			x := row{
				"table_catalog": s.info.database(), "table_schema": r.schema, "table_name": r.name,
				"column_name": c.name, "ordinal_position": c.attnum, "is_nullable": yesNo(!c.notNull),
				"data_type": dataType(c.t), "udt_catalog": s.info.database(), "udt_schema": "pg_catalog",
				"udt_name": c.t.ShortName(), "dtd_identifier": strconv.Itoa(i + 1), "is_self_referencing": "NO",
				"is_identity": "NO", "identity_cycle": "NO", "is_generated": "NEVER",
				"is_updatable": yesNo(r.kind == 'r' && !r.system),
			}
			if c.def != "" {
				x["column_default"] = c.def
			}
			fillTypeFacts(x, c.t)
			out = append(out, x)
		}
	}
	return out
}

// fillTypeFacts sets the length/precision/scale columns of a columns row.
func fillTypeFacts(x row, t types.T) {
	switch t.Family {
	case types.FamVarchar, types.FamBpchar:
		if t.Mod >= 0 {
			x["character_maximum_length"] = int(t.Mod)
			x["character_octet_length"] = int(t.Mod) * 4
		} else {
			x["character_octet_length"] = 1073741824
		}
	case types.FamText:
		x["character_octet_length"] = 1073741824
	case types.FamInt2:
		x["numeric_precision"], x["numeric_precision_radix"], x["numeric_scale"] = 16, 2, 0
	case types.FamInt4:
		x["numeric_precision"], x["numeric_precision_radix"], x["numeric_scale"] = 32, 2, 0
	case types.FamInt8:
		x["numeric_precision"], x["numeric_precision_radix"], x["numeric_scale"] = 64, 2, 0
	case types.FamFloat4:
		x["numeric_precision"], x["numeric_precision_radix"] = 24, 2
	case types.FamFloat8:
		x["numeric_precision"], x["numeric_precision_radix"] = 53, 2
	case types.FamNumeric:
		x["numeric_precision_radix"] = 10
		if p, sc, ok := t.NumericPrecisionScale(); ok {
			x["numeric_precision"], x["numeric_scale"] = p, sc
		}
	case types.FamDate:
		x["datetime_precision"] = 0
	case types.FamTime, types.FamTimestamp, types.FamTimestampTZ, types.FamInterval:
		p := 6
		if t.Mod >= 0 {
			p = int(t.Mod)
		}
		x["datetime_precision"] = p
	}
}

func (s *snapshot) isViewsRows() []row {
	var out []row
	for _, r := range s.rels {
		if r.kind != 'v' && r.kind != 'm' {
			continue
		}
		x := row{
			"table_catalog": s.info.database(), "table_schema": r.schema, "table_name": r.name,
			"check_option": "NONE", "is_updatable": "NO", "is_insertable_into": "NO",
			"is_trigger_updatable": "NO", "is_trigger_deletable": "NO", "is_trigger_insertable_into": "NO",
		}
		if !r.system {
			x["view_definition"] = r.viewSQL
		}
		out = append(out, x)
	}
	return out
}

func (s *snapshot) isConstraintRows(rel string) []row {
	var out []row
	db := s.info.database()
	for i := range s.indexes {
		ix := &s.indexes[i]
		t, ok := s.byOID[int64(ix.TableID)]
		if !ok || !ix.Primary && !ix.Unique {
			continue
		}
		base := row{"constraint_catalog": db, "constraint_schema": t.schema, "constraint_name": ix.Name,
			"table_catalog": db, "table_schema": t.schema, "table_name": t.name}
		switch rel {
		case "table_constraints":
			ct := "UNIQUE"
			if ix.Primary {
				ct = "PRIMARY KEY"
			}
			base["constraint_type"] = ct
			base["is_deferrable"], base["initially_deferred"], base["enforced"], base["nulls_distinct"] = "NO", "NO", "YES", "YES"
			out = append(out, base)
		default:
			for j, c := range ix.Columns {
				x := row{}
				for k, v := range base {
					x[k] = v
				}
				x["column_name"] = colNameAt(t, c)
				if rel == "key_column_usage" {
					x["ordinal_position"] = j + 1
				}
				out = append(out, x)
			}
		}
	}
	return out
}

func (t *Tables) routineRows() []row {
	procs := procsOf(t.reg)
	db := t.info.database()
	out := make([]row, 0, len(procs))
	for i := range procs {
		p := &procs[i]
		x := row{
			"specific_catalog": db, "specific_schema": "pg_catalog", "specific_name": p.name + "_" + strconv.FormatInt(p.oid, 10),
			"routine_catalog": db, "routine_schema": "pg_catalog", "routine_name": p.name, "routine_type": "FUNCTION",
			"data_type": typeNameOf(p.ret), "type_udt_catalog": db, "type_udt_schema": "pg_catalog",
			"routine_body": "EXTERNAL", "external_name": p.name, "external_language": "INTERNAL",
			"parameter_style": "GENERAL", "is_deterministic": yesNo(p.volatility == 'i'), "sql_data_access": "MODIFIES",
			"is_null_call": yesNo(p.strict), "schema_level_routine": "YES", "max_dynamic_result_sets": 0,
			"is_user_defined_cast": "NO", "is_implicitly_invocable": "NO", "security_type": "INVOKER",
			"as_locator": "NO", "is_udt_dependent": "NO",
		}
		if rt, ok := types.FromOid(uint32(p.ret)); ok {
			x["type_udt_name"] = rt.ShortName()
		}
		if p.kind == 'a' || p.kind == 'w' {
			x["routine_type"] = nil
		}
		out = append(out, x)
	}
	return out
}
