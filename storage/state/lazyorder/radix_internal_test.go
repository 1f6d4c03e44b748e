package lazyorder

import (
	"cmp"
	"encoding/binary"
	"fmt"
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

// TestSortFreshPacked checks the packed radix path of sortFresh against a
// comparison sort: keys whose 16-byte prefixes vary in up to 5 scattered
// bytes (more than 4 takes the other path), some longer than 16 bytes with
// equal prefixes (ties ordered by the full keys), some entries dead.
func TestSortFreshPacked(t *testing.T) {
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
		n := radixMin + 300 + rng.IntN(3000)
		keys := make([]string, n)
		dead := make([]bool, n)
		seen := map[string]bool{}
		for i := range keys {
			r0, r1 := rng.Uint64()&0x0707070707070707, rng.Uint64()&0x0707070707070707
			if i < 2 { // every chosen byte varies: a 0 and a 1 somewhere
				r0, r1 = uint64(i)*0x0101010101010101, uint64(i)*0x0101010101010101
			}
			var b [16]byte
			binary.BigEndian.PutUint64(b[:8], base0&^m0|r0&m0)
			binary.BigEndian.PutUint64(b[8:], base1&^m1|r1&m1)
			k := string(b[:])
			if seen[k] || rng.IntN(4) == 0 {
				k += fmt.Sprint("-", i) // a longer key sharing its prefix
			}
			seen[k] = true
			keys[i] = k
			dead[i] = i >= 2 && rng.IntN(10) == 0
		}
		o := New(func(id uint32) string { return keys[id] }, func(id uint32) bool { return dead[id] })
		for id := range n {
			o.Add(uint32(id))
		}
		var want []string
		for i, k := range keys {
			if !dead[i] {
				want = append(want, k)
			}
		}
		_, packed := o.sortFreshPacked()
		require.Equal(t, nvar <= 4 && len(want) >= radixMin, packed, "trial %d: %d varying bytes", trial, nvar)
		slices.Sort(want)
		var got []string
		for _, id := range o.Sorted() {
			got = append(got, keys[id])
		}
		require.Equal(t, want, got, "trial %d", trial)
	}
}
