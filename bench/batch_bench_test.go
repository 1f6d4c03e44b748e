//go:build duckdb_arrow

package bench

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/engine"
)

// scale shrinks the tables for a quick smoke run (-scale 0.01); the
// recorded numbers use 1.
var scale = flag.Float64("scale", 1, "fraction of the default table sizes (10M rows; 1M for the join build side)")

func bigRows() int   { return int(10_000_000 * *scale) } // rows of t and big
func smallRows() int { return int(1_000_000 * *scale) }  // rows of small (the join's build side)

// column is one generated column: exactly one of i32 and i64 is set.
type column struct {
	name string
	i32  []int32
	i64  []int64
}

func (c column) sqlType() string {
	if c.i32 != nil {
		return "int4"
	}
	return "int8"
}

func (c column) appendText(buf []byte, i int) []byte {
	if c.i32 != nil {
		return strconv.AppendInt(buf, int64(c.i32[i]), 10)
	}
	return strconv.AppendInt(buf, c.i64[i], 10)
}

// table is a generated table.
type table struct {
	name string
	rows int
	cols []column
}

func uniform32(r *rand.Rand, n int, hi int32) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = r.Int32N(hi)
	}
	return out
}

func uniform64(r *rand.Rand, n int, hi int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = r.Int64N(hi)
	}
	return out
}

// genT is the scan/aggregate/sort table: a, b uniform in [0, 1e6) (so
// a > 500000 keeps ~50%), k1k and k1m group keys with 1K and 1M distinct
// values, v uniform in [0, 1000).
func genT(n int) *table {
	r := rand.New(rand.NewPCG(1, 2))
	return &table{name: "t", rows: n, cols: []column{
		{name: "a", i32: uniform32(r, n, 1_000_000)},
		{name: "b", i32: uniform32(r, n, 1_000_000)},
		{name: "k1k", i64: uniform64(r, n, 1_000)},
		{name: "k1m", i64: uniform64(r, n, 1_000_000)},
		{name: "v", i32: uniform32(r, n, 1_000)},
	}}
}

// genJoin is the join's probe side big(k, x), k uniform over small's keys,
// and build side small(k, y), k a permutation of [0, m).
func genJoin(n, m int) (*table, *table) {
	r := rand.New(rand.NewPCG(3, 4))
	keys := make([]int64, m)
	for i := range keys {
		keys[i] = int64(i)
	}
	r.Shuffle(m, func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	small := &table{name: "small", rows: m, cols: []column{
		{name: "k", i64: keys},
		{name: "y", i32: uniform32(r, m, 1_000)},
	}}
	big := &table{name: "big", rows: n, cols: []column{
		{name: "k", i64: uniform64(r, n, int64(m))},
		{name: "x", i32: uniform32(r, n, 1_000)},
	}}
	return big, small
}

func createSQL(t *table) string {
	var cols []string
	for _, c := range t.cols {
		cols = append(cols, c.name+" "+c.sqlType())
	}
	return fmt.Sprintf("CREATE TABLE %s (%s)", t.name, strings.Join(cols, ", "))
}

// copyText streams t as COPY text format into w.
func copyText(t *table, w *io.PipeWriter) {
	buf := make([]byte, 0, 1<<16)
	for i := 0; i < t.rows; i++ {
		for j, c := range t.cols {
			if j > 0 {
				buf = append(buf, '\t')
			}
			buf = c.appendText(buf, i)
		}
		buf = append(buf, '\n')
		if len(buf) > 60_000 {
			if _, err := w.Write(buf); err != nil {
				return
			}
			buf = buf[:0]
		}
	}
	if _, err := w.Write(buf); err != nil {
		return
	}
	w.Close()
}

// arrowBatches cuts t into Arrow batches of DuckDB's row-group size.
func arrowBatches(t *table) (*arrow.Schema, []arrow.RecordBatch) {
	var fs []arrow.Field
	for _, c := range t.cols {
		typ := arrow.DataType(arrow.PrimitiveTypes.Int64)
		if c.i32 != nil {
			typ = arrow.PrimitiveTypes.Int32
		}
		fs = append(fs, arrow.Field{Name: c.name, Type: typ, Nullable: true})
	}
	sch := arrow.NewSchema(fs, nil)
	const chunk = 122_880
	var out []arrow.RecordBatch
	for lo := 0; lo < t.rows; lo += chunk {
		hi := min(lo+chunk, t.rows)
		arrs := make([]arrow.Array, len(t.cols))
		for j, c := range t.cols {
			if c.i32 != nil {
				b := array.NewInt32Builder(memory.DefaultAllocator)
				b.AppendValues(c.i32[lo:hi], nil)
				arrs[j] = b.NewArray()
				b.Release()
			} else {
				b := array.NewInt64Builder(memory.DefaultAllocator)
				b.AppendValues(c.i64[lo:hi], nil)
				arrs[j] = b.NewArray()
				b.Release()
			}
		}
		out = append(out, array.NewRecordBatch(sch, arrs, int64(hi-lo)))
		for _, a := range arrs {
			a.Release()
		}
	}
	return sch, out
}

// fingerprint folds a query result into row count and per-column wrapping
// sums, which do not depend on row order.
type fingerprint struct {
	rows int64
	sums []int64
}

func (f *fingerprint) add(b arrow.RecordBatch) error {
	if f.sums == nil {
		f.sums = make([]int64, b.NumCols())
	}
	f.rows += b.NumRows()
	for j, col := range b.Columns() {
		var s int64
		switch a := col.(type) {
		case *array.Int32:
			for _, v := range a.Int32Values() {
				s += int64(v)
			}
		case *array.Int64:
			for _, v := range a.Int64Values() {
				s += v
			}
		case *array.Decimal128: // DuckDB's HUGEINT sums (scale 0)
			for i := 0; i < a.Len(); i++ {
				s += int64(a.Value(i).LowBits())
			}
		default:
			return fmt.Errorf("fingerprint: unsupported column type %s", col.DataType())
		}
		f.sums[j] += s
	}
	return nil
}

func (f fingerprint) String() string { return fmt.Sprintf("rows=%d sums=%v", f.rows, f.sums) }

// sabot is a SabotSQL embedded engine with one session.
type sabot struct {
	e      *engine.Engine
	s      *engine.Session
	loaded map[string]bool
}

func (sb *sabot) load(ctx context.Context, t *table) error {
	if sb.loaded[t.name] {
		return nil
	}
	if _, _, _, err := sb.s.Exec(ctx, createSQL(t)); err != nil {
		return err
	}
	var spec *api.CopySpec
	if err := sb.s.ExecSimple(ctx, "COPY "+t.name+" FROM STDIN", func(r api.Result) error {
		spec = r.Copy
		return nil
	}); err != nil {
		return err
	}
	if spec == nil {
		return fmt.Errorf("COPY %s FROM STDIN returned no copy spec", t.name)
	}
	pr, pw := io.Pipe()
	go copyText(t, pw)
	n, err := sb.s.CopyIn(ctx, spec, pr)
	pr.Close()
	if err != nil {
		return err
	}
	if n != int64(t.rows) {
		return fmt.Errorf("COPY %s loaded %d rows, want %d", t.name, n, t.rows)
	}
	sb.loaded[t.name] = true
	return nil
}

func (sb *sabot) query(ctx context.Context, q string) (fingerprint, error) {
	var fp fingerprint
	err := sb.s.ExecSimple(ctx, q, func(r api.Result) error {
		if r.Rows == nil {
			return fmt.Errorf("%q returned no rows", q)
		}
		defer r.Rows.Close()
		for {
			b, err := r.Rows.Next(ctx)
			if err != nil {
				return err
			}
			if b == nil {
				return nil
			}
			if err := fp.add(b); err != nil {
				return err
			}
		}
	})
	return fp, err
}

// duck is an in-memory DuckDB with threads=1 on one connection.
type duck struct {
	db     *sql.DB
	conn   *sql.Conn
	ar     *duckdb.Arrow
	loaded map[string]bool
}

func openDuck(ctx context.Context) (*duck, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "SET threads = 1"); err != nil {
		return nil, err
	}
	d := &duck{db: db, conn: conn, loaded: map[string]bool{}}
	err = conn.Raw(func(dc any) error {
		var err error
		d.ar, err = duckdb.NewArrowFromConn(dc.(driver.Conn))
		return err
	})
	return d, err
}

func (d *duck) load(ctx context.Context, t *table) error {
	if d.loaded[t.name] {
		return nil
	}
	sch, batches := arrowBatches(t)
	rdr, err := array.NewRecordReader(sch, batches)
	for _, b := range batches {
		b.Release()
	}
	if err != nil {
		return err
	}
	release, err := d.ar.RegisterView(rdr, t.name+"_arrow")
	if err != nil {
		return err
	}
	defer release()
	if _, err := d.conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM %s_arrow", t.name, t.name)); err != nil {
		return err
	}
	var n int
	if err := d.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+t.name).Scan(&n); err != nil {
		return err
	}
	if n != t.rows {
		return fmt.Errorf("DuckDB %s has %d rows, want %d", t.name, n, t.rows)
	}
	d.loaded[t.name] = true
	return nil
}

func (d *duck) query(ctx context.Context, q string) (fingerprint, error) {
	var fp fingerprint
	rdr, err := d.ar.QueryContext(ctx, q)
	if err != nil {
		return fp, err
	}
	defer rdr.Release()
	for rdr.Next() {
		if err := fp.add(rdr.RecordBatch()); err != nil {
			return fp, err
		}
	}
	return fp, rdr.Err()
}

// benchQuery is one comparison: a query, the tables it reads and how many
// input rows it consumes (the rows/s numerator).
type benchQuery struct {
	name   string
	sql    string
	tables []string
	input  int
}

func queries() []benchQuery {
	bigRows, smallRows := bigRows(), smallRows()
	return []benchQuery{
		{"filter", "SELECT count(*) FROM t WHERE a > 500000", []string{"t"}, bigRows},
		{"project", "SELECT sum(a*2+b) FROM t", []string{"t"}, bigRows},
		{"agg_1k_groups", "SELECT k1k, sum(v), count(*) FROM t GROUP BY k1k", []string{"t"}, bigRows},
		{"agg_1m_groups", "SELECT k1m, sum(v), count(*) FROM t GROUP BY k1m", []string{"t"}, bigRows},
		{"hash_join", "SELECT count(*), sum(r.y) FROM big b JOIN small r ON b.k = r.k", []string{"big", "small"}, bigRows + smallRows},
		{"sort", "SELECT a FROM t ORDER BY a", []string{"t"}, bigRows},
	}
}

// cpuTime is the CPU time (user + system) the process has used so far: every
// thread, so Go's GC workers count against SabotSQL as DuckDB's one worker
// counts against DuckDB.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure times run b.N times and reports input rows per wall second and
// process CPU nanoseconds per input row (less sensitive than wall time to
// other processes competing for the machine's cores).
func measure(b *testing.B, input int, run func() error) {
	runtime.GC()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		require.NoError(b, run())
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	rows := float64(input) * float64(b.N)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/rows, "cpu-ns/row")
}

// BenchmarkBatch runs every query on both engines over the same data. Data
// is generated once and loaded into an engine only when a selected
// sub-benchmark needs it.
func BenchmarkBatch(b *testing.B) {
	ctx := context.Background()
	gen := map[string]*table{}
	tableFor := func(name string) *table {
		if t, ok := gen[name]; ok {
			return t
		}
		switch name {
		case "t":
			gen["t"] = genT(bigRows())
		default:
			gen["big"], gen["small"] = genJoin(bigRows(), smallRows())
		}
		return gen[name]
	}

	e, err := engine.Open(ctx, engine.Options{MemoryLimit: 16 << 30})
	require.NoError(b, err)
	defer e.Close()
	s, err := e.Session("", "", nil)
	require.NoError(b, err)
	defer s.Close()
	sb := &sabot{e: e, s: s, loaded: map[string]bool{}}

	d, err := openDuck(ctx)
	require.NoError(b, err)
	defer d.db.Close()
	defer d.conn.Close()

	// want holds the first fingerprint seen per query; the other engine's
	// must match it.
	want := map[string]fingerprint{}
	check := func(b *testing.B, q benchQuery, engineName string, fp fingerprint) {
		if w, ok := want[q.name]; ok {
			require.Equal(b, w.String(), fp.String(), "%s on %s disagrees", q.name, engineName)
			return
		}
		want[q.name] = fp
	}

	for _, q := range queries() {
		b.Run(q.name+"/engine=sabotsql", func(b *testing.B) {
			for _, tn := range q.tables {
				require.NoError(b, sb.load(ctx, tableFor(tn)), "loading %s into SabotSQL", tn)
			}
			measure(b, q.input, func() error {
				fp, err := sb.query(ctx, q.sql)
				if err == nil {
					check(b, q, "sabotsql", fp)
				}
				return err
			})
		})
		b.Run(q.name+"/engine=duckdb", func(b *testing.B) {
			for _, tn := range q.tables {
				require.NoError(b, d.load(ctx, tableFor(tn)), "loading %s into DuckDB", tn)
			}
			measure(b, q.input, func() error {
				fp, err := d.query(ctx, q.sql)
				if err == nil {
					check(b, q, "duckdb", fp)
				}
				return err
			})
		})
	}
}
