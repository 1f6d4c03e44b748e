package difftest

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/internal/pgtest"
)

var (
	flagSeed  = flag.Uint64("difftest.seed", 1, "first seed of the run")
	flagSeeds = flag.Int("difftest.seeds", 10, "number of consecutive seeds, each a fresh schema in a fresh database")
	flagN     = flag.Int("difftest.n", 600, "total number of queries, spread evenly over the seeds (longer run: -difftest.seeds=100 -difftest.n=10000)")
	flagQuery = flag.Int("difftest.query", -1, "run only this query number of each seed (for reproducing a mismatch)")
	flagAll   = flag.Bool("difftest.all", false, "generate every construct, including those DefaultOptions excludes")
	flagV     = flag.Bool("difftest.v", false, "log every query")
)

// stats counts outcomes across a run.
type stats struct {
	queries, errorsBoth, empty, mismatches int
	codes                                  map[string]int
}

// TestDifferential runs generated queries against PostgreSQL 15 and the
// embedded engine and requires identical results.
func TestDifferential(t *testing.T) {
	srv := pgtest.StartT(t)
	ctx := context.Background()
	admin, err := pgconn.Connect(ctx, srv.DSN())
	require.NoError(t, err)
	defer admin.Close(ctx)

	opts := DefaultOptions()
	if *flagAll {
		opts = Options{}
	}
	st := stats{codes: map[string]int{}}
	perSeed := (*flagN + *flagSeeds - 1) / max(*flagSeeds, 1)
	for s := *flagSeed; s < *flagSeed+uint64(*flagSeeds); s++ {
		runSeed(t, ctx, srv, admin, s, perSeed, opts, &st)
	}
	t.Logf("difftest: seeds %d..%d, %d queries, %d failed identically in both engines (by SQLSTATE %v), %d returned no rows, %d mismatches (options %+v)",
		*flagSeed, *flagSeed+uint64(*flagSeeds)-1, st.queries, st.errorsBoth, st.codes, st.empty, st.mismatches, opts)
	if *flagQuery < 0 && st.queries >= 50 {
		// Most generated queries must run: a generator that only produces
		// errors would agree vacuously.
		require.Less(t, st.errorsBoth*4, st.queries, "too many queries fail in both engines: generator bug")
	}
	require.Zero(t, st.mismatches, "queries whose results differ from PostgreSQL")
}

func runSeed(t *testing.T, ctx context.Context, srv *pgtest.Server, admin *pgconn.PgConn, seed uint64, n int, opts Options, st *stats) {
	t.Helper()
	db := fmt.Sprintf("difftest_%d", seed)
	_, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db).ReadAll()
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+db).ReadAll()
	require.NoError(t, err)
	defer func() { _, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db).ReadAll() }()
	pg, err := pgconn.Connect(ctx, srv.DSNFor(db))
	require.NoError(t, err)
	defer pg.Close(ctx)

	eng, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	defer eng.Close()
	sess, err := eng.Session(engine.DefaultUser, "sabot", nil)
	require.NoError(t, err)
	defer sess.Close()

	schema := NewSchema(seed)
	script := schema.Script()
	if r := RunPG(ctx, pg, "SET statement_timeout = '20s'; "+script); r.Code != "" {
		t.Fatalf("seed %d: loading PostgreSQL: %s %s\n%s", seed, r.Code, r.Msg, script)
	}
	if r := RunOurs(ctx, sess, "SET statement_timeout = '20s'; "+script); r.Code != "" {
		t.Fatalf("seed %d: loading our engine: %s %s\n%s", seed, r.Code, r.Msg, script)
	}
	printedSchema := false
	for i := 0; i < n; i++ {
		if *flagQuery >= 0 && i != *flagQuery {
			continue
		}
		q := NewQueryGen(schema, seed, i, opts).Query()
		st.queries++
		qctx, cancel := context.WithTimeout(ctx, time.Minute)
		want := RunPG(qctx, pg, q.SQL)
		got := RunOurs(qctx, sess, q.SQL)
		cancel()
		if *flagV {
			t.Logf("seed %d query %d: %s\n-> PG %s", seed, i, q.SQL, FormatResult(want, 5))
		}
		if want.Code != "" && want.Code == got.Code {
			st.errorsBoth++
			st.codes[want.Code]++
		} else if want.Code == "" && len(want.Rows) == 0 {
			st.empty++
		}
		if why := Compare(want, got, q.Ordered); why != "" {
			st.mismatches++
			var b strings.Builder
			fmt.Fprintf(&b, "MISMATCH seed %d query %d (rerun: -difftest.seed=%d -difftest.seeds=1 -difftest.query=%d): %s\n", seed, i, seed, i, why)
			if !printedSchema {
				fmt.Fprintf(&b, "-- schema and data of seed %d:\n%s", seed, script)
				printedSchema = true
			}
			fmt.Fprintf(&b, "-- query:\n%s;\n-- PostgreSQL: %s\n-- ours: %s", q.SQL, FormatResult(want, 20), FormatResult(got, 20))
			t.Error(b.String())
		}
	}
}
