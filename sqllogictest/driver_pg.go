package sqllogictest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// PGDriver runs test files against any server speaking the PostgreSQL
// protocol, with the simple query protocol (values arrive in text form).
// Each Open creates a fresh database (CREATE DATABASE slt_<pid>_<n>) and
// connects to it; Close drops it. Servers that refuse CREATE DATABASE get
// a new connection to the DSN's own database instead.
type PGDriver struct {
	cfg      *pgconn.Config
	seq      atomic.Int64
	warnOnce sync.Once
}

// NewPGDriver parses dsn (a postgres:// URL or key=value string).
func NewPGDriver(dsn string) (*PGDriver, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqllogictest: bad address: %w", err)
	}
	// On a per-record timeout, ask the server to cancel the statement
	// instead of breaking the connection; fall back to a socket deadline.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
	}
	return &PGDriver{cfg: cfg}, nil
}

// Open creates a fresh database and connects to it.
func (d *PGDriver) Open(ctx context.Context) (DB, error) {
	name := fmt.Sprintf("slt_%d_%d", os.Getpid(), d.seq.Add(1))
	admin, err := pgconn.ConnectConfig(ctx, d.cfg)
	if err != nil {
		return nil, fmt.Errorf("sqllogictest: connect: %w", err)
	}
	_, createErr := admin.Exec(ctx, "CREATE DATABASE "+name).ReadAll()
	_ = admin.Close(ctx)
	cfg := d.cfg.Copy()
	db := &pgDB{driver: d}
	if createErr == nil {
		cfg.Database = name
		db.dbName = name
	} else {
		d.warnOnce.Do(func() {
			slog.Warn("sqllogictest: CREATE DATABASE refused; test files share the server's database",
				"database", d.cfg.Database, "err", createErr)
		})
	}
	db.cfg = cfg
	if err := db.connect(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// Close releases the driver (it holds no connections between Opens).
func (d *PGDriver) Close() error { return nil }

type pgDB struct {
	driver *PGDriver
	cfg    *pgconn.Config
	dbName string // the database Open created, "" when none
	conn   *pgconn.PgConn
}

func (db *pgDB) connect(ctx context.Context) error {
	c, err := pgconn.ConnectConfig(ctx, db.cfg)
	if err != nil {
		return fmt.Errorf("sqllogictest: connect to %s: %w", db.cfg.Database, err)
	}
	db.conn = c
	return nil
}

func (db *pgDB) Exec(ctx context.Context, sql string) (*Result, error) {
	if db.conn == nil || db.conn.IsClosed() {
		// A timed-out record may have cost the connection: reconnect
		// (the database and its tables survive).
		if err := db.connect(ctx); err != nil {
			return nil, err
		}
	}
	res := &Result{}
	mrr := db.conn.Exec(ctx, sql)
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		var rows [][]Value
		for rr.NextRow() {
			raw := rr.Values()
			vals := make([]Value, len(raw))
			for j, b := range raw {
				if b == nil {
					vals[j] = Value{Null: true}
				} else {
					vals[j] = Value{Text: string(b)}
				}
			}
			rows = append(rows, vals)
		}
		fds := rr.FieldDescriptions()
		tag, err := rr.Close()
		if err != nil {
			break // reported by mrr.Close
		}
		res.RowsAffected = tag.RowsAffected()
		if fds != nil {
			res.Columns = make([]Column, len(fds))
			for i, fd := range fds {
				res.Columns[i] = Column{Name: fd.Name, Kind: kindOfOid(fd.DataTypeOID)}
			}
			res.Rows = rows
		}
	}
	if err := mrr.Close(); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return nil, &DBError{Code: pe.Code, Message: pe.Message, Detail: pe.Detail}
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("sqllogictest: %w", ctxErr)
		}
		return nil, fmt.Errorf("sqllogictest: %w", err)
	}
	return res, nil
}

func (db *pgDB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if db.conn != nil {
		_ = db.conn.Close(ctx)
	}
	if db.dbName == "" {
		return nil
	}
	admin, err := pgconn.ConnectConfig(ctx, db.driver.cfg)
	if err != nil {
		return fmt.Errorf("sqllogictest: drop %s: %w", db.dbName, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db.dbName+" WITH (FORCE)").ReadAll(); err != nil {
		return fmt.Errorf("sqllogictest: drop %s: %w", db.dbName, err)
	}
	return nil
}

// kindOfOid maps a PostgreSQL type OID to its rendering kind.
func kindOfOid(oid uint32) ValueKind {
	switch oid {
	case 20, 21, 23, 26: // int8, int2, int4, oid
		return KindInt
	case 700, 701:
		return KindFloat
	case 1700:
		return KindNumeric
	case 16:
		return KindBool
	}
	return KindText
}
