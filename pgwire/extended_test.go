package pgwire

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
)

func TestParamsTextAndBinary(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	conn := ts.connect(t, "")
	ctx := context.Background()
	pc := conn.PgConn()
	const q = "echo int8 text float8 bool"

	// All text parameters and text results.
	res := pc.ExecParams(ctx, q, [][]byte{[]byte(" 42 "), []byte("hi"), []byte("2.5"), nil}, nil, nil, nil).Read()
	require.NoError(t, res.Err)
	require.Equal(t, [][][]byte{{[]byte("42"), []byte("hi"), []byte("2.5"), nil}}, res.Rows)

	// Binary parameters (one format code per parameter) and binary results.
	i8 := binary.BigEndian.AppendUint64(nil, uint64(math.MaxInt64))
	f8 := binary.BigEndian.AppendUint64(nil, math.Float64bits(-0.5))
	res = pc.ExecParams(ctx, q, [][]byte{i8, []byte("bin"), f8, {1}}, nil, []int16{1, 0, 1, 1}, []int16{1}).Read()
	require.NoError(t, res.Err)
	require.Equal(t, [][][]byte{{i8, []byte("bin"), f8, {1}}}, res.Rows)
	for _, fd := range res.FieldDescriptions {
		require.Equal(t, int16(1), fd.Format)
	}

	// Per-column result formats.
	res = pc.ExecParams(ctx, q, [][]byte{[]byte("7"), []byte("x"), []byte("1"), []byte("t")}, nil, nil, []int16{0, 1, 0, 1}).Read()
	require.NoError(t, res.Err)
	require.Equal(t, [][][]byte{{[]byte("7"), []byte("x"), []byte("1"), {1}}}, res.Rows)

	// Bad text input for an int8 parameter.
	res = pc.ExecParams(ctx, q, [][]byte{[]byte("x"), nil, nil, nil}, nil, nil, nil).Read()
	require.Equal(t, "22P02", pgErr(t, res.Err).Code)
	// Bad binary input.
	res = pc.ExecParams(ctx, q, [][]byte{{1, 2}, nil, nil, nil}, nil, []int16{1}, nil).Read()
	require.Equal(t, "22P03", pgErr(t, res.Err).Code)
	// Wrong parameter count.
	res = pc.ExecParams(ctx, q, [][]byte{[]byte("1")}, nil, nil, nil).Read()
	require.Equal(t, "08P01", pgErr(t, res.Err).Code)

	// pgx's own encoding, through the statement cache.
	var (
		a int64
		b string
		c float64
		d bool
	)
	require.NoError(t, conn.QueryRow(ctx, q, int64(-5), "pgx", 3.25, true).Scan(&a, &b, &c, &d))
	require.Equal(t, int64(-5), a)
	require.Equal(t, "pgx", b)
	require.Equal(t, 3.25, c)
	require.True(t, d)
}

func TestPreparedStatements(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	conn := ts.connect(t, "")
	ctx := context.Background()
	sd, err := conn.Prepare(ctx, "s1", "echo int4 text")
	require.NoError(t, err)
	require.Equal(t, []uint32{23, 25}, sd.ParamOIDs)
	require.Len(t, sd.Fields, 2)
	for i := range 5 {
		var n int32
		var s string
		require.NoError(t, conn.QueryRow(ctx, "s1", i, fmt.Sprint("v", i)).Scan(&n, &s))
		require.Equal(t, int32(i), n)
		require.Equal(t, fmt.Sprint("v", i), s)
	}
	// Declared parameter types reach the engine.
	_, err = conn.PgConn().Prepare(ctx, "s2", "echo int8", []uint32{25})
	require.Equal(t, "42804", pgErr(t, err).Code)

	// Duplicate names are rejected at the protocol level.
	_, err = conn.PgConn().Prepare(ctx, "dup", "select 1", nil)
	require.NoError(t, err)
	_, err = conn.PgConn().Prepare(ctx, "dup", "select 1", nil)
	pe := pgErr(t, err)
	require.Equal(t, "42P05", pe.Code)
	require.Equal(t, `prepared statement "dup" already exists`, pe.Message)
	require.NoError(t, conn.PgConn().Deallocate(ctx, "dup"))
	_, err = conn.PgConn().Prepare(ctx, "dup", "select 1", nil)
	require.NoError(t, err)

	// Several statements cannot be prepared together.
	_, err = conn.PgConn().Prepare(ctx, "", "select 1; select 1", nil)
	require.Equal(t, "42601", pgErr(t, err).Code)
}

func TestBatch(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	conn := ts.connect(t, "")
	ctx := context.Background()
	b := &pgx.Batch{}
	b.Queue("echo int8", int64(1))
	b.Queue("select rows")
	b.Queue("echo text", "two")
	br := conn.SendBatch(ctx, b)
	var n int64
	require.NoError(t, br.QueryRow().Scan(&n))
	require.Equal(t, int64(1), n)
	rows, err := br.Query()
	require.NoError(t, err)
	count := 0
	for rows.Next() {
		count++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 3, count)
	var s string
	require.NoError(t, br.QueryRow().Scan(&s))
	require.Equal(t, "two", s)
	require.NoError(t, br.Close())

	// An error in the middle of a batch skips the rest up to Sync.
	b = &pgx.Batch{}
	b.Queue("echo int8", int64(1))
	b.Queue("error")
	b.Queue("echo int8", int64(3))
	br = conn.SendBatch(ctx, b)
	_, err = br.Exec()
	require.NoError(t, err)
	_, err = br.Exec()
	require.Equal(t, "22012", pgErr(t, err).Code)
	_, err = br.Exec()
	require.Error(t, err)
	_ = br.Close()
	require.NoError(t, conn.Ping(ctx))
}

func TestStdlib(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	db, err := sql.Open("pgx", ts.dsn(""))
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	var n int64
	var s string
	require.NoError(t, db.QueryRowContext(ctx, "echo int8 text", 99, "std").Scan(&n, &s))
	require.Equal(t, int64(99), n)
	require.Equal(t, "std", s)

	rows, err := db.QueryContext(ctx, "select rows")
	require.NoError(t, err)
	var names []sql.NullString
	for rows.Next() {
		var id int
		var name sql.NullString
		var ok sql.NullBool
		var score sql.NullFloat64
		var big sql.NullInt64
		var day sql.NullTime
		require.NoError(t, rows.Scan(&id, &name, &ok, &score, &big, &day))
		names = append(names, name)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []sql.NullString{{String: "alice", Valid: true}, {String: "bob", Valid: true}, {}}, names)

	_, err = db.ExecContext(ctx, "error")
	require.Equal(t, "22012", pgErr(t, err).Code)
	_, err = db.ExecContext(ctx, "set application_name = 'std'")
	require.NoError(t, err)
}

// rawClient speaks the protocol with pgproto3's Frontend, for message
// sequences no driver produces (row limits, bad names, garbage).
type rawClient struct {
	t  testing.TB
	nc net.Conn
	fe *pgproto3.Frontend
}

func dialRaw(t testing.TB, ts *testServer) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", ts.addr.String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	return &rawClient{t: t, nc: nc, fe: pgproto3.NewFrontend(nc, nc)}
}

func (c *rawClient) send(msgs ...pgproto3.FrontendMessage) {
	for _, m := range msgs {
		c.fe.Send(m)
	}
	require.NoError(c.t, c.fe.Flush())
}

// startup logs in as sabot and reads up to ReadyForQuery.
func (c *rawClient) startup() {
	c.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "sabot"}})
	c.until('Z')
}

// until reads messages up to one of type typ and returns a one-letter
// summary of each ("D:42" for rows' first value, "E:code" for errors).
func (c *rawClient) until(typ byte) []string {
	var out []string
	for {
		msg, err := c.fe.Receive()
		require.NoError(c.t, err)
		var s string
		var ty byte
		switch m := msg.(type) {
		case *pgproto3.ReadyForQuery:
			ty, s = 'Z', "Z:"+string(m.TxStatus)
		case *pgproto3.DataRow:
			ty, s = 'D', "D:"+string(m.Values[0])
		case *pgproto3.ErrorResponse:
			ty, s = 'E', "E:"+m.Code
		case *pgproto3.CommandComplete:
			ty, s = 'C', "C:"+string(m.CommandTag)
		case *pgproto3.PortalSuspended:
			ty, s = 's', "s"
		case *pgproto3.ParseComplete:
			ty, s = '1', "1"
		case *pgproto3.BindComplete:
			ty, s = '2', "2"
		case *pgproto3.CloseComplete:
			ty, s = '3', "3"
		case *pgproto3.RowDescription:
			ty, s = 'T', fmt.Sprint("T:", len(m.Fields))
		case *pgproto3.NoData:
			ty, s = 'n', "n"
		case *pgproto3.ParameterDescription:
			ty, s = 't', fmt.Sprint("t:", m.ParameterOIDs)
		case *pgproto3.EmptyQueryResponse:
			ty, s = 'I', "I"
		default:
			continue // ParameterStatus, BackendKeyData, AuthenticationOk, ...
		}
		out = append(out, s)
		if ty == typ {
			return out
		}
	}
}

func TestPortalSuspension(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	c := dialRaw(t, ts)
	c.startup()
	c.send(&pgproto3.Parse{Name: "g", Query: "gen 5"},
		&pgproto3.Bind{PreparedStatement: "g", DestinationPortal: "p"},
		&pgproto3.Describe{ObjectType: 'P', Name: "p"},
		&pgproto3.Execute{Portal: "p", MaxRows: 2},
		&pgproto3.Execute{Portal: "p", MaxRows: 2},
		&pgproto3.Execute{Portal: "p", MaxRows: 2},
		&pgproto3.Execute{Portal: "p", MaxRows: 2},
		&pgproto3.Sync{})
	require.Equal(t, []string{"1", "2", "T:2", "D:0", "D:1", "s", "D:2", "D:3", "s", "D:4", "C:SELECT 5", "C:SELECT 5", "Z:I"}, c.until('Z'))

	// Interleaving: running another statement closes a suspended portal.
	c.send(&pgproto3.Bind{PreparedStatement: "g", DestinationPortal: "p1"},
		&pgproto3.Execute{Portal: "p1", MaxRows: 1},
		&pgproto3.Parse{Query: "select 1"},
		&pgproto3.Bind{},
		&pgproto3.Execute{},
		&pgproto3.Execute{Portal: "p1", MaxRows: 1},
		&pgproto3.Sync{})
	require.Equal(t, []string{"2", "D:0", "s", "1", "2", "D:1", "C:SELECT 1", "E:55000", "Z:I"}, c.until('Z'))

	// Describe a statement: parameters and columns; NoData for none.
	c.send(&pgproto3.Parse{Name: "e", Query: "echo int8 text"},
		&pgproto3.Describe{ObjectType: 'S', Name: "e"},
		&pgproto3.Parse{Name: "n", Query: "notice"},
		&pgproto3.Describe{ObjectType: 'S', Name: "n"},
		&pgproto3.Close{ObjectType: 'S', Name: "n"},
		&pgproto3.Close{ObjectType: 'P', Name: "nothing"},
		&pgproto3.Sync{})
	require.Equal(t, []string{"1", "t:[20 25]", "T:2", "1", "t:[]", "n", "3", "3", "Z:I"}, c.until('Z'))

	// Unknown names, then everything up to Sync is skipped.
	c.send(&pgproto3.Bind{PreparedStatement: "nope"},
		&pgproto3.Execute{}, &pgproto3.Parse{Query: "select 1"}, &pgproto3.Sync{})
	require.Equal(t, []string{"E:26000", "Z:I"}, c.until('Z'))
	c.send(&pgproto3.Execute{Portal: "nope"}, &pgproto3.Sync{})
	require.Equal(t, []string{"E:34000", "Z:I"}, c.until('Z'))
	c.send(&pgproto3.Describe{ObjectType: 'S', Name: "nope"}, &pgproto3.Sync{})
	require.Equal(t, []string{"E:26000", "Z:I"}, c.until('Z'))

	// Empty query through the extended protocol.
	c.send(&pgproto3.Parse{Query: ""}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{})
	require.Equal(t, []string{"1", "2", "I", "Z:I"}, c.until('Z'))

	// Flush delivers pending replies without Sync.
	c.send(&pgproto3.Parse{Query: "select 1"}, &pgproto3.Flush{})
	require.Equal(t, []string{"1"}, c.until('1'))
	c.send(&pgproto3.Sync{})
	require.Equal(t, []string{"Z:I"}, c.until('Z'))

	// Simple query still works on the same connection.
	c.send(&pgproto3.Query{String: "select 1"})
	require.Equal(t, []string{"T:1", "D:1", "C:SELECT 1", "Z:I"}, c.until('Z'))
}
