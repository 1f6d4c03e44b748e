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

// TestRadixSortPacked checks radixSortPacked against a comparison sort
// with prefixes varying in up to 4 scattered bytes (ties included), and
// that it declines more.
func TestRadixSortPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 40; trial++ {
		var m0, m1 uint64 // bytes that vary
		nvar := 1 + rng.IntN(5)
		for _, d := range rng.Perm(16)[:nvar] {
			if d < 8 {
				m1 |= 0xff << (8 * d)
			} else {
				m0 |= 0xff << (8 * (d - 8))
			}
		}
		base0, base1 := rng.Uint64(), rng.Uint64()
		ps := make([]prefixed[int], 1000+rng.IntN(3000))
		for i := range ps {
			r0, r1 := rng.Uint64()&0x0707070707070707, rng.Uint64()&0x0707070707070707
			ps[i] = prefixed[int]{base0&^m0 | r0&m0, base1&^m1 | r1&m1, i}
		}
		// Every chosen byte varies (a byte of 0 and of 1 somewhere).
		ps[0].p0, ps[0].p1 = base0&^m0, base1&^m1
		ps[1].p0, ps[1].p1 = base0&^m0|0x0101010101010101&m0, base1&^m1|0x0101010101010101&m1
		idx, ok := radixSortPacked(ps)
		require.Equal(t, nvar <= 4, ok, "trial %d: %d varying bytes", trial, nvar)
		if !ok {
			continue
		}
		want := slices.Clone(ps)
		slices.SortStableFunc(want, func(a, b prefixed[int]) int {
			if c := cmp.Compare(a.p0, b.p0); c != 0 {
				return c
			}
			return cmp.Compare(a.p1, b.p1)
		})
		got := make([]prefixed[int], len(idx))
		for i, x := range idx {
			got[i] = ps[uint32(x)]
			if i > 0 && idx[i]>>32 == idx[i-1]>>32 {
				require.Equal(t, got[i-1].p0, got[i].p0)
				require.Equal(t, got[i-1].p1, got[i].p1)
			}
		}
		require.Equal(t, want, got, "trial %d", trial) // stable: ties in index order
	}
}
