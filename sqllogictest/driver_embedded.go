package sqllogictest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// OpenEngineFunc opens a fresh in-process engine and returns it with a
// function that shuts it down.
type OpenEngineFunc func(ctx context.Context) (api.Engine, func() error, error)

// EmbeddedDriver runs test files against the in-process engine: each Open
// starts a fresh engine (so files share no tables) and one api.Session on
// it; each record runs through Session.ExecSimple, and result columns are
// rendered with types.GetDatum and types.FormatText in the session's time
// zone.
type EmbeddedDriver struct {
	open OpenEngineFunc
	// User and Database are passed to NewSession ("postgres" both unless
	// changed before the first Open).
	User     string
	Database string
}

// NewEmbeddedDriver returns a driver that opens engines with open.
func NewEmbeddedDriver(open OpenEngineFunc) *EmbeddedDriver {
	return &EmbeddedDriver{open: open, User: "postgres", Database: "postgres"}
}

// Open starts a fresh engine and a session on it.
func (d *EmbeddedDriver) Open(ctx context.Context) (DB, error) {
	if d.open == nil {
		return nil, errors.New("sqllogictest: no embedded engine available")
	}
	eng, closeEngine, err := d.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqllogictest: open engine: %w", err)
	}
	sess, err := eng.NewSession(ctx, d.User, d.Database, map[string]string{
		"application_name": "slt",
		"client_encoding":  "UTF8",
		"DateStyle":        "ISO, MDY",
	})
	if err != nil {
		if closeEngine != nil {
			_ = closeEngine()
		}
		return nil, fmt.Errorf("sqllogictest: new session: %w", err)
	}
	return &embeddedDB{sess: sess, closeEngine: closeEngine}, nil
}

// Close releases the driver (engines are closed with their DB).
func (d *EmbeddedDriver) Close() error { return nil }

type embeddedDB struct {
	sess        api.Session
	closeEngine func() error
	tzName      string
	tz          *time.Location
}

func (db *embeddedDB) typesCtx() *types.Ctx {
	name, ok := db.sess.Setting("TimeZone")
	if !ok || name == "" {
		return nil
	}
	if name != db.tzName {
		loc, err := time.LoadLocation(name)
		if err != nil {
			loc = nil
		}
		db.tzName, db.tz = name, loc
	}
	return &types.Ctx{Loc: db.tz}
}

func (db *embeddedDB) Exec(ctx context.Context, sql string) (*Result, error) {
	var out *Result
	tctx := db.typesCtx()
	err := db.sess.ExecSimple(ctx, sql, func(r api.Result) error {
		res, err := db.collect(ctx, tctx, r)
		if err != nil {
			return err
		}
		// Keep the last result with rows, but the last statement's count.
		if out != nil && res.Columns == nil && out.Columns != nil {
			out.RowsAffected = res.RowsAffected
			return nil
		}
		out = res
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sqllogictest: %w", ctx.Err())
		}
		if pe := pgerror.As(err); pe != nil {
			return nil, &DBError{Code: pe.Code, Message: pe.Message, Detail: pe.Detail}
		}
		return nil, &DBError{Code: pgerror.CodeOf(err), Message: err.Error()}
	}
	if out == nil {
		out = &Result{}
	}
	return out, nil
}

func (db *embeddedDB) collect(ctx context.Context, tctx *types.Ctx, r api.Result) (*Result, error) {
	res := &Result{RowsAffected: rowsAffected(r.Tag)}
	if r.Copy != nil && r.Copy.Direction == api.CopyFromStdin {
		return nil, pgerror.Unsupported("COPY FROM STDIN is not supported in sqllogictest files")
	}
	if r.Rows == nil {
		return res, nil
	}
	defer r.Rows.Close()
	cols := r.Rows.Columns()
	res.Columns = make([]Column, len(cols))
	for i, c := range cols {
		res.Columns[i] = Column{Name: c.Name, Kind: kindOfType(c.T)}
	}
	res.Rows = [][]Value{}
	for {
		b, err := r.Rows.Next(ctx)
		if err != nil {
			return nil, err
		}
		if b == nil {
			break
		}
		if int(b.NumCols()) != len(cols) {
			return nil, pgerror.Internal("batch has %d columns, row description %d", b.NumCols(), len(cols))
		}
		for i := 0; i < int(b.NumRows()); i++ {
			row := make([]Value, len(cols))
			for j, c := range cols {
				d := types.GetDatum(b.Column(j), i, c.T)
				if d == nil {
					row[j] = Value{Null: true}
				} else {
					row[j] = Value{Text: types.FormatText(tctx, d, c.T)}
				}
			}
			res.Rows = append(res.Rows, row)
		}
	}
	res.RowsAffected = rowsAffected(r.Rows.Tag())
	return res, nil
}

func (db *embeddedDB) Close() error {
	err := db.sess.Close()
	if db.closeEngine != nil {
		err = errors.Join(err, db.closeEngine())
	}
	return err
}

// kindOfType maps a SQL type to its rendering kind.
func kindOfType(t types.T) ValueKind {
	switch {
	case t.IsInteger() || t.Family == types.FamOid:
		return KindInt
	case t.IsFloat():
		return KindFloat
	case t.Family == types.FamNumeric:
		return KindNumeric
	case t.Family == types.FamBool:
		return KindBool
	}
	return KindText
}
