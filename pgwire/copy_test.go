package pgwire

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/api"
)

func TestCopyFromPgx(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	conn := ts.connect(t, "")
	ctx := context.Background()
	var src [][]any
	for i := range 2500 {
		var b any = "v" + strconv.Itoa(i)
		if i%7 == 0 {
			b = nil
		}
		src = append(src, []any{int64(i), b})
	}
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"t"}, []string{"a", "b"}, pgx.CopyFromRows(src))
	require.NoError(t, err)
	require.Equal(t, int64(2500), n)
	got := ts.eng.rows("t")
	require.Len(t, got, 2500)
	require.Equal(t, int64(2499), got[2499][0])
	require.Nil(t, got[7][1])
	require.Equal(t, "v8", got[8][1])

	// Text COPY through the simple protocol, then a failing one.
	tag, err := conn.PgConn().CopyFrom(ctx, strings.NewReader("1\tx\n2\t\\N\n"), "copy t from stdin")
	require.NoError(t, err)
	require.Equal(t, "COPY 2", tag.String())
	_, err = conn.PgConn().CopyFrom(ctx, strings.NewReader("1\tx\nnot-a-number\ty\n"), "copy t from stdin")
	require.Equal(t, "22P02", pgErr(t, err).Code)
	require.Len(t, ts.eng.rows("t"), 2502)

	// COPY TO STDOUT in text and CSV.
	var buf bytes.Buffer
	tag, err = conn.PgConn().CopyTo(ctx, &buf, "copy weird to stdout")
	require.NoError(t, err)
	require.Equal(t, "COPY 5", tag.String())
	require.Equal(t, "1\ttab\\there\n2\tline\\nbreak\\\\slash\n3\tcomma,\"quote\"\n4\t\\N\n5\t\n", buf.String())
	buf.Reset()
	_, err = conn.PgConn().CopyTo(ctx, &buf, "copy weird to stdout csv header")
	require.NoError(t, err)
	require.Equal(t, "a,b\n1,tab\there\n2,\"line\nbreak\\slash\"\n3,\"comma,\"\"quote\"\"\"\n4,\n5,\"\"\n", buf.String())
	require.NoError(t, conn.Ping(ctx))
}

func TestCopyFail(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	c := dialRaw(t, ts)
	c.startup()
	c.send(&pgproto3.Query{String: "copy t from stdin"})
	// CopyInResponse is followed by our CopyData and CopyFail.
	msg, err := c.fe.Receive()
	require.NoError(t, err)
	require.IsType(t, &pgproto3.CopyInResponse{}, msg)
	c.send(&pgproto3.CopyData{Data: []byte("1\tx\n")}, &pgproto3.CopyFail{Message: "client gave up"})
	require.Equal(t, []string{"E:57014", "Z:I"}, c.until('Z'))
	require.Empty(t, ts.eng.rows("t"))
}

func TestCopyEscaping(t *testing.T) {
	text := &api.CopySpec{Format: api.CopyText, Delimiter: '\t', Null: `\N`}
	require.Equal(t, `a\\b\tc\nd\re\bf\fg\vh`, string(appendCopyField(nil, []byte("a\\b\tc\nd\re\bf\fg\vh"), text)))
	pipe := &api.CopySpec{Format: api.CopyText, Delimiter: '|'}
	require.Equal(t, `x\|y`, string(appendCopyField(nil, []byte("x|y"), pipe)))
	csv := &api.CopySpec{Format: api.CopyCSV, Delimiter: ',', Quote: '"', Escape: '"'}
	for in, want := range map[string]string{
		"plain": "plain", "": `""`, "a,b": `"a,b"`, `say "hi"`: `"say ""hi"""`,
		"two\nlines": "\"two\nlines\"", `\.`: `"\."`, "cr\r": "\"cr\r\"",
	} {
		require.Equal(t, want, string(appendCopyField(nil, []byte(in), csv)), "input %q", in)
	}
	csvEsc := &api.CopySpec{Format: api.CopyCSV, Delimiter: ';', Quote: '\'', Escape: '\\', Null: "NULL"}
	require.Equal(t, `'it\'s; \\x'`, string(appendCopyField(nil, []byte(`it's; \x`), csvEsc)))
	require.Equal(t, `'NULL'`, string(appendCopyField(nil, []byte("NULL"), csvEsc)))
	require.Equal(t, `a\b`, string(appendCopyField(nil, []byte(`a\b`), csvEsc)))
}

// psql runs the real psql binary against ts.
func psql(t *testing.T, ts *testServer, stdin string, args ...string) (string, string, error) {
	t.Helper()
	path, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql not installed")
	}
	full := append([]string{"-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", strconv.Itoa(ts.addr.Port), "-U", "sabot", "-d", "sabot"}, args...)
	cmd := exec.Command(path, full...)
	cmd.Env = append(cmd.Environ(), "PGCONNECT_TIMEOUT=30")
	if os.Getenv("PGSSLMODE") == "" {
		cmd.Env = append(cmd.Env, "PGSSLMODE=disable")
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func TestPsql(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	out, errOut, err := psql(t, ts, "", "-c", "select rows")
	require.NoError(t, err, errOut)
	require.Contains(t, out, " id | name  | ok | score |     big     |    day")
	require.Contains(t, out, "  1 | alice | t  |   1.5 | 10000000000 | 2024-01-02")
	require.Contains(t, out, "  3 |       |    |       |          -1 | 1999-12-31")
	require.Contains(t, out, "(3 rows)")

	_, errOut, err = psql(t, ts, "", "-c", "error")
	require.Error(t, err)
	require.Contains(t, errOut, "ERROR:  division by zero")
	require.Contains(t, errOut, "DETAIL:  some detail")
	require.Contains(t, errOut, "HINT:  some hint")

	out, errOut, err = psql(t, ts, "10\tten\n11\t\\N\n12\ttwelve\n", "-c", `\copy t from stdin`)
	require.NoError(t, err, errOut)
	require.Contains(t, out, "COPY 3")
	rows := ts.eng.rows("t")
	require.Len(t, rows, 3)
	require.Equal(t, "ten", rows[0][1])
	require.Nil(t, rows[1][1])

	out, errOut, err = psql(t, ts, "", "-c", `\copy weird to stdout with csv`)
	require.NoError(t, err, errOut)
	require.Contains(t, out, "3,\"comma,\"\"quote\"\"\"\n")

	out, errOut, err = psql(t, ts, "", "-A", "-t", "-c", "show TimeZone")
	require.NoError(t, err, errOut)
	require.Equal(t, "UTC\n", out)
}

func TestCopyBinaryOutAndExtendedCopyIn(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	conn := ts.connect(t, "")
	ctx := context.Background()
	_, err := conn.PgConn().CopyFrom(ctx, strings.NewReader("7\tseven\n8\t\\N\n"), "copy t from stdin")
	require.NoError(t, err)

	var buf bytes.Buffer
	tag, err := conn.PgConn().CopyTo(ctx, &buf, "copy t to stdout binary")
	require.NoError(t, err)
	require.Equal(t, "COPY 2", tag.String())
	want := []byte(binaryCopySignature + "\x00\x00\x00\x00\x00\x00\x00\x00")
	want = append(want, 0, 2, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 5)
	want = append(want, "seven"...)
	want = append(want, 0, 2, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	require.Equal(t, want, buf.Bytes())

	// COPY FROM STDIN through Parse/Bind/Execute.
	c := dialRaw(t, ts)
	c.startup()
	c.send(&pgproto3.Parse{Query: "copy t from stdin"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Flush{})
	require.Equal(t, []string{"1", "2"}, c.until('2'))
	msg, err := c.fe.Receive()
	require.NoError(t, err)
	require.IsType(t, &pgproto3.CopyInResponse{}, msg)
	c.send(&pgproto3.CopyData{Data: []byte("9\tnine\n")}, &pgproto3.CopyDone{}, &pgproto3.Sync{})
	require.Equal(t, []string{"C:COPY 1", "Z:I"}, c.until('Z'))
	require.Len(t, ts.eng.rows("t"), 3)
}
