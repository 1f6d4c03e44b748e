package catalog

import "github.com/sabotsql/sabotsql/sql/types"

// ObjectID identifies a catalog object for its lifetime; never reused.
type ObjectID uint64

// Column is one column of a table.
type Column struct {
	Name    string
	T       types.T
	NotNull bool
	// Default is the DEFAULT expression's SQL text, "" when none.
	Default string
	// Hidden columns (a view's internal row id) are not expanded by *.
	Hidden bool
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
}

// ColumnIndex returns the position of the named column, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}
