package ops

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// anyDatum extends randDatum to every family an overload may take.
func anyDatum(rng *rand.Rand, t types.T, fn string) types.Datum {
	switch t.Family {
	case types.FamNumeric, types.FamAny:
		vals := []string{"0", "1.5", "-2", "1e100", "-1e-100", "NaN", "Infinity", "-Infinity",
			"123456789.123456789", "0.000001", "2147483648", "-0.5", "1e-1000", "9e99000"}
		d, _, err := exactCtx().NewFromString(vals[rng.IntN(len(vals))])
		if err != nil {
			panic(err)
		}
		if d.Exponent > 0 {
			if _, err := exactCtx().Quantize(d, d, 0); err != nil {
				panic(err)
			}
		}
		return d
	case types.FamBool:
		return rng.IntN(2) == 0
	case types.FamInterval:
		return types.Interval{Months: int32(rng.IntN(3)-1) * 1 << uint(rng.IntN(31)), Days: int32(rng.IntN(61) - 30),
			Micros: (rng.Int64N(3) - 1) << uint(rng.IntN(63))}
	case types.FamDate:
		return []types.Date{types.DateInfinity, types.DateNegInfinity, 0, minDateDays, maxDateDays - 1, 19000}[rng.IntN(6)]
	case types.FamTime:
		return types.TimeOfDay(rng.Int64N(types.MicrosPerDay + 1))
	case types.FamAnyArray:
		return &types.Array{Elem: types.Int4T, Elems: []types.Datum{int64(rng.IntN(3)), nil}[:rng.IntN(3)]}
	}
	return randDatum(rng, t, fn)
}

// TestNoPanics calls every overload's Eval on edge-case arguments: no
// panic, and every error is a user error with a SQLSTATE (never XX000).
func TestNoPanics(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	r := newRegistry()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	ctx := &kernels.EvalContext{Ctx: types.Ctx{Loc: ny}}
	for _, name := range r.ScalarNames() {
		for _, f := range r.Scalars(name) {
			for i := 0; i < 30; i++ {
				args := make([]types.Datum, len(f.Args))
				for j, a := range f.Args {
					args[j] = anyDatum(rng, a, f.Name)
				}
				_, err := f.Eval(ctx, args)
				if err != nil {
					code := pgerror.CodeOf(err)
					require.NotEqual(t, pgerror.InternalError, code, "%s(%s) %v: %v (seed %d)", name, argTypes(f), args, err, seed)
					require.Len(t, code, 5)
				}
			}
		}
	}
}
