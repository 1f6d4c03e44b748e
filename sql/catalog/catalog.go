package catalog

import (
	"sort"
	"sync"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// ObjectID identifies a catalog object for its lifetime; never reused.
// Ids double as PostgreSQL OIDs in catalog emulation, so they start above
// the built-in OID range.
type ObjectID uint64

// FirstUserID is the first id handed out to user objects.
const FirstUserID ObjectID = 16384

// Column is one column of a table or view.
type Column struct {
	Name    string
	T       types.T
	NotNull bool
	// Default is the DEFAULT expression's SQL text, "" when none.
	Default string
	// Hidden columns (an internal row id) are not expanded by *.
	Hidden bool
}

// ObjectKind distinguishes relation kinds.
type ObjectKind uint8

// Relation kinds.
const (
	KindTable ObjectKind = iota
	KindView
	KindMaterializedView
	KindSource
	KindSink
	KindIndex
)

// String returns the kind as used in messages ("table", "view", …).
func (k ObjectKind) String() string {
	return [...]string{"table", "view", "materialized view", "source", "sink", "index"}[k]
}

// Relation is a named object with columns: a table, view or materialized view.
type Relation interface {
	ObjID() ObjectID
	RelKind() ObjectKind
	SchemaName() string
	RelName() string
	Cols() []Column
}

// Table is a base table.
type Table struct {
	ID      ObjectID
	Schema  string // namespace, "public" unless given
	Name    string
	Columns []Column
	// PrimaryKey lists column positions of the primary key; empty when none.
	PrimaryKey []int
	// AppendOnly tables reject UPDATE and DELETE (streaming).
	AppendOnly bool
	// Watermark, when set, names the event-time column and its watermark
	// expression text.
	WatermarkColumn string
	WatermarkExpr   string
	// PKIndexName is the name of the primary key's index ("t_pkey").
	PKIndexName string
}

// View is a (non-materialized) view: its query is re-bound when referenced.
type View struct {
	ID      ObjectID
	Schema  string
	Name    string
	SQL     string // the defining SELECT
	Columns []Column
	Kind    ObjectKind // KindView or KindMaterializedView
	// Options are the WITH (…) options of a materialized view.
	Options map[string]string
	// EmitOnWindowClose is set for EMIT ON WINDOW CLOSE views.
	EmitOnWindowClose bool
}

// ObjID etc. implement Relation.
func (t *Table) ObjID() ObjectID     { return t.ID }
func (t *Table) RelKind() ObjectKind { return KindTable }
func (t *Table) SchemaName() string  { return t.Schema }
func (t *Table) RelName() string     { return t.Name }
func (t *Table) Cols() []Column      { return t.Columns }
func (v *View) ObjID() ObjectID      { return v.ID }
func (v *View) RelKind() ObjectKind  { return v.Kind }
func (v *View) SchemaName() string   { return v.Schema }
func (v *View) RelName() string      { return v.Name }
func (v *View) Cols() []Column       { return v.Columns }

// ColumnIndex returns the position of the named column, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Role is a login role.
type Role struct {
	ID        ObjectID
	Name      string
	Superuser bool
	// Verifier is the SCRAM-SHA-256 verifier, "" when no password is set.
	Verifier string
}

// Catalog is the set of all objects. The zero value is not usable: use New.
type Catalog struct {
	mu      sync.RWMutex
	nextID  ObjectID
	schemas map[string]ObjectID
	rels    map[string]map[string]Relation // schema → name → relation
	byID    map[ObjectID]Relation
	deps    map[ObjectID]map[ObjectID]bool // object → its dependents
	roles   map[string]*Role
	funcs   map[string][]*Function // "schema.name" → overloads (function.go)
	version uint64
}

// New returns a catalog holding the built-in schemas and the default role.
func New() *Catalog {
	c := &Catalog{
		nextID:  FirstUserID,
		schemas: map[string]ObjectID{"pg_catalog": 11, "public": 2200, "information_schema": 13000},
		rels:    map[string]map[string]Relation{},
		byID:    map[ObjectID]Relation{},
		deps:    map[ObjectID]map[ObjectID]bool{},
		roles:   map[string]*Role{},
	}
	for s := range c.schemas {
		c.rels[s] = map[string]Relation{}
	}
	return c
}

// Version increases with every change; plans cache against it.
func (c *Catalog) Version() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.version
}

// NextID reserves a fresh object id.
func (c *Catalog) NextID() ObjectID {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	return id
}

// SetNextID raises the id counter (recovery); it never lowers it.
func (c *Catalog) SetNextID(id ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id > c.nextID {
		c.nextID = id
	}
}

// SchemaID returns a schema's id.
func (c *Catalog) SchemaID(name string) (ObjectID, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.schemas[name]
	return id, ok
}

// Schemas lists schema names and ids, sorted by name.
func (c *Catalog) Schemas() []struct {
	Name string
	ID   ObjectID
} {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]struct {
		Name string
		ID   ObjectID
	}, 0, len(c.schemas))
	for n, id := range c.schemas {
		out = append(out, struct {
			Name string
			ID   ObjectID
		}{n, id})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CreateSchema adds a schema (42P06 when it exists, unless ifNotExists).
func (c *Catalog) CreateSchema(name string, ifNotExists bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.schemas[name]; ok {
		if ifNotExists {
			return nil
		}
		return pgerror.New(pgerror.DuplicateSchema, "schema %q already exists", name)
	}
	c.schemas[name] = c.nextID
	c.nextID++
	c.rels[name] = map[string]Relation{}
	c.version++
	return nil
}

// Lookup finds a relation by schema and name. An empty schema searches the
// search path (public, then pg_catalog… catalog emulation is resolved by the
// binder before the catalog is asked).
func (c *Catalog) Lookup(schema, name string) (Relation, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if schema != "" {
		r, ok := c.rels[schema][name]
		return r, ok
	}
	r, ok := c.rels["public"][name]
	return r, ok
}

// ByID finds a relation by id.
func (c *Catalog) ByID(id ObjectID) (Relation, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.byID[id]
	return r, ok
}

// Relations lists every relation, sorted by id.
func (c *Catalog) Relations() []Relation {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Relation, 0, len(c.byID))
	for _, r := range c.byID {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ObjID() < out[j].ObjID() })
	return out
}

// Add publishes a new relation. dependsOn lists the objects it reads (views).
// Fails with 42P07 when the name is taken in its schema.
func (c *Catalog) Add(r Relation, dependsOn []ObjectID) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rels, ok := c.rels[r.SchemaName()]
	if !ok {
		return pgerror.New(pgerror.InvalidSchemaName, "schema %q does not exist", r.SchemaName())
	}
	if old, ok := rels[r.RelName()]; ok {
		return pgerror.New(pgerror.DuplicateTable, "relation %q already exists", old.RelName())
	}
	rels[r.RelName()] = r
	c.byID[r.ObjID()] = r
	if r.ObjID() >= c.nextID {
		c.nextID = r.ObjID() + 1
	}
	for _, d := range dependsOn {
		if c.deps[d] == nil {
			c.deps[d] = map[ObjectID]bool{}
		}
		c.deps[d][r.ObjID()] = true
	}
	c.version++
	return nil
}

// Replace swaps a relation for a new version with the same id and name.
func (c *Catalog) Replace(r Relation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rels[r.SchemaName()][r.RelName()] = r
	c.byID[r.ObjID()] = r
	c.version++
}

// Dependents returns the transitive dependents of id, deepest first (the
// order in which they must be dropped).
func (c *Catalog) Dependents(id ObjectID) []Relation {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Relation
	seen := map[ObjectID]bool{}
	var visit func(ObjectID)
	visit = func(o ObjectID) {
		ids := make([]ObjectID, 0, len(c.deps[o]))
		for d := range c.deps[o] {
			ids = append(ids, d)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, d := range ids {
			if seen[d] {
				continue
			}
			seen[d] = true
			visit(d)
			if r, ok := c.byID[d]; ok {
				out = append(out, r)
			}
		}
	}
	visit(id)
	return out
}

// Remove unpublishes a relation and its dependency edges. The caller has
// already dropped (or refused to drop) its dependents.
func (c *Catalog) Remove(id ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byID[id]
	if !ok {
		return
	}
	delete(c.rels[r.SchemaName()], r.RelName())
	delete(c.byID, id)
	delete(c.deps, id)
	for _, m := range c.deps {
		delete(m, id)
	}
	c.version++
}

// Role returns a role by name.
func (c *Catalog) Role(name string) (*Role, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.roles[name]
	return r, ok
}

// Roles lists roles sorted by name.
func (c *Catalog) Roles() []*Role {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Role, 0, len(c.roles))
	for _, r := range c.roles {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PutRole creates or replaces a role.
func (c *Catalog) PutRole(r *Role) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.ID == 0 {
		if old, ok := c.roles[r.Name]; ok {
			r.ID = old.ID
		} else {
			r.ID = c.nextID
			c.nextID++
		}
	}
	c.roles[r.Name] = r
	c.version++
}

// DropRole removes a role.
func (c *Catalog) DropRole(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.roles[name]
	delete(c.roles, name)
	c.version++
	return ok
}
