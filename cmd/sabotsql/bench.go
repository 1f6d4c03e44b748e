package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// bench runs end-to-end streaming benchmarks on the embedded engine: rows
// go in through SQL (INSERT … SELECT over generate_series, the engine's own
// generator) and come out of materialized views.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rows := fs.Int("rows", 2_000_000, "rows ingested per throughput scenario")
	batch := fs.Int("batch", 100_000, "rows per INSERT statement")
	rate := fs.Int("rate", 100_000, "rows per second for the freshness scenario")
	dur := fs.Duration("duration", 5*time.Second, "length of the freshness scenario")
	interval := fs.Duration("barrier-interval", engine.DefaultBarrierInterval, "barrier interval")
	only := fs.String("scenario", "", "run one scenario: agg10k, agg1m, join, fin, freshness, bigagg (bigagg runs only when named)")
	keys := fs.Int("keys", 20_000_000, "distinct keys of the bigagg scenario (it loads keys*5/4 rows)")
	memLimit := fs.String("memory-limit", "", "engine memory limit, as serve's (e.g. 512MiB; the Go runtime's soft limit is 1.5 times it; default: the engine's, no runtime limit)")
	dataDir := fs.String("data-dir", "", "data directory of the bigagg scenario (default: a temporary directory, removed afterwards)")
	profile := fs.String("cpuprofile", "", "write a CPU profile to FILE")
	debugAddr := fs.String("debug-listen", "", "address of an HTTP listener serving Go profiles under /debug/pprof/ (off by default)")
	memProfile := fs.String("memprofile", "", "write a heap profile to FILE each time the live Go heap reaches a new peak (checked every second)")
	symbols := fs.String("symbols", "1000,100000,1000000", "symbol counts of the fin scenario")
	backend := fs.String("state-backend", "", "state backend of the views: memory, pebble, columnar (default columnar)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var bigDir string
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(stderr, "sabotsql bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "sabotsql bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if *debugAddr != "" {
		stop, err := serveDebug(*debugAddr)
		if err != nil {
			fmt.Fprintln(stderr, "sabotsql bench:", err)
			return 1
		}
		defer stop()
	}
	if *memProfile != "" {
		stop := watchHeapPeak(*memProfile, stderr)
		defer stop()
	}
	fmt.Fprintf(stdout, "sabotsql bench: GOMAXPROCS=%d, barrier interval %s, state backend %q\n", runtime.GOMAXPROCS(0), *interval, *backend)
	type scenario struct {
		name string
		run  func(ctx context.Context, e *engine.Engine, s *engine.Session) (string, error)
	}
	scenarios := []scenario{
		{"agg10k", func(ctx context.Context, _ *engine.Engine, s *engine.Session) (string, error) {
			return benchAgg(ctx, s, *rows, *batch, 10_000)
		}},
		{"agg1m", func(ctx context.Context, _ *engine.Engine, s *engine.Session) (string, error) {
			return benchAgg(ctx, s, *rows, *batch, 1_000_000)
		}},
		{"join", func(ctx context.Context, _ *engine.Engine, s *engine.Session) (string, error) {
			return benchJoin(ctx, s, *rows, *batch)
		}},
		{"fin", func(ctx context.Context, _ *engine.Engine, s *engine.Session) (string, error) {
			return benchFin(ctx, s, *rows, *batch, *backend, *symbols)
		}},
		{"freshness", func(ctx context.Context, e *engine.Engine, s *engine.Session) (string, error) {
			return benchFreshness(ctx, e, s, *rate, *dur, *interval)
		}},
		{"bigagg", func(ctx context.Context, e *engine.Engine, s *engine.Session) (string, error) {
			return benchBigAgg(ctx, s, *keys, *batch, bigDir, stderr)
		}},
	}
	var limit int64
	if *memLimit != "" {
		n, err := parseSize(*memLimit)
		if err != nil {
			fmt.Fprintf(stderr, "sabotsql bench: --memory-limit: %v\n", err)
			return 2
		}
		limit = n
	}
	for _, sc := range scenarios {
		if *only != sc.name && (*only != "" || sc.name == "bigagg") {
			continue
		}
		opts := engine.Options{BarrierInterval: *interval, StateBackend: *backend, MemoryLimit: limit, SetRuntimeLimit: limit > 0}
		if sc.name == "bigagg" {
			// Spilled state needs a data directory (without one every
			// state table is in memory).
			if bigDir = *dataDir; bigDir == "" {
				d, err := os.MkdirTemp("", "sabotsql-bench-")
				if err != nil {
					fmt.Fprintln(stderr, "sabotsql bench:", err)
					return 1
				}
				defer os.RemoveAll(d)
				bigDir = d
			}
			opts.DataDir = bigDir
			fmt.Fprintf(stdout, "bigagg: %d keys, data dir %s, memory limit %q\n", *keys, bigDir, *memLimit)
		}
		e, err := engine.Open(ctx, opts)
		if err != nil {
			fmt.Fprintln(stderr, "sabotsql bench:", err)
			return 1
		}
		as, err := e.NewSession(ctx, engine.DefaultUser, "sabotsql", nil)
		if err != nil {
			e.Close()
			fmt.Fprintln(stderr, "sabotsql bench:", err)
			return 1
		}
		line, err := sc.run(ctx, e, as.(*engine.Session))
		as.Close()
		e.Close()
		if err != nil {
			fmt.Fprintf(stderr, "sabotsql bench %s: %v\n", sc.name, err)
			return 1
		}
		fmt.Fprintf(stdout, "%-10s %s\n", sc.name, line)
	}
	return 0
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func execAll(ctx context.Context, s *engine.Session, stmts ...string) error {
	for _, q := range stmts {
		if _, _, _, err := s.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// ingest inserts rows in batches with gen(lo, hi) building each INSERT,
// then flushes, and reports throughput with and without the views' work.
func ingest(ctx context.Context, s *engine.Session, rows, batch int, gen func(lo, hi int) string) (wall, cpu time.Duration, err error) {
	c0, t0 := cpuTime(), time.Now()
	for lo := 1; lo <= rows; lo += batch {
		hi := min(lo+batch-1, rows)
		if err := execAll(ctx, s, gen(lo, hi)); err != nil {
			return 0, 0, err
		}
	}
	if err := execAll(ctx, s, "FLUSH"); err != nil {
		return 0, 0, err
	}
	return time.Since(t0), cpuTime() - c0, nil
}

func rateLine(rows int, wall, cpu, base time.Duration) string {
	perCore := float64(rows) / cpu.Seconds()
	line := fmt.Sprintf("%d rows in %.2fs wall, %.2fs CPU: %.0f rows/s wall, %.0f rows/s per core",
		rows, wall.Seconds(), cpu.Seconds(), float64(rows)/wall.Seconds(), perCore)
	if base > 0 && cpu > base {
		line += fmt.Sprintf("; view maintenance alone %.0f rows/s per core (ingest without views: %.2fs CPU)",
			float64(rows)/(cpu-base).Seconds(), base.Seconds())
	}
	return line
}

func benchAgg(ctx context.Context, s *engine.Session, rows, batch, keys int) (string, error) {
	if err := execAll(ctx, s, "CREATE TABLE base (k int, v int)"); err != nil {
		return "", err
	}
	gen := func(tbl string) func(lo, hi int) string {
		return func(lo, hi int) string {
			return fmt.Sprintf("INSERT INTO %s SELECT (g::bigint * 7919) %% %d, g %% 1000 FROM generate_series(%d, %d) g", tbl, keys, lo, hi)
		}
	}
	// Baseline: the same ingest into a table no view reads.
	_, base, err := ingest(ctx, s, rows, batch, gen("base"))
	if err != nil {
		return "", err
	}
	if err := execAll(ctx, s,
		"CREATE TABLE t (k int, v int)",
		"CREATE MATERIALIZED VIEW mv AS SELECT k, sum(v) AS s, count(*) AS c FROM t GROUP BY k"); err != nil {
		return "", err
	}
	wall, cpu, err := ingest(ctx, s, rows, batch, gen("t"))
	if err != nil {
		return "", err
	}
	_, res, _, err := s.Exec(ctx, "SELECT count(*), sum(c) FROM mv")
	if err != nil {
		return "", err
	}
	if got := res[0][1]; fmt.Sprint(got) != fmt.Sprint(rows) {
		return "", fmt.Errorf("view counts %v rows, want %d", got, rows)
	}
	return fmt.Sprintf("group-by-sum, %d keys: %s", keys, rateLine(rows, wall, cpu, base)), nil
}

func benchJoin(ctx context.Context, s *engine.Session, rows, batch int) (string, error) {
	const dim = 100_000
	if err := execAll(ctx, s,
		"CREATE TABLE d (k int, name text)",
		fmt.Sprintf("INSERT INTO d SELECT g, 'n' || g FROM generate_series(0, %d) g", dim-1),
		"CREATE TABLE base (k int, v int)",
		"CREATE TABLE f (k int, v int)",
		"CREATE MATERIALIZED VIEW mv AS SELECT f.k, f.v, d.name FROM f JOIN d ON f.k = d.k"); err != nil {
		return "", err
	}
	gen := func(tbl string) func(lo, hi int) string {
		return func(lo, hi int) string {
			return fmt.Sprintf("INSERT INTO %s SELECT (g::bigint * 7919) %% %d, g FROM generate_series(%d, %d) g", tbl, dim, lo, hi)
		}
	}
	_, base, err := ingest(ctx, s, rows, batch, gen("base"))
	if err != nil {
		return "", err
	}
	wall, cpu, err := ingest(ctx, s, rows, batch, gen("f"))
	if err != nil {
		return "", err
	}
	_, res, _, err := s.Exec(ctx, "SELECT count(*) FROM mv")
	if err != nil {
		return "", err
	}
	if fmt.Sprint(res[0][0]) != fmt.Sprint(rows) {
		return "", fmt.Errorf("join view has %v rows, want %d", res[0][0], rows)
	}
	return fmt.Sprintf("two-way join (fact x %d-row dimension): %s", dim, rateLine(rows, wall, cpu, base)), nil
}

// benchFreshness inserts at a fixed rate and measures, per batch, the time
// from its acknowledgement to the moment a view first reflects it.
func benchFreshness(ctx context.Context, e *engine.Engine, s *engine.Session, rate int, dur, interval time.Duration) (string, error) {
	if err := execAll(ctx, s,
		"CREATE TABLE t (seq bigint, k int, v int)",
		"CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS hi FROM t"); err != nil {
		return "", err
	}
	const tick = 10 * time.Millisecond
	per := max(1, rate*int(tick)/int(time.Second))
	type sent struct {
		seq int64
		at  time.Time
	}
	var mu sync.Mutex
	var pending []sent
	var lat []time.Duration
	var seen atomic.Int64
	done := make(chan struct{})
	pollErr := make(chan error, 1)
	go func() {
		defer close(pollErr)
		ps, err := e.NewSession(ctx, engine.DefaultUser, "sabotsql", nil)
		if err != nil {
			pollErr <- err
			return
		}
		defer ps.Close()
		reader := ps.(*engine.Session)
		for {
			select {
			case <-done:
				return
			default:
			}
			_, res, _, err := reader.Exec(ctx, "SELECT hi FROM mv")
			if err != nil {
				pollErr <- err
				return
			}
			now := time.Now()
			if len(res) == 1 && res[0][0] != nil {
				hi := res[0][0].(int64)
				seen.Store(hi)
				mu.Lock()
				i := 0
				for i < len(pending) && pending[i].seq <= hi {
					lat = append(lat, now.Sub(pending[i].at))
					i++
				}
				pending = pending[i:]
				mu.Unlock()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	var seq int64
	start := time.Now()
	next := start
	for time.Since(start) < dur {
		lo := seq + 1
		seq += int64(per)
		q := fmt.Sprintf("INSERT INTO t SELECT g, %d, 1 FROM generate_series(%d, %d) g", rng.IntN(100), lo, seq)
		if err := execAll(ctx, s, q); err != nil {
			close(done)
			return "", err
		}
		mu.Lock()
		pending = append(pending, sent{seq: seq, at: time.Now()})
		mu.Unlock()
		next = next.Add(tick)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
	// Let the last batches become visible.
	deadline := time.Now().Add(10 * interval)
	for seen.Load() < seq && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(done)
	if err := <-pollErr; err != nil {
		return "", err
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		return "", fmt.Errorf("no batch became visible")
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	return fmt.Sprintf("%d rows/s for %s (%d batches of %d): ingest-to-visible p50 %s, p99 %s, max %s (barrier interval %s; p99 = %.1f intervals)",
		rate, dur, len(lat), per, p(0.5).Round(time.Millisecond), p(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond),
		interval, float64(p(0.99))/float64(interval)), nil
}

// benchFin measures per-update costs of fintech views: ewma per symbol
// (a group-by over an append-only table) and a 20-row rolling stddev per
// symbol (an over-window view), for 1K, 100K and 1M symbols.
func benchFin(ctx context.Context, s *engine.Session, rows, batch int, backend, symbols string) (string, error) {
	if backend == "" {
		backend = "columnar"
	}
	var out []string
	for _, f := range strings.Split(symbols, ",") {
		syms, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || syms <= 0 {
			return "", fmt.Errorf("bad --symbols entry %q", f)
		}
		n := max(rows, 2*syms)
		gen := func(tbl string) func(lo, hi int) string {
			return func(lo, hi int) string {
				return fmt.Sprintf("INSERT INTO %s SELECT (g::bigint * 7919) %% %d, 100.0::float8 + (g %% 97)::float8 / 64, g FROM generate_series(%d, %d) g", tbl, syms, lo, hi)
			}
		}
		// The same ingest without views: subtracted to leave the views' cost.
		base := fmt.Sprintf("base_%d", syms)
		if err := execAll(ctx, s, fmt.Sprintf("CREATE TABLE %s (sym int, px float8, ts bigint) APPEND ONLY", base)); err != nil {
			return "", err
		}
		_, baseCPU, err := ingest(ctx, s, n, batch, gen(base))
		if err != nil {
			return "", err
		}
		if err := execAll(ctx, s, "DROP TABLE "+base); err != nil {
			return "", err
		}
		for _, view := range []struct{ name, sql string }{
			{"ewma", "SELECT sym, ewma(px, 0.94) AS e FROM %s GROUP BY sym"},
			{"rolling stddev(20)", "SELECT sym, ts, stddev_samp(px) OVER (PARTITION BY sym ORDER BY ts ROWS BETWEEN 19 PRECEDING AND CURRENT ROW) AS sd FROM %s"},
		} {
			tbl := fmt.Sprintf("tr_%d_%d", syms, len(out))
			if err := execAll(ctx, s,
				fmt.Sprintf("CREATE TABLE %s (sym int, px float8, ts bigint) APPEND ONLY", tbl),
				fmt.Sprintf("CREATE MATERIALIZED VIEW v_%s WITH (state_backend = '%s') AS ", tbl, backend)+fmt.Sprintf(view.sql, tbl)); err != nil {
				return "", err
			}
			wall, cpu, err := ingest(ctx, s, n, batch, gen(tbl))
			if err != nil {
				return "", err
			}
			out = append(out, fmt.Sprintf("%s %d symbols: %.0f ns/update per core for the view (%.0f with ingest; %d rows, %.2fs wall)",
				view.name, syms, float64((cpu-baseCPU).Nanoseconds())/float64(n), float64(cpu.Nanoseconds())/float64(n), n, wall.Seconds()))
			if err := execAll(ctx, s, "DROP MATERIALIZED VIEW v_"+tbl, "DROP TABLE "+tbl); err != nil {
				return "", err
			}
		}
	}
	return fmt.Sprintf("backend %s:\n    %s", backend, strings.Join(out, "\n    ")), nil
}

// benchBigAgg is the bounded-memory group-by (issue #6): a view with keys
// distinct groups over a narrow table, maintained while keys*5/4 rows are
// loaded (a quarter of the keys get two rows), then a second identical view
// backfilled from the loaded table, then a full read of the view. Under
// --memory-limit the views' aggregates spill to their state tables.
func benchBigAgg(ctx context.Context, s *engine.Session, keys, batch int, dir string, stderr io.Writer) (string, error) {
	rows := keys + keys/4
	// Phase marks on stderr line up RSS samples taken from outside with
	// what the run was doing.
	phase := func(name string) {
		fmt.Fprintf(stderr, "bigagg %s %s: %s\n", time.Now().UTC().Format(time.TimeOnly), name, memLine())
	}
	defer phase("end")
	phase("load without views")
	const view = "AS SELECT k, sum(v) AS s, count(*) AS c FROM t GROUP BY k"
	if err := execAll(ctx, s, "CREATE TABLE base (k int, v int)", "CREATE TABLE t (k int, v int)"); err != nil {
		return "", err
	}
	gen := func(tbl string) func(lo, hi int) string {
		return func(lo, hi int) string {
			return fmt.Sprintf("INSERT INTO %s SELECT g::bigint * 7919 %% %d, g %% 1000 FROM generate_series(%d, %d) g", tbl, keys, lo, hi)
		}
	}
	// Baseline: the same ingest into a table no view reads (dropped after,
	// so its rows do not count in the peak).
	_, base, err := ingest(ctx, s, rows, batch, gen("base"))
	if err != nil {
		return "", err
	}
	if err := execAll(ctx, s, "DROP TABLE base", "CREATE MATERIALIZED VIEW mv1 "+view); err != nil {
		return "", err
	}
	phase("load with the view mv1")
	wall, cpu, err := ingest(ctx, s, rows, batch, gen("t"))
	if err != nil {
		return "", err
	}
	line := fmt.Sprintf("group-by-sum, %d keys, view maintained during the load: %s", keys, rateLine(rows, wall, cpu, base))
	phase("backfill of mv2")
	c0, t0 := cpuTime(), time.Now()
	if err := execAll(ctx, s, "CREATE MATERIALIZED VIEW mv2 "+view); err != nil {
		return "", err
	}
	bw, bc := time.Since(t0), cpuTime()-c0
	line += fmt.Sprintf("; backfill of a second view: %.2fs wall, %.2fs CPU, %.0f rows/s per CPU-second", bw.Seconds(), bc.Seconds(), float64(rows)/bc.Seconds())
	phase("full read of mv1")
	c0, t0 = cpuTime(), time.Now()
	want := bigAggExpect(keys, rows)
	groups, total, err := readView(ctx, s, "SELECT k, s, c FROM mv1", want)
	if err != nil {
		return "", err
	}
	rw, rc := time.Since(t0), cpuTime()-c0
	if groups != int64(keys) || total != int64(rows) {
		return "", fmt.Errorf("view has %d groups counting %d rows, want %d and %d", groups, total, keys, rows)
	}
	line += fmt.Sprintf("; full read of the view: %d rows in %.2fs wall, %.2fs CPU", groups, rw.Seconds(), rc.Seconds())
	if want != nil {
		line += ", every row equal to the generating formula"
	}
	phase("checks against the batch engine")
	check, err := bigAggBatchCheck(ctx, s, keys, rows)
	if err != nil {
		return "", err
	}
	if want != nil {
		// The second view row by row too (not timed).
		if _, _, err := readView(ctx, s, "SELECT k, s, c FROM mv2", want); err != nil {
			return "", err
		}
		check += "; mv2 row by row equal to the formula"
	}
	ranges, err := bigAggRangeCheck(ctx, s, keys)
	if err != nil {
		return "", err
	}
	check += "; " + ranges
	line += "; " + check
	line += fmt.Sprintf("; state on disk %d MiB; peak RSS %d MiB; %s", dirSize(filepath.Join(dir, "state"))>>20, peakRSS()>>20, gcShare())
	return line, nil
}

// memLine is the process's memory now: RSS, peak RSS, the Go heap's live
// bytes (as of the last GC) and its total, and the runtime's soft limit.
func memLine() string {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	mib := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64() >> 20
	}
	lim := "none"
	if l := mib(4); l < 1<<30 {
		lim = fmt.Sprintf("%d MiB", l)
	}
	return fmt.Sprintf("RSS %d MiB (peak %d MiB), Go heap live %d MiB, objects %d MiB, runtime total %d MiB (released %d MiB), soft limit %s",
		statusKB("VmRSS:")>>10, statusKB("VmHWM:")>>10, mib(0), mib(1), mib(2), mib(3), lim)
}

// gcShare is the part of the process's CPU time the Go collector took.
func gcShare() string {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64 || s[1].Value.Kind() != metrics.KindFloat64 || s[1].Value.Float64() == 0 {
		return "GC CPU unknown"
	}
	return fmt.Sprintf("GC %.0f%% of the Go CPU time (%.0fs)", 100*s[0].Value.Float64()/s[1].Value.Float64(), s[0].Value.Float64())
}

// bigAggBatchCheck compares both views with the batch engine under the
// same memory limit. Totals first: the views' (groups, sum(s), sum(c))
// against the batch engine's global sum(v) and count(*) over t (constant
// memory at any size) and the generating formula. Then the batch engine's
// own GROUP BY, whose hash table holds every group in the statement's
// share of the limit: it either matches the views' totals or fails with
// 53200 (the batch engine does not spill; at 512MiB that happens above a
// few hundred thousand keys), which is reported, not an error.
func bigAggBatchCheck(ctx context.Context, s *engine.Session, keys, rows int) (string, error) {
	// Rows g = 1..rows have v = g % 1000.
	var wantSum int64
	full, part := int64(rows)/1000, int64(rows)%1000
	wantSum = full*(999*1000/2) + part*(part+1)/2
	want := fmt.Sprint([]any{int64(keys), wantSum, int64(rows)})
	for _, v := range []string{"mv1", "mv2"} {
		_, res, _, err := s.Exec(ctx, "SELECT count(*), sum(s), sum(c) FROM "+v)
		if err != nil {
			return "", err
		}
		if got := fmt.Sprint(res[0]); got != want {
			return "", fmt.Errorf("%s totals (groups, sum, count) %s, want %s", v, got, want)
		}
	}
	_, res, _, err := s.Exec(ctx, "SELECT sum(v), count(*) FROM t")
	if err != nil {
		return "", err
	}
	if got := fmt.Sprint(res[0]); got != fmt.Sprint([]any{wantSum, int64(rows)}) {
		return "", fmt.Errorf("batch sum(v), count(*) over t: %s, want [%d %d]", got, wantSum, rows)
	}
	line := "views' totals equal the batch engine's sum(v)/count(*)"
	t0 := time.Now()
	_, res, _, err = s.Exec(ctx, "SELECT count(*), sum(s), sum(c) FROM (SELECT k, sum(v) AS s, count(*) AS c FROM t GROUP BY k) g")
	switch {
	case pgerror.CodeOf(err) == pgerror.OutOfMemory:
		return line + "; batch GROUP BY: 53200 under the limit (not compared)", nil
	case err != nil:
		return "", err
	case fmt.Sprint(res[0]) != want:
		return "", fmt.Errorf("batch GROUP BY totals %s, views %s", fmt.Sprint(res[0]), want)
	}
	return line + fmt.Sprintf(" and its GROUP BY (%.1fs)", time.Since(t0).Seconds()), nil
}

// watchHeapPeak samples the live Go heap every second and writes a heap
// profile to file whenever it exceeds the largest value seen so far by 2%;
// the returned function stops it (writing nothing more).
func watchHeapPeak(file string, stderr io.Writer) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var peak uint64
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			live := sample[0].Value.Uint64()
			if live <= peak+peak/50 {
				continue
			}
			peak = live
			f, err := os.Create(file)
			if err != nil {
				fmt.Fprintln(stderr, "sabotsql bench: memprofile:", err)
				return
			}
			err = pprof.Lookup("heap").WriteTo(f, 0)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				fmt.Fprintln(stderr, "sabotsql bench: memprofile:", err)
				return
			}
			fmt.Fprintf(stderr, "sabotsql bench: heap profile at live heap %d MiB (%s)\n", live>>20, time.Now().Format(time.TimeOnly))
		}
	}()
	return func() { close(done); <-finished }
}

// readView streams a (k, s, c) query's rows batch by batch, as a client
// would, and returns the row count and the sum of c.
// bigAggExpect returns the exact (sum(v), count(*)) of key k in the bigagg
// table — rows g = 1..rows with k = g*7919 mod keys and v = g mod 1000 —
// computed from k alone, so every row of a 20M-key view can be checked
// without holding the expected groups in memory. It returns nil when 7919
// does not have an inverse modulo keys (keys a multiple of it).
func bigAggExpect(keys, rows int) func(k int64) (sum, count int64) {
	inv := new(big.Int).ModInverse(big.NewInt(7919), big.NewInt(int64(keys)))
	if inv == nil || keys >= 1<<31 {
		return nil
	}
	iv := inv.Int64()
	return func(k int64) (sum, count int64) {
		// g ≡ k·7919⁻¹ (mod keys); the g in 1..rows with that residue
		// (k, iv < 2³¹: the product fits).
		g0 := k * iv % int64(keys)
		if g0 == 0 {
			g0 = int64(keys)
		}
		for ; g0 <= int64(rows); g0 += int64(keys) {
			sum += g0 % 1000
			count++
		}
		return sum, count
	}
}

// bigAggRangeCheck compares the views with the batch engine's own GROUP BY
// over three key ranges (start, middle, end; ~100K keys each at 20M keys),
// row by row: the batch engine does not spill, so its GROUP BY over every
// key does not fit under the limit, but over a range it does.
func bigAggRangeCheck(ctx context.Context, s *engine.Session, keys int) (string, error) {
	w := max(keys/200, 1)
	for _, lo := range []int{0, keys/2 - w/2, keys - w} {
		batch := fmt.Sprintf("SELECT k, sum(v), count(*) FROM t WHERE k >= %d AND k < %d GROUP BY k ORDER BY k", lo, lo+w)
		_, want, _, err := s.Exec(ctx, batch)
		if err != nil {
			return "", fmt.Errorf("%s: %w", batch, err)
		}
		if len(want) != w {
			return "", fmt.Errorf("%s: %d groups, want %d", batch, len(want), w)
		}
		for _, v := range []string{"mv1", "mv2"} {
			q := fmt.Sprintf("SELECT k, s, c FROM %s WHERE k >= %d AND k < %d ORDER BY k", v, lo, lo+w)
			_, got, _, err := s.Exec(ctx, q)
			if err != nil {
				return "", fmt.Errorf("%s: %w", q, err)
			}
			if len(got) != len(want) {
				return "", fmt.Errorf("%s: %d rows, batch GROUP BY %d", q, len(got), len(want))
			}
			for i := range got {
				if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
					return "", fmt.Errorf("%s: row %d is %v, batch GROUP BY %v", q, i, got[i], want[i])
				}
			}
		}
	}
	return fmt.Sprintf("both views equal the batch GROUP BY row by row over 3 ranges of %d keys", w), nil
}

// readView reads a bigagg view (k, s, c) in full and returns its rows and
// the sum of c; with want set, every row must equal want(k).
func readView(ctx context.Context, s *engine.Session, sql string, want func(k int64) (sum, count int64)) (n, total int64, err error) {
	err = s.ExecSimple(ctx, sql, func(res api.Result) error {
		if res.Rows == nil {
			return fmt.Errorf("%s returned no rows", sql)
		}
		defer res.Rows.Close()
		for {
			b, err := res.Rows.Next(ctx)
			if err != nil {
				return err
			}
			if b == nil {
				return nil
			}
			c, ok := b.Column(2).(*array.Int64)
			if !ok {
				return fmt.Errorf("count column is %s", b.Column(2).DataType())
			}
			for i := 0; i < c.Len(); i++ {
				total += c.Value(i)
			}
			if want != nil {
				if err := checkBigAggRows(b, want); err != nil {
					return fmt.Errorf("%s: %w", sql, err)
				}
			}
			n += b.NumRows()
		}
	})
	return n, total, err
}

// checkBigAggRows checks each (k int, s bigint, c bigint) row of b
// against want.
func checkBigAggRows(b arrow.RecordBatch, want func(k int64) (sum, count int64)) error {
	ks, ok1 := b.Column(0).(*array.Int32)
	ss, ok2 := b.Column(1).(*array.Int64)
	cs, ok3 := b.Column(2).(*array.Int64)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("columns are %s, %s, %s", b.Column(0).DataType(), b.Column(1).DataType(), b.Column(2).DataType())
	}
	for i := 0; i < ks.Len(); i++ {
		if ks.IsNull(i) || ss.IsNull(i) || cs.IsNull(i) {
			return fmt.Errorf("row with a NULL: %v %v %v", ks.ValueStr(i), ss.ValueStr(i), cs.ValueStr(i))
		}
		k := int64(ks.Value(i))
		sum, count := want(k)
		if ss.Value(i) != sum || cs.Value(i) != count {
			return fmt.Errorf("key %d: sum %d count %d, want %d and %d", k, ss.Value(i), cs.Value(i), sum, count)
		}
	}
	return nil
}

// peakRSS is the process's peak resident set size (VmHWM), 0 if unknown.
func peakRSS() int64 { return statusKB("VmHWM:") << 10 }

// statusKB is a kB field of /proc/self/status (e.g. "VmRSS:"), 0 if unknown.
func statusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb
		}
	}
	return 0
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}
