package agg

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// stateCase is one accumulator configuration the state tests cover.
type stateCase struct {
	name string
	ts   []types.T
	ret  types.T
	mk   func() kernels.GroupedAcc
}

// stateCases lists every retractable accumulator of the package as a
// streaming view builds it: the registry's overloads (min and max through
// NewRetractableMinMax), plus the DISTINCT and ORDER BY wrappers.
func stateCases() []stateCase {
	reg := registry()
	var out []stateCase
	for _, name := range reg.AggNames() {
		for _, f := range reg.Aggs(name) {
			for _, ts := range concreteArgs(f) {
				ret := f.ResultType(ts)
				mk := func() kernels.GroupedAcc { return f.New(ts, ret) }
				if name == "min" || name == "max" {
					isMax := name == "max"
					mk = func() kernels.GroupedAcc { return NewRetractableMinMax(ts[0], isMax) }
				}
				if _, ok := mk().(kernels.Retractor); !ok {
					continue
				}
				out = append(out, stateCase{name: fmt.Sprintf("%s%v", name, ts), ts: ts, ret: ret, mk: mk})
			}
		}
	}
	// DISTINCT (with and without kept representatives) and ORDER BY.
	for _, c := range []aggCase{
		{"count", []types.T{types.Int4T}}, {"sum", []types.T{types.NumericT}},
		{"avg", []types.T{types.Float8T}}, {"string_agg", []types.T{types.TextT, types.TextT}},
		{"array_agg", []types.T{types.Float8T}}, {"array_agg", []types.T{types.IntervalT}},
		{"max", []types.T{types.NumericT}}, {"sum", []types.T{types.Int8T}},
	} {
		f := lookupAgg(reg, c.name, c.args)
		ts := c.args
		ret := f.ResultType(ts)
		inner := func() kernels.GroupedAcc { return f.New(ts, ret) }
		if c.name == "max" {
			inner = func() kernels.GroupedAcc { return NewRetractableMinMax(ts[0], true) }
		}
		out = append(out, stateCase{name: fmt.Sprintf("%s(DISTINCT %v)", c.name, ts), ts: ts, ret: ret,
			mk: func() kernels.GroupedAcc { return NewDistinct(ts, inner()) }})
	}
	for _, c := range []struct {
		aggCase
		keys []types.T
		desc []bool
	}{
		{aggCase{"string_agg", []types.T{types.TextT, types.TextT}}, []types.T{types.Int4T}, []bool{true}},
		{aggCase{"array_agg", []types.T{types.NumericT}}, []types.T{types.Float8T, types.TextT}, []bool{false, true}},
		{aggCase{"array_agg", []types.T{types.Int4T}}, []types.T{types.IntervalT}, nil},
		{aggCase{"sum", []types.T{types.Float8T}}, []types.T{types.NumericT}, nil},
	} {
		f := lookupAgg(reg, c.name, c.args)
		args := c.args
		ret := f.ResultType(args)
		all := append(append([]types.T(nil), args...), c.keys...)
		keys, desc := c.keys, c.desc
		out = append(out, stateCase{name: fmt.Sprintf("%s(%v ORDER BY %v)", c.name, args, keys), ts: all, ret: ret,
			mk: func() kernels.GroupedAcc {
				return NewOrdered(args, keys, desc, []bool{true}, func() kernels.GroupedAcc { return f.New(args, ret) })
			}})
	}
	return out
}

// lookupAgg finds the overload of name for argument types ts.
func lookupAgg(reg *kernels.Registry, name string, ts []types.T) *kernels.AggFunc {
	for _, f := range reg.Aggs(name) {
		if argsFit(f.Args, ts) {
			return f
		}
	}
	panic(fmt.Sprintf("no %s%v", name, ts))
}

func argsFit(decl, ts []types.T) bool {
	if len(decl) != len(ts) {
		return false
	}
	for i, d := range decl {
		if d.Family != types.FamAny && d.Family != ts[i].Family {
			return false
		}
	}
	return true
}

// groupResult renders group g's current result (or its error's SQLSTATE).
func groupResult(t *testing.T, ctx *kernels.EvalContext, acc kernels.GroupedAcc, ret types.T, g uint32) string {
	t.Helper()
	b := array.NewBuilder(ctx.Mem, types.ArrowType(ret))
	defer b.Release()
	if err := acc.(kernels.GroupResulter).AppendResult(ctx, g, b); err != nil {
		return "ERROR " + pgerror.CodeOf(err)
	}
	arr := b.NewArray()
	defer arr.Release()
	require.Equal(t, 1, arr.Len())
	return cellString(arr, 0)
}

// stateRun drives two accumulators: src, whose groups 0..n-1 are saved,
// and dst, into whose groups n+g (already holding other rows) they are
// loaded; afterwards both receive the same rows and retractions.
type stateRun struct {
	rr  *retractRun
	src kernels.GroupedAcc
	dst kernels.GroupedAcc
	m   retractModel
}

// step applies one random insert or retraction batch to src (groups g)
// and, when both is set, to dst (groups n+g).
func (s *stateRun) step(both bool) {
	rr, r, t := s.rr, s.rr.r, s.rr.t
	n := uint32(rr.ngroups)
	apply := func(rows []liveRow, retract bool) {
		cols, groups := rr.batch(rows)
		defer releaseAll(cols)
		if !retract {
			j := 0
			for i, g := range groups {
				if g != NoGroup {
					rows[j].key = exactRowKey(cols, i)
					j++
				}
			}
		}
		accs := []kernels.GroupedAcc{s.src}
		if both {
			accs = append(accs, s.dst)
		}
		for k, acc := range accs {
			gs := groups
			if k == 1 {
				gs = make([]uint32, len(groups))
				for i, g := range groups {
					gs[i] = NoGroup
					if g != NoGroup {
						gs[i] = g + n
					}
				}
			}
			if retract {
				require.NoError(t, acc.(kernels.Retractor).Retract(rr.ctx, gs, cols))
			} else {
				require.NoError(t, acc.Update(rr.ctx, gs, cols))
			}
		}
	}
	if len(s.m.rows) == 0 || r.IntN(5) < 3 {
		rows := make([]liveRow, []int{1, 3, 1 + r.IntN(30)}[r.IntN(3)])
		for i := range rows {
			// The last group stays empty unless there is only one.
			rows[i] = liveRow{g: uint32(r.IntN(max(1, rr.ngroups-1))), args: rr.row()}
		}
		apply(rows, false)
		s.m.insert(rows)
		return
	}
	k := 1 + r.IntN(min(len(s.m.rows), 20))
	if r.IntN(6) == 0 {
		k = len(s.m.rows) // groups that had every row retracted
	}
	var rows []liveRow
	for i := 0; i < k && len(s.m.rows) > 0; i++ {
		row := s.m.rows[r.IntN(len(s.m.rows))]
		require.True(t, s.m.retract(row))
		rows = append(rows, row)
	}
	apply(rows, true)
}

// compare checks that every group g of src reports what group n+g of dst does.
func (s *stateRun) compare(msg string) {
	rr := s.rr
	n := uint32(rr.ngroups)
	for g := uint32(0); g < n; g++ {
		want := groupResult(rr.t, rr.ctx, s.src, rr.ret, g)
		got := groupResult(rr.t, rr.ctx, s.dst, rr.ret, g+n)
		require.Equal(rr.t, want, got, "%s: group %d", msg, g)
	}
}

// TestGroupStateRoundTrip saves every group of every retractable
// accumulator after random inserts and retractions (NULLs, extremes, empty
// and fully retracted groups), loads each into another accumulator at a
// different group id that already held rows, and checks the results agree,
// then and after the same further inserts and retractions on both.
func TestGroupStateRoundTrip(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx := &kernels.EvalContext{Mem: mem}
	for _, c := range stateCases() {
		_, ok := c.mk().(kernels.GroupStater)
		require.True(t, ok, "%s retracts but cannot save its groups", c.name)
		t.Run(c.name, func(t *testing.T) {
			for iter := 0; iter < 6; iter++ {
				ngroups := 1 + r.IntN(5)
				if iter == 5 {
					ngroups = 20
				}
				rr := &retractRun{t: t, r: r, ctx: ctx, ts: c.ts, ret: c.ret, mk: c.mk,
					ngroups: ngroups, nullPct: []int{0, 15, 80}[iter%3]}
				s := &stateRun{rr: rr, src: c.mk(), dst: c.mk()}
				s.src.Grow(ngroups)
				s.dst.Grow(2 * ngroups)
				for k := 3 + r.IntN(12); k > 0; k-- {
					s.step(false)
				}
				// Each target group first gets another group's state, which
				// the second load must replace entirely.
				var buf []byte
				for g := uint32(0); g < uint32(ngroups); g++ {
					st := s.src.(kernels.GroupStater)
					other := uint32(r.IntN(ngroups))
					require.NoError(t, s.dst.(kernels.GroupStater).LoadGroupState(g+uint32(ngroups), st.AppendGroupState(nil, other)))
					buf = st.AppendGroupState(buf[:0], g)
					require.NoError(t, s.dst.(kernels.GroupStater).LoadGroupState(g+uint32(ngroups), buf), "%s group %d", c.name, g)
				}
				s.compare("after load")
				for k := 1 + r.IntN(8); k > 0; k-- {
					s.step(true)
				}
				s.compare("after further updates")
				// Save again (indexes kept current through the updates)
				// into a third accumulator, at the original ids.
				third := c.mk()
				third.Grow(ngroups)
				for g := uint32(0); g < uint32(ngroups); g++ {
					buf = s.src.(kernels.GroupStater).AppendGroupState(buf[:0], g)
					require.NoError(t, third.(kernels.GroupStater).LoadGroupState(g, buf))
				}
				s.dst = third
				for g := uint32(0); g < uint32(ngroups); g++ {
					require.Equal(t, groupResult(t, ctx, s.src, c.ret, g), groupResult(t, ctx, third, c.ret, g), "third generation, group %d", g)
				}
			}
		})
	}
	mem.AssertSize(t, 0)
}

// TestGroupStateCorrupt feeds every truncation and some byte flips of
// valid encodings to LoadGroupState: the result is nil (a flip may still
// decode) or an XX001 error, never a panic, and never another error kind.
func TestGroupStateCorrupt(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx := &kernels.EvalContext{Mem: mem}
	for _, c := range stateCases() {
		if _, ok := c.mk().(kernels.GroupStater); !ok {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			rr := &retractRun{t: t, r: r, ctx: ctx, ts: c.ts, ret: c.ret, mk: c.mk, ngroups: 3, nullPct: 10}
			s := &stateRun{rr: rr, src: c.mk()}
			s.src.Grow(3)
			for k := 10; k > 0; k-- {
				s.step(false)
			}
			dst := c.mk()
			dst.Grow(3)
			ld := dst.(kernels.GroupStater)
			more := &stateRun{rr: rr, src: dst}
			check := func(err error, src []byte) {
				if err != nil {
					require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err), "%v on %x", err, src)
				}
			}
			for g := uint32(0); g < 3; g++ {
				enc := s.src.(kernels.GroupStater).AppendGroupState(nil, g)
				require.NoError(t, ld.LoadGroupState(0, enc))
				want := groupResult(t, ctx, dst, c.ret, 0)
				for n := 0; n < len(enc); n++ {
					err := ld.LoadGroupState(0, enc[:n])
					require.Error(t, err, "truncation to %d of %d bytes decoded", n, len(enc))
					check(err, enc[:n])
					require.Equal(t, want, groupResult(t, ctx, dst, c.ret, 0), "a failed load changed the group")
				}
				require.NoError(t, ld.LoadGroupState(0, enc))
				check(ld.LoadGroupState(0, append(append([]byte(nil), enc...), 0)), enc)
				require.Error(t, ld.LoadGroupState(0, append(append([]byte(nil), enc...), 0)), "trailing byte accepted")
				for k := 0; k < 50; k++ {
					bad := append([]byte(nil), enc...)
					bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
					if ld.LoadGroupState(0, bad) == nil {
						// Whatever decoded must still be readable and
						// take further rows.
						_ = groupResult(t, ctx, dst, c.ret, 0)
						more.m = retractModel{} // retract only rows added since the load
						more.step(false)
						more.step(false)
						_ = groupResult(t, ctx, dst, c.ret, 0)
					} else {
						check(ld.LoadGroupState(0, bad), bad)
					}
				}
				// Garbage of random lengths.
				for k := 0; k < 20; k++ {
					bad := make([]byte, r.IntN(24))
					for i := range bad {
						bad[i] = byte(r.Uint32())
					}
					check(ld.LoadGroupState(0, bad), bad)
				}
			}
		})
	}
	mem.AssertSize(t, 0)
}

// TestGroupStateSizes pins the encoded size of the common small states.
func TestGroupStateSizes(t *testing.T) {
	mem := memory.NewGoAllocator()
	ctx := &kernels.EvalContext{Mem: mem}
	reg := registry()
	size := func(name string, ts []types.T, vals ...types.Datum) int {
		f := lookup(t, reg, name, ts)
		acc := f.New(ts, f.ResultType(ts))
		acc.Grow(1)
		rows := make([][]types.Datum, len(vals))
		for i, v := range vals {
			rows[i] = []types.Datum{v}
		}
		cols := buildCols(mem, ts, rows)
		defer releaseAll(cols)
		if len(ts) == 0 {
			cols = nil
		}
		require.NoError(t, acc.Update(ctx, make([]uint32, len(vals)), cols))
		return len(acc.(kernels.GroupStater).AppendGroupState(nil, 0))
	}
	i8 := []types.T{types.Int8T}
	require.Equal(t, 2, size("count", nil, int64(1), int64(2), int64(3)))
	require.LessOrEqual(t, size("sum", i8, int64(1_000_000), int64(-5)), 8)
	require.LessOrEqual(t, size("avg", i8, int64(1_000_000), int64(-5)), 8)
	require.LessOrEqual(t, size("sum", []types.T{types.Int4T}, int64(1_000_000), int64(-5)), 8)
	f8 := []types.T{types.Float8T}
	require.LessOrEqual(t, size("avg", f8, 1234.5678, -0.001, 1e6), 20)
	require.LessOrEqual(t, size("sum", f8, 2.5, 3.0), 8)
	require.LessOrEqual(t, size("avg", []types.T{types.NumericT}, numDatum(t, "12.50"), numDatum(t, "3")), 12)
}

// TestGroupStateMinMaxSpellings: after a load, the arrival order of a
// value's spellings continues across the load (the latest live spelling
// of the extreme is the result).
func TestGroupStateMinMaxSpellings(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx := &kernels.EvalContext{Mem: mem}
	ts := []types.T{types.NumericT}
	num := func(ss ...string) [][]types.Datum {
		out := make([][]types.Datum, len(ss))
		for i, s := range ss {
			out[i] = []types.Datum{numDatum(t, s)}
		}
		return out
	}
	feed := func(acc kernels.GroupedAcc, g uint32, retract bool, ss ...string) {
		cols := buildCols(mem, ts, num(ss...))
		defer releaseAll(cols)
		groups := make([]uint32, len(ss))
		for i := range groups {
			groups[i] = g
		}
		if retract {
			require.NoError(t, acc.(kernels.Retractor).Retract(ctx, groups, cols))
		} else {
			require.NoError(t, acc.Update(ctx, groups, cols))
		}
	}
	src := NewRetractableMinMax(types.NumericT, true)
	src.Grow(2)
	feed(src, 1, false, "5", "6", "7", "8") // arrival numbers the load must not reuse
	feed(src, 0, false, "1.0", "1.00", "0.5", "1.0")
	dst := NewRetractableMinMax(types.NumericT, true)
	dst.Grow(3)
	require.NoError(t, dst.(kernels.GroupStater).LoadGroupState(2, src.(kernels.GroupStater).AppendGroupState(nil, 0)))
	require.Equal(t, "1.0", groupResult(t, ctx, dst, types.NumericT, 2))
	feed(dst, 2, false, "1.00")
	require.Equal(t, "1.00", groupResult(t, ctx, dst, types.NumericT, 2))
	feed(dst, 2, true, "1.00")
	require.Equal(t, "1.0", groupResult(t, ctx, dst, types.NumericT, 2))
	feed(dst, 2, true, "1.0", "1.0")
	require.Equal(t, "1.00", groupResult(t, ctx, dst, types.NumericT, 2))
	feed(dst, 2, true, "1.00")
	require.Equal(t, "0.5", groupResult(t, ctx, dst, types.NumericT, 2))
	mem.AssertSize(t, 0)
}

// TestExactDatumMatchesExactKey: the value encoding of group states is
// appendExactKey's, and decodes back to the stored value.
func TestExactDatumMatchesExactKey(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	for _, typ := range []types.T{types.BoolT, types.Int2T, types.Int4T, types.Int8T, types.Float4T,
		types.Float8T, types.NumericT, types.TextT, types.VarcharT, types.BpcharT, types.ByteaT,
		types.DateT, types.TimeT, types.TimestampT, types.TimestampTZT, types.IntervalT,
		types.ArrayOf(types.Int4T), types.ArrayOf(types.NumericT), types.ArrayOf(types.TextT)} {
		rows := make([][]types.Datum, 200)
		for i := range rows {
			rows[i] = []types.Datum{retractDatum(r, typ, 10)}
		}
		cols := buildCols(mem, []types.T{typ}, rows)
		for i := range rows {
			want := appendExactKey(nil, cols[0], i)
			d := types.GetDatum(cols[0], i, typ)
			require.Equal(t, want, appendExactDatum(nil, d, typ), "%v row %d", typ, i)
			rd := newRawStateReader(want)
			back, raw := rd.exactDatum(typ)
			require.NoError(t, rd.Done())
			require.Equal(t, want, raw)
			require.Equal(t, want, appendExactDatum(nil, back, typ), "%v row %d decodes to another value", typ, i)
		}
		releaseAll(cols)
	}
	mem.AssertSize(t, 0)
}
