package lazyorder

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRadixSort checks radixSort against a comparison sort, with prefixes
// that vary in a few scattered bytes (the others constant), so skipped
// and sorted byte positions both occur.
func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 20; trial++ {
		var m0, m1 uint64 // bytes that vary
		for d := range 8 {
			if rng.IntN(3) == 0 {
				m0 |= 0xff << (8 * d)
			}
			if rng.IntN(3) == 0 {
				m1 |= 0xff << (8 * d)
			}
		}
		base0, base1 := rng.Uint64(), rng.Uint64()
		ps := make([]prefixed[int], 1000+rng.IntN(3000))
		for i := range ps {
			// Few distinct values per byte, so equal high bytes are common.
			r0, r1 := rng.Uint64()&0x0303030303030303, rng.Uint64()&0x0303030303030303
			ps[i] = prefixed[int]{base0&^m0 | r0&m0, base1&^m1 | r1&m1, i}
		}
		want := slices.Clone(ps)
		slices.SortStableFunc(want, func(a, b prefixed[int]) int {
			if c := cmp.Compare(a.p0, b.p0); c != 0 {
				return c
			}
			return cmp.Compare(a.p1, b.p1)
		})
		// The radix sort is stable too (LSD with stable passes).
		require.Equal(t, want, radixSort(slices.Clone(ps)), "trial %d", trial)
	}
}
