package agg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec/vectest"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// floatPool mixes values whose sums round (0.1, 1e16 + 1), huge values
// whose squares or sums overflow, subnormals, signed zeros and specials.
var floatPool = []float64{0.1, 0.2, 0.3, -0.7, 1, 3, 1e16, -1e16, 3.0000000000000004, 1e-310, -5e-324,
	1e300, -1e300, 1.5e154, 1e-200, 123456.789, math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1)}

// retractDatum draws one argument value of t (nil = NULL).
func retractDatum(r *rand.Rand, t types.T, nullPct int) types.Datum {
	if r.IntN(100) < nullPct {
		return nil
	}
	if t.IsFloat() && r.IntN(3) > 0 {
		v := floatPool[r.IntN(len(floatPool))]
		if r.IntN(4) == 0 {
			v = r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10))
		}
		if t.Family == types.FamFloat4 {
			v = float64(float32(v))
		}
		return v
	}
	return vectest.RandDatum(r, t)
}

// buildCols turns rows (one Datum per column) into Arrow columns.
func buildCols(mem memory.Allocator, ts []types.T, rows [][]types.Datum) []arrow.Array {
	cols := make([]arrow.Array, len(ts))
	for k, t := range ts {
		b := array.NewBuilder(mem, types.ArrowType(t))
		for _, row := range rows {
			types.AppendDatum(b, row[k], t)
		}
		cols[k] = b.NewArray()
		b.Release()
	}
	return cols
}

func releaseAll(cols []arrow.Array) {
	for _, c := range cols {
		c.Release()
	}
}

// cellString renders one result cell exactly: floats by their bits,
// everything else by its stored value.
func cellString(arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return "NULL"
	}
	switch a := arr.(type) {
	case *array.Float64:
		return fmt.Sprintf("f8:%x", math.Float64bits(a.Value(i)))
	case *array.Float32:
		return fmt.Sprintf("f4:%x", math.Float32bits(a.Value(i)))
	}
	return arr.ValueStr(i)
}

// results reads every group's result through Finish, and again through
// AppendResult, and checks they agree. A result error is reported as
// "ERROR <sqlstate>" in place of the cells.
func results(t *testing.T, ctx *kernels.EvalContext, acc kernels.GroupedAcc, ret types.T, ngroups int) []string {
	return resultsBy(t, ctx, acc, ret, ngroups, cellString)
}

func resultsBy(t *testing.T, ctx *kernels.EvalContext, acc kernels.GroupedAcc, ret types.T, ngroups int, cell func(arrow.Array, int) string) []string {
	t.Helper()
	b := array.NewBuilder(ctx.Mem, types.ArrowType(ret))
	defer b.Release()
	if err := acc.Finish(ctx, b); err != nil {
		require.Equal(t, pgerror.NumericValueOutOfRange, pgerror.CodeOf(err), "%v", err)
		return []string{"ERROR " + pgerror.CodeOf(err)}
	}
	arr := b.NewArray()
	defer arr.Release()
	require.Equal(t, ngroups, arr.Len())
	out := make([]string, ngroups)
	for g := range out {
		out[g] = cell(arr, g)
	}
	if gr, ok := acc.(kernels.GroupResulter); ok {
		for g := 0; g < ngroups; g++ {
			require.NoError(t, gr.AppendResult(ctx, uint32(g), b))
		}
		again := b.NewArray()
		defer again.Release()
		for g := range out {
			require.Equal(t, out[g], cell(again, g), "AppendResult of group %d differs from Finish", g)
		}
	}
	return out
}

// liveRow is one row the model holds: its group, arguments and exact key.
type liveRow struct {
	g    uint32
	args []types.Datum
	key  string
}

// exactRowKey is appendExactKey over every column of row i.
func exactRowKey(cols []arrow.Array, i int) string {
	var k []byte
	for _, c := range cols {
		k = appendExactKey(k, c, i)
	}
	return string(k)
}

// retractModel is the plain model of a retractable accumulator's input:
// live rows in arrival order; a retraction removes the latest live row of
// the same group with the same exact key.
type retractModel struct {
	rows []liveRow
}

func (m *retractModel) insert(rows []liveRow) { m.rows = append(m.rows, rows...) }

func (m *retractModel) retract(row liveRow) bool {
	for i := len(m.rows) - 1; i >= 0; i-- {
		if m.rows[i].g == row.g && m.rows[i].key == row.key {
			m.rows = append(m.rows[:i], m.rows[i+1:]...)
			return true
		}
	}
	return false
}

// retractRun drives acc through random inserts and retractions and checks
// its results against fresh accumulators fed the model's live rows.
type retractRun struct {
	t       *testing.T
	r       *rand.Rand
	ctx     *kernels.EvalContext
	ts      []types.T
	ret     types.T
	mk      func() kernels.GroupedAcc
	ngroups int
	nullPct int
	// gen draws one row (nil: the column types' random values).
	gen func() []types.Datum
	// reference computes the expected results from the live rows (nil:
	// a fresh accumulator fed them in arrival order).
	reference func(rows []liveRow) []string
}

func (rr *retractRun) results(acc kernels.GroupedAcc) []string {
	return resultsBy(rr.t, rr.ctx, acc, rr.ret, rr.ngroups, cellString)
}

func (rr *retractRun) row() []types.Datum {
	if rr.gen != nil {
		return rr.gen()
	}
	row := make([]types.Datum, len(rr.ts))
	for k, t := range rr.ts {
		row[k] = retractDatum(rr.r, t, rr.nullPct)
	}
	return row
}

// batch builds Arrow columns from rows, with NoGroup rows mixed in.
func (rr *retractRun) batch(rows []liveRow) ([]arrow.Array, []uint32) {
	var datums [][]types.Datum
	var groups []uint32
	for _, row := range rows {
		if rr.r.IntN(8) == 0 {
			datums = append(datums, rr.row())
			groups = append(groups, NoGroup)
		}
		datums = append(datums, row.args)
		groups = append(groups, row.g)
	}
	return buildCols(rr.ctx.Mem, rr.ts, datums), groups
}

func (rr *retractRun) fresh(rows []liveRow) []string {
	if rr.reference != nil {
		return rr.reference(rows)
	}
	acc := rr.mk()
	acc.Grow(rr.ngroups)
	if len(rows) > 0 {
		cols, groups := rr.batch(rows)
		require.NoError(rr.t, acc.Update(rr.ctx, groups, cols))
		releaseAll(cols)
	}
	return rr.results(acc)
}

func (rr *retractRun) run(steps int, msg string) {
	t, r := rr.t, rr.r
	acc := rr.mk()
	acc.Grow(rr.ngroups / 2)
	acc.Grow(rr.ngroups)
	retr, ok := acc.(kernels.Retractor)
	require.True(t, ok, "%s: not a Retractor", msg)
	var m retractModel
	for step := 0; step < steps; step++ {
		if len(m.rows) == 0 || r.IntN(5) < 3 {
			n := []int{1, 3, 1 + r.IntN(40)}[r.IntN(3)]
			rows := make([]liveRow, n)
			for i := range rows {
				// The last group stays empty unless there is only one.
				rows[i] = liveRow{g: uint32(r.IntN(max(1, rr.ngroups-1))), args: rr.row()}
			}
			cols, groups := rr.batch(rows)
			j := 0
			for i, g := range groups {
				if g != NoGroup {
					rows[j].key = exactRowKey(cols, i)
					j++
				}
			}
			require.NoError(t, acc.Update(rr.ctx, groups, cols), msg)
			releaseAll(cols)
			m.insert(rows)
		} else {
			// Retract a random subset (random order, duplicates allowed
			// while the model still holds them).
			k := 1 + r.IntN(min(len(m.rows), 30))
			if r.IntN(6) == 0 {
				k = len(m.rows) // empty some groups completely
			}
			var rows []liveRow
			for i := 0; i < k && len(m.rows) > 0; i++ {
				row := m.rows[r.IntN(len(m.rows))]
				require.True(t, m.retract(row))
				rows = append(rows, row)
			}
			cols, groups := rr.batch(rows)
			require.NoError(t, retr.Retract(rr.ctx, groups, cols), msg)
			releaseAll(cols)
		}
		if step == steps/2 || step == steps-1 {
			want := rr.fresh(m.rows)
			got := rr.results(acc)
			require.Equal(t, want, got, "%s after step %d, live rows %v", msg, step, m.rows)
		}
	}
}

// concreteArgs picks argument types for a registered overload (nil: skip).
func concreteArgs(f *kernels.AggFunc) [][]types.T {
	var out [][]types.T
	switch {
	case len(f.Args) == 0:
		return [][]types.T{nil}
	case f.Args[0].Family == types.FamAny:
		for _, t := range []types.T{types.Int4T, types.TextT, types.NumericT, types.Float8T, types.IntervalT, types.BoolT} {
			out = append(out, []types.T{t})
		}
		return out
	case f.Args[0].Family == types.FamAnyArray:
		return [][]types.T{{types.ArrayOf(types.Int4T)}}
	case f.Args[0].Family == types.FamOid:
		return nil // RandDatum has no oids; min/max(oid) share int8's code
	}
	return [][]types.T{f.Args}
}

// TestRetractMatchesRecompute checks every registered aggregate (min and
// max through NewRetractableMinMax, as streaming views use them): after
// random inserts and retractions, the results equal those of a fresh
// accumulator fed only the remaining rows — bit for bit for floats, digit
// for digit (display scale included) for numerics.
func TestRetractMatchesRecompute(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx := &kernels.EvalContext{Mem: mem}
	reg := registry()
	tested := 0
	for _, name := range reg.AggNames() {
		for _, f := range reg.Aggs(name) {
			for _, ts := range concreteArgs(f) {
				ret := f.ResultType(ts)
				mk := func() kernels.GroupedAcc { return f.New(ts, ret) }
				if name == "min" || name == "max" {
					_, isRetr := f.New(ts, ret).(kernels.Retractor)
					require.False(t, isRetr, "registry %s now retracts: drop the special case", name)
					isMax := name == "max"
					mk = func() kernels.GroupedAcc { return NewRetractableMinMax(ts[0], isMax) }
				}
				msg := fmt.Sprintf("%s%v", name, ts)
				t.Run(msg, func(t *testing.T) {
					for iter := 0; iter < 8; iter++ {
						ngroups := 1 + r.IntN(6)
						if iter%4 == 3 {
							ngroups = 40 // mostly single-row and empty groups
						}
						rr := &retractRun{t: t, r: r, ctx: ctx, ts: ts, ret: ret, mk: mk,
							ngroups: ngroups, nullPct: []int{0, 15, 80}[iter%3]}
						rr.run(4+r.IntN(12), msg)
					}
				})
				tested++
			}
		}
	}
	require.GreaterOrEqual(t, tested, 80)
	mem.AssertSize(t, 0)
}

// TestFloatSumRetractsSpecials pins the float guarantees: retracting an
// infinity or NaN restores the finite sum, and cancellation is exact.
func TestFloatSumRetractsSpecials(t *testing.T) {
	mem := memory.NewGoAllocator()
	ctx := &kernels.EvalContext{Mem: mem}
	f := lookup(t, registry(), "sum", []types.T{types.Float8T})
	run := func(ins, del []float64) string {
		acc := f.New([]types.T{types.Float8T}, types.Float8T)
		acc.Grow(1)
		rows := func(vs []float64) [][]types.Datum {
			out := make([][]types.Datum, len(vs))
			for i, v := range vs {
				out[i] = []types.Datum{v}
			}
			return out
		}
		c := buildCols(mem, []types.T{types.Float8T}, rows(ins))
		require.NoError(t, acc.Update(ctx, make([]uint32, len(ins)), c))
		d := buildCols(mem, []types.T{types.Float8T}, rows(del))
		require.NoError(t, acc.(kernels.Retractor).Retract(ctx, make([]uint32, len(del)), d))
		return results(t, ctx, acc, types.Float8T, 1)[0]
	}
	f8 := func(v float64) string { return fmt.Sprintf("f8:%x", math.Float64bits(v)) }
	require.Equal(t, f8(1.5), run([]float64{1.5, math.Inf(1)}, []float64{math.Inf(1)}))
	require.Equal(t, f8(1.5), run([]float64{math.NaN(), 1.5}, []float64{math.NaN()}))
	require.Equal(t, f8(math.NaN()), run([]float64{math.Inf(-1), 1.5, math.Inf(1)}, nil))
	require.Equal(t, f8(math.Inf(1)), run([]float64{math.Inf(-1), 1.5, math.Inf(1)}, []float64{math.Inf(-1)}))
	// 1e16 + 1 + 1 - 1e16 is 2 exactly (a running float sum says 0 or 4).
	require.Equal(t, f8(2), run([]float64{1e16, 1, 1, -1e16}, nil))
	require.Equal(t, f8(0.1), run([]float64{0.1, 1e300, 0.2}, []float64{1e300, 0.2}))
	require.Equal(t, f8(math.Copysign(0, -1)), run([]float64{math.Copysign(0, -1), 1}, []float64{1}))
	require.Equal(t, "NULL", run([]float64{7}, []float64{7}))
	// Finite inputs whose sum leaves float8's range: 22003 when read,
	// and retracting one of them clears it.
	require.Equal(t, "ERROR 22003", run([]float64{1e308, 1e308}, nil))
	require.Equal(t, f8(1e308), run([]float64{1e308, 1e308}, []float64{1e308}))
}

// TestSeqBagCompaction retracts most of a large group, in random order,
// through several compactions, checking string_agg against a fresh
// accumulator after every retraction batch.
func TestSeqBagCompaction(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx := &kernels.EvalContext{Mem: mem}
	ts := []types.T{types.TextT, types.TextT}
	f := lookup(t, registry(), "string_agg", ts)
	rr := &retractRun{t: t, r: r, ctx: ctx, ts: ts, ret: types.TextT, ngroups: 2,
		mk: func() kernels.GroupedAcc { return f.New(ts, types.TextT) }}
	acc := rr.mk()
	acc.Grow(2)
	var m retractModel
	rows := make([]liveRow, 300)
	for i := range rows {
		rows[i] = liveRow{g: uint32(i % 2), args: []types.Datum{fmt.Sprint(i % 37), []string{",", ";"}[i%2]}}
	}
	cols, groups := rr.batch(rows)
	for i, j := 0, 0; i < len(groups); i++ {
		if groups[i] != NoGroup {
			rows[j].key = exactRowKey(cols, i)
			j++
		}
	}
	require.NoError(t, acc.Update(ctx, groups, cols))
	releaseAll(cols)
	m.insert(rows)
	for len(m.rows) > 0 {
		var del []liveRow
		for k := 1 + r.IntN(25); k > 0 && len(m.rows) > 0; k-- {
			row := m.rows[r.IntN(len(m.rows))]
			require.True(t, m.retract(row))
			del = append(del, row)
		}
		cols, groups := rr.batch(del)
		require.NoError(t, acc.(kernels.Retractor).Retract(ctx, groups, cols))
		releaseAll(cols)
		require.Equal(t, rr.fresh(m.rows), rr.results(acc))
	}
	bag := &acc.(*stringAggAcc).bag
	for g := range bag.groups {
		require.Less(t, len(bag.groups[g].elems), 16, "tombstones were compacted away")
	}
	require.Empty(t, bag.top)
	mem.AssertSize(t, 0)
}
