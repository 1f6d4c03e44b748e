package types

import (
	"fmt"
	"strings"
)

// Family is the kind of a SQL type, independent of modifiers.
type Family uint8

// The supported type families.
const (
	FamUnknown Family = iota // an untyped literal ('foo', NULL) before resolution
	FamBool
	FamInt2
	FamInt4
	FamInt8
	FamFloat4
	FamFloat8
	FamNumeric
	FamText
	FamVarchar
	FamBpchar
	FamBytea
	FamDate
	FamTime
	FamTimestamp
	FamTimestampTZ
	FamInterval
	FamArray // one-dimensional array of Elem
	FamOid   // object identifier (pg_catalog), held as int64
	FamRegclass
	FamRegtype
	FamName   // pg_catalog name type, held as string
	FamRecord // anonymous row (only in catalog emulation and ROW(...))
	FamVoid
	// FamAny is the pseudo-type of polymorphic function arguments
	// (PostgreSQL's anyelement); it never types a value.
	FamAny
	// FamAnyArray is the pseudo-type anyarray.
	FamAnyArray
	// FamJSONB is jsonb, held as its canonical text (jsonb.go). New
	// families go last: family numbers are stored in Arrow field metadata.
	FamJSONB
	numFamilies
)

// Oid values of PostgreSQL's built-in types, as reported over the wire.
const (
	OidBool        uint32 = 16
	OidBytea       uint32 = 17
	OidChar        uint32 = 18
	OidName        uint32 = 19
	OidInt8        uint32 = 20
	OidInt2        uint32 = 21
	OidInt2Vector  uint32 = 22
	OidInt4        uint32 = 23
	OidRegproc     uint32 = 24
	OidText        uint32 = 25
	OidOid         uint32 = 26
	OidOidVector   uint32 = 30
	OidFloat4      uint32 = 700
	OidFloat8      uint32 = 701
	OidUnknown     uint32 = 705
	OidBpchar      uint32 = 1042
	OidVarchar     uint32 = 1043
	OidDate        uint32 = 1082
	OidTime        uint32 = 1083
	OidTimestamp   uint32 = 1114
	OidTimestampTZ uint32 = 1184
	OidInterval    uint32 = 1186
	OidNumeric     uint32 = 1700
	OidRegclass    uint32 = 2205
	OidRegtype     uint32 = 2206
	OidRecord      uint32 = 2249
	OidVoid        uint32 = 2278
	OidBoolArray   uint32 = 1000
	OidInt2Array   uint32 = 1005
	OidInt4Array   uint32 = 1007
	OidTextArray   uint32 = 1009
	OidBpcharArray uint32 = 1014
	OidVarcharArr  uint32 = 1015
	OidInt8Array   uint32 = 1016
	OidFloat4Array uint32 = 1021
	OidFloat8Array uint32 = 1022
	OidOidArray    uint32 = 1028
	OidByteaArray  uint32 = 1001
	OidDateArray   uint32 = 1182
	OidTimeArray   uint32 = 1183
	OidTsArray     uint32 = 1115
	OidTstzArray   uint32 = 1185
	OidIntervalArr uint32 = 1187
	OidNumericArr  uint32 = 1231
	OidNameArray   uint32 = 1003
	OidJSONB       uint32 = 3802
	OidJSONBArray  uint32 = 3807
)

// T is a SQL type: a family plus a type modifier. T is comparable.
//
// Mod is PostgreSQL's typmod: -1 when absent; for varchar(n)/char(n) it is n
// (not n+4 as in PostgreSQL's catalogs: see PGTypmod); for numeric(p,s) it is
// p<<16 | s. Elem is the element family of an Array.
type T struct {
	Family Family
	Mod    int32
	Elem   Family
}

// Convenient unmodified types.
var (
	UnknownT     = T{Family: FamUnknown, Mod: -1}
	BoolT        = T{Family: FamBool, Mod: -1}
	Int2T        = T{Family: FamInt2, Mod: -1}
	Int4T        = T{Family: FamInt4, Mod: -1}
	Int8T        = T{Family: FamInt8, Mod: -1}
	Float4T      = T{Family: FamFloat4, Mod: -1}
	Float8T      = T{Family: FamFloat8, Mod: -1}
	NumericT     = T{Family: FamNumeric, Mod: -1}
	TextT        = T{Family: FamText, Mod: -1}
	VarcharT     = T{Family: FamVarchar, Mod: -1}
	BpcharT      = T{Family: FamBpchar, Mod: -1}
	ByteaT       = T{Family: FamBytea, Mod: -1}
	DateT        = T{Family: FamDate, Mod: -1}
	TimeT        = T{Family: FamTime, Mod: -1}
	TimestampT   = T{Family: FamTimestamp, Mod: -1}
	TimestampTZT = T{Family: FamTimestampTZ, Mod: -1}
	IntervalT    = T{Family: FamInterval, Mod: -1}
	OidT         = T{Family: FamOid, Mod: -1}
	RegclassT    = T{Family: FamRegclass, Mod: -1}
	RegtypeT     = T{Family: FamRegtype, Mod: -1}
	NameT        = T{Family: FamName, Mod: -1}
	RecordT      = T{Family: FamRecord, Mod: -1}
	VoidT        = T{Family: FamVoid, Mod: -1}
	AnyT         = T{Family: FamAny, Mod: -1}
	AnyArrayT    = T{Family: FamAnyArray, Mod: -1}
	JSONBT       = T{Family: FamJSONB, Mod: -1}
)

// ArrayOf returns the one-dimensional array type of elem.
func ArrayOf(elem T) T { return T{Family: FamArray, Mod: -1, Elem: elem.Family} }

// ElemType returns the element type of an array type.
func (t T) ElemType() T { return T{Family: t.Elem, Mod: -1} }

// NumericMod encodes numeric(p,s) as a typmod.
func NumericMod(precision, scale int) int32 { return int32(precision<<16 | (scale & 0xffff)) }

// NumericPrecisionScale decodes a numeric typmod; ok is false when absent.
func (t T) NumericPrecisionScale() (precision, scale int, ok bool) {
	if t.Family != FamNumeric || t.Mod < 0 {
		return 0, 0, false
	}
	return int(t.Mod >> 16), int(int16(t.Mod & 0xffff)), true
}

// WithMod returns t with the given modifier.
func (t T) WithMod(mod int32) T { t.Mod = mod; return t }

// Unmodified returns t without its modifier.
func (t T) Unmodified() T { t.Mod = -1; return t }

// IsInteger reports whether t is smallint, integer or bigint.
func (t T) IsInteger() bool { return t.Family == FamInt2 || t.Family == FamInt4 || t.Family == FamInt8 }

// IsFloat reports whether t is real or double precision.
func (t T) IsFloat() bool { return t.Family == FamFloat4 || t.Family == FamFloat8 }

// IsNumeric reports whether t is in PostgreSQL's numeric category.
func (t T) IsNumeric() bool {
	return t.IsInteger() || t.IsFloat() || t.Family == FamNumeric || t.Family == FamOid
}

// IsString reports whether t is in PostgreSQL's string category.
func (t T) IsString() bool {
	return t.Family == FamText || t.Family == FamVarchar || t.Family == FamBpchar || t.Family == FamName
}

// IsDateTime reports whether t is date, time, timestamp or timestamptz.
func (t T) IsDateTime() bool {
	return t.Family == FamDate || t.Family == FamTime || t.Family == FamTimestamp || t.Family == FamTimestampTZ
}

var familyOids = [numFamilies]uint32{
	FamUnknown: OidUnknown, FamBool: OidBool, FamInt2: OidInt2, FamInt4: OidInt4, FamInt8: OidInt8,
	FamFloat4: OidFloat4, FamFloat8: OidFloat8, FamNumeric: OidNumeric, FamText: OidText,
	FamVarchar: OidVarchar, FamBpchar: OidBpchar, FamBytea: OidBytea, FamDate: OidDate, FamTime: OidTime,
	FamTimestamp: OidTimestamp, FamTimestampTZ: OidTimestampTZ, FamInterval: OidInterval,
	FamOid: OidOid, FamRegclass: OidRegclass, FamRegtype: OidRegtype, FamName: OidName,
	FamRecord: OidRecord, FamVoid: OidVoid, FamJSONB: OidJSONB,
}

var arrayOids = [numFamilies]uint32{
	FamBool: OidBoolArray, FamInt2: OidInt2Array, FamInt4: OidInt4Array, FamInt8: OidInt8Array,
	FamFloat4: OidFloat4Array, FamFloat8: OidFloat8Array, FamNumeric: OidNumericArr, FamText: OidTextArray,
	FamVarchar: OidVarcharArr, FamBpchar: OidBpcharArray, FamBytea: OidByteaArray, FamDate: OidDateArray,
	FamTime: OidTimeArray, FamTimestamp: OidTsArray, FamTimestampTZ: OidTstzArray,
	FamInterval: OidIntervalArr, FamOid: OidOidArray, FamName: OidNameArray, FamJSONB: OidJSONBArray,
}

// Oid returns the PostgreSQL type OID of t.
func (t T) Oid() uint32 {
	if t.Family == FamArray {
		if o := arrayOids[t.Elem]; o != 0 {
			return o
		}
		return OidTextArray
	}
	return familyOids[t.Family]
}

// PGTypmod returns the typmod as PostgreSQL reports it in RowDescription and
// pg_attribute (varchar(n) → n+4, numeric(p,s) → (p<<16|s)+4, else -1).
func (t T) PGTypmod() int32 {
	if t.Mod < 0 {
		return -1
	}
	switch t.Family {
	case FamVarchar, FamBpchar, FamNumeric:
		return t.Mod + 4
	case FamTime, FamTimestamp, FamTimestampTZ, FamInterval:
		return t.Mod
	}
	return -1
}

// FromOid returns the type with the given OID; ok is false if unsupported.
func FromOid(oid uint32) (T, bool) {
	for f, o := range familyOids {
		if o == oid && o != 0 {
			return T{Family: Family(f), Mod: -1}, true
		}
	}
	for f, o := range arrayOids {
		if o == oid && o != 0 {
			return T{Family: FamArray, Mod: -1, Elem: Family(f)}, true
		}
	}
	return UnknownT, false
}

var familyNames = [numFamilies]string{
	FamUnknown: "unknown", FamBool: "boolean", FamInt2: "smallint", FamInt4: "integer", FamInt8: "bigint",
	FamFloat4: "real", FamFloat8: "double precision", FamNumeric: "numeric", FamText: "text",
	FamVarchar: "character varying", FamBpchar: "character", FamBytea: "bytea", FamDate: "date",
	FamTime: "time without time zone", FamTimestamp: "timestamp without time zone",
	FamTimestampTZ: "timestamp with time zone", FamInterval: "interval", FamOid: "oid",
	FamRegclass: "regclass", FamRegtype: "regtype", FamName: "name", FamRecord: "record", FamVoid: "void", FamAny: "anyelement", FamAnyArray: "anyarray",
	FamJSONB: "jsonb",
}

// String returns the type as PostgreSQL's format_type prints it, e.g.
// "character varying(10)", "numeric(10,2)", "integer[]".
func (t T) String() string {
	if t.Family == FamArray {
		return T{Family: t.Elem, Mod: -1}.String() + "[]"
	}
	name := familyNames[t.Family]
	if t.Mod < 0 {
		return name
	}
	switch t.Family {
	case FamVarchar, FamBpchar:
		return fmt.Sprintf("%s(%d)", name, t.Mod)
	case FamNumeric:
		p, s, _ := t.NumericPrecisionScale()
		return fmt.Sprintf("numeric(%d,%d)", p, s)
	case FamTime:
		return fmt.Sprintf("time(%d) without time zone", t.Mod)
	case FamTimestamp:
		return fmt.Sprintf("timestamp(%d) without time zone", t.Mod)
	case FamTimestampTZ:
		return fmt.Sprintf("timestamp(%d) with time zone", t.Mod)
	case FamInterval:
		return intervalTypeString(t)
	}
	return name
}

// ShortName returns PostgreSQL's internal type name (typname): int4, varchar, ….
func (t T) ShortName() string {
	switch t.Family {
	case FamBool:
		return "bool"
	case FamInt2:
		return "int2"
	case FamInt4:
		return "int4"
	case FamInt8:
		return "int8"
	case FamFloat4:
		return "float4"
	case FamFloat8:
		return "float8"
	case FamVarchar:
		return "varchar"
	case FamBpchar:
		return "bpchar"
	case FamTime:
		return "time"
	case FamTimestamp:
		return "timestamp"
	case FamTimestampTZ:
		return "timestamptz"
	case FamArray:
		return "_" + T{Family: t.Elem, Mod: -1}.ShortName()
	}
	return familyNames[t.Family]
}

// ByName resolves a type name as written in SQL (any of PostgreSQL's
// spellings: int, int4, integer, varchar, character varying, float8,
// double precision, timestamptz, …), without modifiers or array marks.
func ByName(name string) (T, bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "bool", "boolean":
		return BoolT, true
	case "int2", "smallint", "smallserial", "serial2":
		return Int2T, true
	case "int", "int4", "integer", "serial", "serial4":
		return Int4T, true
	case "int8", "bigint", "bigserial", "serial8":
		return Int8T, true
	case "float4", "real":
		return Float4T, true
	case "float8", "double precision", "float", "double":
		return Float8T, true
	case "numeric", "decimal":
		return NumericT, true
	case "text", "string":
		return TextT, true
	case "varchar", "character varying":
		return VarcharT, true
	case "bpchar", "char", "character":
		return BpcharT, true
	case "bytea":
		return ByteaT, true
	case "date":
		return DateT, true
	case "time", "time without time zone":
		return TimeT, true
	case "timestamp", "timestamp without time zone":
		return TimestampT, true
	case "timestamptz", "timestamp with time zone":
		return TimestampTZT, true
	case "interval":
		return IntervalT, true
	case "oid", "regnamespace", "regproc", "regprocedure", "regoper", "regoperator", "regrole", "regconfig", "xid", "cid", "tid":
		return OidT, true
	case "regclass":
		return RegclassT, true
	case "regtype":
		return RegtypeT, true
	case "name":
		return NameT, true
	case "record":
		return RecordT, true
	case "void":
		return VoidT, true
	case "unknown":
		return UnknownT, true
	case "jsonb":
		return JSONBT, true
	}
	return UnknownT, false
}
