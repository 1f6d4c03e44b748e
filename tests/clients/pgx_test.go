package clients

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// connString is a keyword/value connection string for s.
func connString(s *server, password string) string {
	cs := fmt.Sprintf("host=%s port=%d user=%s dbname=sabot sslmode=disable", s.host, s.port, user)
	if password != "" {
		cs += " password='" + password + "'"
	}
	return cs
}

// typeCase is one column of the type round trip: its SQL type and a value
// in the Go type pgx decodes that SQL type into (so that inserted and
// read-back values compare with require.Equal).
type typeCase struct {
	sqlType string
	value   any
	// in, when set, is the value to insert instead of value (arrays: pgx's
	// simple protocol needs a typed slice to encode).
	in any
}

func ptr[T any](v T) *T { return &v }

func mustNumeric(s string) pgtype.Numeric {
	var n pgtype.Numeric
	if err := n.Scan(s); err != nil {
		panic(err) // test literal
	}
	return n
}

func typeCases() []typeCase {
	ts := time.Date(2024, 2, 29, 13, 45, 30, 123456000, time.UTC)
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	tod := pgtype.Time{Microseconds: ((13*60+45)*60+30)*1e6 + 123456, Valid: true}
	iv := pgtype.Interval{Months: 14, Days: 3, Microseconds: ((4*60+5)*60+6)*1e6 + 789000, Valid: true}
	return []typeCase{
		{"boolean", true, nil},
		{"smallint", int16(math.MinInt16), nil},
		{"integer", int32(math.MinInt32), nil},
		{"bigint", int64(math.MaxInt64), nil},
		{"real", float32(3.25), nil},
		{"double precision", 2.718281828459045, nil},
		{"numeric(12,4)", mustNumeric("-12345678.9012"), nil},
		{"numeric", mustNumeric("123456789012345678901234567890.000000000000000000001"), nil},
		{"text", "héllo, \"wörld\"\n\\ '∑' \t end", nil},
		{"varchar(10)", "abc déf", nil},
		{"char(5)", "ab   ", nil},
		{"bytea", []byte{0, 0xff, 0x10, '\\', '\''}, nil},
		{"date", day, nil},
		{"time", tod, nil},
		{"timestamp", ts, nil},
		{"timestamptz", ts, nil},
		{"interval", iv, nil},
		{"boolean[]", []any{true, false, nil}, []*bool{ptr(true), ptr(false), nil}},
		{"smallint[]", []any{int16(1), int16(-2)}, []int16{1, -2}},
		{"integer[]", []any{int32(1), int32(2), nil, int32(4)}, []*int32{ptr[int32](1), ptr[int32](2), nil, ptr[int32](4)}},
		{"bigint[]", []any{int64(math.MinInt64), int64(7)}, []int64{math.MinInt64, 7}},
		{"real[]", []any{float32(1.5), float32(-0.25)}, []float32{1.5, -0.25}},
		{"double precision[]", []any{1.5, math.Inf(1)}, []float64{1.5, math.Inf(1)}},
		{"numeric[]", []any{mustNumeric("1.5"), mustNumeric("-2.25")}, []pgtype.Numeric{mustNumeric("1.5"), mustNumeric("-2.25")}},
		{"text[]", []any{"a", "b c", "\"q\"", nil, "{x,y}"}, []*string{ptr("a"), ptr("b c"), ptr("\"q\""), nil, ptr("{x,y}")}},
		{"varchar(8)[]", []any{"v1", "v2"}, []string{"v1", "v2"}},
		{"bytea[]", []any{[]byte{1, 2}, []byte{}}, [][]byte{{1, 2}, {}}},
		{"date[]", []any{day}, []time.Time{day}},
		{"time[]", []any{tod}, []pgtype.Time{tod}},
		{"timestamp[]", []any{ts}, []time.Time{ts}},
		{"timestamptz[]", []any{ts}, []time.Time{ts}},
		{"interval[]", []any{iv}, []pgtype.Interval{iv}},
	}
}

// normalize makes decoded values comparable: times in UTC, numerics as
// their canonical text.
func normalize(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case pgtype.Numeric:
		b, err := x.Value()
		if err != nil {
			return err.Error()
		}
		return b
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normalize(x[i])
		}
		return out
	}
	return v
}

// roundTripTypes inserts every typeCase with parameters in mode, reads the
// row back and compares it. table must not exist yet.
func roundTripTypes(ctx context.Context, t *testing.T, conn *pgx.Conn, table string, mode pgx.QueryExecMode) {
	cases := typeCases()
	ddl := "CREATE TABLE " + table + " (id integer"
	ins := "INSERT INTO " + table + " VALUES ($1"
	args := []any{mode, 1}
	nulls := []any{mode, 2}
	for i, c := range cases {
		ddl += fmt.Sprintf(", c%d %s", i, c.sqlType)
		ins += fmt.Sprintf(", $%d", i+2)
		if c.in != nil {
			args = append(args, c.in)
		} else {
			args = append(args, c.value)
		}
		nulls = append(nulls, nil)
	}
	_, err := conn.Exec(ctx, ddl+")")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, ins+")", args...)
	require.NoError(t, err, "insert (%v)", mode)
	_, err = conn.Exec(ctx, ins+")", nulls...)
	require.NoError(t, err, "insert NULLs (%v)", mode)

	rows, err := conn.Query(ctx, "SELECT * FROM "+table+" WHERE id = $1", mode, 1)
	require.NoError(t, err)
	require.True(t, rows.Next(), "no row: %v", rows.Err())
	got, err := rows.Values()
	require.NoError(t, err)
	rows.Close()
	require.NoError(t, rows.Err())
	require.Len(t, got, len(cases)+1)
	for i, c := range cases {
		require.Equal(t, normalize(c.value), normalize(got[i+1]), "%s (%v)", c.sqlType, mode)
	}

	rows, err = conn.Query(ctx, "SELECT * FROM "+table+" WHERE id = $1", mode, 2)
	require.NoError(t, err)
	require.True(t, rows.Next(), "no row: %v", rows.Err())
	got, err = rows.Values()
	require.NoError(t, err)
	rows.Close()
	for i, c := range cases {
		require.Nil(t, got[i+1], "NULL %s (%v)", c.sqlType, mode)
	}
}

// requireCode requires err to be a server error with SQLSTATE code.
func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "want SQLSTATE %s, got %v", code, err)
	require.Equal(t, code, pe.Code, "%v", pe)
}

func TestPgx(t *testing.T) {
	srv := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString(srv, ""))
	require.NoError(t, err)
	defer conn.Close(ctx)

	t.Run("items", func(t *testing.T) {
		_, err := conn.Exec(ctx, "CREATE TABLE pgx_items (id integer PRIMARY KEY, name text NOT NULL, qty bigint)")
		require.NoError(t, err)
		for i, name := range []string{"apple", "pear", "plum"} {
			tag, err := conn.Exec(ctx, "INSERT INTO pgx_items (id, name, qty) VALUES ($1, $2, $3)", i+1, name, int64(10*(i+1)))
			require.NoError(t, err)
			require.Equal(t, "INSERT 0 1", tag.String())
		}
		var names []string
		rows, err := conn.Query(ctx, "SELECT name FROM pgx_items WHERE qty >= $1 AND name <> $2 ORDER BY id", 20, "plum")
		require.NoError(t, err)
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Equal(t, []string{"pear"}, names)
	})

	t.Run("prepared reuse", func(t *testing.T) {
		_, err := conn.Prepare(ctx, "ins", "INSERT INTO pgx_items VALUES ($1, $2, $3)")
		require.NoError(t, err)
		sd, err := conn.Prepare(ctx, "byid", "SELECT name, qty FROM pgx_items WHERE id = $1")
		require.NoError(t, err)
		require.Len(t, sd.Fields, 2)
		for i := 10; i < 15; i++ {
			_, err := conn.Exec(ctx, "ins", i, fmt.Sprintf("n%d", i), int64(i*i))
			require.NoError(t, err)
		}
		for i := 10; i < 15; i++ {
			var name string
			var qty int64
			require.NoError(t, conn.QueryRow(ctx, "byid", i).Scan(&name, &qty))
			require.Equal(t, fmt.Sprintf("n%d", i), name)
			require.Equal(t, int64(i*i), qty)
		}
		require.NoError(t, conn.Deallocate(ctx, "ins"))
	})

	t.Run("batch", func(t *testing.T) {
		b := &pgx.Batch{}
		b.Queue("INSERT INTO pgx_items VALUES ($1, $2, $3)", 100, "batch1", int64(1))
		b.Queue("INSERT INTO pgx_items VALUES ($1, $2, $3)", 101, "batch2", int64(2))
		b.Queue("SELECT count(*) FROM pgx_items WHERE id >= $1", 100)
		b.Queue("UPDATE pgx_items SET qty = qty + $1 WHERE id >= $2", int64(5), 100)
		br := conn.SendBatch(ctx, b)
		_, err := br.Exec()
		require.NoError(t, err)
		_, err = br.Exec()
		require.NoError(t, err)
		var n int64
		require.NoError(t, br.QueryRow().Scan(&n))
		require.Equal(t, int64(2), n)
		tag, err := br.Exec()
		require.NoError(t, err)
		require.Equal(t, "UPDATE 2", tag.String())
		require.NoError(t, br.Close())

		// An error inside a batch reports its SQLSTATE and leaves the
		// connection usable.
		b = &pgx.Batch{}
		b.Queue("SELECT 1")
		b.Queue("SELECT 1 / $1::integer", 0)
		br = conn.SendBatch(ctx, b)
		_, err = br.Exec()
		require.NoError(t, err)
		_, err = br.Exec()
		requireCode(t, err, "22012")
		_ = br.Close()
		var one int
		require.NoError(t, conn.QueryRow(ctx, "SELECT 1").Scan(&one))
	})

	t.Run("copy text", func(t *testing.T) {
		_, err := conn.Exec(ctx, "CREATE TABLE pgx_copy_text (id bigint, name text)")
		require.NoError(t, err)
		var data strings.Builder
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(&data, "%d\tname\\t%d\n", i, i)
		}
		data.WriteString("1000\t\\N\n")
		tag, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(data.String()), "COPY pgx_copy_text FROM STDIN")
		require.NoError(t, err)
		require.Equal(t, int64(1001), tag.RowsAffected())
		var cnt, nulls int64
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE name IS NULL) FROM pgx_copy_text").Scan(&cnt, &nulls))
		require.Equal(t, []int64{1001, 1}, []int64{cnt, nulls})
		var name string
		require.NoError(t, conn.QueryRow(ctx, "SELECT name FROM pgx_copy_text WHERE id = $1", int64(7)).Scan(&name))
		require.Equal(t, "name\t7", name)
	})

	// pgx's CopyFrom always uses COPY … FROM STDIN (FORMAT binary).
	t.Run("copy from", func(t *testing.T) {
		_, err := conn.Exec(ctx, "CREATE TABLE pgx_copy (id bigint, name text, score double precision, at timestamptz, tags text[])")
		require.NoError(t, err)
		at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		var src [][]any
		for i := 0; i < 5000; i++ {
			var tags any = []string{"x", fmt.Sprint(i)}
			if i%7 == 0 {
				tags = nil
			}
			src = append(src, []any{int64(i), fmt.Sprintf("row %d\t\\", i), float64(i) / 4, at.Add(time.Duration(i) * time.Second), tags})
		}
		n, err := conn.CopyFrom(ctx, pgx.Identifier{"pgx_copy"}, []string{"id", "name", "score", "at", "tags"}, pgx.CopyFromRows(src))
		require.NoError(t, err)
		require.Equal(t, int64(len(src)), n)
		var cnt, sum int64
		var name string
		var last time.Time
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*), sum(id), max(at) FROM pgx_copy").Scan(&cnt, &sum, &last))
		require.Equal(t, int64(5000), cnt)
		require.Equal(t, int64(4999*5000/2), sum)
		require.True(t, at.Add(4999*time.Second).Equal(last), "%v", last)
		require.NoError(t, conn.QueryRow(ctx, "SELECT name FROM pgx_copy WHERE id = $1", int64(42)).Scan(&name))
		require.Equal(t, "row 42\t\\", name)
		var nulls int64
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pgx_copy WHERE tags IS NULL").Scan(&nulls))
		require.Equal(t, int64(715), nulls)
	})

	t.Run("types binary", func(t *testing.T) {
		roundTripTypes(ctx, t, conn, "pgx_types_bin", pgx.QueryExecModeCacheStatement)
	})
	t.Run("types text", func(t *testing.T) {
		roundTripTypes(ctx, t, conn, "pgx_types_text", pgx.QueryExecModeSimpleProtocol)
	})

	t.Run("transaction", func(t *testing.T) {
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, "INSERT INTO pgx_items VALUES ($1, $2, $3)", 200, "tx", int64(0))
		require.NoError(t, err)
		require.NoError(t, tx.Rollback(ctx))
		var n int64
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pgx_items WHERE id = 200").Scan(&n))
		require.Zero(t, n)
		tx, err = conn.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, "INSERT INTO pgx_items VALUES ($1, $2, $3)", 200, "tx", int64(0))
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pgx_items WHERE id = 200").Scan(&n))
		require.Equal(t, int64(1), n)
	})

	t.Run("errors", func(t *testing.T) {
		_, err := conn.Exec(ctx, "SELECT * FROM pgx_no_such_table")
		requireCode(t, err, "42P01")
		_, err = conn.Exec(ctx, "SELEC 1")
		requireCode(t, err, "42601")
		_, err = conn.Exec(ctx, "INSERT INTO pgx_items VALUES ($1, $2, $3)", 1, "dup", int64(0))
		requireCode(t, err, "23505")
		var one int
		err = conn.QueryRow(ctx, "SELECT 1 / $1::integer", 0).Scan(&one)
		requireCode(t, err, "22012")
		require.NoError(t, conn.QueryRow(ctx, "SELECT 1").Scan(&one))
	})

	t.Run("cancel", func(t *testing.T) {
		started := srv.probe.started(cancelMarker("pgx"))
		errc := make(chan error, 1)
		go func() {
			select {
			case <-started:
				errc <- conn.PgConn().CancelRequest(ctx)
			case <-ctx.Done():
				errc <- ctx.Err()
			}
		}()
		var n int64
		err := conn.QueryRow(ctx, longQuery("pgx")).Scan(&n)
		require.NoError(t, <-errc)
		requireCode(t, err, "57014")
		var one int
		require.NoError(t, conn.QueryRow(ctx, "SELECT 1").Scan(&one))
		require.Equal(t, 1, one)
	})

	t.Run("cancel by context", func(t *testing.T) {
		cfg, err := pgx.ParseConfig(connString(srv, ""))
		require.NoError(t, err)
		cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: time.Minute}
		}
		c2, err := pgx.ConnectConfig(ctx, cfg)
		require.NoError(t, err)
		defer c2.Close(ctx)
		qctx, qcancel := context.WithCancel(ctx)
		defer qcancel()
		started := srv.probe.started(cancelMarker("pgxctx"))
		go func() {
			select {
			case <-started:
				qcancel()
			case <-ctx.Done():
			}
		}()
		var n int64
		err = c2.QueryRow(qctx, longQuery("pgxctx")).Scan(&n)
		require.Error(t, err)
		requireCode(t, err, "57014")
		var one int
		require.NoError(t, c2.QueryRow(ctx, "SELECT 1").Scan(&one))
	})
}

func TestPgxSCRAM(t *testing.T) {
	srv := startServer(t, scramPassword)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString(srv, scramPassword))
	require.NoError(t, err)
	var s string
	require.NoError(t, conn.QueryRow(ctx, "SELECT $1::text", "scram").Scan(&s))
	require.Equal(t, "scram", s)
	require.NoError(t, conn.Close(ctx))

	_, err = pgx.Connect(ctx, connString(srv, "wrong"))
	requireCode(t, err, "28P01")
	_, err = pgx.Connect(ctx, connString(srv, ""))
	require.Error(t, err)
}
