package pgcatalog

import "github.com/sabotsql/sabotsql/sql/pgerror"

func undefinedTable(name string) error {
	return pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", name)
}
