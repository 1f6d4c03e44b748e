package exec

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// ---- in-memory tables ----

type row = []types.Datum

// memTables is a TableReader over rows held in memory; scans split the rows
// into batches of the given size.
type memTables struct {
	rows      map[*catalog.Table][]row
	batchSize int
	scans     map[string]int // ScanTable calls per table name
}

func (m *memTables) ScanTable(ctx context.Context, t *catalog.Table, cols []int, rowID bool) (Operator, error) {
	rows := m.rows[t]
	if m.scans == nil {
		m.scans = map[string]int{}
	}
	m.scans[t.Name]++
	fs := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fs[i] = types.ArrowField(t.Columns[c].Name, t.Columns[c].T)
	}
	return &rowsOp{schema: arrow.NewSchema(fs, nil), rows: rows, cols: cols, t: t, bs: m.batchSize}, nil
}

type rowsOp struct {
	schema *arrow.Schema
	rows   []row
	cols   []int
	t      *catalog.Table
	bs     int
	pos    int
	last   arrow.RecordBatch
	inited bool
	closed bool
}

func (o *rowsOp) Init(ctx context.Context) error { o.inited = true; return nil }
func (o *rowsOp) Next() (arrow.RecordBatch, error) {
	if !o.inited {
		return nil, fmt.Errorf("Next before Init")
	}
	if o.last != nil {
		o.last.Release()
		o.last = nil
	}
	if o.pos >= len(o.rows) {
		return nil, nil
	}
	end := min(len(o.rows), o.pos+o.bs)
	b := array.NewRecordBuilder(memory.DefaultAllocator, o.schema)
	defer b.Release()
	for _, r := range o.rows[o.pos:end] {
		for i, c := range o.cols {
			types.AppendDatum(b.Field(i), r[c], o.t.Columns[c].T)
		}
	}
	o.pos = end
	o.last = b.NewRecordBatch()
	return o.last, nil
}
func (o *rowsOp) Close() error {
	if o.last != nil {
		o.last.Release()
		o.last = nil
	}
	o.closed = true
	return nil
}

// fixture holds tables and builds plans over them.
type fixture struct {
	t      *testing.T
	tables *memTables
	env    *Env
}

func newFixture(t *testing.T, bs int) *fixture {
	mt := &memTables{rows: map[*catalog.Table][]row{}, batchSize: bs}
	return &fixture{t: t, tables: mt, env: &Env{Tables: mt, BatchSize: bs, Mem: NewMemAccount(0)}}
}

func (f *fixture) table(name string, cols []catalog.Column, rows []row) *planner.Scan {
	tb := &catalog.Table{Name: name, Columns: cols}
	f.tables.rows[tb] = rows
	s := &planner.Scan{Table: tb, Alias: name}
	for i, c := range cols {
		s.Cols = append(s.Cols, i)
		s.Out = append(s.Out, planner.Column{Name: c.Name, T: c.T, Table: name})
	}
	return s
}

// run executes the plan and returns its rows.
func (f *fixture) run(n planner.Node) ([]row, error) {
	return runRows(context.Background(), f.env, n)
}

func runRows(ctx context.Context, env *Env, n planner.Node) ([]row, error) {
	bs, err := Run(ctx, env, n)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, b := range bs {
			b.Release()
		}
	}()
	ts := n.Schema().Types()
	var out []row
	for _, b := range bs {
		if b.NumRows() == 0 {
			return nil, fmt.Errorf("operator returned an empty batch")
		}
		for i := 0; i < int(b.NumRows()); i++ {
			r := make(row, b.NumCols())
			for c := range r {
				r[c] = types.GetDatum(b.Column(c), i, ts[c])
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fixture) mustRun(n planner.Node) []row {
	f.t.Helper()
	rows, err := f.run(n)
	require.NoError(f.t, err)
	return rows
}

// ---- row helpers ----

func fmtRow(r row) string {
	parts := make([]string, len(r))
	for i, d := range r {
		if d == nil {
			parts[i] = "NULL"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return strings.Join(parts, "|")
}

func fmtRows(rs []row) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmtRow(r)
	}
	return out
}

func sortedRows(rs []row) []string {
	out := fmtRows(rs)
	sort.Strings(out)
	return out
}

// ---- expressions ----

func col(i int, t types.T) *planner.ColRef { return &planner.ColRef{Idx: i, T: t} }
func ci(i int) *planner.ColRef             { return col(i, types.Int8T) }
func cb(i int) *planner.ColRef             { return col(i, types.BoolT) }
func ival(v int64) *planner.Const          { return &planner.Const{Val: v, T: types.Int8T} }
func bval(v any) *planner.Const            { return &planner.Const{Val: v, T: types.BoolT} }
func inull() *planner.Const                { return &planner.Const{T: types.Int8T} }

// test functions (row-wise unless noted)
var (
	fnEq  = cmpFn("=", func(c int) bool { return c == 0 })
	fnNe  = cmpFn("<>", func(c int) bool { return c != 0 })
	fnLt  = cmpFn("<", func(c int) bool { return c < 0 })
	fnGt  = cmpFn(">", func(c int) bool { return c > 0 })
	fnDiv = &kernels.ScalarFunc{Name: "/", Args: []types.T{types.Int8T, types.Int8T}, Ret: types.Int8T, Strict: true,
		Eval: func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			if a[1].(int64) == 0 {
				return nil, pgerror.New(pgerror.DivisionByZero, "division by zero")
			}
			return a[0].(int64) / a[1].(int64), nil
		}}
	fnMul = &kernels.ScalarFunc{Name: "*", Args: []types.T{types.Int8T, types.Int8T}, Ret: types.Int8T, Strict: true,
		Eval: func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return a[0].(int64) * a[1].(int64), nil
		}}
	// fnAdd is vectorized (Vec) to exercise that path.
	fnAdd = &kernels.ScalarFunc{Name: "+", Args: []types.T{types.Int8T, types.Int8T}, Ret: types.Int8T, Strict: true,
		Eval: func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return a[0].(int64) + a[1].(int64), nil
		},
		Vec: func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			x, y := args[0].(*array.Int64), args[1].(*array.Int64)
			b := array.NewInt64Builder(memory.DefaultAllocator)
			defer b.Release()
			for i := 0; i < n; i++ {
				if x.IsNull(i) || y.IsNull(i) {
					b.AppendNull()
				} else {
					b.Append(x.Value(i) + y.Value(i))
				}
			}
			return b.NewArray(), nil
		}}
)

func cmpFn(name string, ok func(int) bool) *kernels.ScalarFunc {
	return &kernels.ScalarFunc{Name: name, Args: []types.T{types.Int8T, types.Int8T}, Ret: types.BoolT, Strict: true,
		Eval: func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			x, y := a[0].(int64), a[1].(int64)
			c := 0
			if x < y {
				c = -1
			} else if x > y {
				c = 1
			}
			return ok(c), nil
		}}
}

func call(fn *kernels.ScalarFunc, args ...planner.Expr) *planner.Call {
	return &planner.Call{Fn: fn, Args: args, T: fn.Ret}
}

// ---- random data ----

func randInts(rng *rand.Rand, n, max int, nullPct int) []types.Datum {
	out := make([]types.Datum, n)
	for i := range out {
		if rng.Intn(100) < nullPct {
			continue
		}
		out[i] = int64(rng.Intn(max))
	}
	return out
}

func intCols(names ...string) []catalog.Column {
	out := make([]catalog.Column, len(names))
	for i, n := range names {
		out[i] = catalog.Column{Name: n, T: types.Int8T}
	}
	return out
}

func schemaOf(s ...planner.Column) planner.Schema { return planner.Schema(s) }

func icol(name string) planner.Column { return planner.Column{Name: name, T: types.Int8T} }

var batchSizes = []int{1, 3, 1024}
