package fintech

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/pgwire"
	"github.com/sabotsql/sabotsql/sql/parser"
)

var update = flag.Bool("update", false, "rewrite setup.out and queries.out")

// serve starts an in-memory engine behind pgwire and returns a connection.
func serve(t *testing.T) *pgconn.PgConn {
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	srv, err := pgwire.New(pgwire.Config{}, eng)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, ln)
	}()
	conn, err := pgconn.Connect(ctx, fmt.Sprintf("postgres://sabot@%s/sabotsql?sslmode=disable", ln.Addr()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Close(context.Background())
		cancel()
		_ = srv.Close()
		<-done
		_ = eng.Close()
	})
	return conn
}

// runFile sends each statement of file as a simple query, as psql -f does,
// and renders what psql prints.
func runFile(t *testing.T, conn *pgconn.PgConn, file string) string {
	text, err := os.ReadFile(file)
	require.NoError(t, err)
	stmts, err := parser.Parse(string(text))
	require.NoError(t, err)
	var out strings.Builder
	for _, st := range stmts {
		res, err := conn.Exec(context.Background(), st.SQL).ReadAll()
		require.NoError(t, err, st.SQL)
		for _, r := range res {
			require.NoError(t, r.Err, st.SQL)
			if r.FieldDescriptions == nil {
				out.WriteString(r.CommandTag.String() + "\n")
				continue
			}
			out.WriteString(psqlTable(r))
		}
	}
	return out.String()
}

// numericOIDs are the types psql right-aligns.
var numericOIDs = map[uint32]bool{
	pgtype.Int2OID: true, pgtype.Int4OID: true, pgtype.Int8OID: true, pgtype.Float4OID: true,
	pgtype.Float8OID: true, pgtype.NumericOID: true, pgtype.OIDOID: true, pgtype.XIDOID: true,
	pgtype.CIDOID: true,
}

// psqlTable renders a result in psql's default aligned format: centered
// headers, numbers right-aligned, no trailing blanks after the last data
// column, then "(n rows)" and an empty line.
func psqlTable(r *pgconn.Result) string {
	fds := r.FieldDescriptions
	w := make([]int, len(fds))
	for i, fd := range fds {
		w[i] = utf8.RuneCountInString(fd.Name)
	}
	for _, row := range r.Rows {
		for i, v := range row {
			w[i] = max(w[i], utf8.RuneCount(v))
		}
	}
	var sb strings.Builder
	for i, fd := range fds {
		if i > 0 {
			sb.WriteString("|")
		}
		pad := w[i] - utf8.RuneCountInString(fd.Name)
		fmt.Fprintf(&sb, " %s%s%s ", strings.Repeat(" ", pad/2), fd.Name, strings.Repeat(" ", pad-pad/2))
	}
	sb.WriteString("\n")
	for i := range fds {
		if i > 0 {
			sb.WriteString("+")
		}
		sb.WriteString(strings.Repeat("-", w[i]+2))
	}
	sb.WriteString("\n")
	for _, row := range r.Rows {
		var line strings.Builder
		for i, v := range row {
			if i > 0 {
				line.WriteString("|")
			}
			pad := strings.Repeat(" ", w[i]-utf8.RuneCount(v))
			last := i == len(row)-1
			switch {
			case numericOIDs[fds[i].DataTypeOID]:
				line.WriteString(" " + pad + string(v))
				if !last {
					line.WriteString(" ")
				}
			case last:
				line.WriteString(" " + string(v))
			default:
				line.WriteString(" " + string(v) + pad + " ")
			}
		}
		sb.WriteString(line.String() + "\n")
	}
	if len(r.Rows) == 1 {
		sb.WriteString("(1 row)\n\n")
	} else {
		fmt.Fprintf(&sb, "(%d rows)\n\n", len(r.Rows))
	}
	return sb.String()
}

func checkGolden(t *testing.T, path, got string) {
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), got, "%s is stale: rerun with -update and review", path)
}

// TestExample runs setup.sql then queries.sql and compares the output with
// setup.out and queries.out; the README must quote queries.out.
func TestExample(t *testing.T) {
	conn := serve(t)
	checkGolden(t, "setup.out", runFile(t, conn, "setup.sql"))
	queries := runFile(t, conn, "queries.sql")
	checkGolden(t, "queries.out", queries)
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	require.Contains(t, string(readme), queries, "README.md must quote queries.out verbatim")
}
