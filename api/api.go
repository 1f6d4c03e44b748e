// Package api is the contract between SabotSQL's front ends (the pgwire
// server, the embedded sqllogictest driver, the CLI) and the engine. It holds
// only interfaces and plain data so front ends never see the planner's or
// executor's insides.
//
// Invariants:
//  1. A Session is used by one goroutine at a time (one client connection);
//     Sessions of one Engine run concurrently.
//  2. Rows returned by a statement stay valid until Rows.Close or the next
//     call on the same Session, whichever comes first.
//  3. Every error that reaches a front end is, or wraps, a *pgerror.Error
//     with a SQLSTATE; anything else is an internal error (XX000).
package api

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/sql/types"
)

// Engine opens sessions.
type Engine interface {
	// NewSession starts a session for an authenticated user. params are the
	// startup parameters (application_name, client_encoding, DateStyle,
	// TimeZone, options, …) that map to settings.
	NewSession(ctx context.Context, user, database string, params map[string]string) (Session, error)
	// Authenticate reports how user must log in: ok=false means the role
	// does not exist; when a password is configured, verifier holds its
	// SCRAM-SHA-256 verifier (RFC 5803 text form) and trust is false.
	Authenticate(user string) (verifier string, trust bool, ok bool)
}

// Session is one client's connection state: settings, prepared statements,
// transaction status.
type Session interface {
	// Prepare parses and plans one statement. paramTypes are the types the
	// client declared (types.UnknownT entries are inferred). The statement
	// text must contain exactly one statement (or none: an empty query).
	Prepare(ctx context.Context, sql string, paramTypes []types.T) (Prepared, error)
	// Execute runs a prepared statement with parameter values (Datums of
	// Prepared.ParamTypes(), nil for NULL). Results with rows return them
	// through Result.Rows, which the caller must Close.
	Execute(ctx context.Context, p Prepared, params []types.Datum) (Result, error)
	// ExecSimple runs a simple-protocol query string that may hold several
	// statements, calling fn for each statement's result in order. It stops
	// at the first error (which it returns) or when fn returns an error.
	ExecSimple(ctx context.Context, sql string, fn func(Result) error) error
	// CopyIn completes a COPY … FROM STDIN whose Result had Copy set:
	// it reads the client's data stream from r until EOF and returns the
	// number of rows loaded. On error nothing is loaded.
	CopyIn(ctx context.Context, spec *CopySpec, r io.Reader) (int64, error)
	// TxStatus is the ReadyForQuery status: 'I' idle, 'T' in a transaction
	// block, 'E' in a failed transaction block.
	TxStatus() byte
	// Setting returns a session setting's current value (SHOW name).
	Setting(name string) (string, bool)
	// ReportedSettings lists settings whose changes are reported to the
	// client as ParameterStatus, with their current values.
	ReportedSettings() map[string]string
	// Close releases the session's resources.
	Close() error
}

// Prepared is a planned statement.
type Prepared interface {
	// ParamTypes are the final parameter types ($1 is index 0).
	ParamTypes() []types.T
	// Columns describes the rows the statement returns; nil when it
	// returns none (DDL, INSERT without RETURNING, …).
	Columns() []Column
	// SQL is the statement text.
	SQL() string
}

// Column describes one result column (RowDescription).
type Column struct {
	Name string
	T    types.T
	// TableOID and AttrNum identify the source column of a plain table
	// column reference; zero otherwise.
	TableOID uint32
	AttrNum  int16
}

// Result is the outcome of one statement.
type Result struct {
	// Tag is the command tag: "SELECT 3", "INSERT 0 1", "CREATE TABLE", ….
	// For statements with Rows the tag's count is final only once Rows is
	// exhausted: use Rows.Tag() then.
	Tag string
	// Rows is set for statements that return rows (SELECT, SHOW, VALUES,
	// … RETURNING, COPY … TO STDOUT).
	Rows Rows
	// Copy is set for COPY … FROM STDIN (the front end then runs the copy
	// sub-protocol and calls Session.CopyIn) and COPY … TO STDOUT (rows come
	// through Rows and are sent as copy data in Copy's format).
	Copy *CopySpec
	// Notices are messages to send as NoticeResponse before the result.
	Notices []string
	// EmptyQuery is true for a statement string with no statement.
	EmptyQuery bool
}

// Rows is a stream of result batches.
type Rows interface {
	Columns() []Column
	// Next returns the next non-empty batch, or nil at the end. A batch is
	// valid until the next call to Next or Close.
	Next(ctx context.Context) (arrow.RecordBatch, error)
	// Tag is the command tag once Next has returned nil.
	Tag() string
	Close() error
}

// CopyDirection is FROM STDIN or TO STDOUT.
type CopyDirection uint8

// Copy directions.
const (
	CopyFromStdin CopyDirection = iota
	CopyToStdout
)

// CopyFormat is the COPY data format.
type CopyFormat uint8

// COPY formats.
const (
	CopyText CopyFormat = iota
	CopyCSV
	CopyBinary
)

// CopySpec describes a COPY statement.
type CopySpec struct {
	Direction CopyDirection
	Format    CopyFormat
	Table     string
	Columns   []Column // the columns being copied, in data order
	Delimiter byte     // '\t' for text, ',' for csv unless given
	Null      string   // "\\N" for text, "" for csv unless given
	Header    bool
	Quote     byte // csv
	Escape    byte // csv
	// Handle is engine-private state for CopyIn.
	Handle any
}
