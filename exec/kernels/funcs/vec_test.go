package funcs

import (
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

var (
	truncUnits   = []string{"microseconds", "milliseconds", "second", "minute", "hour", "day", "week", "month", "quarter", "year", "decade", "century", "millennium", "Minute", "hours"}
	extractUnits = []string{"microseconds", "milliseconds", "second", "minute", "hour", "day", "week", "month", "quarter", "year", "decade", "century", "millennium", "epoch", "dow", "isodow", "doy", "isoyear", "julian"}
	strideValues = []types.Interval{{Micros: types.MicrosPerMinute}, {Micros: 15 * types.MicrosPerMinute}, {Micros: 90 * types.MicrosPerSecond},
		{Micros: types.MicrosPerHour}, {Days: 1}, {Days: 7, Micros: 3}}
)

// gen produces random Datums of one argument type; constant arguments
// (units, strides) pick one value per array most of the time.
type gen func(r *rand.Rand) types.Datum

func randString(r *rand.Rand) string {
	const alphabet = "aAbBzZ09 _-é€ÀxY\u00df"
	runes := []rune(alphabet)
	n := r.Intn(12)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteRune(runes[r.Intn(len(runes))])
	}
	if r.Intn(4) == 0 {
		b.WriteString("  ")
	}
	return b.String()
}

func randTimestamp(r *rand.Rand) int64 {
	switch r.Intn(40) {
	case 0:
		return tsPosInf
	case 1:
		return tsNegInf
	case 2:
		return -r.Int63n(62135596800 * types.MicrosPerSecond) // back to AD 1
	}
	lo := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	hi := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	return lo + r.Int63n(hi-lo)
}

func pick[T any](r *rand.Rand, vals []T) T { return vals[r.Intn(len(vals))] }

// vecArgGens returns generators for an overload's arguments, or nil when
// the property test does not cover it.
func vecArgGens(f *kernels.ScalarFunc, r *rand.Rand) []gen {
	constOr := func(g gen) gen {
		if r.Intn(4) == 0 {
			return g
		}
		v := g(r)
		return func(*rand.Rand) types.Datum { return v }
	}
	var out []gen
	for i, a := range f.Args {
		switch a.Family {
		case types.FamText, types.FamBpchar:
			switch {
			case i == 0 && (f.Name == "date_trunc"):
				out = append(out, constOr(func(r *rand.Rand) types.Datum { return pick(r, truncUnits) }))
			case i == 0 && (f.Name == "extract" || f.Name == "date_part"):
				out = append(out, constOr(func(r *rand.Rand) types.Datum { return pick(r, extractUnits) }))
			default:
				out = append(out, func(r *rand.Rand) types.Datum { return randString(r) })
			}
		case types.FamInt4:
			out = append(out, func(r *rand.Rand) types.Datum { return int64(r.Intn(16) - 4) })
		case types.FamTimestamp:
			out = append(out, func(r *rand.Rand) types.Datum { return types.Timestamp(randTimestamp(r)) })
		case types.FamTimestampTZ:
			out = append(out, func(r *rand.Rand) types.Datum { return types.TimestampTZ(randTimestamp(r)) })
		case types.FamInterval:
			out = append(out, constOr(func(r *rand.Rand) types.Datum { return pick(r, strideValues) }))
		default:
			return nil
		}
	}
	// date_bin's origin must be finite: keep it a constant finite value.
	if f.Name == "date_bin" {
		origin := randTimestamp(r)
		for !tsFinite(origin) {
			origin = randTimestamp(r)
		}
		if f.Args[2].Family == types.FamTimestamp {
			out[2] = func(*rand.Rand) types.Datum { return types.Timestamp(origin) }
		} else {
			out[2] = func(*rand.Rand) types.Datum { return types.TimestampTZ(origin) }
		}
	}
	// substr's count must not be negative (that is an error for the whole batch).
	if strings.HasPrefix(f.Name, "subst") && len(f.Args) == 3 {
		out[2] = func(r *rand.Rand) types.Datum { return int64(r.Intn(8)) }
	}
	return out
}

func buildArray(t *testing.T, typ types.T, vals []types.Datum) arrow.Array {
	t.Helper()
	b := array.NewBuilder(memory.DefaultAllocator, types.ArrowType(typ))
	defer b.Release()
	for _, v := range vals {
		types.AppendDatum(b, v, typ)
	}
	return b.NewArray()
}

// TestVecMatchesEval runs every vectorized overload on random arrays with
// NULLs and checks each row against Eval.
func TestVecMatchesEval(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	covered := map[string]bool{}
	for _, zone := range []string{"", "America/New_York", "Asia/Kolkata"} {
		ctx := newCtx(zone)
		for _, name := range testRegistry.ScalarNames() {
			for _, f := range testRegistry.Scalars(name) {
				if f.Vec == nil {
					continue
				}
				for iter := 0; iter < 20; iter++ {
					gens := vecArgGens(f, r)
					require.NotNil(t, gens, "no generator for vectorized %s%v", f.Name, f.Args)
					covered[f.Name] = true
					n := pick(r, []int{0, 1, 3, 17, 300})
					nullRate := pick(r, []int{0, 0, 5, 30})
					cols := make([][]types.Datum, len(gens))
					arrs := make([]arrow.Array, len(gens))
					for j, g := range gens {
						cols[j] = make([]types.Datum, n)
						for i := range cols[j] {
							if nullRate > 0 && r.Intn(100) < nullRate {
								continue
							}
							cols[j][i] = g(r)
						}
						arrs[j] = buildArray(t, f.Args[j], cols[j])
					}
					res, vecErr := f.Vec(ctx, arrs, n)
					// Row-wise reference: the first error aborts the batch.
					var evalErr error
					want := make([]types.Datum, n)
					for i := 0; i < n && evalErr == nil; i++ {
						row := make([]types.Datum, len(cols))
						isNull := false
						for j := range cols {
							row[j] = cols[j][i]
							isNull = isNull || row[j] == nil
						}
						if isNull {
							continue
						}
						want[i], evalErr = f.Eval(ctx, row)
					}
					if evalErr != nil {
						require.Error(t, vecErr, "seed %d %s%v: Eval failed with %v", seed, f.Name, f.Args, evalErr)
						require.Equal(t, pgerror.CodeOf(evalErr), pgerror.CodeOf(vecErr))
						continue
					}
					require.NoError(t, vecErr, "seed %d %s%v", seed, f.Name, f.Args)
					require.Equal(t, n, res.Len())
					ret := f.ResultType(f.Args)
					for i := 0; i < n; i++ {
						got := types.GetDatum(res, i, ret)
						if want[i] == nil || got == nil {
							require.Equal(t, want[i] == nil, got == nil, "seed %d %s%v row %d: %v vs %v", seed, f.Name, f.Args, i, want[i], got)
							continue
						}
						require.Equal(t, types.FormatText(&ctx.Ctx, want[i], ret), types.FormatText(&ctx.Ctx, got, ret),
							"seed %d %s%v row %d args %v", seed, f.Name, f.Args, i, rowOf(cols, i))
					}
					res.Release()
					// The same rows through sliced inputs (non-zero Arrow offsets).
					if n > 2 {
						k := 1 + r.Intn(n-2)
						sliced := make([]arrow.Array, len(arrs))
						for j, a := range arrs {
							sliced[j] = array.NewSlice(a, int64(k), int64(n))
						}
						sres, err := f.Vec(ctx, sliced, n-k)
						require.NoError(t, err)
						for i := k; i < n; i++ {
							got := types.GetDatum(sres, i-k, ret)
							if want[i] == nil || got == nil {
								require.Equal(t, want[i] == nil, got == nil, "seed %d %s%v sliced row %d", seed, f.Name, f.Args, i)
								continue
							}
							require.Equal(t, types.FormatText(&ctx.Ctx, want[i], ret), types.FormatText(&ctx.Ctx, got, ret),
								"seed %d %s%v sliced row %d", seed, f.Name, f.Args, i)
						}
						sres.Release()
						for _, a := range sliced {
							a.Release()
						}
					}
					for _, a := range arrs {
						a.Release()
					}
				}
			}
		}
	}
	for _, name := range []string{"lower", "upper", "length", "substr", "substring", "date_trunc", "date_bin", "extract", "date_part"} {
		require.True(t, covered[name], "%s has no vectorized overload", name)
	}
}

func rowOf(cols [][]types.Datum, i int) []types.Datum {
	out := make([]types.Datum, len(cols))
	for j := range cols {
		out[j] = cols[j][i]
	}
	return out
}

// TestVecErrors checks that vectorized kernels report bad constant
// arguments with PostgreSQL's SQLSTATEs.
func TestVecErrors(t *testing.T) {
	ctx := newCtx("")
	ts := buildArray(t, tsT, []types.Datum{types.Timestamp(0), nil})
	defer ts.Release()
	units := buildArray(t, textT, []types.Datum{"fortnight", "fortnight"})
	defer units.Release()
	f := resolve("date_trunc", []types.T{textT, tsT})
	_, err := f.Vec(ctx, []arrow.Array{units, ts}, 2)
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err))

	strides := buildArray(t, intervalT, []types.Datum{types.Interval{Months: 1}, types.Interval{Months: 1}})
	defer strides.Release()
	f = resolve("date_bin", []types.T{intervalT, tsT, tsT})
	_, err = f.Vec(ctx, []arrow.Array{strides, ts, ts}, 2)
	require.Equal(t, pgerror.FeatureNotSupported, pgerror.CodeOf(err))

	s := buildArray(t, textT, []types.Datum{"abc"})
	defer s.Release()
	one := buildArray(t, int4T, []types.Datum{int64(1)})
	defer one.Release()
	neg := buildArray(t, int4T, []types.Datum{int64(-1)})
	defer neg.Release()
	f = resolve("substr", []types.T{textT, int4T, int4T})
	_, err = f.Vec(ctx, []arrow.Array{s, one, neg}, 1)
	require.Equal(t, codeSubstringError, pgerror.CodeOf(err))
}

// TestVecDateTruncAcrossDST compares Vec with Eval for timestamptz
// truncation on instants every 7 minutes around New York's transitions.
func TestVecDateTruncAcrossDST(t *testing.T) {
	ctx := newCtx("America/New_York")
	f := resolve("date_trunc", []types.T{textT, tstzT})
	var vals []types.Datum
	for _, day := range []string{"2024-03-10", "2024-11-03", "2024-03-31", "2024-11-30"} {
		d, err := time.Parse("2006-01-02", day)
		require.NoError(t, err)
		for m := int64(-36 * 60); m <= 36*60; m += 7 {
			vals = append(vals, types.TimestampTZ(d.UnixMicro()+m*types.MicrosPerMinute))
		}
	}
	ts := buildArray(t, tstzT, vals)
	defer ts.Release()
	for _, u := range truncUnits {
		units := buildArray(t, textT, constColN(u, len(vals)))
		res, err := f.Vec(ctx, []arrow.Array{units, ts}, len(vals))
		require.NoError(t, err)
		for i, v := range vals {
			want, err := f.Eval(ctx, []types.Datum{u, v})
			require.NoError(t, err)
			require.Equal(t, want, types.GetDatum(res, i, tstzT), "date_trunc(%s, %v)", u, v)
		}
		res.Release()
		units.Release()
	}
}

func constColN(v types.Datum, n int) []types.Datum {
	out := make([]types.Datum, n)
	for i := range out {
		out[i] = v
	}
	return out
}
