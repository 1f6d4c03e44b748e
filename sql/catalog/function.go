package catalog

import (
	"sort"
	"strings"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// FuncArg is one declared argument of a user-defined function.
type FuncArg struct {
	Name string // "" when unnamed (reachable only as $n)
	T    types.T
}

// Function is a SQL-language user-defined function (CREATE FUNCTION …
// LANGUAGE SQL). Its body is a single SELECT of one expression without
// FROM, which the binder inlines at every call.
type Function struct {
	ID     ObjectID
	Schema string
	Name   string
	Args   []FuncArg
	Ret    types.T
	// Body is the function body as SQL text: "SELECT expr" (the RETURN
	// form is stored in the same shape).
	Body string
	// Volatility is PostgreSQL's provolatile: 'i', 's' or 'v'.
	Volatility byte
	// Strict (RETURNS NULL ON NULL INPUT) functions return NULL when any
	// argument is NULL, without evaluating the body.
	Strict bool
}

// ArgTypes returns the declared argument types.
func (f *Function) ArgTypes() []types.T {
	out := make([]types.T, len(f.Args))
	for i, a := range f.Args {
		out[i] = a.T
	}
	return out
}

// Signature renders name(type, …) as PostgreSQL prints it in messages.
func (f *Function) Signature() string {
	parts := make([]string, len(f.Args))
	for i, a := range f.Args {
		parts[i] = a.T.String()
	}
	return f.Name + "(" + strings.Join(parts, ", ") + ")"
}

// sameArgTypes reports whether two argument lists have the same types
// (modifiers ignored, as PostgreSQL identifies functions by type oids).
func sameArgTypes(a, b []types.T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Unmodified() != b[i].Unmodified() {
			return false
		}
	}
	return true
}

// invalidFunctionDefinition is PostgreSQL's SQLSTATE 42P13.
const invalidFunctionDefinition = "42P13"

// funcKey is the map key of a function name within a schema.
func funcKey(schema, name string) string { return schema + "." + name }

// AddFunction publishes f. When a function with the same name and argument
// types exists, replace must be set (else 42723) and the new version keeps
// the old id and its dependents; a replacement may not change the return
// type (42P13), as in PostgreSQL. It returns the id f was stored under.
func (c *Catalog) AddFunction(f *Function, replace bool) (ObjectID, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.schemas[f.Schema]; !ok {
		return 0, pgerror.New(pgerror.InvalidSchemaName, "schema %q does not exist", f.Schema)
	}
	if c.funcs == nil {
		c.funcs = map[string][]*Function{}
	}
	k := funcKey(f.Schema, f.Name)
	list := c.funcs[k]
	for i, old := range list {
		if !sameArgTypes(old.ArgTypes(), f.ArgTypes()) {
			continue
		}
		if !replace {
			return 0, pgerror.New(pgerror.DuplicateFunction, "function %q already exists with same argument types", f.Name)
		}
		if old.Ret.Unmodified() != f.Ret.Unmodified() {
			return 0, pgerror.New(invalidFunctionDefinition, "cannot change return type of existing function").
				WithHint("Use DROP FUNCTION %s first.", old.Signature())
		}
		nf := *f
		nf.ID = old.ID
		list = append(list[:i:i], list[i+1:]...)
		c.funcs[k] = append(list, &nf)
		c.version++
		return nf.ID, nil
	}
	nf := *f
	if nf.ID == 0 {
		nf.ID = c.nextID
	}
	if nf.ID >= c.nextID {
		c.nextID = nf.ID + 1
	}
	c.funcs[k] = append(list, &nf)
	c.version++
	return nf.ID, nil
}

// Functions returns the user-defined functions called name (any argument
// types). An empty schema searches the search path (public).
func (c *Catalog) Functions(schema, name string) []*Function {
	if schema == "" {
		schema = "public"
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]*Function(nil), c.funcs[funcKey(schema, name)]...)
}

// HasFunctions reports cheaply whether any user-defined function exists.
func (c *Catalog) HasFunctions() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, l := range c.funcs {
		if len(l) > 0 {
			return true
		}
	}
	return false
}

// AllFunctions lists every user-defined function sorted by id.
func (c *Catalog) AllFunctions() []*Function {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*Function
	for _, l := range c.funcs {
		out = append(out, l...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// RemoveFunction unpublishes a function and its dependency edges. The
// caller has already dropped (or refused to drop) its dependents.
func (c *Catalog) RemoveFunction(id ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, l := range c.funcs {
		for i, f := range l {
			if f.ID != id {
				continue
			}
			l = append(l[:i:i], l[i+1:]...)
			if len(l) == 0 {
				delete(c.funcs, k)
			} else {
				c.funcs[k] = l
			}
			delete(c.deps, id)
			for _, m := range c.deps {
				delete(m, id)
			}
			c.version++
			return
		}
	}
}
