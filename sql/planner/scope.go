package planner

import (
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// scopeCol is one column visible to name resolution.
type scopeCol struct {
	table string // range-table alias ("" for unnamed)
	name  string
	t     types.T
	// hidden columns are not expanded by * (row ids).
	hidden bool
	// merged is set on the left/right copies of a USING/NATURAL join column:
	// they stay reachable qualified but not by the bare name.
	merged bool
	// tableOID/attNum identify a base-table column for RowDescription.
	tableOID uint32
	attNum   int16
}

// scope is the name-resolution context of one query level.
type scope struct {
	cols   []scopeCol
	parent *scope
	ctes   map[string]*cteDef
	// noColumns marks a scope where column references are not allowed
	// (VALUES rows, LIMIT): resolution goes straight to the parent.
	noColumns bool
	// sameLevel scopes belong to the same query level as their parent
	// (derived tables, join conditions): moving to the parent does not
	// count as an outer reference.
	sameLevel bool
}

type cteDef struct {
	name    string
	query   any // *pg_query.Node holding the SelectStmt
	colAlia []string
	scope   *scope // the scope the CTE was defined in
}

func (s *scope) lookupCTE(name string) *cteDef {
	for sc := s; sc != nil; sc = sc.parent {
		if d, ok := sc.ctes[name]; ok {
			return d
		}
	}
	return nil
}

// resolveColumn finds table.name (table may be "") from scope s outward.
// It returns the query-level depth (0 = this level) and the column position
// in the scope where it was found.
func (s *scope) resolveColumn(table, name string) (depth, idx int, t types.T, err error) {
	depth = 0
	for sc := s; sc != nil; sc = sc.parent {
		if !sc.noColumns {
			found := -1
			for i, c := range sc.cols {
				if c.name != name {
					continue
				}
				if table != "" && c.table != table {
					continue
				}
				if table == "" && c.merged {
					continue
				}
				if found >= 0 {
					return 0, 0, types.UnknownT, pgerror.New(pgerror.AmbiguousColumn, "column reference %q is ambiguous", name)
				}
				found = i
			}
			if found >= 0 {
				if depth > 0 && sc != s && sc.sameLevelOf(s) {
					return 0, 0, types.UnknownT, pgerror.Internal("column %q resolved in a sibling scope", name)
				}
				return depth, found, sc.cols[found].t, nil
			}
		}
		if !sc.sameLevel {
			depth++
		}
	}
	if table != "" {
		if !s.hasTable(table) {
			return 0, 0, types.UnknownT, pgerror.New(pgerror.UndefinedTable, "missing FROM-clause entry for table %q", table)
		}
		return 0, 0, types.UnknownT, pgerror.New(pgerror.UndefinedColumn, "column %s.%s does not exist", table, name)
	}
	return 0, 0, types.UnknownT, pgerror.New(pgerror.UndefinedColumn, "column %q does not exist", name)
}

// sameLevelOf is a guard hook; scopes of one level never hold columns at
// the same time as their sameLevel children in this binder.
func (s *scope) sameLevelOf(*scope) bool { return false }

func (s *scope) hasTable(table string) bool {
	for sc := s; sc != nil; sc = sc.parent {
		for _, c := range sc.cols {
			if c.table == table {
				return true
			}
		}
	}
	return false
}

// tableCols returns the positions of the columns of range entry table in
// this scope only (for t.*).
func (s *scope) tableCols(table string) []int {
	var out []int
	for i, c := range s.cols {
		if c.table == table && !c.hidden {
			out = append(out, i)
		}
	}
	return out
}
