package pgwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// testServer runs a Server on a loopback port for one test.
type testServer struct {
	srv  *Server
	eng  *fakeEngine
	addr *net.TCPAddr
	errc chan error
}

func startServer(t testing.TB, cfg Config, eng *fakeEngine) *testServer {
	t.Helper()
	if eng == nil {
		eng = newFakeEngine()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := New(cfg, eng)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ts := &testServer{srv: srv, eng: eng, addr: ln.Addr().(*net.TCPAddr), errc: make(chan error, 1)}
	go func() { ts.errc <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // no grace: close whatever is left
		_ = srv.Shutdown(ctx)
		require.ErrorIs(t, <-ts.errc, ErrServerClosed)
	})
	return ts
}

func (ts *testServer) dsn(extra string) string {
	return fmt.Sprintf("postgres://sabot@127.0.0.1:%d/sabot?sslmode=disable%s", ts.addr.Port, extra)
}

func (ts *testServer) connect(t testing.TB, extra string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), ts.dsn(extra))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func pgErr(t testing.TB, err error) *pgconn.PgError {
	t.Helper()
	require.Error(t, err)
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "not a PgError: %v", err)
	return pe
}

func TestSimpleQueryTypes(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	conn := ts.connect(t, "")
	ctx := context.Background()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			rows, err := conn.Query(ctx, "select rows", mode)
			require.NoError(t, err)
			type row struct {
				id    int32
				name  *string
				ok    *bool
				score *float64
				big   *int64
				day   pgtype.Date
			}
			var got []row
			for rows.Next() {
				var r row
				require.NoError(t, rows.Scan(&r.id, &r.name, &r.ok, &r.score, &r.big, &r.day))
				got = append(got, r)
			}
			require.NoError(t, rows.Err())
			require.Equal(t, "SELECT 3", rows.CommandTag().String())
			require.Len(t, got, 3)
			require.Equal(t, int32(1), got[0].id)
			require.Equal(t, "alice", *got[0].name)
			require.True(t, *got[0].ok)
			require.Equal(t, 1.5, *got[0].score)
			require.Equal(t, int64(10000000000), *got[0].big)
			require.Equal(t, "2024-01-02", got[0].day.Time.Format("2006-01-02"))
			require.False(t, *got[1].ok)
			require.Equal(t, -2.25, *got[1].score)
			require.Nil(t, got[1].big)
			require.False(t, got[1].day.Valid)
			require.Nil(t, got[2].name)
			require.Nil(t, got[2].ok)
			require.Equal(t, "1999-12-31", got[2].day.Time.Format("2006-01-02"))

			fds := rows.FieldDescriptions()
			require.Equal(t, "id", fds[0].Name)
			require.Equal(t, uint32(23), fds[0].DataTypeOID)
			require.Equal(t, int16(4), fds[0].DataTypeSize)
			require.Equal(t, uint32(1082), fds[5].DataTypeOID)
		})
	}
}

func TestMultiStatementAndEmpty(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	conn := ts.connect(t, "")
	ctx := context.Background()
	results, err := conn.PgConn().Exec(ctx, "select 1; begin; select rows; commit").ReadAll()
	require.NoError(t, err)
	require.Len(t, results, 4)
	require.Equal(t, "SELECT 1", results[0].CommandTag.String())
	require.Equal(t, [][][]byte{{[]byte("1")}}, results[0].Rows)
	require.Equal(t, "BEGIN", results[1].CommandTag.String())
	require.Len(t, results[2].Rows, 3)
	require.Equal(t, "COMMIT", results[3].CommandTag.String())

	results, err = conn.PgConn().Exec(ctx, "  ").ReadAll()
	require.NoError(t, err)
	require.Len(t, results, 1)
	require.Empty(t, results[0].Rows)

	// A transaction block is visible in ReadyForQuery.
	_, err = conn.Exec(ctx, "begin", pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	require.Equal(t, byte('T'), conn.PgConn().TxStatus())
	_, err = conn.Exec(ctx, "commit", pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	require.Equal(t, byte('I'), conn.PgConn().TxStatus())
}

func TestErrors(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	conn := ts.connect(t, "")
	ctx := context.Background()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		_, err := conn.Exec(ctx, "error", mode)
		pe := pgErr(t, err)
		require.Equal(t, "22012", pe.Code)
		require.Equal(t, "ERROR", pe.Severity)
		require.Equal(t, "division by zero", pe.Message)
		require.Equal(t, "some detail", pe.Detail)
		require.Equal(t, "some hint", pe.Hint)
		require.Equal(t, int32(8), pe.Position)

		_, err = conn.Exec(ctx, "nonsense here", mode)
		require.Equal(t, "42601", pgErr(t, err).Code)

		_, err = conn.Exec(ctx, "internal", mode)
		pe = pgErr(t, err)
		require.Equal(t, "XX000", pe.Code)
		require.Contains(t, pe.Message, "boom")

		_, err = conn.Exec(ctx, "timeout", mode)
		pe = pgErr(t, err)
		require.Equal(t, "57014", pe.Code)
		require.Equal(t, "canceling statement due to statement timeout", pe.Message)

		// An error while rows stream arrives after the first rows.
		rows, err := conn.Query(ctx, "fail midway", mode)
		require.NoError(t, err)
		n := 0
		for rows.Next() {
			n++
		}
		require.Equal(t, "22012", pgErr(t, rows.Err()).Code)
		require.Equal(t, 1, n)

		// The connection stays usable.
		var one int32
		require.NoError(t, conn.QueryRow(ctx, "select 1", mode).Scan(&one))
		require.Equal(t, int32(1), one)
	}
}

func TestNoticeAndParameterStatus(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	var notices []string
	cfg, err := pgx.ParseConfig(ts.dsn("&application_name=first"))
	require.NoError(t, err)
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Severity+": "+n.Message) }
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx)

	pc := conn.PgConn()
	require.Equal(t, "15.0 (SabotSQL)", pc.ParameterStatus("server_version"))
	require.Equal(t, "UTF8", pc.ParameterStatus("client_encoding"))
	require.Equal(t, "on", pc.ParameterStatus("standard_conforming_strings"))
	require.Equal(t, "ISO, MDY", pc.ParameterStatus("DateStyle"))
	require.Equal(t, "first", pc.ParameterStatus("application_name"))
	require.Equal(t, "sabot", pc.ParameterStatus("session_authorization"))
	require.NotZero(t, pc.PID())

	_, err = conn.Exec(ctx, "set application_name = 'second'")
	require.NoError(t, err)
	require.Equal(t, "second", pc.ParameterStatus("application_name"))

	_, err = conn.Exec(ctx, "notice")
	require.NoError(t, err)
	require.Equal(t, []string{"NOTICE: hello from the engine"}, notices)
}

func TestStartupErrors(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	ctx := context.Background()
	_, err := pgx.Connect(ctx, fmt.Sprintf("postgres://nobody@127.0.0.1:%d/x?sslmode=disable", ts.addr.Port))
	pe := pgErr(t, err)
	require.Equal(t, "28000", pe.Code)
	require.Equal(t, `role "nobody" does not exist`, pe.Message)
	require.Equal(t, "FATAL", pe.Severity)

	_, err = pgx.Connect(ctx, fmt.Sprintf("postgres://sabot@127.0.0.1:%d/nodb?sslmode=disable", ts.addr.Port))
	require.Equal(t, "3D000", pgErr(t, err).Code)

	// A protocol version we do not speak.
	c, err := net.Dial("tcp", ts.addr.String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte{0, 0, 0, 8, 0, 2, 0, 0})
	require.NoError(t, err)
	msg := readAll(t, c)
	require.Contains(t, msg, "unsupported frontend protocol 2.0")
	require.Contains(t, msg, "0A000")
}

// readAll reads until the server closes the connection.
func readAll(t testing.TB, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		require.NoError(t, err)
	}
	return string(b)
}

func TestRefuseNonLoopbackWithoutPassword(t *testing.T) {
	eng := newFakeEngine()
	srv, err := New(Config{Listen: "0.0.0.0:0"}, eng)
	require.NoError(t, err)
	err = srv.ListenAndServe(context.Background())
	require.ErrorContains(t, err, "non-loopback")

	ln, err := net.Listen("tcp", "0.0.0.0:0")
	require.NoError(t, err)
	err = srv.Serve(context.Background(), ln)
	require.ErrorContains(t, err, "non-loopback")

	// With Insecure the same listener is served until ctx ends.
	srv2, err := New(Config{Insecure: true}, eng)
	require.NoError(t, err)
	ln2, err := net.Listen("tcp", "0.0.0.0:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv2.Serve(ctx, ln2) }()
	port := ln2.Addr().(*net.TCPAddr).Port
	conn, err := pgx.Connect(context.Background(), fmt.Sprintf("postgres://sabot@127.0.0.1:%d/x?sslmode=disable", port))
	require.NoError(t, err)
	require.NoError(t, conn.Ping(context.Background()))
	cancel()
	require.ErrorIs(t, <-errc, ErrServerClosed)
	require.Error(t, conn.Ping(context.Background()))
}

func TestMoreTypesTextAndBinary(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	conn := ts.connect(t, "")
	ctx := context.Background()

	// Text, as the simple protocol returns it.
	res, err := conn.PgConn().Exec(ctx, "select types").ReadAll()
	require.NoError(t, err)
	got := make([]string, len(res[0].Rows[0]))
	for i, v := range res[0].Rows[0] {
		got[i] = string(v)
	}
	require.Equal(t, []string{"12345.678", "2024-01-02 03:04:05+00", "1 year 2 mons 3 days 04:05:00",
		`\xdead00`, "{1,NULL,3}", "0.25", "short"}, got)
	fd := res[0].FieldDescriptions
	require.Equal(t, uint32(1700), fd[0].DataTypeOID)
	require.Equal(t, uint32(1007), fd[4].DataTypeOID)
	require.Equal(t, uint32(1043), fd[6].DataTypeOID)
	require.Equal(t, int32(14), fd[6].TypeModifier)

	// The session TimeZone shapes timestamptz text output.
	_, err = conn.Exec(ctx, "set TimeZone = 'America/New_York'", pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	require.Equal(t, "America/New_York", conn.PgConn().ParameterStatus("TimeZone"))
	res, err = conn.PgConn().Exec(ctx, "select types").ReadAll()
	require.NoError(t, err)
	require.Equal(t, "2024-01-01 22:04:05-05", string(res[0].Rows[0][1]))

	// Binary, decoded by pgx.
	var (
		n   pgtype.Numeric
		tsz time.Time
		iv  pgtype.Interval
		by  []byte
		arr []*int32
		r   float32
		vc  string
	)
	require.NoError(t, conn.QueryRow(ctx, "select types").Scan(&n, &tsz, &iv, &by, &arr, &r, &vc))
	f, err := n.Float64Value()
	require.NoError(t, err)
	require.Equal(t, 12345.678, f.Float64)
	require.True(t, tsz.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)))
	require.Equal(t, pgtype.Interval{Months: 14, Days: 3, Microseconds: 4*3600e6 + 5*60e6, Valid: true}, iv)
	require.Equal(t, []byte{0xde, 0xad, 0}, by)
	require.Len(t, arr, 3)
	require.Equal(t, int32(1), *arr[0])
	require.Nil(t, arr[1])
	require.Equal(t, float32(0.25), r)
	require.Equal(t, "short", vc)
}

func TestProtocolNegotiation(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	c := dialRaw(t, ts)
	// A client asking for 3.2 with a protocol extension is told 3.0.
	c.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion32,
		Parameters: map[string]string{"user": "sabot", "_pq_.fancy": "on"}})
	msg, err := c.fe.Receive()
	require.NoError(t, err)
	npv, ok := msg.(*pgproto3.NegotiateProtocolVersion)
	require.True(t, ok, "%T", msg)
	require.Equal(t, uint32(0), npv.NewestMinorProtocol)
	require.Equal(t, []string{"_pq_.fancy"}, npv.UnrecognizedOptions)
	var key *pgproto3.BackendKeyData
	for {
		msg, err := c.fe.Receive()
		require.NoError(t, err)
		if k, ok := msg.(*pgproto3.BackendKeyData); ok {
			key = &pgproto3.BackendKeyData{ProcessID: k.ProcessID, SecretKey: append([]byte(nil), k.SecretKey...)}
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	require.NotNil(t, key)
	require.Len(t, key.SecretKey, 4)

	// GSSENCRequest is declined and the client may go on in plain text.
	nc, err := net.Dial("tcp", ts.addr.String())
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30})
	require.NoError(t, err)
	var b [1]byte
	_, err = io.ReadFull(nc, b[:])
	require.NoError(t, err)
	require.Equal(t, byte('N'), b[0])
	raw := &rawClient{t: t, nc: nc, fe: pgproto3.NewFrontend(nc, nc)}
	raw.startup()
	raw.send(&pgproto3.Query{String: "select 1"})
	require.Equal(t, []string{"T:1", "D:1", "C:SELECT 1", "Z:I"}, raw.until('Z'))
}
