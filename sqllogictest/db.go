package sqllogictest

import (
	"context"
	"strconv"
	"strings"
)

// ValueKind is the broad type of a result column, as far as rendering is
// concerned.
type ValueKind uint8

// Value kinds.
const (
	KindText    ValueKind = iota // anything rendered from its text form
	KindInt                      // int2/int4/int8/oid
	KindFloat                    // float4/float8
	KindNumeric                  // numeric/decimal
	KindBool
)

// Column describes one result column.
type Column struct {
	Name string
	Kind ValueKind
}

// Value is one result value: NULL, or its PostgreSQL text output form.
type Value struct {
	Null bool
	Text string
}

// Result is the outcome of one record's SQL.
type Result struct {
	// Columns is nil when the (last) statement returned no rows.
	Columns []Column
	Rows    [][]Value
	// RowsAffected is the count in the last statement's command tag.
	RowsAffected int64
}

// DB is one isolated session against the engine under test. It is used by
// one goroutine at a time.
type DB interface {
	// Exec runs one record's SQL text (which may hold several statements
	// in the rs format) and returns the last statement's result. A
	// statement error is returned as an error whose message is the
	// server's message; *DBError carries the SQLSTATE when known.
	Exec(ctx context.Context, sql string) (*Result, error)
	// Close ends the session and releases what Open created for it.
	Close() error
}

// Driver opens a fresh, isolated DB per test file. Drivers are safe for
// concurrent use (files run in parallel with --jobs).
type Driver interface {
	// Open returns a DB with no state left by other files.
	Open(ctx context.Context) (DB, error)
	// Close releases the driver.
	Close() error
}

// DBError is a statement error reported by the engine.
type DBError struct {
	Code    string // SQLSTATE, "" when unknown
	Message string
	Detail  string
}

func (e *DBError) Error() string { return e.Message }

// rowsAffected extracts the trailing count of a command tag ("INSERT 0 3",
// "SELECT 2", "UPDATE 1"); 0 when there is none.
func rowsAffected(tag string) int64 {
	f := strings.Fields(tag)
	if len(f) < 2 {
		return 0
	}
	n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		return 0
	}
	return n
}
