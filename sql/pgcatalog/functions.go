package pgcatalog

import (
	"fmt"
	"strings"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/types"
)

// funcEnv is the state the catalog-aware functions close over. It reads
// the catalog at call time; the session user comes from the EvalContext.
type funcEnv struct {
	cat  *catalog.Catalog
	reg  *kernels.Registry
	info Info
}

// RegisterFunctions adds the catalog-aware system functions to r:
// pg_get_viewdef, pg_get_indexdef, pg_get_constraintdef, pg_relation_size
// and friends, to_regclass, pg_get_userbyid, obj_description,
// pg_table_is_visible, plus the helpers psql 15's \d queries call
// (pg_relation_is_publishable, pg_get_statisticsobjdef_columns,
// pg_get_function_result/arguments, pg_tablespace_location, pg_get_ruledef).
// Call it before the generic function set so these overloads win.
func RegisterFunctions(r *kernels.Registry, cat *catalog.Catalog, info Info) {
	e := &funcEnv{cat: cat, reg: r, info: info}
	oidT, textT, boolT, int4T := types.OidT, types.TextT, types.BoolT, types.Int4T
	add := func(name string, ret types.T, strict bool, fn func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error), args ...types.T) {
		r.AddScalar(&kernels.ScalarFunc{Name: name, Args: args, Ret: ret, Strict: strict, Volatility: kernels.Stable, Eval: fn})
	}
	viewdef := func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) { return e.viewDef(a[0]), nil }
	add("pg_get_viewdef", textT, true, viewdef, oidT)
	add("pg_get_viewdef", textT, true, viewdef, oidT, boolT)
	add("pg_get_viewdef", textT, true, viewdef, oidT, int4T)
	add("pg_get_viewdef", textT, true, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.viewDefByName(a[0])
	}, textT)
	add("pg_get_viewdef", textT, true, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.viewDefByName(a[0])
	}, textT, boolT)
	add("pg_get_indexdef", textT, true, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.indexDef(a[0], 0), nil
	}, oidT)
	add("pg_get_indexdef", textT, true, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.indexDef(a[0], asInt(a[1])), nil
	}, oidT, int4T, boolT)
	condef := func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) { return e.constraintDef(a[0]), nil }
	add("pg_get_constraintdef", textT, true, condef, oidT)
	add("pg_get_constraintdef", textT, true, condef, oidT, boolT)
	zero := func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) { return int64(0), nil }
	for _, n := range []string{"pg_relation_size", "pg_total_relation_size", "pg_table_size", "pg_indexes_size"} {
		// Only regclass, as PostgreSQL: an oid overload would capture
		// unknown literals ('t') and oid arguments cast implicitly anyway.
		add(n, types.Int8T, true, zero, types.RegclassT)
	}
	add("pg_relation_size", types.Int8T, true, zero, types.RegclassT, textT)
	add("to_regclass", types.RegclassT, true, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.toRegclass(asString(a[0])), nil
	}, textT)
	add("pg_get_userbyid", types.NameT, true, func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.userByID(ctx, asInt(a[0])), nil
	}, oidT)
	null := func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) { return nil, nil }
	add("obj_description", textT, false, null, oidT)
	add("obj_description", textT, false, null, oidT, types.NameT)
	add("pg_table_is_visible", boolT, true, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return e.tableVisible(asInt(a[0])), nil
	}, oidT)
	add("pg_relation_is_publishable", boolT, true, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		r, ok := findRel(e.cat, e.info, asInt(a[0]))
		return ok && r.kind == 'r' && !r.system, nil
	}, types.RegclassT)
	add("pg_get_statisticsobjdef_columns", textT, true, null, oidT)
	add("pg_get_partkeydef", textT, true, null, oidT)
	add("pg_get_ruledef", textT, true, null, oidT)
	add("pg_get_ruledef", textT, true, null, oidT, boolT)
	add("pg_get_triggerdef", textT, true, null, oidT)
	add("pg_get_triggerdef", textT, true, null, oidT, boolT)
	add("pg_tablespace_location", textT, true, func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return "", nil
	}, oidT)
	add("pg_get_function_result", textT, true, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if p, ok := e.proc(asInt(a[0])); ok {
			return typeNameOf(p.ret), nil
		}
		return nil, nil
	}, oidT)
	for _, n := range []string{"pg_get_function_arguments", "pg_get_function_identity_arguments"} {
		add(n, textT, true, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			if p, ok := e.proc(asInt(a[0])); ok {
				return procArgs(&p), nil
			}
			return nil, nil
		}, oidT)
	}
}

func asInt(d types.Datum) int64 {
	switch x := d.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	}
	return 0
}

func asString(d types.Datum) string {
	s, _ := d.(string)
	return s
}

func (e *funcEnv) viewDef(oid types.Datum) types.Datum {
	r, ok := e.cat.ByID(catalog.ObjectID(asInt(oid)))
	if !ok || asInt(oid) < 0 {
		return nil
	}
	if v, ok := r.(*catalog.View); ok {
		return parser.DisplayAsOf(v.SQL)
	}
	return nil
}

func (e *funcEnv) viewDefByName(name types.Datum) (types.Datum, error) {
	oid := e.toRegclass(asString(name))
	if oid == nil {
		return nil, undefinedTable(asString(name))
	}
	return e.viewDef(oid), nil
}

// indexDef implements pg_get_indexdef(oid, col, pretty): the CREATE INDEX
// text for col 0, else the name of the col'th indexed column.
func (e *funcEnv) indexDef(oid types.Datum, col int64) types.Datum {
	s := takeSnapshot(e.cat, e.info)
	r, ok := s.byOID[asInt(oid)]
	if !ok || r.index == nil {
		return nil
	}
	t, ok := s.byOID[r.tableOID]
	if !ok {
		return nil
	}
	if col > 0 {
		if col > int64(len(r.index.Columns)) {
			return ""
		}
		return quoteIdent(colNameAt(t, r.index.Columns[col-1]))
	}
	return indexDef(r.index, t)
}

func (e *funcEnv) constraintDef(oid types.Datum) types.Datum {
	s := takeSnapshot(e.cat, e.info)
	for i := range s.indexes {
		ix := &s.indexes[i]
		if constraintOID(int64(ix.ID)) != asInt(oid) || !ix.Primary && !ix.Unique {
			continue
		}
		if t, ok := s.byOID[int64(ix.TableID)]; ok {
			return constraintDef(ix, t)
		}
	}
	return nil
}

// toRegclass resolves a possibly qualified, possibly quoted relation name
// to its OID, or NULL.
func (e *funcEnv) toRegclass(name string) types.Datum {
	parts, ok := splitQualifiedName(name)
	if !ok || len(parts) > 2 {
		return nil
	}
	schema, rel := "", parts[len(parts)-1]
	if len(parts) == 2 {
		schema = parts[0]
	}
	if schema == "" || schema == "pg_catalog" || schema == "information_schema" {
		if d, ok := lookupDef(schema, rel); ok {
			return d.oid
		}
	}
	if r, ok := e.cat.Lookup(schema, rel); ok {
		return int64(r.ObjID())
	}
	s := takeSnapshot(e.cat, e.info)
	for i := range s.indexes {
		ix := &s.indexes[i]
		t, ok := s.byOID[int64(ix.TableID)]
		if ok && ix.Name == rel && (schema == "" && t.schema == "public" || t.schema == schema) {
			return int64(ix.ID)
		}
	}
	return nil
}

// splitQualifiedName splits a.b."C" into identifiers, folding unquoted
// parts to lower case.
func splitQualifiedName(s string) ([]string, bool) {
	var parts []string
	s = strings.TrimSpace(s)
	for {
		var part string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for {
				if i >= len(s) {
					return nil, false
				}
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			part, s = b.String(), s[i:]
		} else {
			j := strings.IndexByte(s, '.')
			if j < 0 {
				j = len(s)
			}
			part, s = strings.ToLower(strings.TrimSpace(s[:j])), s[j:]
		}
		if part == "" {
			return nil, false
		}
		parts = append(parts, part)
		if s == "" {
			return parts, true
		}
		if s[0] != '.' {
			return nil, false
		}
		s = s[1:]
	}
}

func (e *funcEnv) userByID(ctx *kernels.EvalContext, oid int64) types.Datum {
	roles, owner := rolesOf(e.cat, e.info)
	for _, r := range roles {
		if r.oid == oid {
			if oid == bootstrapRoleOID && ctx != nil && ctx.Session != nil && len(e.cat.Roles()) == 0 {
				return ctx.Session.CurrentUser()
			}
			return r.name
		}
	}
	if oid == owner.oid || oid == bootstrapRoleOID {
		return owner.name
	}
	return fmt.Sprintf("unknown (OID=%d)", oid)
}

// tableVisible: relations in public and pg_catalog (the search path) are
// visible; others are not; unknown OIDs give NULL.
func (e *funcEnv) tableVisible(oid int64) types.Datum {
	r, ok := findRel(e.cat, e.info, oid)
	if !ok {
		return nil
	}
	return r.schema == "public" || r.schema == "pg_catalog"
}

func (e *funcEnv) proc(oid int64) (procInfo, bool) {
	i := oid - procOIDBase
	procs := procsOf(e.reg)
	if i < 0 || i >= int64(len(procs)) {
		return procInfo{}, false
	}
	return procs[i], true
}
