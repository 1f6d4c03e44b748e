package funcs

import (
	"fmt"
	"math"
	"strconv"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Version is what version() reports. Drivers parse the leading
// "PostgreSQL 15.0", so it must stay first.
const Version = "PostgreSQL 15.0 (SabotSQL) on x86_64-pc-linux-gnu, compiled by Go, 64-bit"

// Defaults when the EvalContext carries no session.
const (
	defaultUser     = "sabot"
	defaultDatabase = "sabotsql"
)

func currentUser(ctx *kernels.EvalContext) string {
	if ctx == nil || ctx.Session == nil {
		return defaultUser
	}
	return ctx.Session.CurrentUser()
}

func currentDatabase(ctx *kernels.EvalContext) string {
	if ctx == nil || ctx.Session == nil {
		return defaultDatabase
	}
	return ctx.Session.CurrentDatabase()
}

func (e *env) registerSysInfo() {
	nameT := types.NameT
	oidT := types.OidT
	stable := func(f *kernels.ScalarFunc) { f.Volatility = kernels.Stable }
	constText := func(name string, ret types.T, v string, args ...types.T) {
		stable(e.strict(name, ret, func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) { return v, nil }, args...))
	}
	stable(e.strict("version", textT, func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return Version, nil
	}))
	stable(e.strict("current_database", nameT, func(ctx *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return currentDatabase(ctx), nil
	}))
	for _, n := range []string{"current_catalog"} {
		stable(e.strict(n, nameT, func(ctx *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
			return currentDatabase(ctx), nil
		}))
	}
	stable(e.strict("current_schema", nameT, func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return "public", nil
	}))
	stable(e.strict("current_schemas", types.ArrayOf(nameT), func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if boolArg(a[0]) {
			return &types.Array{Elem: nameT, Elems: []types.Datum{"pg_catalog", "public"}}, nil
		}
		return &types.Array{Elem: nameT, Elems: []types.Datum{"public"}}, nil
	}, boolT))
	for _, n := range []string{"current_user", "session_user", "user", "current_role"} {
		stable(e.strict(n, nameT, func(ctx *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
			return currentUser(ctx), nil
		}))
	}
	setting := func(ctx *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == nil {
			return nil, nil
		}
		name := str(a[0])
		missingOK := len(a) > 1 && boolArg(a[1])
		if ctx != nil && ctx.Session != nil {
			if v, ok := ctx.Session.Setting(name); ok {
				return v, nil
			}
		}
		if missingOK {
			return nil, nil
		}
		return nil, errf(pgerror.UndefinedObject, "unrecognized configuration parameter \"%s\"", name)
	}
	stable(e.strict("current_setting", textT, setting, textT))
	stable(e.strict("current_setting", textT, setting, textT, boolT))
	stable(e.strict("pg_backend_pid", int4T, func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return int64(1), nil
	}))
	nullText := func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) { return nil, nil }
	stable(e.strict("obj_description", textT, nullText, oidT))
	stable(e.strict("obj_description", textT, nullText, oidT, nameT))
	stable(e.strict("col_description", textT, nullText, oidT, int4T))
	stable(e.strict("shobj_description", textT, nullText, oidT, nameT))
	stable(e.strict("pg_get_userbyid", nameT, func(ctx *kernels.EvalContext, _ []types.Datum) (types.Datum, error) {
		return currentUser(ctx), nil
	}, oidT))
	trueFn := func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) { return true, nil }
	for _, n := range []string{"pg_table_is_visible", "pg_type_is_visible", "pg_function_is_visible"} {
		stable(e.strict(n, boolT, trueFn, oidT))
	}
	// has_*_privilege([user,] object, privilege): objects may be named or oids.
	for _, n := range []string{"has_table_privilege", "has_schema_privilege", "has_database_privilege",
		"has_sequence_privilege", "has_function_privilege"} {
		for _, obj := range []types.T{textT, oidT} {
			stable(e.strict(n, boolT, trueFn, obj, textT))
			stable(e.strict(n, boolT, trueFn, nameT, obj, textT))
			stable(e.strict(n, boolT, trueFn, oidT, obj, textT))
		}
	}
	for _, obj := range []types.T{textT, oidT} {
		for _, col := range []types.T{textT, types.Int2T} {
			stable(e.strict("has_column_privilege", boolT, trueFn, obj, col, textT))
			stable(e.strict("has_column_privilege", boolT, trueFn, nameT, obj, col, textT))
			stable(e.strict("has_column_privilege", boolT, trueFn, oidT, obj, col, textT))
		}
	}
	stable(e.strict("pg_encoding_to_char", nameT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		switch i64(a[0]) {
		case 0:
			return "SQL_ASCII", nil
		case 6:
			return "UTF8", nil
		}
		return "", nil
	}, int4T))
	e.strict("pg_get_expr", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return str(a[0]), nil
	}, textT, oidT).Volatility = kernels.Stable
	e.strict("pg_get_expr", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return str(a[0]), nil
	}, textT, oidT, boolT).Volatility = kernels.Stable
	stable(e.lax("format_type", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == nil {
			return nil, nil
		}
		return formatType(uint32(i64(a[0])), a[1]), nil
	}, oidT, int4T))
	constText("pg_get_indexdef", textT, "", oidT)
	constText("pg_get_indexdef", textT, "", oidT, int4T, boolT)
	constText("pg_get_constraintdef", textT, "", oidT)
	constText("pg_get_constraintdef", textT, "", oidT, boolT)
	zero := func(_ *kernels.EvalContext, _ []types.Datum) (types.Datum, error) { return int64(0), nil }
	for _, n := range []string{"pg_total_relation_size", "pg_relation_size", "pg_table_size", "pg_indexes_size"} {
		e.strict(n, int8T, zero, types.RegclassT).Volatility = kernels.Volatile
	}
	e.strict("pg_relation_size", int8T, zero, types.RegclassT, textT).Volatility = kernels.Volatile
	e.strict("pg_size_pretty", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return sizePretty(i64(a[0])), nil
	}, int8T)
}

// formatType renders a type OID with a PostgreSQL typmod (n+4 for
// character types) as format_type does. A NULL typmod gives the SQL name
// without modifier; typmod -1 gives the internal name for bpchar.
func formatType(oid uint32, typmod types.Datum) string {
	t, ok := types.FromOid(oid)
	if !ok {
		return "???"
	}
	mod := int64(-1)
	if typmod != nil {
		mod = i64(typmod)
	}
	base := t
	if t.Family == types.FamArray {
		base = t.ElemType()
	}
	if base.Family == types.FamBpchar && typmod != nil && mod < 0 {
		if t.Family == types.FamArray {
			return "bpchar[]"
		}
		return "bpchar"
	}
	if mod >= 0 {
		switch base.Family {
		case types.FamVarchar, types.FamBpchar:
			if mod >= 4 {
				base.Mod = int32(mod - 4)
			}
		case types.FamNumeric:
			if mod >= 4 {
				base.Mod = int32(mod - 4)
			}
		case types.FamTime, types.FamTimestamp, types.FamTimestampTZ:
			if mod <= 6 {
				base.Mod = int32(mod)
			}
		}
	}
	s := base.String()
	if t.Family == types.FamArray {
		s += "[]"
	}
	return s
}

// sizePretty implements pg_size_pretty(bigint): bytes below 10 kB, then
// kB, MB, GB, TB, PB, each used below 20 units and rounded half away from zero.
func sizePretty(size int64) string {
	type unitDef struct {
		name  string
		limit int64
		round bool
		bits  uint
	}
	units := [...]unitDef{{"bytes", 10 * 1024, false, 0}, {"kB", 20*1024 - 1, true, 10},
		{"MB", 20*1024 - 1, true, 20}, {"GB", 20*1024 - 1, true, 30}, {"TB", 20*1024 - 1, true, 40},
		{"PB", 20*1024 - 1, true, 50}}
	abs := func(v int64) int64 {
		if v == math.MinInt64 {
			return math.MaxInt64
		}
		if v < 0 {
			return -v
		}
		return v
	}
	for i, u := range units {
		if i == len(units)-1 || abs(size) < u.limit {
			if u.round {
				if size < 0 {
					size = (size - 1) / 2
				} else {
					size = (size + 1) / 2
				}
			}
			return strconv.FormatInt(size, 10) + " " + u.name
		}
		next := units[i+1]
		bits := next.bits - u.bits
		if next.round {
			bits--
		}
		if u.round {
			bits++
		}
		size /= int64(1) << bits
	}
	return fmt.Sprint(size)
}
