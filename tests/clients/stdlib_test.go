package clients

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/stretchr/testify/require"
)

// TestDatabaseSQL runs the scenario through database/sql with pgx's stdlib
// driver.
func TestDatabaseSQL(t *testing.T) {
	srv := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", connString(srv, ""))
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(2)
	require.NoError(t, db.PingContext(ctx))

	t.Run("items", func(t *testing.T) {
		_, err := db.ExecContext(ctx, "CREATE TABLE sql_items (id integer PRIMARY KEY, name text, price numeric(10,2))")
		require.NoError(t, err)
		res, err := db.ExecContext(ctx, "INSERT INTO sql_items VALUES ($1, $2, $3), ($4, $5, $6)", 1, "apple", "1.25", 2, "pear", "0.50")
		require.NoError(t, err)
		n, err := res.RowsAffected()
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
		var name, price string
		require.NoError(t, db.QueryRowContext(ctx, "SELECT name, price FROM sql_items WHERE id = $1 AND name LIKE $2", 2, "p%").Scan(&name, &price))
		require.Equal(t, "pear", name)
		require.Equal(t, "0.50", price)
	})

	t.Run("prepared reuse", func(t *testing.T) {
		ins, err := db.PrepareContext(ctx, "INSERT INTO sql_items (id, name, price) VALUES ($1, $2, $3)")
		require.NoError(t, err)
		defer ins.Close()
		sel, err := db.PrepareContext(ctx, "SELECT name FROM sql_items WHERE id = $1")
		require.NoError(t, err)
		defer sel.Close()
		for i := 10; i < 15; i++ {
			_, err := ins.ExecContext(ctx, i, "n"+string(rune('a'+i-10)), nil)
			require.NoError(t, err)
		}
		for i := 10; i < 15; i++ {
			var name string
			require.NoError(t, sel.QueryRowContext(ctx, i).Scan(&name))
			require.Equal(t, "n"+string(rune('a'+i-10)), name)
		}
		var nulls int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM sql_items WHERE price IS NULL").Scan(&nulls))
		require.Equal(t, 5, nulls)
	})

	t.Run("types", func(t *testing.T) {
		// Through database/sql pgx uses the extended protocol with binary
		// results; scan every column into its natural Go type.
		_, err := db.ExecContext(ctx, `CREATE TABLE sql_types (b boolean, i2 smallint, i4 integer, i8 bigint,
			f4 real, f8 double precision, n numeric(12,4), t text, vc varchar(10), c char(5), by bytea,
			d date, tm time, ts timestamp, tz timestamptz, iv interval, ai integer[], at text[])`)
		require.NoError(t, err)
		ts := time.Date(2024, 2, 29, 13, 45, 30, 123456000, time.UTC)
		day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
		_, err = db.ExecContext(ctx, "INSERT INTO sql_types VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)",
			true, int16(-32768), int32(-2147483648), int64(9223372036854775807), float32(3.25), 2.718281828459045,
			"-12345678.9012", "héllo\n\"wörld\"", "abc", "ab", []byte{0, 0xff, 0x10}, day, "13:45:30.123456", ts, ts,
			"1 year 2 mons 3 days 04:05:06.789", []int32{1, 2, 4}, []string{"a", "b c", "\"q\""})
		require.NoError(t, err)
		var (
			b      bool
			i2     int16
			i4     int32
			i8     int64
			f4     float32
			f8     float64
			n      string
			tx, vc string
			c      string
			by     []byte
			d      time.Time
			tm     string
			tsv    time.Time
			tz     time.Time
			iv     string
		)
		m := pgtype.NewMap()
		ai := []int32{}
		at := []string{}
		err = db.QueryRowContext(ctx, "SELECT * FROM sql_types").Scan(&b, &i2, &i4, &i8, &f4, &f8, &n, &tx, &vc, &c, &by,
			&d, &tm, &tsv, &tz, &iv, m.SQLScanner(&ai), m.SQLScanner(&at))
		require.NoError(t, err)
		require.Equal(t, []any{true, int16(-32768), int32(-2147483648), int64(9223372036854775807), float32(3.25), 2.718281828459045,
			"-12345678.9012", "héllo\n\"wörld\"", "abc", "ab   ", []byte{0, 0xff, 0x10}},
			[]any{b, i2, i4, i8, f4, f8, n, tx, vc, c, by})
		require.True(t, day.Equal(d), "%v", d)
		require.Equal(t, "13:45:30.123456", tm)
		require.True(t, ts.Equal(tsv), "%v", tsv)
		require.True(t, ts.Equal(tz), "%v", tz)
		require.Equal(t, "1 year 2 mons 3 days 04:05:06.789", iv)
		require.Equal(t, []int32{1, 2, 4}, ai)
		require.Equal(t, []string{"a", "b c", "\"q\""}, at)
	})

	t.Run("transaction", func(t *testing.T) {
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, "INSERT INTO sql_items VALUES ($1, $2, $3)", 100, "tx", "9.99")
		require.NoError(t, err)
		require.NoError(t, tx.Rollback())
		tx, err = db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, "INSERT INTO sql_items VALUES ($1, $2, $3)", 101, "tx", "9.99")
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
		var ids []int
		rows, err := db.QueryContext(ctx, "SELECT id FROM sql_items WHERE id >= $1 ORDER BY id", 100)
		require.NoError(t, err)
		for rows.Next() {
			var id int
			require.NoError(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, []int{101}, ids)
	})

	t.Run("errors", func(t *testing.T) {
		_, err := db.ExecContext(ctx, "INSERT INTO sql_items VALUES ($1, $2, $3)", 1, "dup", nil)
		requireCode(t, err, "23505")
		var x int
		err = db.QueryRowContext(ctx, "SELECT 1 / $1::int", 0).Scan(&x)
		requireCode(t, err, "22012")
		err = db.QueryRowContext(ctx, "SELECT x FROM sql_no_such").Scan(&x)
		requireCode(t, err, "42P01")
	})

	t.Run("cancel by context", func(t *testing.T) {
		conn, err := db.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		qctx, qcancel := context.WithCancel(ctx)
		defer qcancel()
		started := srv.probe.started(cancelMarker("stdlib"))
		go func() {
			select {
			case <-started:
				qcancel()
			case <-ctx.Done():
			}
		}()
		var n int64
		err = conn.QueryRowContext(qctx, longQuery("stdlib")).Scan(&n)
		require.Error(t, err)
		// pgx's default context handling interrupts the query on the
		// client side (closing the connection); the server must stay up.
		require.ErrorIs(t, err, context.Canceled)
		var one int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT 1").Scan(&one))
	})

	t.Run("cancel request", func(t *testing.T) {
		conn, err := db.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		started := srv.probe.started(cancelMarker("stdlib2"))
		errc := make(chan error, 1)
		var pc *pgx.Conn
		require.NoError(t, conn.Raw(func(dc any) error {
			pc = dc.(interface{ Conn() *pgx.Conn }).Conn()
			return nil
		}))
		go func() {
			select {
			case <-started:
				errc <- pc.PgConn().CancelRequest(ctx)
			case <-ctx.Done():
				errc <- ctx.Err()
			}
		}()
		var n int64
		err = conn.QueryRowContext(ctx, longQuery("stdlib2")).Scan(&n)
		require.NoError(t, <-errc)
		requireCode(t, err, "57014")
		var one int
		require.NoError(t, conn.QueryRowContext(ctx, "SELECT 1").Scan(&one))
	})
}
