package pgcatalog

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/stretchr/testify/require"
)

// The queries in testdata/psql_queries.sql were recorded with `psql -E`
// (psql 15.18) against PostgreSQL 15 for \d, \dt, \dv, \dm, \di, \dn, \du,
// \l, \d NAME (table, view, materialized view, index, system catalog),
// \d+ NAME, \dt+, \df, \dT, \db, \dp and \dx.

// colScope is one SELECT's FROM clause: alias → emulated relation, nil for
// items whose columns the check cannot know (subqueries, functions).
type colScope struct {
	rels    map[string]*relDef
	opaque  bool
	targets map[string]bool
}

type refChecker struct {
	errs    []string
	checked int
}

func (c *refChecker) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func strField(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func (c *refChecker) addFrom(sc *colScope, item any) {
	m, ok := item.(map[string]any)
	if !ok {
		return
	}
	switch {
	case m["RangeVar"] != nil:
		rv := m["RangeVar"].(map[string]any)
		schema, name := strField(rv, "schemaname"), strField(rv, "relname")
		alias := name
		if a, ok := rv["alias"].(map[string]any); ok {
			alias = strField(a, "aliasname")
		}
		var def *relDef
		if schema == "pg_catalog" || schema == "information_schema" || schema == "" {
			def, _ = lookupDef(schema, name)
		}
		if def == nil && (schema == "pg_catalog" || schema == "information_schema") {
			c.errorf("relation %s.%s is not emulated", schema, name)
		}
		if def == nil {
			sc.opaque = true
		}
		sc.rels[alias] = def
	case m["JoinExpr"] != nil:
		j := m["JoinExpr"].(map[string]any)
		c.addFrom(sc, j["larg"])
		c.addFrom(sc, j["rarg"])
	default: // RangeSubselect, RangeFunction, …
		sc.opaque = true
		for _, v := range m {
			if inner, ok := v.(map[string]any); ok {
				if a, ok := inner["alias"].(map[string]any); ok {
					sc.rels[strField(a, "aliasname")] = nil
				}
			}
		}
	}
}

func hasCol(d *relDef, col string) bool {
	for _, cd := range d.cols {
		if cd.name == col {
			return true
		}
	}
	return false
}

func (c *refChecker) checkRef(stack []*colScope, fields []any) {
	var names []string
	for _, f := range fields {
		fm, _ := f.(map[string]any)
		s, ok := fm["String"].(map[string]any)
		if !ok {
			return // A_Star
		}
		names = append(names, strField(s, "sval"))
	}
	switch len(names) {
	case 2:
		alias, col := names[0], names[1]
		for i := len(stack) - 1; i >= 0; i-- {
			if d, ok := stack[i].rels[alias]; ok {
				if d != nil {
					c.checked++
					if !hasCol(d, col) {
						c.errorf("%s.%s: %s.%s has no column %q", alias, col, d.schema, d.name, col)
					}
				}
				return
			}
		}
		c.errorf("%s.%s: unknown relation alias %q", alias, col, alias)
	case 1:
		col := names[0]
		for i := len(stack) - 1; i >= 0; i-- {
			for _, d := range stack[i].rels {
				if d != nil && hasCol(d, col) {
					c.checked++
					return
				}
			}
			if stack[i].opaque {
				return
			}
		}
		for _, sc := range stack {
			if sc.targets[col] {
				return
			}
		}
		c.errorf("column %q is in none of the emulated relations in scope", col)
	}
}

func (c *refChecker) walk(node any, stack []*colScope) {
	switch n := node.(type) {
	case []any:
		for _, x := range n {
			c.walk(x, stack)
		}
	case map[string]any:
		if sel, ok := n["SelectStmt"].(map[string]any); ok {
			c.walkSelect(sel, stack)
			return
		}
		if cr, ok := n["ColumnRef"].(map[string]any); ok {
			fields, _ := cr["fields"].([]any)
			c.checkRef(stack, fields)
			return
		}
		for _, v := range n {
			c.walk(v, stack)
		}
	}
}

// walkSelect checks one SELECT (set operations: each arm) in a new scope.
func (c *refChecker) walkSelect(sel map[string]any, stack []*colScope) {
	if l, ok := sel["larg"].(map[string]any); ok {
		c.walkSelect(l, stack)
		if r, ok := sel["rarg"].(map[string]any); ok {
			c.walkSelect(r, stack)
		}
		for k, v := range sel {
			if k != "larg" && k != "rarg" {
				c.walk(v, stack)
			}
		}
		return
	}
	sc := &colScope{rels: map[string]*relDef{}, targets: map[string]bool{}}
	if from, ok := sel["fromClause"].([]any); ok {
		for _, item := range from {
			c.addFrom(sc, item)
		}
	}
	if tl, ok := sel["targetList"].([]any); ok {
		for _, t := range tl {
			if rt, ok := t.(map[string]any)["ResTarget"].(map[string]any); ok {
				sc.targets[strField(rt, "name")] = true
			}
		}
	}
	inner := append(append([]*colScope(nil), stack...), sc)
	for _, v := range sel {
		c.walk(v, inner)
	}
}

func checkQueryColumns(t *testing.T, sql string) *refChecker {
	t.Helper()
	js, err := pg_query.ParseToJSON(sql)
	require.NoError(t, err)
	var tree any
	require.NoError(t, json.Unmarshal([]byte(js), &tree))
	c := &refChecker{}
	c.walk(tree, nil)
	return c
}

// readQueries splits a testdata file into its queries; each starts with a
// "-- title" line and queries are separated by blank lines.
func readQueries(t *testing.T, path string) (titles, sqls []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, block := range strings.Split(strings.TrimSpace(string(b)), "\n\n-- ") {
		title, sql, ok := strings.Cut(strings.TrimPrefix(block, "-- "), "\n")
		require.True(t, ok, "malformed block in %s: %q", path, block)
		titles, sqls = append(titles, title), append(sqls, sql)
	}
	return titles, sqls
}

func checkQueryFile(t *testing.T, path string, minQueries, minRefs int) {
	titles, sqls := readQueries(t, path)
	require.GreaterOrEqual(t, len(sqls), minQueries)
	total := 0
	for i, sql := range sqls {
		c := checkQueryColumns(t, sql)
		require.Empty(t, c.errs, "%s:\n%s", titles[i], sql)
		total += c.checked
	}
	require.Greater(t, total, minRefs, "the check resolved too few column references to be meaningful")
}

func TestPsqlQueriesReferenceExistingColumns(t *testing.T) {
	checkQueryFile(t, "testdata/psql_queries.sql", 50, 300)
}

// testdata/driver_queries.sql holds introspection queries drivers and
// tools send: pgjdbc's getTables/getColumns/getPrimaryKeys, Metabase,
// DBeaver, psqlODBC, and pgx's LoadType.
func TestDriverQueriesReferenceExistingColumns(t *testing.T) {
	checkQueryFile(t, "testdata/driver_queries.sql", 13, 100)
}

func TestColumnCheckerCatchesMistakes(t *testing.T) {
	c := checkQueryColumns(t, `SELECT c.relname, c.relfoo FROM pg_catalog.pg_class c`)
	require.Len(t, c.errs, 1)
	require.Contains(t, c.errs[0], "relfoo")
	c = checkQueryColumns(t, `SELECT x.relname FROM pg_catalog.pg_class c`)
	require.Len(t, c.errs, 1)
	c = checkQueryColumns(t, `SELECT nspname, bogus FROM pg_catalog.pg_namespace`)
	require.Len(t, c.errs, 1)
	require.Contains(t, c.errs[0], "bogus")
	c = checkQueryColumns(t, `SELECT 1 FROM pg_catalog.pg_nonexistent`)
	require.Len(t, c.errs, 1)
	// Nested scopes: c means pg_collation inside, pg_class outside.
	c = checkQueryColumns(t, `SELECT c.relname, (SELECT c.collname FROM pg_catalog.pg_collation c) FROM pg_catalog.pg_class c`)
	require.Empty(t, c.errs)
	c = checkQueryColumns(t, `SELECT (SELECT c.relname FROM pg_catalog.pg_collation c) FROM pg_catalog.pg_class c`)
	require.Len(t, c.errs, 1)
}
