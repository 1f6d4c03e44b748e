package pgcatalog

import (
	"strings"

	"github.com/sabotsql/sabotsql/sql/types"
)

// colDef is one column of an emulated relation as PostgreSQL 15 declares it.
type colDef struct {
	name    string
	pgType  string // format_type output, quotes removed ("char", not "\"char\"")
	notNull bool
}

// relDef is one emulated relation (see schema.gen.go).
type relDef struct {
	schema string
	name   string
	oid    int64
	kind   byte // 'r' catalog table, 'v' system view
	cols   []colDef
}

// sqlType maps a PostgreSQL 15 column type of the system catalogs to the
// SabotSQL type that represents it. Types SabotSQL does not have become
// their nearest stand-in:
//
//	"char"                   text (one-character strings: relkind, typtype, …)
//	int2vector, smallint[]   smallint[] (1-based, unlike int2vector's 0-based subscripts)
//	oidvector, oid[], regtype[]  oid[]
//	aclitem[], "char"[]      text[]
//	regproc                  text holding the function name ("-" for none)
//	regnamespace, regrole    oid
//	xid                      bigint
//	pg_node_tree, pg_lsn, inet, anything else  text
//	information_schema.sql_identifier  name
//	information_schema.cardinal_number integer
//	information_schema.character_data, yes_or_no  text
//	information_schema.time_stamp      timestamptz
func sqlType(pg string) types.T {
	switch pg {
	case "boolean":
		return types.BoolT
	case "smallint":
		return types.Int2T
	case "integer", "information_schema.cardinal_number":
		return types.Int4T
	case "bigint", "xid":
		return types.Int8T
	case "real":
		return types.Float4T
	case "double precision":
		return types.Float8T
	case "oid", "regnamespace", "regrole":
		return types.OidT
	case "regclass":
		return types.RegclassT
	case "regtype":
		return types.RegtypeT
	case "name", "information_schema.sql_identifier":
		return types.NameT
	case "interval":
		return types.IntervalT
	case "timestamp with time zone", "information_schema.time_stamp":
		return types.TimestampTZT
	case "bytea":
		return types.ByteaT
	case "int2vector", "smallint[]":
		return types.ArrayOf(types.Int2T)
	case "oidvector", "oid[]", "regtype[]":
		return types.ArrayOf(types.OidT)
	case "name[]":
		return types.ArrayOf(types.NameT)
	case "real[]":
		return types.ArrayOf(types.Float4T)
	}
	if strings.HasSuffix(pg, "[]") {
		return types.ArrayOf(types.TextT)
	}
	return types.TextT
}

// lookupDef finds an emulated relation. schema "" searches pg_catalog only:
// information_schema is not on PostgreSQL's default search path.
func lookupDef(schema, name string) (*relDef, bool) {
	if schema == "" {
		schema = "pg_catalog"
	}
	for i := range pgRelations {
		d := &pgRelations[i]
		if d.name == name && d.schema == schema {
			return d, true
		}
	}
	return nil, false
}

// defByOID finds an emulated relation by its OID.
func defByOID(oid int64) (*relDef, bool) {
	for i := range pgRelations {
		if pgRelations[i].oid == oid {
			return &pgRelations[i], true
		}
	}
	return nil, false
}
