package keys

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/stretchr/testify/require"
)

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

func TestInt64Order(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}
	for i := 0; i < 200; i++ {
		vals = append(vals, int64(rng.Uint64()))
	}
	for _, a := range vals {
		for _, b := range vals[:40] {
			want := sign(cmpInt(a, b))
			require.Equal(t, want, bytes.Compare(Int64Key(a), Int64Key(b)), "%d vs %d", a, b)
		}
	}
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func TestFloatOrder(t *testing.T) {
	vals := []float64{math.Inf(-1), -1e300, -1, -math.SmallestNonzeroFloat64, math.Copysign(0, -1), 0,
		math.SmallestNonzeroFloat64, 1, 1e300, math.Inf(1), math.NaN(), -math.NaN()}
	rank := []int{0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9}
	for i, a := range vals {
		for j, b := range vals {
			ea := AppendFloat64(nil, a)
			eb := AppendFloat64(nil, b)
			require.Equal(t, sign(rank[i]-rank[j]), bytes.Compare(ea, eb), "%v vs %v", a, b)
		}
	}
}

func TestBytesOrder(t *testing.T) {
	vals := [][]byte{{}, {0}, {0, 0}, {0, 1}, {0, 0xff}, {1}, {1, 0}, {0xff}, []byte("ab"), []byte("abc"), []byte("b")}
	for _, a := range vals {
		for _, b := range vals {
			require.Equal(t, bytes.Compare(a, b), bytes.Compare(AppendBytes(nil, a), AppendBytes(nil, b)), "%x vs %x", a, b)
		}
	}
}

func TestNumericTextOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	strs := []string{"0", "-0", "0.000", "1", "1.0", "1.5", "1.50", "-1.5", "10", "9.99", "0.001", "-0.001",
		"1e3", "1000", "-1E-3", "123456789012345678901234567890.5", "-5", "00.5", ".5", "5."}
	for i := 0; i < 300; i++ {
		s := fmt.Sprintf("%d.%d", rng.IntN(2000)-1000, rng.IntN(1000))
		if rng.IntN(3) == 0 {
			s = fmt.Sprintf("%de%d", rng.IntN(200)-100, rng.IntN(10)-5)
		}
		strs = append(strs, s)
	}
	rat := func(s string) *big.Rat {
		r, ok := new(big.Rat).SetString(s)
		require.True(t, ok, s)
		return r
	}
	for _, a := range strs {
		ea, err := AppendNumericText(nil, a)
		require.NoError(t, err, a)
		for _, b := range strs[:60] {
			eb, err := AppendNumericText(nil, b)
			require.NoError(t, err)
			require.Equal(t, rat(a).Cmp(rat(b)), bytes.Compare(ea, eb), "%s vs %s", a, b)
		}
		// Specials bracket every finite value.
		ni, _ := AppendNumericText(nil, "-Infinity")
		pi, _ := AppendNumericText(nil, "Infinity")
		nan, _ := AppendNumericText(nil, "NaN")
		require.Equal(t, -1, bytes.Compare(ni, ea))
		require.Equal(t, 1, bytes.Compare(pi, ea))
		require.Equal(t, 1, bytes.Compare(nan, pi))
	}
	for _, s := range []string{"", "-", "1.2.3", "abc", "1e", "1e+", "12x", "1e99999999999"} {
		_, err := AppendNumericText(nil, s)
		require.Error(t, err, s)
		require.Contains(t, []string{pgerror.InvalidTextRepresentation, pgerror.NumericValueOutOfRange}, pgerror.CodeOf(err), s)
	}
}

// TestCompositeNullsLast sorts (int32, utf8) rows through their encodings and
// checks SQL order: first column, then second, NULLs last in each.
func TestCompositeNullsLast(t *testing.T) {
	mem := memory.NewGoAllocator()
	ib := array.NewInt32Builder(mem)
	sb := array.NewStringBuilder(mem)
	type row struct {
		i    *int32
		s    *string
		rank int
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var rows []row
	for n := 0; n < 300; n++ {
		var r row
		if rng.IntN(5) > 0 {
			v := int32(rng.IntN(7) - 3)
			r.i = &v
		}
		if rng.IntN(5) > 0 {
			v := []string{"", "a", "a\x00", "ab", "b"}[rng.IntN(5)]
			r.s = &v
		}
		rows = append(rows, r)
		if r.i == nil {
			ib.AppendNull()
		} else {
			ib.Append(*r.i)
		}
		if r.s == nil {
			sb.AppendNull()
		} else {
			sb.Append(*r.s)
		}
	}
	ia, sa := ib.NewArray(), sb.NewArray()
	defer ia.Release()
	defer sa.Release()
	enc, err := NewEncoder([]Column{{Type: arrow.PrimitiveTypes.Int32}, {Type: arrow.BinaryTypes.String}})
	require.NoError(t, err)
	ks, err := enc.EncodeBatch([]arrow.Array{ia, sa})
	require.NoError(t, err)
	less := func(a, b row) int {
		if c := cmpNullable(a.i == nil, b.i == nil, func() int { return cmpInt(int64(*a.i), int64(*b.i)) }); c != 0 {
			return c
		}
		return cmpNullable(a.s == nil, b.s == nil, func() int { return sign(bytes.Compare([]byte(*a.s), []byte(*b.s))) })
	}
	for x := range rows {
		for y := range rows {
			require.Equal(t, less(rows[x], rows[y]), bytes.Compare(ks[x], ks[y]))
		}
	}
}

func cmpNullable(an, bn bool, f func() int) int {
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return f()
}

func TestUnsupportedType(t *testing.T) {
	_, err := NewEncoder([]Column{{Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)}})
	require.Equal(t, pgerror.FeatureNotSupported, pgerror.CodeOf(err))
}
