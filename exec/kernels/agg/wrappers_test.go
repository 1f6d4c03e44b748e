package agg

import (
	"fmt"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TestDistinctRetract drives NewDistinct around several aggregates and
// compares with the inner aggregate fed each group's distinct live rows.
// The argument types are ones where SQL equality is exact equality, so the
// row inner saw for a tuple is its earliest live row.
func TestDistinctRetract(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx := &kernels.EvalContext{Mem: mem}
	reg := registry()
	for _, c := range []aggCase{
		{"count", []types.T{types.Int4T}}, {"count", []types.T{types.TextT}},
		{"sum", []types.T{types.Int4T}}, {"avg", []types.T{types.Int8T}},
		{"string_agg", []types.T{types.TextT, types.TextT}},
		{"array_agg", []types.T{types.Int4T}}, {"bool_or", []types.T{types.BoolT}},
	} {
		f := lookup(t, reg, c.name, c.args)
		ts := c.args
		ret := f.ResultType(ts)
		msg := fmt.Sprintf("%s(DISTINCT %v)", c.name, ts)
		t.Run(msg, func(t *testing.T) {
			for iter := 0; iter < 12; iter++ {
				rr := &retractRun{t: t, r: r, ctx: ctx, ts: ts, ret: ret,
					mk:      func() kernels.GroupedAcc { return NewDistinct(ts, f.New(ts, ret)) },
					ngroups: 1 + r.IntN(4), nullPct: []int{0, 20, 70}[iter%3]}
				rr.reference = func(rows []liveRow) []string {
					seen := map[string]bool{}
					var keep []liveRow
					for _, row := range rows {
						if row.args[0] == nil && c.name != "array_agg" {
							continue
						}
						k := fmt.Sprint(row.g)
						for j, d := range row.args {
							k += string(types.AppendKey(nil, d, ts[j]))
						}
						if !seen[k] {
							seen[k] = true
							keep = append(keep, row)
						}
					}
					plain := *rr
					plain.reference = nil
					plain.mk = func() kernels.GroupedAcc { return f.New(ts, ret) }
					return plain.fresh(keep)
				}
				rr.run(6+r.IntN(12), msg)
			}
		})
	}
	mem.AssertSize(t, 0)
}

// TestDistinctRetractsFirstSpelling checks that inner retracts the row it
// was given, not the SQL-equal row being deleted: numeric sums keep
// display scales per input.
func TestDistinctRetractsFirstSpelling(t *testing.T) {
	mem := memory.NewGoAllocator()
	ctx := &kernels.EvalContext{Mem: mem}
	num := []types.T{types.NumericT}
	f := lookup(t, registry(), "sum", num)
	acc := NewDistinct(num, f.New(num, types.NumericT))
	acc.Grow(1)
	step := func(retract bool, vals ...string) string {
		rows := make([][]types.Datum, len(vals))
		for i, v := range vals {
			rows[i] = []types.Datum{numDatum(t, v)}
		}
		cols := buildCols(mem, num, rows)
		defer releaseAll(cols)
		if retract {
			require.NoError(t, acc.(kernels.Retractor).Retract(ctx, make([]uint32, len(vals)), cols))
		} else {
			require.NoError(t, acc.Update(ctx, make([]uint32, len(vals)), cols))
		}
		return results(t, ctx, acc, types.NumericT, 1)[0]
	}
	require.Equal(t, "3.0", step(false, "1.0", "1.00", "2"))
	require.Equal(t, "3.0", step(true, "1.0"))
	require.Equal(t, "2", step(true, "1.00"))
	require.Equal(t, "2", step(true, "7")) // never added: ignored
	require.Equal(t, "NULL", step(true, "2"))
	require.Equal(t, "5", step(false, "5", "5"))
	// count(DISTINCT x) skips NULLs and counts 0 for an emptied group.
	cnt := NewDistinct(num, lookup(t, registry(), "count", num).New(num, types.Int8T))
	cnt.Grow(2)
	cols := buildCols(mem, num, [][]types.Datum{{nil}, {numDatum(t, "1")}, {numDatum(t, "1.0")}})
	require.NoError(t, cnt.Update(ctx, []uint32{0, 0, 0}, cols))
	require.Equal(t, []string{"1", "0"}, results(t, ctx, cnt, types.Int8T, 2))
	require.NoError(t, cnt.(kernels.Retractor).Retract(ctx, []uint32{0, 0, 0}, cols))
	require.Equal(t, []string{"0", "0"}, results(t, ctx, cnt, types.Int8T, 2))
	releaseAll(cols)
}

// TestOrderedRetract drives NewOrdered and compares with the inner
// aggregate fed each group's live rows stably sorted by the ORDER BY keys.
func TestOrderedRetract(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx := &kernels.EvalContext{Mem: mem}
	reg := registry()
	for _, c := range []struct {
		name       string
		args, keys []types.T
		desc, nf   []bool
	}{
		{"string_agg", []types.T{types.TextT, types.TextT}, []types.T{types.Int4T}, []bool{false}, []bool{false}},
		{"string_agg", []types.T{types.TextT, types.TextT}, []types.T{types.Int4T, types.TextT}, []bool{true, false}, []bool{true, false}},
		{"array_agg", []types.T{types.Int4T}, []types.T{types.Float8T}, []bool{false}, []bool{true}},
		{"array_agg", []types.T{types.NumericT}, []types.T{types.NumericT}, []bool{true}, []bool{false}},
		{"array_agg", []types.T{types.TextT}, []types.T{types.TextT}, []bool{false}, []bool{false}},
		{"sum", []types.T{types.Float8T}, []types.T{types.Int4T}, []bool{false}, []bool{false}},
	} {
		f := lookup(t, reg, c.name, c.args)
		ret := f.ResultType(c.args)
		all := append(append([]types.T(nil), c.args...), c.keys...)
		na := len(c.args)
		msg := fmt.Sprintf("%s(%v ORDER BY %v desc=%v nullsfirst=%v)", c.name, c.args, c.keys, c.desc, c.nf)
		t.Run(msg, func(t *testing.T) {
			for iter := 0; iter < 12; iter++ {
				rr := &retractRun{t: t, r: r, ctx: ctx, ts: all, ret: ret,
					mk: func() kernels.GroupedAcc {
						return NewOrdered(c.args, c.keys, c.desc, c.nf, func() kernels.GroupedAcc { return f.New(c.args, ret) })
					},
					ngroups: 1 + r.IntN(4), nullPct: []int{0, 20, 60}[iter%3]}
				rr.reference = func(rows []liveRow) []string {
					sorted := append([]liveRow(nil), rows...)
					sort.SliceStable(sorted, func(i, j int) bool {
						for k, kt := range c.keys {
							x, y := sorted[i].args[na+k], sorted[j].args[na+k]
							if x == nil || y == nil {
								if (x == nil) == (y == nil) {
									continue
								}
								return (x == nil) == c.nf[k]
							}
							cmp := types.Compare(x, y, kt)
							if c.desc[k] {
								cmp = -cmp
							}
							if cmp != 0 {
								return cmp < 0
							}
						}
						return false
					})
					plain := *rr
					plain.reference = nil
					plain.ts = c.args
					for i := range sorted {
						sorted[i].args = sorted[i].args[:na]
					}
					plain.mk = func() kernels.GroupedAcc { return f.New(c.args, ret) }
					return plain.fresh(sorted)
				}
				rr.run(6+r.IntN(12), msg)
			}
		})
	}
	mem.AssertSize(t, 0)
}

// TestDistinctOverOrdered is array_agg(DISTINCT x ORDER BY x): NULL is one
// distinct element, sorted last, gone once every NULL row is retracted.
func TestDistinctOverOrdered(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx := &kernels.EvalContext{Mem: mem}
	i4 := []types.T{types.Int4T}
	f := lookup(t, registry(), "array_agg", i4)
	ret := f.ResultType(i4)
	acc := NewDistinct([]types.T{types.Int4T, types.Int4T},
		NewOrdered(i4, i4, []bool{false}, []bool{false}, func() kernels.GroupedAcc { return f.New(i4, ret) }))
	acc.Grow(1)
	step := func(retract bool, vals ...types.Datum) string {
		rows := make([][]types.Datum, len(vals))
		for i, v := range vals {
			rows[i] = []types.Datum{v, v}
		}
		cols := buildCols(mem, []types.T{types.Int4T, types.Int4T}, rows)
		defer releaseAll(cols)
		if retract {
			require.NoError(t, acc.(kernels.Retractor).Retract(ctx, make([]uint32, len(vals)), cols))
		} else {
			require.NoError(t, acc.Update(ctx, make([]uint32, len(vals)), cols))
		}
		return results(t, ctx, acc, ret, 1)[0]
	}
	require.Equal(t, "[1,2,3,null]", step(false, int64(3), nil, int64(1), int64(3), nil, int64(2)))
	require.Equal(t, "[1,2,3,null]", step(true, int64(3)))
	require.Equal(t, "[1,2,null]", step(true, int64(3)))
	require.Equal(t, "[1,2,null]", step(true, nil))
	require.Equal(t, "[1,2]", step(true, nil))
	require.Equal(t, "NULL", step(true, int64(1), int64(2)))
	mem.AssertSize(t, 0)
}
