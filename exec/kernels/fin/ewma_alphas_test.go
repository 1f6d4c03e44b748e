package fin

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAlphasValid compares alphasValid with a plain loop over slices of
// every length up to 40 (blocks of eight and tails), constant or with one
// differing alpha at each position, in and out of (0, 1].
func TestAlphasValid(t *testing.T) {
	ref := func(as []float64) (bool, bool) {
		valid, same := true, true
		for _, a := range as {
			valid = valid && a > 0 && a <= 1
			same = same && math.Float64bits(a) == math.Float64bits(as[0])
		}
		return valid, same
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 40; n++ {
		for _, base := range []float64{0.06, 1, 0, 1.5, math.NaN()} {
			as := make([]float64, n)
			for i := range as {
				as[i] = base
			}
			v, s := alphasValid(as)
			rv, rs := ref(as)
			require.Equal(t, [2]bool{rv, rs}, [2]bool{v, s}, "n %d base %v", n, base)
			for p := range n {
				for _, other := range []float64{0.5, math.Copysign(0, -1), 2, math.NaN(), base + rng.Float64()} {
					old := as[p]
					as[p] = other
					v, s := alphasValid(as)
					rv, rs := ref(as)
					require.Equal(t, [2]bool{rv, rs}, [2]bool{v, s}, "n %d base %v: %v at %d", n, base, other, p)
					as[p] = old
				}
			}
		}
	}
}
