package pebblestate

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
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

// TestPendingModel drives the pending log (ascending runs, rewrites,
// compactions forced early, CleanBelow) against a map model: lookups and
// the committed order must match after every step.
func TestPendingModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 9))
		p := newPending(0, seed%4 == 0)
		p.compactAt = 1 + rng.IntN(16)
		model := map[string]string{} // key → value ("" for a delete)
		var clean string
		hasClean := false
		next := 0
		key := func(i int) []byte { return binary.BigEndian.AppendUint32([]byte{0x02}, uint32(i)) }
		for step := range 400 {
			var k []byte
			switch r := rng.IntN(10); {
			case r < 4:
				k = key(next)
				next++
			default:
				k = key(rng.IntN(next + 1))
			}
			switch r := rng.IntN(20); {
			case r == 0:
				p.cleanBelow(k)
				for mk := range model {
					if mk < string(k) {
						delete(model, mk)
					}
				}
				if !hasClean || string(k) > clean {
					clean, hasClean = string(k), true
				}
			case r < 4:
				p.put(k, nil, true)
				model[string(k)] = ""
			default:
				v := []byte(fmt.Sprint("v", step))
				p.put(k, v, false)
				model[string(k)] = string(v)
			}
			for i := 0; i <= next; i++ {
				kk := key(i)
				val, found := p.lookup(kk)
				mv, ok := model[string(kk)]
				wantFound := ok || (hasClean && string(kk) < clean)
				require.Equal(t, wantFound, found, "seed %d step %d key %d found", seed, step, i)
				require.Equal(t, mv, string(val), "seed %d step %d key %d value", seed, step, i)
			}
			if step%37 == 0 || step == 399 {
				var got []string
				require.NoError(t, p.each(func(e *pendEntry) error {
					v := string(e.val)
					if e.del {
						v = ""
					}
					require.Equal(t, model[e.key], v, "seed %d step %d: value of %x", seed, step, e.key)
					got = append(got, e.key)
					return nil
				}))
				want := slices.Sorted(maps.Keys(model))
				require.Equal(t, want, got, "seed %d step %d: order", seed, step)
			}
		}
	}
}
