package pgwire

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Severities used in ErrorResponse and NoticeResponse.
const (
	sevError  = "ERROR"
	sevFatal  = "FATAL"
	sevNotice = "NOTICE"
)

var (
	// errUserCancel is the cause of a statement canceled by a CancelRequest.
	errUserCancel = &pgerror.Error{Code: pgerror.QueryCanceled, Message: "canceling statement due to user request"}
	// errAdminShutdown is the cause of statements and connections ended by
	// the server shutting down.
	errAdminShutdown = &pgerror.Error{Code: pgerror.AdminShutdown, Severity: sevFatal,
		Message: "terminating connection due to administrator command"}
)

// fatalError ends the connection after it has been reported to the client.
type fatalError struct{ pe *pgerror.Error }

func (f *fatalError) Error() string { return f.pe.Message }

// connLost is a read or write failure on the client socket: nothing more
// can be sent.
type connLost struct{ err error }

func (l *connLost) Error() string { return "pgwire: connection lost: " + l.err.Error() }
func (l *connLost) Unwrap() error { return l.err }

func newFatal(code, format string, args ...any) *fatalError {
	pe := pgerror.New(code, format, args...)
	pe.Severity = sevFatal
	return &fatalError{pe: pe}
}

// toPGError turns any error from the engine into a *pgerror.Error. ctx is the
// statement's context: its cause names why a context error happened.
// internal reports whether err carried no SQLSTATE (a bug worth logging).
func toPGError(ctx context.Context, err error) (pe *pgerror.Error, internal bool) {
	if pe = pgerror.As(err); pe != nil {
		if pe.Code == pgerror.QueryCanceled && ctx != nil && ctx.Err() != nil {
			// The engine noticed the cancellation; report why it happened.
			if cause := pgerror.As(context.Cause(ctx)); cause != nil {
				return cause, false
			}
		}
		return pe, false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if ctx != nil {
			if cause := pgerror.As(context.Cause(ctx)); cause != nil {
				return cause, false
			}
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return pgerror.New(pgerror.QueryCanceled, "canceling statement due to statement timeout"), false
		}
		return pgerror.New(pgerror.QueryCanceled, "canceling statement due to user request"), false
	}
	return pgerror.Internal("%v", err), true
}

// errorResponse renders pe as a wire message.
func errorResponse(pe *pgerror.Error) *pgproto3.ErrorResponse {
	sev := pe.Severity
	if sev == "" {
		sev = sevError
	}
	code := pe.Code
	if len(code) != 5 {
		code = pgerror.InternalError
	}
	return &pgproto3.ErrorResponse{
		Severity:            sev,
		SeverityUnlocalized: sev,
		Code:                code,
		Message:             pe.Message,
		Detail:              pe.Detail,
		Hint:                pe.Hint,
		Position:            int32(pe.Position),
		SchemaName:          pe.SchemaName,
		TableName:           pe.TableName,
		ColumnName:          pe.ColumnName,
		DataTypeName:        pe.DataTypeName,
		ConstraintName:      pe.ConstraintName,
	}
}
