package ops

import (
	"flag"
	"math"
	"math/rand/v2"
	"strconv"
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

var seedFlag = flag.Uint64("ops.seed", 0, "seed for the randomized Vec/Eval agreement test (0 = time based)")

// testSeed returns -ops.seed or a time-based seed, and logs it.
func testSeed(t *testing.T) uint64 {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -ops.seed=%d)", seed, seed)
	return seed
}

// randDatum draws a value of t that favours edge cases (extremes, zero,
// NaN, equal values) so overflow and ordering paths are exercised.
func randDatum(rng *rand.Rand, t types.T, fn string) types.Datum {
	pick := rng.IntN(10)
	switch t.Family {
	case types.FamInt2, types.FamInt4, types.FamInt8:
		bits := map[types.Family]uint{types.FamInt2: 16, types.FamInt4: 32, types.FamInt8: 64}[t.Family]
		maxV := int64(uint64(1)<<(bits-1) - 1)
		minV := -maxV - 1
		switch pick {
		case 0:
			return maxV
		case 1:
			return minV
		case 2:
			return int64(0)
		case 3:
			return int64(-1)
		case 4:
			return maxV/2 + rng.Int64N(3)
		}
		return rng.Int64N(201) - 100
	case types.FamFloat4, types.FamFloat8:
		var v float64
		switch pick {
		case 0:
			v = math.NaN()
		case 1:
			v = math.Inf(1 - 2*rng.IntN(2))
		case 2:
			v = 0
		case 3:
			v = 1e300 * float64(1-2*rng.IntN(2))
			if t.Family == types.FamFloat4 {
				v = 3e38
			}
		case 4:
			v = 1e-300
			if t.Family == types.FamFloat4 {
				v = 1e-38
			}
		default:
			v = float64(rng.IntN(21)-10) / 4
		}
		if t.Family == types.FamFloat4 {
			v = float64(float32(v))
		}
		return v
	case types.FamText, types.FamVarchar, types.FamName, types.FamBpchar:
		alpha := "ab"
		if strings.Contains(fn, "~~") {
			alpha = "ab%_\\"
		}
		if strings.Contains(fn, "~") && !strings.Contains(fn, "~~") {
			pats := []string{"a", "^a", "b$", "a|b", "(a", "[ab]+", "a*b", "\\yab", ""}
			if pick < 5 {
				return pats[rng.IntN(len(pats))]
			}
		}
		var sb strings.Builder
		for i := rng.IntN(4); i > 0; i-- {
			sb.WriteByte(alpha[rng.IntN(len(alpha))])
		}
		if t.Family == types.FamBpchar && rng.IntN(2) == 0 {
			sb.WriteString("  ")
		}
		return sb.String()
	case types.FamBytea:
		b := make([]byte, rng.IntN(3))
		for i := range b {
			b[i] = byte(rng.IntN(3))
		}
		return b
	case types.FamDate:
		return types.Date(rng.Int32N(5) - 2)
	case types.FamTime:
		return types.TimeOfDay(rng.Int64N(5) * types.MicrosPerHour)
	case types.FamTimestamp, types.FamTimestampTZ:
		var v int64
		switch pick {
		case 0:
			v = math.MaxInt64 // infinity
		case 1:
			v = math.MaxInt64 - types.MicrosPerDay // near the top of the range
		case 2:
			v = minTSMicros
		default:
			// Around 2024, on hour boundaries so DST steps are hit.
			v = 1704067200*types.MicrosPerSecond + rng.Int64N(24*366)*types.MicrosPerHour + rng.Int64N(3) - 1
		}
		if t.Family == types.FamTimestampTZ {
			return types.TimestampTZ(v)
		}
		return types.Timestamp(v)
	case types.FamInterval:
		switch pick {
		case 0:
			// Large, but within what Arrow's MonthDayNano (ns) can hold.
			return types.Interval{Micros: 9e15 * int64(1-2*rng.IntN(2))}
		case 1:
			return types.Interval{Months: int32(rng.IntN(25) - 12)}
		case 2:
			return types.Interval{Days: int32(rng.IntN(61) - 30), Micros: rng.Int64N(3) * types.MicrosPerHour}
		}
		return types.Interval{Micros: (rng.Int64N(200) - 100) * types.MicrosPerMinute}
	case types.FamOid:
		return rng.Int64N(4)
	case types.FamBool:
		return rng.IntN(2) == 0
	}
	panic("randDatum: unsupported type " + t.String())
}

// TestVecMatchesEval runs every overload that has a Vec on random batches
// (NULLs, edge values, sliced arrays with offsets) and checks that each row
// equals Eval on that row, and that errors agree with the first failing row.
func TestVecMatchesEval(t *testing.T) {
	// The session zone has DST transitions, for timestamptz ± interval.
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	r := newRegistry()
	sizes := []int{0, 1, 3, 8, 63, 64, 65, 1000}
	checked := 0
	for _, name := range r.ScalarNames() {
		for _, f := range r.Scalars(name) {
			if f.Vec == nil {
				continue
			}
			checked++
			for iter := 0; iter < 20; iter++ {
				n := sizes[rng.IntN(len(sizes))]
				off := 0
				if rng.IntN(2) == 0 {
					off = rng.IntN(9)
				}
				nullPct := []int{0, 20, 100}[rng.IntN(3)]
				checkVecEval(t, rng, f, n, off, nullPct, seed, newYork)
			}
		}
	}
	require.Greater(t, checked, 100)
}

func checkVecEval(t *testing.T, rng *rand.Rand, f *kernels.ScalarFunc, n, off, nullPct int, seed uint64, loc *time.Location) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := &kernels.EvalContext{Mem: mem, Ctx: types.Ctx{Loc: loc}}
	rows := make([][]types.Datum, len(f.Args))
	arrs := make([]arrow.Array, len(f.Args))
	for i, at := range f.Args {
		rows[i] = make([]types.Datum, n+off)
		for j := range rows[i] {
			if rng.IntN(100) >= nullPct {
				rows[i][j] = randDatum(rng, at, f.Name)
			}
		}
		full := toArray(mem, at, rows[i])
		arrs[i] = array.NewSlice(full, int64(off), int64(off+n))
		full.Release()
		defer arrs[i].Release()
		rows[i] = rows[i][off:]
	}
	rt := f.ResultType(f.Args)
	out, verr := f.Vec(ctx, arrs, n)
	if out != nil {
		defer out.Release()
	}
	msg := func(j int) string {
		return f.Name + "(" + argTypes(f) + ") row " + itoa(j) + " seed " + itoa(int(seed))
	}
	// Eval every row first: Vec must fail iff some row fails, with the
	// first failing row's SQLSTATE.
	wants := make([]types.Datum, n)
	for j := 0; j < n; j++ {
		args := make([]types.Datum, len(f.Args))
		isNull := false
		for i := range args {
			args[i] = rows[i][j]
			isNull = isNull || args[i] == nil
		}
		if isNull && f.Strict {
			continue
		}
		want, err := f.Eval(ctx, args)
		if err != nil {
			require.Error(t, verr, msg(j))
			require.Equal(t, pgerror.CodeOf(err), pgerror.CodeOf(verr), msg(j))
			return
		}
		wants[j] = want
	}
	require.NoError(t, verr, f.Name+"("+argTypes(f)+")")
	require.Equal(t, n, out.Len())
	for j := 0; j < n; j++ {
		if wants[j] == nil {
			require.True(t, out.IsNull(j), msg(j))
			continue
		}
		require.Equal(t, render(ctx, wants[j], rt), render(ctx, types.GetDatum(out, j, rt), rt), msg(j))
	}
}

func argTypes(f *kernels.ScalarFunc) string {
	s := make([]string, len(f.Args))
	for i, a := range f.Args {
		s[i] = a.ShortName()
	}
	return strings.Join(s, ",")
}

func itoa(v int) string { return strconv.Itoa(v) }
