package pgcatalog

import (
	"sort"
	"strings"

	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/types"
)

// OIDs of built-in objects (PostgreSQL 15's values where one exists) and the
// bases of synthesized OID ranges (see doc.go, invariant 3).
const (
	bootstrapRoleOID  = 10
	pgCatalogNSOID    = 11
	databaseOID       = 5
	heapAMOID         = 2
	btreeAMOID        = 403
	hashAMOID         = 405
	defaultCollOID    = 100
	cCollOID          = 950
	defaultTblspcOID  = 1663
	globalTblspcOID   = 1664
	internalLangOID   = 12
	sqlLangOID        = 14
	constraintOIDBase = 0x20000000
	pkIndexOIDBase    = 0x40000000
	procOIDBase       = 0x70000000
	attrdefOIDBase    = 0x78000000
)

// colInfo is one column of a relation as the catalogs show it.
type colInfo struct {
	name    string
	t       types.T
	notNull bool
	def     string // DEFAULT expression text, "" when none
	attnum  int
}

// relInfo is one pg_class row in the making.
type relInfo struct {
	oid    int64
	schema string
	nsOID  int64
	name   string
	kind   byte // 'r' table, 'v' view, 'm' materialized view, 'i' index, 'f' source
	cols   []colInfo
	// viewSQL is the defining query of views and materialized views.
	viewSQL string
	// index is set for kind 'i'.
	index *IndexInfo
	// tableOID is the indexed relation of an index.
	tableOID int64
	// system marks emulated catalog relations.
	system bool
}

type roleInfo struct {
	oid   int64
	name  string
	super bool
}

// snapshot is everything the row builders read, taken from the catalog once
// per Resolve so that one relation's rows are mutually consistent.
type snapshot struct {
	info    Info
	schemas []struct {
		Name string
		ID   catalog.ObjectID
	}
	rels    []*relInfo
	byOID   map[int64]*relInfo
	indexes []IndexInfo
	onTable map[int64][]*IndexInfo // table OID → its indexes
	roles   []roleInfo
	owner   roleInfo
}

func takeSnapshot(cat *catalog.Catalog, info Info) *snapshot {
	s := &snapshot{info: info, schemas: cat.Schemas(), byOID: map[int64]*relInfo{}}
	s.roles, s.owner = rolesOf(cat, info)
	for _, r := range cat.Relations() {
		ri := userRel(cat, r)
		if ri == nil {
			continue
		}
		s.add(ri)
	}
	s.indexes = indexesOf(cat, info)
	s.onTable = map[int64][]*IndexInfo{}
	for i := range s.indexes {
		ix := &s.indexes[i]
		s.onTable[int64(ix.TableID)] = append(s.onTable[int64(ix.TableID)], ix)
		t, ok := s.byOID[int64(ix.TableID)]
		if !ok {
			continue
		}
		ri := &relInfo{oid: int64(ix.ID), schema: t.schema, nsOID: t.nsOID, name: ix.Name, kind: 'i', index: ix, tableOID: t.oid}
		for j, c := range ix.Columns {
			if c >= 0 && c < len(t.cols) {
				tc := t.cols[c]
				ri.cols = append(ri.cols, colInfo{name: tc.name, t: tc.t, notNull: tc.notNull, attnum: j + 1})
			}
		}
		s.add(ri)
	}
	isOID := int64(0)
	if id, ok := cat.SchemaID("information_schema"); ok {
		isOID = int64(id)
	}
	for i := range pgRelations {
		s.add(virtualRel(&pgRelations[i], isOID))
	}
	return s
}

func (s *snapshot) add(r *relInfo) {
	s.rels = append(s.rels, r)
	s.byOID[r.oid] = r
}

// indexesOn lists the indexes of relation oid.
func (s *snapshot) indexesOn(oid int64) []*IndexInfo { return s.onTable[oid] }

func (s *snapshot) nsOID(name string) int64 {
	for _, sc := range s.schemas {
		if sc.Name == name {
			return int64(sc.ID)
		}
	}
	return 0
}

func (s *snapshot) roleName(oid int64) string {
	for _, r := range s.roles {
		if r.oid == oid {
			return r.name
		}
	}
	return s.owner.name
}

// userRel converts a catalog relation; sinks (no readable rows) give nil.
func userRel(cat *catalog.Catalog, r catalog.Relation) *relInfo {
	ri := &relInfo{oid: int64(r.ObjID()), schema: r.SchemaName(), name: r.RelName()}
	if id, ok := cat.SchemaID(ri.schema); ok {
		ri.nsOID = int64(id)
	}
	switch r.RelKind() {
	case catalog.KindTable:
		ri.kind = 'r'
	case catalog.KindView:
		ri.kind = 'v'
	case catalog.KindMaterializedView:
		ri.kind = 'm'
	case catalog.KindSource:
		ri.kind = 'f'
	default:
		return nil
	}
	if v, ok := r.(*catalog.View); ok {
		ri.viewSQL = parser.DisplayAsOf(v.SQL)
	}
	for i, c := range r.Cols() {
		if c.Hidden {
			continue
		}
		// View columns are never NOT NULL in PostgreSQL's catalogs.
		notNull := c.NotNull && ri.kind != 'v' && ri.kind != 'm'
		ri.cols = append(ri.cols, colInfo{name: c.Name, t: c.T, notNull: notNull, def: c.Default, attnum: i + 1})
	}
	if t, ok := r.(*catalog.Table); ok {
		for _, k := range t.PrimaryKey {
			for j := range ri.cols {
				if ri.cols[j].attnum == k+1 {
					ri.cols[j].notNull = true
				}
			}
		}
	}
	return ri
}

func virtualRel(d *relDef, isOID int64) *relInfo {
	ri := &relInfo{oid: d.oid, schema: d.schema, name: d.name, kind: d.kind, system: true, nsOID: pgCatalogNSOID}
	if d.schema == "information_schema" {
		ri.nsOID = isOID
	}
	for i, c := range d.cols {
		ri.cols = append(ri.cols, colInfo{name: c.name, t: sqlType(c.pgType), notNull: c.notNull, attnum: i + 1})
	}
	return ri
}

// rolesOf lists the roles and picks the owner shown for every object: the
// first superuser (lowest id), else the first role, else a bootstrap role
// named after the session user with PostgreSQL's bootstrap OID 10.
func rolesOf(cat *catalog.Catalog, info Info) ([]roleInfo, roleInfo) {
	var roles []roleInfo
	for _, r := range cat.Roles() {
		roles = append(roles, roleInfo{oid: int64(r.ID), name: r.Name, super: r.Superuser})
	}
	if len(roles) == 0 {
		boot := roleInfo{oid: bootstrapRoleOID, name: info.user(), super: true}
		return []roleInfo{boot}, boot
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i].oid < roles[j].oid })
	owner := roles[0]
	for _, r := range roles {
		if r.super {
			owner = r
			break
		}
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i].name < roles[j].name })
	return roles, owner
}

// indexesOf returns the engine's indexes plus a synthesized primary-key
// index for each table that has a primary key the engine did not list.
func indexesOf(cat *catalog.Catalog, info Info) []IndexInfo {
	var out []IndexInfo
	if info.Indexes != nil {
		out = append(out, info.Indexes()...)
	}
	hasPK := map[catalog.ObjectID]bool{}
	for _, ix := range out {
		if ix.Primary {
			hasPK[ix.TableID] = true
		}
	}
	for _, r := range cat.Relations() {
		t, ok := r.(*catalog.Table)
		if !ok || len(t.PrimaryKey) == 0 || hasPK[t.ID] {
			continue
		}
		name := t.PKIndexName
		if name == "" {
			name = t.Name + "_pkey"
		}
		out = append(out, IndexInfo{
			ID: pkIndexOIDBase + t.ID, Name: name, TableID: t.ID,
			Columns: append([]int(nil), t.PrimaryKey...), Unique: true, Primary: true,
		})
	}
	for i := range out {
		if out[i].Method == "" {
			out[i].Method = "btree"
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// findRel resolves any relation OID: user relations, indexes, emulated
// catalogs.
func findRel(cat *catalog.Catalog, info Info, oid int64) (*relInfo, bool) {
	if oid < 0 || oid > 0xffffffff {
		return nil, false
	}
	if r, ok := cat.ByID(catalog.ObjectID(oid)); ok {
		if ri := userRel(cat, r); ri != nil {
			return ri, true
		}
	}
	if d, ok := defByOID(oid); ok {
		isOID := int64(0)
		if id, ok := cat.SchemaID("information_schema"); ok {
			isOID = int64(id)
		}
		return virtualRel(d, isOID), true
	}
	// An index: build just its row, not a whole snapshot (callers such as
	// pg_table_is_visible run once per pg_class row).
	for _, ix := range indexesOf(cat, info) {
		if int64(ix.ID) != oid {
			continue
		}
		t, ok := cat.ByID(ix.TableID)
		if !ok {
			return nil, false
		}
		tr := userRel(cat, t)
		if tr == nil {
			return nil, false
		}
		return &relInfo{oid: oid, schema: tr.schema, nsOID: tr.nsOID, name: ix.Name, kind: 'i', tableOID: tr.oid}, true
	}
	return nil, false
}

// qualifiedName renders a relation name as PostgreSQL's deparser does:
// schema-qualified only when the schema is not on the search path.
func qualifiedName(schema, name string) string {
	if schema == "public" || schema == "pg_catalog" {
		return quoteIdent(name)
	}
	return quoteIdent(schema) + "." + quoteIdent(name)
}

// indexDef renders CREATE INDEX text as pg_get_indexdef does.
func indexDef(ix *IndexInfo, table *relInfo) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if ix.Unique {
		b.WriteString("UNIQUE ")
	}
	b.WriteString("INDEX ")
	b.WriteString(quoteIdent(ix.Name))
	b.WriteString(" ON ")
	b.WriteString(qualifiedName(table.schema, table.name))
	b.WriteString(" USING ")
	b.WriteString(ix.Method)
	b.WriteString(" (")
	b.WriteString(strings.Join(indexColNames(ix, table), ", "))
	b.WriteString(")")
	return b.String()
}

func indexColNames(ix *IndexInfo, table *relInfo) []string {
	names := make([]string, 0, len(ix.Columns))
	for _, c := range ix.Columns {
		names = append(names, quoteIdent(colNameAt(table, c)))
	}
	return names
}

// colNameAt returns the name of the column at 0-based catalog position pos.
func colNameAt(r *relInfo, pos int) string {
	for _, c := range r.cols {
		if c.attnum == pos+1 {
			return c.name
		}
	}
	return "?"
}

// constraintDef renders pg_get_constraintdef output for an index-backed constraint.
func constraintDef(ix *IndexInfo, table *relInfo) string {
	kw := "UNIQUE"
	if ix.Primary {
		kw = "PRIMARY KEY"
	}
	return kw + " (" + strings.Join(indexColNames(ix, table), ", ") + ")"
}

// constraintOID is the OID of the constraint an index backs.
func constraintOID(indexOID int64) int64 { return constraintOIDBase + indexOID }
