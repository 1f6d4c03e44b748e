package pebblestate

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSortItems checks the radix sort against a comparison sort on keys
// that share leading bytes, repeat, and exceed the 16-byte prefix.
func TestSortItems(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 7, 255, 256, 1000, 5000} {
		for _, long := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d/long=%v", n, long), func(t *testing.T) {
				keys := make([]string, n)
				for i := range keys {
					k := []byte{0x02, 0, 0}
					k = binary.BigEndian.AppendUint32(k, uint32(rng.IntN(max(n/2, 1))))
					if long {
						k = append(k, strings.Repeat("x", rng.IntN(12))...)
						k = append(k, byte(rng.IntN(3)))
					}
					keys[i] = string(k)
				}
				items := make([]sortItem, n)
				for i, k := range keys {
					var buf [16]byte
					copy(buf[:], k)
					items[i] = sortItem{binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:]), int32(i)}
				}
				full := func(a, b sortItem) int {
					if c := strings.Compare(keys[a.i], keys[b.i]); c != 0 {
						return c
					}
					return cmp.Compare(a.i, b.i)
				}
				want := slices.Clone(items)
				slices.SortFunc(want, full)
				got, _ := sortItems(items, nil, full)
				require.Equal(t, len(want), len(got))
				for i := range want {
					require.Equal(t, want[i].i, got[i].i, "position %d", i)
				}
			})
		}
	}
}
