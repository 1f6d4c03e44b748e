// Package pgerror defines the error type that carries a PostgreSQL SQLSTATE
// from anywhere in the engine to the client.
//
// Invariants:
//  1. Every error caused by user input (bad SQL, bad values, constraint
//     violations, limits) is, or wraps, an *Error with a five-character code.
//  2. Errors without a code are internal: CodeOf reports them as XX000.
//  3. Corruption is reported with code XX001 (data_corrupted) and never
//     silently repaired.
package pgerror

import (
	"context"
	"errors"
	"fmt"
)

// SQLSTATE codes used across the engine. The names follow PostgreSQL's
// errcodes.txt.
const (
	SuccessfulCompletion         = "00000"
	FeatureNotSupported          = "0A000"
	CardinalityViolation         = "21000"
	DataException                = "22000"
	StringDataRightTruncation    = "22001"
	NumericValueOutOfRange       = "22003"
	NullValueNotAllowed          = "22004"
	InvalidDatetimeFormat        = "22007"
	DatetimeFieldOverflow        = "22008"
	InvalidTimeZoneDisplacement  = "22009"
	InvalidEscapeSequence        = "22025"
	DivisionByZero               = "22012"
	InvalidParameterValue        = "22023"
	InvalidTextRepresentation    = "22P02"
	InvalidBinaryRepresentation  = "22P03"
	CharacterNotInRepertoire     = "22021"
	InvalidRegularExpression     = "2201B"
	InvalidRowCountInLimit       = "2201W"
	InvalidRowCountInOffset      = "2201X"
	IntegrityConstraintViolation = "23000"
	NotNullViolation             = "23502"
	ForeignKeyViolation          = "23503"
	UniqueViolation              = "23505"
	CheckViolation               = "23514"
	InvalidCursorState           = "24000"
	InvalidTransactionState      = "25000"
	ActiveSQLTransaction         = "25001"
	NoActiveSQLTransaction       = "25P01"
	InFailedSQLTransaction       = "25P02"
	InvalidAuthorizationSpec     = "28000"
	InvalidPassword              = "28P01"
	InvalidCatalogName           = "3D000"
	InvalidSchemaName            = "3F000"
	SyntaxErrorOrAccessRule      = "42000"
	SyntaxError                  = "42601"
	InsufficientPrivilege        = "42501"
	GroupingError                = "42803"
	WindowingError               = "42P20"
	InvalidRecursion             = "42P19"
	InvalidForeignKey            = "42830"
	InvalidName                  = "42602"
	NameTooLong                  = "42622"
	ReservedName                 = "42939"
	DatatypeMismatch             = "42804"
	CannotCoerce                 = "42846"
	CantChangeRuntimeParam       = "55P02"
	ObjectInUse                  = "55006"
	BadCopyFileFormat            = "22P04"
	IndeterminateDatatype        = "42P18"
	CollationMismatch            = "42P21"
	WrongObjectType              = "42809"
	UndefinedColumn              = "42703"
	UndefinedFunction            = "42883"
	UndefinedTable               = "42P01"
	UndefinedParameter           = "42P02"
	UndefinedObject              = "42704"
	DuplicateColumn              = "42701"
	DuplicateDatabase            = "42P04"
	DuplicateFunction            = "42723"
	DuplicatePreparedStatement   = "42P05"
	DuplicateSchema              = "42P06"
	DuplicateTable               = "42P07"
	DuplicateAlias               = "42712"
	DuplicateObject              = "42710"
	AmbiguousColumn              = "42702"
	AmbiguousFunction            = "42725"
	AmbiguousParameter           = "42P08"
	InvalidColumnReference       = "42P10"
	InvalidColumnDefinition      = "42611"
	InvalidTableDefinition       = "42P16"
	DependentObjectsStillExist   = "2BP01"
	ProgramLimitExceeded         = "54000"
	TooManyColumns               = "54011"
	InsufficientResources        = "53000"
	DiskFull                     = "53100"
	OutOfMemory                  = "53200"
	TooManyConnections           = "53300"
	ObjectNotInPrerequisiteState = "55000"
	QueryCanceled                = "57014"
	AdminShutdown                = "57P01"
	ProtocolViolation            = "08P01"
	ConnectionException          = "08000"
	UndefinedPreparedStatement   = "26000"
	InvalidSQLStatementName      = "26000"
	InvalidCursorName            = "34000"
	SystemError                  = "58000"
	IOError                      = "58030"
	InternalError                = "XX000"
	DataCorrupted                = "XX001"
)

// Error is a user-visible error with a SQLSTATE.
type Error struct {
	Code     string // five-character SQLSTATE
	Severity string // ERROR unless set (FATAL, PANIC, WARNING, NOTICE)
	Message  string
	Detail   string
	Hint     string
	// Position is the 1-based character position in the statement text the
	// error refers to, or 0 when none.
	Position int
	// SchemaName, TableName, ColumnName, DataTypeName and ConstraintName
	// identify the object an error is about (sent as ErrorResponse fields
	// s, t, c, d, n; drivers expose them, e.g. for unique violations).
	SchemaName, TableName, ColumnName, DataTypeName, ConstraintName string
	cause                                                           error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// New returns an *Error with the given code and a formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code whose message is msg and whose
// cause is err. If msg is empty the cause's message is used.
func Wrap(err error, code, msg string) *Error {
	if msg == "" {
		msg = err.Error()
	} else {
		msg = msg + ": " + err.Error()
	}
	return &Error{Code: code, Message: msg, cause: err}
}

// WithPosition returns a copy of err's *Error with Position set. Errors without
// a code are returned unchanged.
func WithPosition(err error, pos int) error {
	var pe *Error
	if errors.As(err, &pe) {
		cp := *pe
		cp.Position = pos
		return &cp
	}
	return err
}

// WithDetail sets the detail of e and returns it.
func (e *Error) WithDetail(format string, args ...any) *Error {
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// WithObject sets the schema, table and column the error is about.
func (e *Error) WithObject(schema, table, column string) *Error {
	e.SchemaName, e.TableName, e.ColumnName = schema, table, column
	return e
}

// WithConstraint sets the constraint the error is about.
func (e *Error) WithConstraint(name string) *Error {
	e.ConstraintName = name
	return e
}

// WithHint sets the hint of e and returns it.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// CodeOf returns the SQLSTATE of err: the code of the first *Error in its
// chain, 57014 for context cancellation, or XX000 for anything else.
func CodeOf(err error) string {
	if err == nil {
		return SuccessfulCompletion
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return QueryCanceled
	}
	return InternalError
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// Internal wraps err as an internal error (XX000): a bug, not a user mistake.
func Internal(format string, args ...any) *Error {
	return &Error{Code: InternalError, Message: "internal error: " + fmt.Sprintf(format, args...)}
}

// Unsupported returns a 0A000 error naming the construct.
func Unsupported(format string, args ...any) *Error {
	return New(FeatureNotSupported, format, args...)
}
