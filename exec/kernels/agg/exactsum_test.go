package agg

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// randWideFloat draws finite floats over the whole exponent range,
// subnormals included, often near each other so that sums cancel.
func randWideFloat(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return math.Float64frombits(r.Uint64() &^ (0x7ff << 52)) // subnormal or zero
	case 1:
		return float64(r.IntN(2001)-1000) / 8
	case 2:
		return math.Ldexp(r.Float64()-0.5, r.IntN(200)-100)
	}
	for {
		x := math.Float64frombits(r.Uint64())
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return x
		}
	}
}

// TestExactSumRounding compares exactSum with math/big sums carried at a
// precision wide enough to be exact, then rounded once.
func TestExactSumRounding(t *testing.T) {
	r := newRand(t)
	var scratch big.Int
	for iter := 0; iter < 400; iter++ {
		var s exactSum
		ref := new(big.Float).SetPrec(5000)
		var live []float64
		for step := 0; step < 1+r.IntN(60); step++ {
			if len(live) > 0 && r.IntN(3) == 0 {
				k := r.IntN(len(live))
				x := live[k]
				live = append(live[:k], live[k+1:]...)
				m, e := splitFloat(x)
				s.addSmall(-m, e, &scratch)
				ref.Sub(ref, new(big.Float).SetFloat64(x))
				continue
			}
			x := randWideFloat(r)
			if iter%3 == 0 {
				x = math.Ldexp(float64(r.IntN(1<<20)), r.IntN(40)-60) // narrow range: 128-bit path
			}
			if x == 0 {
				continue
			}
			live = append(live, x)
			m, e := splitFloat(x)
			s.addSmall(m, e, &scratch)
			ref.Add(ref, new(big.Float).SetFloat64(x))
		}
		want, _ := ref.Float64()
		got := s.float64()
		require.Equal(t, math.Float64bits(want), math.Float64bits(got), "float64: want %v got %v (values %v)", want, got, live)
		want32, _ := ref.Float32()
		require.Equal(t, math.Float32bits(want32), math.Float32bits(s.float32()), "float32 of %v", live)
	}
}

// TestFloatVarianceExact compares var_pop/var_samp over float8 with the
// exact variance computed on rationals and rounded once.
func TestFloatVarianceExact(t *testing.T) {
	r := newRand(t)
	for iter := 0; iter < 300; iter++ {
		n := 1 + r.IntN(20)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = math.Ldexp(r.Float64()-0.5, r.IntN(120)-60)
			if r.IntN(4) == 0 {
				xs[i] = float64(r.IntN(10))
			}
		}
		for _, sample := range []bool{false, true} {
			if sample && n < 2 {
				continue
			}
			acc := &floatAcc[float64]{kind: statVarPop}
			if sample {
				acc.kind = statVarSamp
			}
			acc.Grow(1)
			for _, x := range xs {
				acc.add(&acc.st[0], x, 1, true)
			}
			got, ok, err := acc.result(0)
			require.NoError(t, err)
			require.True(t, ok)
			sum, mean := new(big.Rat), new(big.Rat)
			for _, x := range xs {
				sum.Add(sum, new(big.Rat).SetFloat64(x))
			}
			mean.Quo(sum, big.NewRat(int64(n), 1))
			ss := new(big.Rat)
			for _, x := range xs {
				d := new(big.Rat).Sub(new(big.Rat).SetFloat64(x), mean)
				ss.Add(ss, d.Mul(d, d))
			}
			den := int64(n)
			if sample {
				den--
			}
			want, _ := ss.Quo(ss, big.NewRat(den, 1)).Float64()
			require.Equal(t, math.Float64bits(want), math.Float64bits(got), "var(sample=%v) of %v: want %v got %v", sample, xs, want, got)
		}
	}
}
