package funcs

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// edgeValues returns awkward values of a family for the no-panic test.
func edgeValues(f types.Family) []types.Datum {
	switch f {
	case types.FamText, types.FamVarchar, types.FamBpchar, types.FamName:
		return []types.Datum{"", " ", "a", "héllo wörld", "%", "%s %I %L %1$s %*s %-5s", "%%", "%0$s", "%3$", "\\", "(", "[a-",
			"a,b,,c", "YYYY-MM-DD HH24:MI:SS", "FMDay Month Dy TZ OF FF6 Y,YYY IYYY th", "9G999D99S", "FM999PR", "MI9.99EEEE",
			"\"unterminated", "epoch", "day", "week", "month", "millennium", "timezone", "julian", "UTC", "+05", "America/New_York",
			"hex", "base64", "escape", "2024-02-30", "aGVsbG8", "zz", strings.Repeat("x", 300), "\xff"}
	case types.FamInt2, types.FamInt4:
		return []types.Datum{int64(0), int64(1), int64(-1), int64(13), int64(math.MaxInt32), int64(math.MinInt32), int64(1114112), int64(0xD800)}
	case types.FamInt8, types.FamOid, types.FamRegclass:
		return []types.Datum{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), int64(1043), int64(1700)}
	case types.FamFloat8, types.FamFloat4:
		return []types.Datum{0.0, -0.5, 1.5, 59.999999, 60.0, math.NaN(), math.Inf(1), math.Inf(-1), 1e300, -1e300, 1e-300}
	case types.FamNumeric:
		return []types.Datum{apd.New(0, 0), apd.New(-5, -1), apd.New(12345678901234, -4), &apd.Decimal{Form: apd.NaN},
			&apd.Decimal{Form: apd.Infinite}, apd.New(1, 400)}
	case types.FamBool:
		return []types.Datum{true, false}
	case types.FamBytea:
		return []types.Datum{[]byte{}, []byte{0, 0xff, '\\'}, []byte("abc")}
	case types.FamDate:
		return []types.Datum{types.Date(0), types.Date(math.MaxInt32), types.Date(math.MinInt32), types.Date(2_000_000_000), types.Date(-2_000_000)}
	case types.FamTime:
		return []types.Datum{types.TimeOfDay(0), types.TimeOfDay(types.MicrosPerDay), types.TimeOfDay(12345678901)}
	case types.FamTimestamp, types.FamTimestampTZ:
		vals := []int64{0, -1, tsPosInf, tsNegInf, minTimestamp, endTimestamp - 1, 1709647629123456, -62135596800000001}
		out := make([]types.Datum, len(vals))
		for i, v := range vals {
			if f == types.FamTimestamp {
				out[i] = types.Timestamp(v)
			} else {
				out[i] = types.TimestampTZ(v)
			}
		}
		return out
	case types.FamInterval:
		return []types.Datum{types.Interval{}, types.Interval{Months: 1}, types.Interval{Days: -1, Micros: 5},
			types.Interval{Months: math.MaxInt32, Days: math.MaxInt32, Micros: math.MaxInt64},
			types.Interval{Months: math.MinInt32, Days: math.MinInt32, Micros: math.MinInt64},
			types.Interval{Micros: 15 * types.MicrosPerMinute}}
	case types.FamArray, types.FamAnyArray:
		return []types.Datum{&types.Array{Elem: types.Int4T}, &types.Array{Elem: types.Int4T, Elems: []types.Datum{int64(1), nil, int64(3)}},
			&types.Array{Elem: types.TextT, Elems: []types.Datum{"a", nil}}}
	case types.FamAny:
		return []types.Datum{int64(1), "x", 1.5, types.Date(5), &types.Array{Elem: types.Int4T, Elems: []types.Datum{int64(1)}}}
	}
	return nil
}

// TestNoPanics calls every overload with combinations of edge values
// (and NULLs for non-strict functions): every outcome must be a value or
// an error with a SQLSTATE, never a panic or an internal error.
func TestNoPanics(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	for _, zone := range []string{"", "America/New_York"} {
		ctx := newCtx(zone)
		for _, name := range testRegistry.ScalarNames() {
			for _, f := range testRegistry.Scalars(name) {
				if f.Name == "clock_timestamp" {
					continue
				}
				nargs := len(f.Args)
				for iter := 0; iter < 150; iter++ {
					n := nargs
					if f.Variadic {
						n = nargs - 1 + r.Intn(3)
					}
					args := make([]types.Datum, n)
					skip := false
					for i := range args {
						decl := f.Args[min(i, nargs-1)]
						vals := edgeValues(decl.Family)
						if len(vals) == 0 {
							skip = true
							break
						}
						if !f.Strict && r.Intn(6) == 0 {
							continue
						}
						args[i] = vals[r.Intn(len(vals))]
					}
					if skip {
						break
					}
					func() {
						defer func() {
							if p := recover(); p != nil {
								t.Fatalf("seed %d: %s%v panicked on %s: %v", seed, f.Name, f.Args, fmt.Sprint(args...), p)
							}
						}()
						_, err := f.Eval(ctx, args)
						if err != nil {
							require.NotEqual(t, pgerror.InternalError, pgerror.CodeOf(err), "%s%v on %v: %v", f.Name, f.Args, args, err)
						}
					}()
				}
			}
		}
	}
}
