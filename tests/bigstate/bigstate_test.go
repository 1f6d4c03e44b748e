package bigstate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// config is one run's size.
type config struct {
	keys   int64 // distinct keys loaded
	rows   int64 // rows loaded: keys + keys/4, so a quarter of the keys get two rows
	batch  int64 // rows per INSERT
	limit  string
	rssMax int64
	full   bool // above CI size: skip the batch engine's GROUP BY
}

const (
	ciKeys = 150_000
	// mult spreads g over the keys: k = g*mult % keys (a bijection on
	// 1..keys when keys is not a multiple of the prime mult).
	mult = 7919
)

func envSize(t *testing.T, name string, def int64) int64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := parseSize(v)
	require.NoError(t, err, "%s=%q", name, v)
	return n
}

// parseSize parses 512MiB, 1GiB, 20000000.
func parseSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	m := int64(1)
	for _, x := range []struct {
		suf string
		m   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}} {
		if strings.HasSuffix(u, x.suf) {
			u, m = strings.TrimSuffix(u, x.suf), x.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(u), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * m, nil
}

func loadConfig(t *testing.T) config {
	c := config{keys: envSize(t, "SABOTSQL_BIGSTATE_KEYS", ciKeys)}
	// An aggregate spills after a barrier, and one INSERT is one epoch, so
	// a batch's new groups (and the view's changes) must fit the state
	// share until the epoch commits.
	c.batch = min(max(c.keys/100, 50_000), 250_000)
	require.NotZero(t, c.keys%mult, "the key count must not be a multiple of %d", mult)
	c.rows = c.keys + c.keys/4
	c.full = c.keys > 1_000_000
	// CI size: twice the limit (peak RSS was 160-170 MiB there: the Go
	// runtime's soft limit is 1.5 times the limit, 144 MiB, plus the
	// binary and a GC cycle's garbage).
	defLimit, defRSS := "96MiB", int64(192<<20)
	if c.full {
		defLimit, defRSS = "512MiB", 1<<30
	}
	c.limit = os.Getenv("SABOTSQL_BIGSTATE_LIMIT")
	if c.limit == "" {
		c.limit = defLimit
	}
	c.rssMax = envSize(t, "SABOTSQL_BIGSTATE_RSS", defRSS)
	return c
}

// row g (1-based) of the load.
func keyOf(g, keys int64) int64 { return g * mult % keys }

// The changes after the load: rows of keys ≡ 0 (mod 10) are deleted, rows
// of keys ≡ 1 (mod 7) get v + 1.
const (
	deleteSQL = "DELETE FROM t WHERE k % 10 = 0"
	updateSQL = "UPDATE t SET v = v + 1 WHERE k % 7 = 1"
)

// oracle computes sum(v) and count(*) per key from the generating formula
// and the changes.
func oracle(c config) (sum, cnt []int64) {
	sum, cnt = make([]int64, c.keys), make([]int64, c.keys)
	for g := int64(1); g <= c.rows; g++ {
		k := keyOf(g, c.keys)
		if k%10 == 0 {
			continue
		}
		v := g % 1000
		if k%7 == 1 {
			v++
		}
		sum[k] += v
		cnt[k]++
	}
	return sum, cnt
}

func run(t *testing.T, ctx context.Context, c *pgx.Conn, sql string) {
	t.Helper()
	start := time.Now()
	_, err := c.Exec(ctx, sql)
	require.NoError(t, err, sql)
	if d := time.Since(start); d > time.Second {
		t.Logf("%s: %s", sql, d.Round(time.Millisecond))
	}
}

// checkGroups reads query's (k, s, c) rows one by one and compares them
// with the oracle: every key with rows exactly once, with its sum and count.
func checkGroups(t *testing.T, ctx context.Context, c *pgx.Conn, query string, sum, cnt []int64) {
	t.Helper()
	start := time.Now()
	rows, err := c.Query(ctx, query)
	require.NoError(t, err, query)
	defer rows.Close()
	seen := make([]bool, len(sum))
	var n int64
	var k int32
	var s, cn int64
	for rows.Next() {
		require.NoError(t, rows.Scan(&k, &s, &cn))
		require.True(t, k >= 0 && int(k) < len(sum), "%s: key %d out of range", query, k)
		require.False(t, seen[k], "%s: key %d twice", query, k)
		seen[k] = true
		require.Equal(t, [2]int64{sum[k], cnt[k]}, [2]int64{s, cn}, "%s: key %d (sum, count)", query, k)
		n++
	}
	require.NoError(t, rows.Err(), query)
	for k, c := range cnt {
		if c > 0 {
			require.True(t, seen[k], "%s: key %d missing", query, k)
		}
	}
	t.Logf("%s: %d groups match (%s)", query, n, time.Since(start).Round(time.Millisecond))
}

var spillLine = regexp.MustCompile(`view=(\S+) aggregate=\d+ spills=(\d+) spilled_groups=(\d+) loaded_groups=(\d+)`)

// TestBigGroupBy maintains two grouped views over far more groups than the
// memory limit holds and checks them, the spilling and the peak RSS.
func TestBigGroupBy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	cfg := loadConfig(t)
	t.Logf("keys %d, rows %d, --memory-limit %s, peak RSS bound %d MiB", cfg.keys, cfg.rows, cfg.limit, cfg.rssMax>>20)
	ctx := context.Background()
	srv := start(t, "materialized view aggregate spill", "--memory-limit", cfg.limit)
	c := srv.connect(t, ctx)

	const view = "AS SELECT k, sum(v) AS s, count(*) AS c FROM t GROUP BY k"
	run(t, ctx, c, "CREATE TABLE t (k int, v int)")
	run(t, ctx, c, "CREATE MATERIALIZED VIEW agg_before "+view)
	loadStart := time.Now()
	for lo := int64(1); lo <= cfg.rows; lo += cfg.batch {
		hi := min(lo+cfg.batch-1, cfg.rows)
		run(t, ctx, c, fmt.Sprintf("INSERT INTO t SELECT g::bigint * %d %% %d, g %% 1000 FROM generate_series(%d, %d) g", mult, cfg.keys, lo, hi))
		// One epoch per batch, so the aggregate may spill after each
		// (several INSERTs in one epoch would spill once).
		run(t, ctx, c, "FLUSH")
	}
	run(t, ctx, c, "FLUSH")
	t.Logf("loaded %d rows with agg_before maintained in %s", cfg.rows, time.Since(loadStart).Round(time.Millisecond))
	run(t, ctx, c, "CREATE MATERIALIZED VIEW agg_after "+view)
	run(t, ctx, c, deleteSQL)
	run(t, ctx, c, updateSQL)
	run(t, ctx, c, "FLUSH")

	sum, cnt := oracle(cfg)
	checkGroups(t, ctx, c, "SELECT k, s, c FROM agg_before", sum, cnt)
	checkGroups(t, ctx, c, "SELECT k, s, c FROM agg_after", sum, cnt)
	if !cfg.full {
		// The batch engine's answer to the same GROUP BY (its hash table
		// needs more than a statement's share of the CI limit).
		run(t, ctx, c, "SET query_memory_limit = '2GB'")
		checkGroups(t, ctx, c, "SELECT k, sum(v), count(*) FROM t GROUP BY k", sum, cnt)
	}

	// The aggregates spilled: their spill tables have files, and the
	// server reports several spills per view when they stop.
	dirs, err := filepath.Glob(filepath.Join(srv.dir, "state", "mv_*_agg1"))
	require.NoError(t, err)
	require.Len(t, dirs, 2, "one spill table per view")
	for _, d := range dirs {
		require.Positive(t, dirBytes(t, d, ""), "spill table %s is empty", d)
	}
	run(t, ctx, c, "DROP MATERIALIZED VIEW agg_before")
	run(t, ctx, c, "DROP MATERIALIZED VIEW agg_after")
	spills := map[string]int64{}
	for _, line := range srv.waitKept(2) {
		if m := spillLine.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			spills[m[1]] = n
			t.Logf("%s: %s spills, %s groups spilled, %s loaded", m[1], m[2], m[3], m[4])
		}
	}
	require.GreaterOrEqual(t, spills["agg_before"], int64(3), "agg_before spills (log: %v)", srv.kept())
	require.GreaterOrEqual(t, spills["agg_after"], int64(3), "agg_after spills (log: %v)", srv.kept())
	left, err := filepath.Glob(filepath.Join(srv.dir, "state", "mv_*"))
	require.NoError(t, err)
	require.Empty(t, left, "state files of dropped views")

	rss := srv.PeakRSS(t)
	t.Logf("peak RSS %d MiB (bound %d MiB)", rss>>20, cfg.rssMax>>20)
	require.LessOrEqual(t, rss, cfg.rssMax, "peak RSS")
}

// TestMemoryBackendOverLimit: a view whose memory-backend state cannot fit
// the limit fails with SQLSTATE 53200, and the server keeps serving.
func TestMemoryBackendOverLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	ctx := context.Background()
	srv := start(t, "", "--memory-limit", "48MiB", "--state-backend", "memory")
	c := srv.connect(t, ctx)
	run(t, ctx, c, "CREATE TABLE t (k int, v int)")
	const keys = 1_000_000
	for lo := 1; lo <= keys; lo += 250_000 {
		run(t, ctx, c, fmt.Sprintf("INSERT INTO t SELECT g, g %% 1000 FROM generate_series(%d, %d) g", lo, lo+249_999))
	}
	_, err := c.Exec(ctx, "CREATE MATERIALIZED VIEW agg AS SELECT k, sum(v) AS s, count(*) AS c FROM t GROUP BY k")
	if err == nil {
		// The view may fail after CREATE returned: reading it reports why.
		_, err = c.Exec(ctx, "SELECT count(*) FROM agg")
	}
	require.Error(t, err, "a view with %d groups under a 48MiB limit on the memory backend", keys)
	var pe *pgconn.PgError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "53200", pe.Code, "%v", err)
	t.Logf("error: %v", err)
	require.True(t, srv.Alive())
	var n int64
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n))
	require.Equal(t, int64(keys), n)
}
