package agg

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/exec/kernels/vec/vectest"
	"github.com/sabotsql/sabotsql/sql/types"
)

func registry() *kernels.Registry {
	r := kernels.NewRegistry()
	Register(r)
	return r
}

// lookup finds the overload of name whose declared args match ts.
func lookup(t testing.TB, r *kernels.Registry, name string, ts []types.T) *kernels.AggFunc {
	for _, f := range r.Aggs(name) {
		if len(f.Args) != len(ts) {
			continue
		}
		ok := true
		for i, a := range f.Args {
			switch a.Family {
			case types.FamAny:
			case types.FamAnyArray:
				ok = ok && ts[i].Family == types.FamArray
			default:
				ok = ok && a.Family == ts[i].Family
			}
		}
		if ok {
			return f
		}
	}
	t.Fatalf("no overload %s%v", name, ts)
	return nil
}

// runAgg feeds cols/groups to a fresh accumulator in random batch splits and
// returns Finish's array (checked against AppendResult).
func runAgg(t testing.TB, r *rand.Rand, mem memory.Allocator, f *kernels.AggFunc, ts []types.T, cols []arrow.Array, groups []uint32, ngroups int) (arrow.Array, kernels.GroupedAcc) {
	ret := f.ResultType(ts)
	acc := f.New(ts, ret)
	ctx := &kernels.EvalContext{Mem: mem}
	n := len(groups)
	acc.Grow(ngroups / 2)
	acc.Grow(ngroups)
	for lo := 0; lo < n; {
		hi := min(n, lo+[]int{1, 3, 1024, 1 + r.IntN(40)}[r.IntN(4)])
		batch := make([]arrow.Array, len(cols))
		for c := range cols {
			batch[c] = vec.Slice(cols[c], lo, hi)
		}
		require.NoError(t, acc.Update(ctx, groups[lo:hi], batch))
		for _, b := range batch {
			b.Release()
		}
		lo = hi
	}
	b := array.NewBuilder(mem, types.ArrowType(ret))
	defer b.Release()
	require.NoError(t, acc.Finish(ctx, b))
	out := b.NewArray()
	require.Equal(t, ngroups, out.Len())
	if gr, ok := acc.(kernels.GroupResulter); ok {
		for g := 0; g < ngroups; g++ {
			require.NoError(t, gr.AppendResult(ctx, uint32(g), b))
		}
		again := b.NewArray()
		for g := 0; g < ngroups; g++ {
			require.Equal(t, vectest.DatumString(types.GetDatum(out, g, ret)), vectest.DatumString(types.GetDatum(again, g, ret)))
		}
		again.Release()
	} else {
		t.Errorf("%s does not implement GroupResulter", f.Name)
	}
	return out, acc
}

type aggCase struct {
	name string
	args []types.T
}

func cases() []aggCase {
	var out []aggCase
	one := func(name string, ts ...types.T) {
		for _, t := range ts {
			out = append(out, aggCase{name, []types.T{t}})
		}
	}
	out = append(out, aggCase{"count", nil})
	one("count", types.Int4T, types.TextT, types.NumericT, types.IntervalT)
	one("sum", types.Int2T, types.Int4T, types.Int8T, types.Float4T, types.Float8T, types.NumericT, types.IntervalT)
	one("avg", types.Int2T, types.Int4T, types.Int8T, types.Float4T, types.Float8T, types.NumericT)
	for _, m := range []string{"min", "max"} {
		one(m, types.Int2T, types.Int4T, types.Int8T, types.Float4T, types.Float8T, types.NumericT, types.TextT,
			types.VarcharT, types.BpcharT, types.DateT, types.TimeT, types.TimestampT, types.TimestampTZT,
			types.IntervalT, types.ArrayOf(types.Int4T))
	}
	for _, v := range []string{"variance", "var_samp", "var_pop", "stddev", "stddev_samp", "stddev_pop"} {
		one(v, types.Int4T, types.Int8T, types.NumericT, types.Float4T, types.Float8T)
	}
	one("bool_and", types.BoolT)
	one("bool_or", types.BoolT)
	one("every", types.BoolT)
	one("bit_and", types.Int2T, types.Int4T, types.Int8T)
	one("bit_or", types.Int2T, types.Int4T, types.Int8T)
	out = append(out, aggCase{"string_agg", []types.T{types.TextT, types.TextT}}, aggCase{"string_agg", []types.T{types.ByteaT, types.ByteaT}})
	one("array_agg", types.Int4T, types.TextT, types.NumericT)
	return out
}

func TestAggregatesMatchReference(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	reg := registry()
	for _, c := range cases() {
		t.Run(c.name+fmt.Sprint(c.args), func(t *testing.T) {
			f := lookup(t, reg, c.name, c.args)
			for iter := 0; iter < 12; iter++ {
				n := r.IntN(300)
				if iter == 0 {
					n = 0
				}
				ngroups := 1 + r.IntN(8)
				cols := make([]arrow.Array, len(c.args))
				ds := make([][]types.Datum, len(c.args))
				for k, at := range c.args {
					cols[k], ds[k] = vectest.RandArray(r, mem, at, n, []int{0, 20, 90}[iter%3])
				}
				groups := make([]uint32, n)
				for i := range groups {
					switch {
					case r.IntN(10) == 0:
						groups[i] = NoGroup
					case iter%4 == 1:
						groups[i] = uint32(i % ngroups) // many single-row groups
					default:
						groups[i] = uint32(r.IntN(max(1, ngroups-1))) // last group stays empty
					}
				}
				out, _ := runAgg(t, r, mem, f, c.args, cols, groups, ngroups)
				ret := f.ResultType(c.args)
				for g := 0; g < ngroups; g++ {
					var rows [][]types.Datum
					for i := range groups {
						if groups[i] == uint32(g) {
							row := make([]types.Datum, len(c.args))
							for k := range c.args {
								row[k] = ds[k][i]
							}
							rows = append(rows, row)
						}
					}
					var got types.Datum
					if s, ok := out.(*array.String); ok && ret.Family == types.FamNumeric {
						if s.IsValid(g) {
							got = s.Value(g) // raw text: display scale matters
						}
					} else {
						got = types.GetDatum(out, g, ret)
					}
					checkReference(t, c, rows, got)
				}
				out.Release()
				for _, col := range cols {
					col.Release()
				}
			}
		})
	}
}

// nonNull returns the first argument of every row whose first argument is not NULL.
func nonNull(rows [][]types.Datum) []types.Datum {
	var out []types.Datum
	for _, r := range rows {
		if r[0] != nil {
			out = append(out, r[0])
		}
	}
	return out
}

func checkReference(t *testing.T, c aggCase, rows [][]types.Datum, got types.Datum) {
	t.Helper()
	vals := []types.Datum(nil)
	if len(c.args) > 0 {
		vals = nonNull(rows)
	}
	msg := fmt.Sprintf("%s%v over %v", c.name, c.args, rows)
	if c.name != "count" && c.name != "array_agg" && len(vals) == 0 {
		require.Nil(t, got, msg)
		return
	}
	var at types.T
	if len(c.args) > 0 {
		at = c.args[0]
	}
	switch c.name {
	case "count":
		want := int64(len(rows))
		if len(c.args) > 0 {
			want = int64(len(vals))
		}
		require.Equal(t, want, got, msg)
	case "sum":
		switch at.Family {
		case types.FamInt2, types.FamInt4:
			var s int64
			for _, v := range vals {
				s += v.(int64)
			}
			require.Equal(t, s, got, msg)
		case types.FamInt8:
			s := new(big.Int)
			for _, v := range vals {
				s.Add(s, big.NewInt(v.(int64)))
			}
			require.Equal(t, s.String(), got, msg)
		case types.FamFloat4:
			// PostgreSQL's sum starts from the first input (-0 stays -0).
			s := float32(vals[0].(float64))
			for _, v := range vals[1:] {
				s += float32(v.(float64))
			}
			require.Equal(t, vectest.DatumString(float64(s)), vectest.DatumString(got), msg)
		case types.FamFloat8:
			s := vals[0].(float64)
			for _, v := range vals[1:] {
				s += v.(float64)
			}
			require.Equal(t, vectest.DatumString(s), vectest.DatumString(got), msg)
		case types.FamNumeric:
			require.Equal(t, refNumericSum(vals), got, msg)
		case types.FamInterval:
			var m, d, us int64
			for _, v := range vals {
				iv := v.(types.Interval)
				m, d, us = m+int64(iv.Months), d+int64(iv.Days), us+iv.Micros
			}
			require.Equal(t, types.Interval{Months: int32(m), Days: int32(d), Micros: us}, got, msg)
		}
	case "avg":
		switch at.Family {
		case types.FamFloat4, types.FamFloat8:
			var s float64
			for _, v := range vals {
				s += v.(float64)
			}
			want := s / float64(len(vals))
			requireFloatClose(t, want, got.(float64), msg)
		default:
			checkNumericAvg(t, vals, got.(string), msg)
		}
	case "min", "max":
		want := vals[0]
		for _, v := range vals[1:] {
			c2 := vectest.NaiveCompare(v, want, at)
			better := c2 < 0
			if c.name == "max" {
				better = c2 > 0
			}
			if better || (c2 == 0 && at.Family != types.FamBpchar) {
				want = v
			}
		}
		if at.Family == types.FamNumeric {
			// By value: the column's text spelling is package types' choice
			// (ties keep the newest spelling: see TestPostgresResults).
			require.Equal(t, 0, vectest.NaiveCompare(want, vectest.NumDatum(t, got.(string)), at), "%s: got %v", msg, got)
			return
		}
		require.True(t, vectest.SameDatum(want, got), "%s: want %v got %v", msg, want, got)
	case "variance", "var_samp", "var_pop", "stddev", "stddev_samp", "stddev_pop":
		sample := !strings.HasSuffix(c.name, "_pop")
		if sample && len(vals) < 2 {
			require.Nil(t, got, msg)
			return
		}
		if at.IsFloat() {
			requireFloatClose(t, refFloatVar(vals, sample, strings.HasPrefix(c.name, "stddev")), got.(float64), msg)
			return
		}
		checkNumericVar(t, vals, sample, strings.HasPrefix(c.name, "stddev"), got.(string), msg)
	case "bool_and", "every", "bool_or":
		and := c.name != "bool_or"
		want := and
		for _, v := range vals {
			if and {
				want = want && v.(bool)
			} else {
				want = want || v.(bool)
			}
		}
		require.Equal(t, want, got, msg)
	case "bit_and", "bit_or":
		want := vals[0].(int64)
		for _, v := range vals[1:] {
			if c.name == "bit_and" {
				want &= v.(int64)
			} else {
				want |= v.(int64)
			}
		}
		require.Equal(t, want, got, msg)
	case "string_agg":
		var buf bytes.Buffer
		first := true
		for _, row := range rows {
			if row[0] == nil {
				continue
			}
			if !first && row[1] != nil {
				buf.Write(asBytes(row[1]))
			}
			first = false
			buf.Write(asBytes(row[0]))
		}
		if at.Family == types.FamBytea {
			require.Equal(t, append([]byte{}, buf.Bytes()...), got, msg)
		} else {
			require.Equal(t, buf.String(), got, msg)
		}
	case "array_agg":
		if len(rows) == 0 {
			require.Nil(t, got, msg)
			return
		}
		want := &types.Array{Elem: at}
		for _, row := range rows {
			want.Elems = append(want.Elems, row[0])
		}
		require.Equal(t, vectest.DatumString(want), vectest.DatumString(got), msg)
	default:
		t.Fatalf("no reference for %s", c.name)
	}
}

func asBytes(d types.Datum) []byte {
	if s, ok := d.(string); ok {
		return []byte(s)
	}
	return d.([]byte)
}

func requireFloatClose(t *testing.T, want, got float64, msg string) {
	t.Helper()
	if math.IsNaN(want) || math.IsInf(want, 0) {
		require.Equal(t, fmt.Sprint(want), fmt.Sprint(got), msg)
		return
	}
	require.InDelta(t, want, got, 1e-9*max(1, math.Abs(want)), msg)
}

// specials classifies numeric inputs: ok is false when a NaN/Infinity
// decides the result, which is then returned.
func numSpecials(vals []types.Datum) (string, bool) {
	nan, pinf, ninf := false, false, false
	for _, v := range vals {
		d := v.(*apd.Decimal)
		switch {
		case d.Form == apd.NaN:
			nan = true
		case d.Form == apd.Infinite && d.Negative:
			ninf = true
		case d.Form == apd.Infinite:
			pinf = true
		}
	}
	switch {
	case nan || pinf && ninf:
		return "NaN", false
	case pinf:
		return "Infinity", false
	case ninf:
		return "-Infinity", false
	}
	return "", true
}

func toRat(v types.Datum) (*big.Rat, int) {
	switch x := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(x), 0
	case *apd.Decimal:
		r, ok := new(big.Rat).SetString(x.Text('f'))
		if !ok {
			panic(x.String())
		}
		return r, max(0, -int(x.Exponent))
	}
	panic(fmt.Sprintf("toRat %T", v))
}

func refNumericSum(vals []types.Datum) string {
	if s, ok := numSpecials(vals); !ok {
		return s
	}
	sum, scale := new(big.Rat), 0
	for _, v := range vals {
		r, s := toRat(v)
		sum.Add(sum, r)
		scale = max(scale, s)
	}
	out := sum.FloatString(scale)
	if strings.Trim(out, "-0.") == "" {
		out = strings.TrimPrefix(out, "-")
	}
	return out
}

// checkRounded asserts that got (decimal text) is exact rounded to its own
// scale, at least minScale digits.
func checkRounded(t *testing.T, exact *big.Rat, got string, minScale int, msg string) {
	t.Helper()
	scale := 0
	if i := strings.IndexByte(got, '.'); i >= 0 {
		scale = len(got) - i - 1
	}
	require.GreaterOrEqual(t, scale, minScale, msg)
	g, ok := new(big.Rat).SetString(got)
	require.True(t, ok, msg)
	diff := new(big.Rat).Sub(g, exact)
	diff.Abs(diff)
	ulp := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	half := new(big.Rat).Mul(ulp, big.NewRat(1, 2))
	require.True(t, diff.Cmp(half) <= 0, "%s: got %s, exact %s", msg, got, exact.FloatString(scale+5))
}

func checkNumericAvg(t *testing.T, vals []types.Datum, got, msg string) {
	if s, ok := numSpecials2(vals); !ok {
		require.Equal(t, s, got, msg)
		return
	}
	sum, scale := new(big.Rat), 0
	for _, v := range vals {
		r, s := toRat(v)
		sum.Add(sum, r)
		scale = max(scale, s)
	}
	exact := new(big.Rat).Quo(sum, new(big.Rat).SetInt64(int64(len(vals))))
	checkRounded(t, exact, got, scale, msg)
	// PostgreSQL keeps at least 16 significant digits in a quotient
	// (select_div_scale), fewer only when the scale hits an input's.
	if exact.Sign() != 0 {
		sig := strings.TrimLeft(strings.NewReplacer("-", "", ".", "").Replace(got), "0")
		require.GreaterOrEqual(t, len(sig), 13, msg)
	}
}

func numSpecials2(vals []types.Datum) (string, bool) {
	if _, isInt := vals[0].(int64); isInt {
		return "", true
	}
	return numSpecials(vals)
}

func checkNumericVar(t *testing.T, vals []types.Datum, sample, stddev bool, got, msg string) {
	if _, ok := numSpecials2(vals); !ok {
		require.Equal(t, "NaN", got, msg)
		return
	}
	n := int64(len(vals))
	mean := new(big.Rat)
	for _, v := range vals {
		r, _ := toRat(v)
		mean.Add(mean, r)
	}
	mean.Quo(mean, new(big.Rat).SetInt64(n))
	ss := new(big.Rat)
	for _, v := range vals {
		r, _ := toRat(v)
		d := new(big.Rat).Sub(r, mean)
		ss.Add(ss, d.Mul(d, d))
	}
	den := n
	if sample {
		den = n - 1
	}
	variance := ss.Quo(ss, new(big.Rat).SetInt64(den))
	if variance.Sign() == 0 {
		require.Equal(t, "0", got, msg)
		return
	}
	if !stddev {
		checkRounded(t, variance, got, 0, msg)
		return
	}
	// PostgreSQL takes the square root of the variance already rounded to
	// the result scale; allow one unit in the last place on top of that.
	scale := 0
	if i := strings.IndexByte(got, '.'); i >= 0 {
		scale = len(got) - i - 1
	}
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	scaled := new(big.Rat).Mul(variance, new(big.Rat).SetInt(pow))
	rn, rd := scaled.Num(), scaled.Denom()
	q, rem := new(big.Int).QuoRem(rn, rd, new(big.Int))
	if new(big.Int).Lsh(rem.Abs(rem), 1).Cmp(rd) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	rounded := new(big.Rat).SetFrac(q, pow)
	f := new(big.Float).SetPrec(400).SetRat(rounded)
	f.Sqrt(f)
	g, _ := new(big.Float).SetPrec(400).SetString(got)
	diff := new(big.Float).Sub(g, f)
	diff.Abs(diff)
	ulp := new(big.Float).SetPrec(400).SetFloat64(math.Pow(10, -float64(scale)))
	require.True(t, diff.Cmp(ulp) <= 0, "%s: got %s want ~%s", msg, got, f.Text('f', scale+3))
}

func refFloatVar(vals []types.Datum, sample, stddev bool) float64 {
	var s float64
	for _, v := range vals {
		s += v.(float64)
	}
	n := float64(len(vals))
	mean := s / n
	var ss float64
	for _, v := range vals {
		d := v.(float64) - mean
		ss += d * d
	}
	den := n
	if sample {
		den = n - 1
	}
	v := ss / den
	if math.IsNaN(mean) || math.IsInf(mean, 0) {
		v = math.NaN()
	}
	if stddev {
		v = math.Sqrt(v)
	}
	return v
}

func TestRetractIsInverse(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	reg := registry()
	ctx := &kernels.EvalContext{Mem: mem}
	tested := 0
	for _, c := range cases() {
		f := lookup(t, reg, c.name, c.args)
		ret := f.ResultType(c.args)
		if _, ok := f.New(c.args, ret).(kernels.Retractor); !ok || f.OrderSensitive {
			// Order-sensitive aggregates retract the latest equal row, not
			// the one inserted first: TestRetractMatchesRecompute covers them.
			continue
		}
		tested++
		for iter := 0; iter < 10; iter++ {
			n, m := r.IntN(100), r.IntN(100)
			ngroups := 1 + r.IntN(5)
			mk := func(k int) ([]arrow.Array, []uint32) {
				cols := make([]arrow.Array, len(c.args))
				for j, at := range c.args {
					cols[j], _ = vectest.RandArray(r, mem, at, k, 20)
				}
				groups := make([]uint32, k)
				for i := range groups {
					groups[i] = uint32(r.IntN(ngroups))
					if r.IntN(10) == 0 {
						groups[i] = NoGroup
					}
				}
				return cols, groups
			}
			aCols, aGroups := mk(n)
			bCols, bGroups := mk(m)
			finish := func(acc kernels.GroupedAcc) []string {
				b := array.NewBuilder(mem, types.ArrowType(ret))
				defer b.Release()
				require.NoError(t, acc.Finish(ctx, b))
				arr := b.NewArray()
				defer arr.Release()
				out := make([]string, arr.Len())
				for g := range out {
					out[g] = arr.ValueStr(g)
				}
				return out
			}
			plain := f.New(c.args, ret)
			plain.Grow(ngroups)
			require.NoError(t, plain.Update(ctx, aGroups, aCols))
			churn := f.New(c.args, ret)
			churn.Grow(ngroups)
			require.NoError(t, churn.Update(ctx, bGroups, bCols))
			require.NoError(t, churn.Update(ctx, aGroups, aCols))
			require.NoError(t, churn.(kernels.Retractor).Retract(ctx, bGroups, bCols))
			require.Equal(t, finish(plain), finish(churn), "%s%v", c.name, c.args)
			for _, col := range append(aCols, bCols...) {
				col.Release()
			}
		}
	}
	require.GreaterOrEqual(t, tested, 10)
}
