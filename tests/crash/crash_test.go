package crash

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/internal/servertest"
)

var (
	kills   = flag.Int("crash.kills", 20, "number of SIGKILL/restart cycles")
	seedArg = flag.Int64("crash.seed", 0, "random seed (0: time-based)")
	raceBin = flag.Bool("crash.race", false, "build the server with the race detector")
)

const (
	workers = 3
	groups  = 8
)

var base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const schema = `
CREATE TABLE acct (id int PRIMARY KEY, grp int NOT NULL, bal bigint NOT NULL, ts timestamp NOT NULL);
CREATE TABLE grp (grp int PRIMARY KEY, name text NOT NULL);
CREATE MATERIALIZED VIEW mv_agg AS SELECT grp, count(*) AS n, sum(bal) AS total FROM acct GROUP BY grp;
CREATE MATERIALIZED VIEW mv_join AS SELECT g.name, count(*) AS n, sum(a.bal) AS total FROM acct a JOIN grp g ON a.grp = g.grp GROUP BY g.name;
CREATE MATERIALIZED VIEW mv_win AS SELECT window_start, grp, count(*) AS n, sum(bal) AS total FROM tumble(acct, ts, INTERVAL '1 minute') GROUP BY window_start, grp;
`

// viewChecks pairs each view with the same query over the base tables.
var viewChecks = []struct{ view, query string }{
	{"SELECT grp, n, total FROM mv_agg ORDER BY grp",
		"SELECT grp, count(*), sum(bal) FROM acct GROUP BY grp ORDER BY grp"},
	{"SELECT name, n, total FROM mv_join ORDER BY name",
		"SELECT g.name, count(*), sum(a.bal) FROM acct a JOIN grp g ON a.grp = g.grp GROUP BY g.name ORDER BY g.name"},
	{"SELECT window_start, grp, n, total FROM mv_win ORDER BY window_start, grp",
		"SELECT window_start, grp, count(*), sum(bal) FROM tumble(acct, ts, INTERVAL '1 minute') GROUP BY window_start, grp ORDER BY window_start, grp"},
}

type acctRow struct {
	grp int
	bal int64
	ts  int // seconds after base
}

// state is one worker's rows: the accounts with id%workers == w and the
// groups with grp%workers == w.
type state struct {
	acct  map[int]acctRow
	names map[int]string
}

func (s *state) clone() *state {
	c := &state{acct: make(map[int]acctRow, len(s.acct)), names: make(map[int]string, len(s.names))}
	for k, v := range s.acct {
		c.acct[k] = v
	}
	for k, v := range s.names {
		c.names[k] = v
	}
	return c
}

// op is one statement or transaction block and its effect on the state.
type op struct {
	stmts []string
	apply func(*state)
}

type worker struct {
	id      int
	rng     *rand.Rand
	st      *state
	nextID  int
	version int
	unknown *op // the op whose outcome is not known
}

func (w *worker) ids() []int {
	out := make([]int, 0, len(w.st.acct))
	for id := range w.st.acct {
		out = append(out, id)
	}
	sort.Ints(out)
	return out
}

func (w *worker) newRow() (int, acctRow) {
	id := w.nextID*workers + w.id
	w.nextID++
	return id, acctRow{grp: w.rng.Intn(groups), bal: int64(w.rng.Intn(1000)), ts: w.rng.Intn(600)}
}

func insertSQL(id int, r acctRow) string {
	return fmt.Sprintf("INSERT INTO acct VALUES (%d, %d, %d, '%s')", id, r.grp, r.bal, base.Add(time.Duration(r.ts)*time.Second).Format("2006-01-02 15:04:05"))
}

// next picks the worker's next operation.
func (w *worker) next() op {
	ids := w.ids()
	pick := func() (int, bool) {
		if len(ids) == 0 {
			return 0, false
		}
		return ids[w.rng.Intn(len(ids))], true
	}
	p := w.rng.Intn(100)
	switch {
	case p < 35 || len(ids) < 3:
		id, r := w.newRow()
		return op{stmts: []string{insertSQL(id, r)}, apply: func(s *state) { s.acct[id] = r }}
	case p < 42:
		id1, r1 := w.newRow()
		id2, r2 := w.newRow()
		sql := insertSQL(id1, r1) + fmt.Sprintf(", (%d, %d, %d, '%s')", id2, r2.grp, r2.bal, base.Add(time.Duration(r2.ts)*time.Second).Format("2006-01-02 15:04:05"))
		return op{stmts: []string{sql}, apply: func(s *state) { s.acct[id1] = r1; s.acct[id2] = r2 }}
	case p < 65:
		id, _ := pick()
		d := int64(w.rng.Intn(200) - 100)
		return op{stmts: []string{fmt.Sprintf("UPDATE acct SET bal = bal + %d WHERE id = %d", d, id)},
			apply: func(s *state) { r := s.acct[id]; r.bal += d; s.acct[id] = r }}
	case p < 72:
		id, _ := pick()
		g := w.rng.Intn(groups)
		return op{stmts: []string{fmt.Sprintf("UPDATE acct SET grp = %d WHERE id = %d", g, id)},
			apply: func(s *state) { r := s.acct[id]; r.grp = g; s.acct[id] = r }}
	case p < 82:
		id, _ := pick()
		return op{stmts: []string{fmt.Sprintf("DELETE FROM acct WHERE id = %d", id)},
			apply: func(s *state) { delete(s.acct, id) }}
	case p < 90:
		nid, r := w.newRow()
		id, _ := pick()
		d := int64(w.rng.Intn(50))
		return op{stmts: []string{"BEGIN", insertSQL(nid, r),
			fmt.Sprintf("UPDATE acct SET bal = bal - %d WHERE id = %d", d, id),
			fmt.Sprintf("UPDATE acct SET bal = bal + %d WHERE id = %d", d, nid), "COMMIT"},
			apply: func(s *state) {
				s.acct[nid] = acctRow{grp: r.grp, bal: r.bal + d, ts: r.ts}
				o := s.acct[id]
				o.bal -= d
				s.acct[id] = o
			}}
	case p < 93:
		nid, r := w.newRow()
		id, _ := pick()
		return op{stmts: []string{"BEGIN", insertSQL(nid, r), fmt.Sprintf("DELETE FROM acct WHERE id = %d", id), "ROLLBACK"},
			apply: func(*state) {}}
	case p < 98:
		g := w.id + workers*w.rng.Intn((groups+workers-1-w.id)/workers)
		w.version++
		name := fmt.Sprintf("g%d-v%d-w%d", g, w.version, w.id)
		return op{stmts: []string{fmt.Sprintf("UPDATE grp SET name = '%s' WHERE grp = %d", name, g)},
			apply: func(s *state) { s.names[g] = name }}
	default:
		return op{stmts: []string{"CHECKPOINT"}, apply: func(*state) {}}
	}
}

// server is one run of the sabotsql binary, with the lines of a race
// detector report when it is built with -race.
type server struct {
	*servertest.Server
	mu    sync.Mutex
	raced []string
}

// start runs the server on dir and waits for its "listening" log line
// (printed after recovery).
func start(t *testing.T, bin, dir string) *server {
	t.Helper()
	s := &server{}
	s.Server = servertest.Start(t, bin, []string{"--data-dir", dir, "--log-level", "info"}, func(line string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if strings.Contains(line, "WARNING: DATA RACE") || (len(s.raced) > 0 && len(s.raced) < 150) {
			s.raced = append(s.raced, line)
		}
	})
	return s
}

func (s *server) racedLog() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.raced, "\n")
}

// killDuringStartup starts the server and SIGKILLs it after d, usually
// while it is still recovering.
func killDuringStartup(t *testing.T, bin, dir string, d time.Duration) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data-dir", dir, "--listen", servertest.FreeAddr(t), "--log-level", "warn")
	require.NoError(t, cmd.Start())
	timer := time.AfterFunc(d, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
	_ = cmd.Wait()
	timer.Stop()
}

// textRows runs sql with the simple protocol and returns every value as text.
func textRows(ctx context.Context, c *pgx.Conn, sql string) ([][]string, error) {
	rows, err := c.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		raw := rows.RawValues()
		r := make([]string, len(raw))
		for i, v := range raw {
			if v == nil {
				r[i] = "NULL"
			} else {
				r[i] = string(v)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	seed := *seedArg
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))
	bin := servertest.Build(t, t.TempDir(), *raceBin)
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()

	srv := start(t, bin, dir)
	defer func() { srv.Kill(syscall.SIGKILL) }()
	c, err := srv.ConnectReady(ctx)
	require.NoError(t, err)
	for _, stmt := range strings.Split(strings.TrimSpace(schema), ";\n") {
		_, err := c.Exec(ctx, strings.TrimSuffix(stmt, ";"))
		require.NoError(t, err, stmt)
	}
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = &worker{id: i, rng: rand.New(rand.NewSource(seed + int64(i))), st: &state{acct: map[int]acctRow{}, names: map[int]string{}}}
	}
	for g := 0; g < groups; g++ {
		name := fmt.Sprintf("g%d", g)
		_, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO grp VALUES (%d, '%s')", g, name))
		require.NoError(t, err)
		ws[g%workers].st.names[g] = name
	}
	require.NoError(t, c.Close(ctx))

	acked := 0
	for k := 0; k <= *kills; k++ {
		last := k == *kills
		// Stream writes until the server dies under them.
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := srv.Connect(ctx)
				if err != nil {
					return
				}
				defer conn.Close(ctx)
				for n := 0; n < 400; n++ {
					o := w.next()
					ok := true
					for _, s := range o.stmts {
						if _, err := conn.Exec(ctx, s); err != nil {
							ok = false
							break
						}
					}
					if !ok {
						w.unknown = &o
						return
					}
					o.apply(w.st)
					mu.Lock()
					acked++
					mu.Unlock()
				}
			}()
		}
		sig := syscall.SIGKILL
		if last {
			sig = syscall.SIGTERM // the final stop is graceful: Close checkpoints
		}
		time.AfterFunc(time.Duration(20+rng.Intn(200))*time.Millisecond, func() { _ = srv.Cmd.Process.Signal(sig) })
		wg.Wait()
		<-srv.Done
		require.Empty(t, srv.racedLog(), "the race detector reported")
		if !last && rng.Intn(4) == 0 {
			killDuringStartup(t, bin, dir, time.Duration(rng.Intn(40))*time.Millisecond)
		}
		srv = start(t, bin, dir)
		check(t, ctx, srv, ws)
		mu.Lock()
		t.Logf("cycle %d: %d statements acknowledged so far", k, acked)
		mu.Unlock()
	}
}

// check compares the recovered server with the oracle, resolving each
// worker's unknown statement.
func check(t *testing.T, ctx context.Context, srv *server, ws []*worker) {
	t.Helper()
	c, err := srv.ConnectReady(ctx)
	require.NoError(t, err, srv.Log())
	defer c.Close(ctx)
	rows, err := textRows(ctx, c, "SELECT id, grp, bal, ts FROM acct ORDER BY id")
	require.NoError(t, err)
	actual := make([]*state, workers)
	for i := range actual {
		actual[i] = &state{acct: map[int]acctRow{}, names: map[int]string{}}
	}
	for _, r := range rows {
		var id, g, bal int
		fmt.Sscan(r[0], &id)
		fmt.Sscan(r[1], &g)
		fmt.Sscan(r[2], &bal)
		ts, err := time.Parse("2006-01-02 15:04:05", r[3])
		require.NoError(t, err, r[3])
		actual[id%workers].acct[id] = acctRow{grp: g, bal: int64(bal), ts: int(ts.Sub(base) / time.Second)}
	}
	grows, err := textRows(ctx, c, "SELECT grp, name FROM grp ORDER BY grp")
	require.NoError(t, err)
	for _, r := range grows {
		var g int
		fmt.Sscan(r[0], &g)
		actual[g%workers].names[g] = r[1]
	}
	for i, w := range ws {
		if equalState(w.st, actual[i]) {
			w.unknown = nil
			continue
		}
		if w.unknown != nil {
			with := w.st.clone()
			w.unknown.apply(with)
			if equalState(with, actual[i]) {
				w.st, w.unknown = with, nil
				continue
			}
		}
		t.Fatalf("worker %d: recovered rows differ from the acknowledged writes\n%s\nunknown op: %v\nserver log:\n%s",
			i, diffState(w.st, actual[i]), w.unknown, srv.Log())
	}
	if _, err := c.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v\n%s", err, srv.Log())
	}
	want := oracleViews(ws)
	for i, vc := range viewChecks {
		got, err := textRows(ctx, c, vc.view)
		require.NoError(t, err, vc.view)
		plain, err := textRows(ctx, c, vc.query)
		require.NoError(t, err, vc.query)
		require.Equal(t, plain, got, "view %q differs from its query", vc.view)
		require.Equal(t, want[i], got, "view %q differs from the oracle", vc.view)
	}
}

func equalState(a, b *state) bool {
	if len(a.acct) != len(b.acct) || len(a.names) != len(b.names) {
		return false
	}
	for k, v := range a.acct {
		if b.acct[k] != v {
			return false
		}
	}
	for k, v := range a.names {
		if b.names[k] != v {
			return false
		}
	}
	return true
}

func diffState(want, got *state) string {
	var out []string
	for k, v := range want.acct {
		if g, ok := got.acct[k]; !ok {
			out = append(out, fmt.Sprintf("missing id %d %+v", k, v))
		} else if g != v {
			out = append(out, fmt.Sprintf("id %d: want %+v got %+v", k, v, g))
		}
	}
	for k, v := range got.acct {
		if _, ok := want.acct[k]; !ok {
			out = append(out, fmt.Sprintf("extra id %d %+v", k, v))
		}
	}
	for k, v := range want.names {
		if got.names[k] != v {
			out = append(out, fmt.Sprintf("grp %d: want %q got %q", k, v, got.names[k]))
		}
	}
	sort.Strings(out)
	if len(out) > 20 {
		out = append(out[:20], "...")
	}
	return strings.Join(out, "\n")
}

// oracleViews computes each view's expected rows from the oracle.
func oracleViews(ws []*worker) [][][]string {
	type agg struct {
		n     int
		total int64
	}
	byGrp := map[int]*agg{}
	byName := map[string]*agg{}
	type wkey struct {
		start int
		grp   int
	}
	byWin := map[wkey]*agg{}
	names := map[int]string{}
	for _, w := range ws {
		for g, n := range w.st.names {
			names[g] = n
		}
	}
	add := func(a *agg, bal int64) { a.n++; a.total += bal }
	for _, w := range ws {
		for _, r := range w.st.acct {
			if byGrp[r.grp] == nil {
				byGrp[r.grp] = &agg{}
			}
			add(byGrp[r.grp], r.bal)
			if name, ok := names[r.grp]; ok {
				if byName[name] == nil {
					byName[name] = &agg{}
				}
				add(byName[name], r.bal)
			}
			k := wkey{start: r.ts / 60 * 60, grp: r.grp}
			if byWin[k] == nil {
				byWin[k] = &agg{}
			}
			add(byWin[k], r.bal)
		}
	}
	out := make([][][]string, 3)
	var gs []int
	for g := range byGrp {
		gs = append(gs, g)
	}
	sort.Ints(gs)
	for _, g := range gs {
		out[0] = append(out[0], []string{fmt.Sprint(g), fmt.Sprint(byGrp[g].n), fmt.Sprint(byGrp[g].total)})
	}
	var ns []string
	for n := range byName {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	for _, n := range ns {
		out[1] = append(out[1], []string{n, fmt.Sprint(byName[n].n), fmt.Sprint(byName[n].total)})
	}
	var ks []wkey
	for k := range byWin {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].start != ks[j].start {
			return ks[i].start < ks[j].start
		}
		return ks[i].grp < ks[j].grp
	})
	for _, k := range ks {
		ts := base.Add(time.Duration(k.start) * time.Second).Format("2006-01-02 15:04:05")
		out[2] = append(out[2], []string{ts, fmt.Sprint(k.grp), fmt.Sprint(byWin[k].n), fmt.Sprint(byWin[k].total)})
	}
	return out
}

var _ = os.Getenv
