package pgcatalog

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Info carries the session facts and the engine hooks the emulation needs
// for objects the catalog does not hold. Every hook may be nil.
type Info struct {
	// CurrentUser is the session's user ("sabot" when empty).
	CurrentUser string
	// Database is the connected database ("sabot" when empty).
	Database string
	// ServerVersion is reported by pg_settings.server_version ("15.0" when empty).
	ServerVersion string
	// Settings lists the session's configuration parameters for pg_settings.
	// When nil a small default set is shown.
	Settings func() []Setting
	// Indexes lists secondary and primary-key indexes. Tables with a
	// PrimaryKey but no Primary index in this list get a synthesized one.
	Indexes func() []IndexInfo
	// Activity lists the server's sessions for pg_stat_activity. When nil
	// one row describes the current session.
	Activity func() []Activity
}

// Setting is one row of pg_settings. Empty Context, VarType and Source
// default to "user", "string" and "default".
type Setting struct {
	Name, Setting, Unit, Category, ShortDesc string
	Context, VarType, Source                 string
	MinVal, MaxVal                           string // "" shows as NULL
	EnumVals                                 []string
	BootVal, ResetVal                        string
	PendingRestart                           bool
}

// IndexInfo describes one index for pg_class/pg_index/pg_constraint.
type IndexInfo struct {
	// ID is the index's OID (from catalog.Catalog.NextID).
	ID   catalog.ObjectID
	Name string
	// TableID is the indexed relation (a table or materialized view).
	TableID catalog.ObjectID
	// Columns are 0-based positions of the indexed columns in the relation.
	Columns []int
	Unique  bool
	Primary bool
	// Method is the access method, "btree" when empty.
	Method string
}

// Activity is one row of pg_stat_activity.
type Activity struct {
	PID             int32
	User            string
	Database        string
	ApplicationName string
	ClientAddr      string // "" shows as NULL
	State           string // "active", "idle", …
	Query           string
	BackendStart    types.TimestampTZ
	QueryStart      types.TimestampTZ
}

func (i Info) user() string {
	if i.CurrentUser == "" {
		return "sabot"
	}
	return i.CurrentUser
}

func (i Info) database() string {
	if i.Database == "" {
		return "sabot"
	}
	return i.Database
}

func (i Info) version() string {
	if i.ServerVersion == "" {
		return "15.0"
	}
	return i.ServerVersion
}

// Tables emulates pg_catalog and information_schema relations over a
// catalog. It implements planner.VirtualTables. A Tables holds no state of
// its own beyond its inputs: every Resolve reads the catalog afresh, so one
// Tables may serve a whole session; it is safe for concurrent use when the
// hooks in Info are.
type Tables struct {
	cat  *catalog.Catalog
	reg  *kernels.Registry
	info Info
}

var _ planner.VirtualTables = (*Tables)(nil)

// New returns the emulation for one session. reg may be nil (pg_proc is
// then empty).
func New(cat *catalog.Catalog, reg *kernels.Registry, info Info) *Tables {
	return &Tables{cat: cat, reg: reg, info: info}
}

// Resolve returns a Values node holding the current rows of the named
// relation. schema is "" (the search path: only pg_catalog names are
// virtual there), "pg_catalog" or "information_schema". Each call builds a
// fresh node from the catalog as it is now.
func (t *Tables) Resolve(schema, name string) (planner.Node, bool) {
	d, ok := lookupDef(schema, name)
	if !ok {
		return nil, false
	}
	v, err := t.values(d)
	if err != nil {
		// A row builder disagreed with the generated schema: a bug. Serve
		// the relation empty rather than fail the client's query.
		slog.Error("pgcatalog: building virtual relation", "relation", d.schema+"."+d.name, "err", err)
		v = &planner.Values{Out: outSchema(d)}
	}
	return v, true
}

// OID resolves a relation name the catalog does not hold for regclass
// input ('pg_class'::regclass): emulated catalogs, indexes, and, as
// PostgreSQL's regclass input does, a string of digits meaning the OID
// itself ('16384'::regclass, as psql sends).
func (t *Tables) OID(schema, name string) (int64, bool) {
	if d, ok := lookupDef(schema, name); ok {
		return d.oid, true
	}
	if schema == "" && name != "" && len(name) <= 10 && strings.Trim(name, "0123456789") == "" {
		if n, err := strconv.ParseInt(name, 10, 64); err == nil && n <= 0xffffffff {
			return n, true
		}
	}
	s := takeSnapshot(t.cat, t.info)
	for _, r := range s.rels {
		if r.kind == 'i' && r.name == name && (r.schema == schema || schema == "" && r.schema == "public") {
			return r.oid, true
		}
	}
	return 0, false
}

// RegclassName renders a relation OID as regclass output does: the name,
// schema-qualified when the schema is not on the search path (public,
// pg_catalog), quoted when needed; unknown OIDs print as the number.
func (t *Tables) RegclassName(oid int64) string {
	return regclassName(t.cat, t.info, oid)
}

func regclassName(cat *catalog.Catalog, info Info, oid int64) string {
	if r, ok := findRel(cat, info, oid); ok {
		return qualifiedName(r.schema, r.name)
	}
	return fmt.Sprint(oid)
}

func outSchema(d *relDef) planner.Schema {
	out := make(planner.Schema, len(d.cols))
	for i, c := range d.cols {
		out[i] = planner.Column{Name: c.name, T: sqlType(c.pgType), Table: d.name}
	}
	return out
}

// values materializes d's rows into a Values node.
func (t *Tables) values(d *relDef) (*planner.Values, error) {
	out := outSchema(d)
	rows := t.rows(d)
	pos := make(map[string]int, len(d.cols))
	for i, c := range d.cols {
		pos[c.name] = i
	}
	v := &planner.Values{Out: out, Rows: make([][]planner.Expr, 0, len(rows))}
	for _, r := range rows {
		for k := range r {
			if _, ok := pos[k]; !ok {
				return nil, fmt.Errorf("%s.%s has no column %q", d.schema, d.name, k)
			}
		}
		exprs := make([]planner.Expr, len(d.cols))
		for i, c := range d.cols {
			ct := out[i].T
			val, set := r[c.name]
			var dat types.Datum
			switch {
			case set:
				var err error
				if dat, err = toDatum(val, ct); err != nil {
					return nil, fmt.Errorf("%s.%s.%s: %w", d.schema, d.name, c.name, err)
				}
			case c.notNull:
				dat = zeroDatum(ct)
			}
			exprs[i] = &planner.Const{Val: dat, T: ct}
		}
		v.Rows = append(v.Rows, exprs)
	}
	return v, nil
}

// row is one row under construction: column name → Go value (see toDatum).
// Columns left out are NULL, or the type's zero value when NOT NULL.
type row map[string]any

// toDatum converts a builder's Go value to a Datum of type t.
func toDatum(v any, t types.T) (types.Datum, error) {
	if v == nil {
		return nil, nil
	}
	if t.Family == types.FamArray {
		elem := t.ElemType()
		var elems []types.Datum
		switch x := v.(type) {
		case []string:
			for _, s := range x {
				elems = append(elems, s)
			}
		case []int64:
			for _, n := range x {
				elems = append(elems, n)
			}
		case *types.Array:
			return x, nil
		default:
			return nil, fmt.Errorf("cannot store %T in %s", v, t)
		}
		for _, e := range elems {
			if _, err := toDatum(e, elem); err != nil {
				return nil, err
			}
		}
		if elems == nil {
			elems = []types.Datum{}
		}
		return &types.Array{Elem: elem, Elems: elems}, nil
	}
	switch t.Family {
	case types.FamBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case types.FamInt2, types.FamInt4, types.FamInt8, types.FamOid, types.FamRegclass, types.FamRegtype:
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int16:
			return int64(x), nil
		case int32:
			return int64(x), nil
		case int64:
			return x, nil
		case uint32:
			return int64(x), nil
		case catalog.ObjectID:
			return int64(x), nil
		}
	case types.FamFloat4, types.FamFloat8:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int:
			return float64(x), nil
		}
	case types.FamText, types.FamName, types.FamVarchar, types.FamBpchar:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case types.FamTimestampTZ:
		if ts, ok := v.(types.TimestampTZ); ok {
			return ts, nil
		}
	case types.FamInterval:
		if iv, ok := v.(types.Interval); ok {
			return iv, nil
		}
	case types.FamBytea:
		if b, ok := v.([]byte); ok {
			return b, nil
		}
	}
	return nil, fmt.Errorf("cannot store %T in %s", v, t)
}

// zeroDatum is the value of a NOT NULL column a builder left unset.
func zeroDatum(t types.T) types.Datum {
	switch t.Family {
	case types.FamBool:
		return false
	case types.FamInt2, types.FamInt4, types.FamInt8, types.FamOid, types.FamRegclass, types.FamRegtype:
		return int64(0)
	case types.FamFloat4, types.FamFloat8:
		return float64(0)
	case types.FamText, types.FamName, types.FamVarchar, types.FamBpchar:
		return ""
	case types.FamArray:
		return &types.Array{Elem: t.ElemType(), Elems: []types.Datum{}}
	}
	return nil
}
