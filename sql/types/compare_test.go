package types

import (
	"bytes"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"
)

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// randDatum returns a random value of t, biased towards edge cases and
// towards values that are equal without being identical (1.0 and 1.00,
// 'a' and 'a ' as char, 1 mon and 30 days).
func randDatum(r *rand.Rand, t T) Datum {
	if r.IntN(12) == 0 {
		return nil
	}
	switch t.Family {
	case FamBool:
		return r.IntN(2) == 0
	case FamInt8:
		edges := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 255, 256, -256}
		if r.IntN(3) == 0 {
			return edges[r.IntN(len(edges))]
		}
		return r.Int64() >> r.IntN(64)
	case FamFloat8:
		edges := []float64{0, math.Copysign(0, -1), math.NaN(), math.Float64frombits(0x7ff8000000000123), math.Inf(1), math.Inf(-1),
			math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64, 1, -1, 0.5}
		if r.IntN(3) == 0 {
			return edges[r.IntN(len(edges))]
		}
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(40)-20))
	case FamNumeric:
		switch r.IntN(10) {
		case 0:
			return &apd.Decimal{Form: apd.NaN}
		case 1:
			return &apd.Decimal{Form: apd.Infinite, Negative: r.IntN(2) == 0}
		}
		coeff := r.Int64N(2000) - 1000
		if r.IntN(3) == 0 {
			coeff = r.Int64() >> r.IntN(60)
		}
		d := apd.New(coeff, int32(r.IntN(12)-8))
		normalizeZero(d)
		return d
	case FamText, FamBpchar:
		alphabet := []byte{0, 'a', 'b', ' ', 0xff, 'z'}
		if t.Family == FamBpchar {
			alphabet = []byte{'a', 'b', ' ', ' ', 'z'}
		}
		n := r.IntN(5)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	case FamBytea:
		n := r.IntN(4)
		b := make([]byte, n)
		for i := range b {
			b[i] = []byte{0, 1, 0xff}[r.IntN(3)]
		}
		return b
	case FamDate:
		if r.IntN(10) == 0 {
			return []Date{DateInfinity, DateNegInfinity}[r.IntN(2)]
		}
		return Date(r.Int32N(1<<20) - 1<<19)
	case FamTimestamp:
		return Timestamp(r.Int64N(1<<50) - 1<<49)
	case FamTimestampTZ:
		return TimestampTZ(r.Int64N(1<<50) - 1<<49)
	case FamTime:
		return TimeOfDay(r.Int64N(MicrosPerDay + 1))
	case FamInterval:
		small := func(n int) int32 { return int32(r.IntN(2*n+1) - n) }
		iv := Interval{Months: small(3), Days: small(95), Micros: int64(small(3)) * MicrosPerDay}
		if r.IntN(2) == 0 {
			iv.Micros += r.Int64N(2*MicrosPerDay) - MicrosPerDay
		}
		if r.IntN(20) == 0 {
			iv = Interval{Months: math.MinInt32, Days: math.MinInt32, Micros: math.MinInt64}
		}
		if r.IntN(20) == 0 {
			iv = Interval{Months: math.MaxInt32, Days: math.MaxInt32, Micros: math.MaxInt64}
		}
		return iv
	case FamArray:
		n := r.IntN(4)
		a := &Array{Elem: t.ElemType(), Elems: make([]Datum, n)}
		for i := range a.Elems {
			a.Elems[i] = randDatum(r, t.ElemType())
		}
		return a
	}
	panic("randDatum: unsupported type " + t.String())
}

var keyTypes = []T{BoolT, Int8T, Float8T, NumericT, TextT, BpcharT, ByteaT, DateT, TimeT, TimestampT,
	TimestampTZT, IntervalT, ArrayOf(Int8T), ArrayOf(TextT), ArrayOf(NumericT)}

// TestCompareKeyAgreement checks, on random values, that the order of
// AppendKey encodings equals Compare's, that equal values have equal keys
// and hashes, that Compare is antisymmetric, and that two-column keys
// (concatenations) order lexicographically.
func TestCompareKeyAgreement(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for _, typ := range keyTypes {
		vals := make([]Datum, 150)
		for i := range vals {
			vals[i] = randDatum(r, typ)
		}
		keys := make([][]byte, len(vals))
		for i, v := range vals {
			keys[i] = AppendKey(nil, v, typ)
		}
		for i := range vals {
			for j := range vals {
				c := Compare(vals[i], vals[j], typ)
				k := sign(bytes.Compare(keys[i], keys[j]))
				require.Equal(t, c, k, "seed %d type %s: Compare(%v, %v) = %d but keys order %d",
					seed, typ, show(vals[i], typ), show(vals[j], typ), c, k)
				require.Equal(t, -c, Compare(vals[j], vals[i], typ), "seed %d: antisymmetry", seed)
				if c == 0 {
					require.Equal(t, Hash64(vals[i], typ), Hash64(vals[j], typ), "seed %d type %s: equal values %v, %v hash differently",
						seed, typ, show(vals[i], typ), show(vals[j], typ))
					require.True(t, DatumEqual(vals[i], vals[j], typ))
				}
				// Two-column keys: (vals[i], vals[j]) vs (vals[j], vals[i]).
				a := AppendKey(AppendKey(nil, vals[i], typ), vals[j], typ)
				b := AppendKey(AppendKey(nil, vals[j], typ), vals[i], typ)
				want := c
				if want == 0 {
					want = Compare(vals[j], vals[i], typ)
				}
				require.Equal(t, want, sign(bytes.Compare(a, b)), "seed %d type %s: composite key order", seed, typ)
			}
		}
	}
}

func show(d Datum, t T) string {
	if d == nil {
		return "NULL"
	}
	return FormatText(nil, d, t)
}

func TestCompareEdgeCases(t *testing.T) {
	num := func(s string) *apd.Decimal {
		d, err := NumericFromString(s)
		require.NoError(t, err)
		return d
	}
	iv := func(s string) Interval {
		d, err := ParseText(nil, s, IntervalT)
		require.NoError(t, err)
		return d.(Interval)
	}
	cases := []struct {
		a, b Datum
		t    T
		want int
	}{
		{math.NaN(), math.Inf(1), Float8T, 1},
		{math.NaN(), math.NaN(), Float8T, 0},
		{math.Copysign(0, -1), 0.0, Float8T, 0},
		{num("1.0"), num("1.00"), NumericT, 0},
		{num("NaN"), num("Infinity"), NumericT, 1},
		{num("-Infinity"), num("-1e100"), NumericT, -1},
		{num("-0.001"), num("0"), NumericT, -1},
		{"a  ", "a", BpcharT, 0},
		{"a  ", "a", TextT, 1},
		{"B", "a", TextT, -1}, // C collation: bytewise
		{[]byte{1}, []byte{1, 0}, ByteaT, -1},
		{false, true, BoolT, -1},
		{iv("1 mon"), iv("30 days"), IntervalT, 0},
		{iv("1 day"), iv("24 hours"), IntervalT, 0},
		{iv("1 day"), iv("23:59:59.999999"), IntervalT, 1},
		{iv("-1 day"), iv("-23:00:00"), IntervalT, -1},
		{&Array{Elem: Int8T, Elems: []Datum{int64(1), nil}}, &Array{Elem: Int8T, Elems: []Datum{int64(1), int64(9)}}, ArrayOf(Int8T), 1},
		{&Array{Elem: Int8T, Elems: []Datum{int64(1)}}, &Array{Elem: Int8T, Elems: []Datum{int64(1), int64(0)}}, ArrayOf(Int8T), -1},
		{nil, int64(1), Int8T, 1},
		{nil, nil, Int8T, 0},
		{DateNegInfinity, Date(-1 << 30), DateT, -1},
	}
	for i, c := range cases {
		require.Equal(t, c.want, Compare(c.a, c.b, c.t), "case %d", i)
		require.Equal(t, c.want, sign(bytes.Compare(AppendKey(nil, c.a, c.t), AppendKey(nil, c.b, c.t))), "case %d key", i)
	}
}

func TestCompareMismatchedDatumsDoNotPanic(t *testing.T) {
	require.NotPanics(t, func() {
		_ = Compare(int64(1), "x", Int8T)
		_ = AppendKey(nil, struct{}{}, Int8T)
		_ = Hash64(int32(4), Int4T)
	})
}

// pgOrderCase is a recorded PostgreSQL ORDER BY (see pggen_test.go).
type pgOrderCase struct {
	typ, vals, order string
}

// TestCompareAgainstPostgres sorts values with Compare (ties by position)
// and with AppendKey and checks both against PostgreSQL's ORDER BY.
func TestCompareAgainstPostgres(t *testing.T) {
	for _, c := range pgOrderExpect {
		typ := typeSpec(t, c.typ)
		ins := strings.Split(c.vals, "|")
		ds := make([]Datum, len(ins))
		for i, s := range ins {
			d, err := ParseText(nil, s, typ)
			require.NoError(t, err, "%s %q", c.typ, s)
			ds[i] = d
		}
		idx := make([]int, len(ds))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return Compare(ds[idx[a]], ds[idx[b]], typ) < 0 })
		require.Equal(t, c.order, positions(idx), "%s Compare order", c.typ)

		for i := range idx {
			idx[i] = i
		}
		keys := make([][]byte, len(ds))
		for i, d := range ds {
			keys[i] = AppendKey(nil, d, typ)
		}
		sort.SliceStable(idx, func(a, b int) bool { return bytes.Compare(keys[idx[a]], keys[idx[b]]) < 0 })
		require.Equal(t, c.order, positions(idx), "%s key order", c.typ)
	}
}

func positions(idx []int) string {
	parts := make([]string, len(idx))
	for i, v := range idx {
		parts[i] = strconv.Itoa(v + 1)
	}
	return "{" + strings.Join(parts, ",") + "}"
}
