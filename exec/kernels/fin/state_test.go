package fin

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
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// stateCase is one aggregate overload whose state round-trips.
type stateCase struct {
	name string
	args []types.T
	// konst maps an argument position to a constant value (alpha, λ).
	konst map[int]float64
}

func stateCases() []stateCase {
	f8 := types.Float8T
	return []stateCase{
		{"ewma", []types.T{f8, f8}, map[int]float64{1: 0.3}},
		{"ewvar", []types.T{f8, f8}, map[int]float64{1: 0.9}},
		{"ewstd", []types.T{f8, f8}, map[int]float64{1: 0.9}},
		{"ewcov", []types.T{f8, f8, f8}, map[int]float64{2: 0.8}},
		{"ewcorr", []types.T{f8, f8, f8}, map[int]float64{2: 0.8}},
		{"ofi", []types.T{f8, f8, f8, f8}, nil},
		{"vwap", []types.T{f8, f8}, nil},
		{"realized_var", []types.T{f8}, nil},
		{"bipower_var", []types.T{f8}, nil},
		{"zscore", []types.T{f8}, nil},
		{"twap", []types.T{f8, types.Int8T}, nil},
		{"twap", []types.T{f8, types.TimestampTZT}, nil},
		{"first", []types.T{f8}, nil},
		{"last", []types.T{types.Int4T}, nil},
		{"last", []types.T{types.TimestampT}, nil},
		{"first", []types.T{types.TextT}, nil},
		{"last", []types.T{types.NumericT}, nil},
		{"first_value", []types.T{types.TextT}, nil},
		{"last_value", []types.T{f8}, nil},
	}
}

// stateBatch builds n rows of random arguments (about 10% NULLs in
// non-constant columns); time columns increase from ts0.
func stateBatch(t *testing.T, rng *rand.Rand, c stateCase, n int, ts0 int64) []arrow.Array {
	t.Helper()
	out := make([]arrow.Array, len(c.args))
	for k, at := range c.args {
		b := array.NewBuilder(memory.DefaultAllocator, types.ArrowType(at))
		for i := range n {
			if v, ok := c.konst[k]; ok {
				b.(*array.Float64Builder).Append(v)
				continue
			}
			if rng.IntN(10) == 0 {
				b.AppendNull()
				continue
			}
			x := 1e9 + rng.NormFloat64()
			switch bb := b.(type) {
			case *array.Float64Builder:
				bb.Append(x)
			case *array.Int64Builder:
				bb.Append(ts0 + int64(i))
			case *array.TimestampBuilder:
				bb.Append(arrow.Timestamp(ts0 + int64(i)))
			case *array.Int32Builder:
				bb.Append(int32(rng.Uint32()))
			default:
				var d types.Datum
				switch at.Family {
				case types.FamText:
					d = fmt.Sprintf("s%d", rng.IntN(1000))
				case types.FamNumeric:
					var err error
					d, err = types.ParseText(&types.Ctx{}, fmt.Sprintf("%d.%03d", rng.IntN(1e6), rng.IntN(1000)), at)
					require.NoError(t, err)
				}
				types.AppendDatum(b, d, at)
			}
		}
		out[k] = b.NewArray()
		b.Release()
	}
	return out
}

// groupResults appends the current result of every group in gs.
func groupResults(t *testing.T, acc kernels.GroupedAcc, ret types.T, gs []uint32) []string {
	t.Helper()
	b := array.NewBuilder(memory.DefaultAllocator, types.ArrowType(ret))
	defer b.Release()
	for _, g := range gs {
		require.NoError(t, acc.(kernels.GroupResulter).AppendResult(&kernels.EvalContext{}, g, b))
	}
	a := b.NewArray()
	defer a.Release()
	out := make([]string, a.Len())
	for i := range out {
		if f, ok := a.(*array.Float64); ok && f.IsValid(i) {
			out[i] = fmt.Sprintf("%x", math.Float64bits(f.Value(i))) // bit-exact
		} else {
			out[i] = a.ValueStr(i)
		}
	}
	return out
}

// TestGroupStateRoundTrip saves every group of an accumulator after random
// updates, loads the states into a fresh accumulator at other group ids,
// and checks both report the same results, bit for bit, now and after
// the same further updates (and retractions, for retractable ones).
func TestGroupStateRoundTrip(t *testing.T) {
	const ng = 40
	for _, c := range stateCases() {
		t.Run(fmt.Sprintf("%s%v", c.name, c.args), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(c.name))))
			fn := aggOf(t, c.name, c.args...)
			ret := fn.ResultType(c.args)
			ctx := &kernels.EvalContext{Mem: memory.DefaultAllocator}
			orig := fn.New(c.args, ret)
			orig.Grow(ng)
			_, ok := orig.(kernels.GroupStater)
			require.True(t, ok, "%s does not implement kernels.GroupStater", c.name)

			groups := func(n int) []uint32 {
				gs := make([]uint32, n)
				for i := range gs {
					gs[i] = uint32(rng.IntN(ng - 5)) // the last groups stay empty
				}
				return gs
			}
			gs1 := groups(500)
			args1 := stateBatch(t, rng, c, len(gs1), 0)
			defer release(args1)
			require.NoError(t, orig.Update(ctx, gs1, args1))

			// Load into a new accumulator at g' = ng+9−g, over stale state.
			moved := fn.New(c.args, ret)
			moved.Grow(ng + 10)
			require.NoError(t, moved.Update(ctx, gs1, args1)) // stale content to be replaced
			all, mapped := make([]uint32, ng), make([]uint32, ng)
			var buf []byte
			for g := range uint32(ng) {
				all[g], mapped[g] = g, ng+9-g
				buf = orig.(kernels.GroupStater).AppendGroupState(buf[:0], g)
				require.NoError(t, moved.(kernels.GroupStater).LoadGroupState(ng+9-g, buf))
			}
			require.Equal(t, groupResults(t, orig, ret, all), groupResults(t, moved, ret, mapped))

			gs2 := groups(300)
			gm := make([]uint32, len(gs2))
			for i, g := range gs2 {
				gm[i] = ng + 9 - g
			}
			args2 := stateBatch(t, rng, c, len(gs2), 1000)
			defer release(args2)
			require.NoError(t, orig.Update(ctx, gs2, args2))
			require.NoError(t, moved.Update(ctx, gm, args2))
			require.Equal(t, groupResults(t, orig, ret, all), groupResults(t, moved, ret, mapped))

			if r, ok := orig.(kernels.Retractor); ok {
				require.NoError(t, r.Retract(ctx, gs1, args1))
				gm1 := make([]uint32, len(gs1))
				for i, g := range gs1 {
					gm1[i] = ng + 9 - g
				}
				require.NoError(t, moved.(kernels.Retractor).Retract(ctx, gm1, args1))
				require.Equal(t, groupResults(t, orig, ret, all), groupResults(t, moved, ret, mapped))
			}
		})
	}
}

// TestGroupStateMalformed feeds corrupted states: every one is an XX001
// error (or, for a mutation that still decodes, success), never a panic,
// and a failed load leaves the group as it was.
func TestGroupStateMalformed(t *testing.T) {
	for _, c := range stateCases() {
		t.Run(fmt.Sprintf("%s%v", c.name, c.args), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(len(c.name))))
			fn := aggOf(t, c.name, c.args...)
			ret := fn.ResultType(c.args)
			ctx := &kernels.EvalContext{Mem: memory.DefaultAllocator}
			acc := fn.New(c.args, ret)
			acc.Grow(2)
			gs := make([]uint32, 50)
			args := stateBatch(t, rng, c, len(gs), 0)
			defer release(args)
			require.NoError(t, acc.Update(ctx, gs, args))
			good := acc.(kernels.GroupStater).AppendGroupState(nil, 0)

			dst := fn.New(c.args, ret)
			dst.Grow(2)
			st := dst.(kernels.GroupStater)
			before := groupResults(t, dst, ret, []uint32{1})
			requireCorrupt := func(src []byte, what string) {
				err := st.LoadGroupState(1, src)
				require.Error(t, err, what)
				require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err), "%s: %v", what, err)
				require.Equal(t, before, groupResults(t, dst, ret, []uint32{1}), what)
			}
			requireCorrupt(nil, "empty")
			for n := 0; n < len(good); n++ {
				requireCorrupt(good[:n], fmt.Sprintf("truncated to %d", n))
			}
			requireCorrupt(append(append([]byte{}, good...), 0), "trailing byte")
			bad := append([]byte{}, good...)
			bad[0] = 9
			requireCorrupt(bad, "version")
			bad = append([]byte{}, good...)
			bad[1] = 0xEE
			requireCorrupt(bad, "tag")
			for range 300 {
				m := append([]byte{}, good...)
				m[rng.IntN(len(m))] ^= byte(1 + rng.IntN(255))
				err := st.LoadGroupState(1, m)
				if err != nil {
					require.Equal(t, pgerror.DataCorrupted, pgerror.CodeOf(err), "%v", err)
				}
				_ = groupResults(t, dst, ret, []uint32{1})
			}
			require.Error(t, st.LoadGroupState(5, good), "group not grown")
		})
	}
}

// TestEWMAPathsAgree runs ewma's dense constant-alpha, dense per-row-alpha
// and NULL-aware loops against the original per-row loop (ewmaRefUpdate):
// results are bit-identical.
func TestEWMAPathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const ng, n = 17, 3000
	for _, mode := range []string{"const", "const1", "varying", "nulls"} {
		groups := make([]uint32, n)
		x, al := fcol{v: make([]float64, n)}, fcol{v: make([]float64, n)}
		for i := range groups {
			groups[i] = uint32(rng.IntN(ng))
			if rng.IntN(50) == 0 {
				groups[i] = kernels.NoGroup
			}
			x.v[i] = 1e9 + rng.NormFloat64()
			switch mode {
			case "const":
				al.v[i] = 0.06
			case "const1":
				al.v[i] = 1
			default:
				al.v[i] = 0.01 + 0.99*rng.Float64()
			}
		}
		if mode == "nulls" {
			x.null = make([]bool, n)
			for i := range x.null {
				x.null[i] = rng.IntN(7) == 0
			}
		}
		cols := arrays(x, al)
		acc := &ewmaAcc{}
		acc.Grow(ng)
		ref := make([]ewmaState, ng)
		for lo := 0; lo < n; lo += 1000 {
			sl := []arrow.Array{array.NewSlice(cols[0], int64(lo), int64(lo+1000)), array.NewSlice(cols[1], int64(lo), int64(lo+1000))}
			require.NoError(t, acc.Update(&kernels.EvalContext{}, groups[lo:lo+1000], sl))
			xc, err := floatArg("ewma", sl, 0, 1000)
			require.NoError(t, err)
			ac, err := floatArg("ewma", sl, 1, 1000)
			require.NoError(t, err)
			require.NoError(t, ewmaRefUpdate(ref, groups[lo:lo+1000], xc, ac))
			release(sl)
		}
		release(cols)
		require.Equal(t, ref, acc.st, mode)
	}
}
