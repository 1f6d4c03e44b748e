package lazyorder_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sabotsql/sabotsql/storage/state/lazyorder"
	"github.com/stretchr/testify/require"
)

type ent struct {
	k    string
	dead bool
}

// TestAgainstModel interleaves adds, removals and sorts and compares the
// live entries with a sorted model; earlier Sorted slices stay unchanged.
func TestAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	o := lazyorder.New(func(e *ent) string { return e.k }, func(e *ent) bool { return e.dead })
	live := map[string]*ent{}
	for step := 0; step < 3000; step++ {
		switch rng.IntN(4) {
		case 0, 1:
			k := randKey(rng)
			if live[k] == nil {
				e := &ent{k: k}
				live[k] = e
				o.Add(e)
			}
		case 2:
			for k, e := range live {
				e.dead = true
				delete(live, k)
				o.Removed()
				break
			}
		default:
			s := o.Sorted()
			before := slices.Clone(s)
			var got []string
			for _, e := range s {
				if !e.dead {
					got = append(got, e.k)
				}
			}
			var want []string
			for k := range live {
				want = append(want, k)
			}
			slices.Sort(want)
			require.Equal(t, want, got, "step %d", step)
			if len(want) > 0 {
				i := o.Seek(s, want[len(want)/2])
				require.Equal(t, want[len(want)/2], s[i].k)
			}
			extra := &ent{k: "zzz" + fmt.Sprint(step)}
			o.Add(extra) // a later add and sort leave s as it was
			_ = o.Sorted()
			require.Equal(t, before, s)
			extra.dead = true
			o.Removed()
		}
	}
}

// randKey draws keys that share long prefixes, are shorter and longer than
// the 16-byte sort prefix, and contain zero bytes, so prefix ties and
// padding are exercised.
func randKey(rng *rand.Rand) string {
	switch rng.IntN(3) {
	case 0:
		return fmt.Sprint(rng.IntN(500))
	case 1:
		return "long-shared-prefix-" + fmt.Sprint(rng.IntN(100))
	default:
		b := make([]byte, rng.IntN(20))
		for i := range b {
			b[i] = byte(rng.IntN(3))
		}
		return string(b)
	}
}

// TestRadixPath sorts batches large enough for the radix sort, with keys
// that tie on their 16-byte prefix and keys that differ only in low bytes,
// against slices.Sort.
func TestRadixPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for round := range 4 {
		o := lazyorder.New(func(e *ent) string { return e.k }, func(e *ent) bool { return e.dead })
		seen := map[string]bool{}
		var want []string
		for len(want) < 5000+round*3000 {
			var k string
			switch rng.IntN(4) {
			case 0:
				k = randKey(rng)
			case 1:
				k = "0123456789abcdef-tail-" + fmt.Sprint(rng.IntN(1e6)) // ties on the prefix
			default:
				b := []byte{1, 0, 0, 0, 0, 0, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))}
				k = string(b)
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			want = append(want, k)
			o.Add(&ent{k: k})
		}
		slices.Sort(want)
		var got []string
		for _, e := range o.Sorted() {
			got = append(got, e.k)
		}
		require.Equal(t, want, got, "round %d", round)
	}
}

// TestRadixSortPath sorts batches of fresh entries large enough for the
// radix sort (keys sharing long prefixes, of every length, and integer-like
// keys differing in a few middle bytes) and checks them against a plain sort.
func TestRadixSortPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for trial := 0; trial < 6; trial++ {
		o := lazyorder.New(func(e *ent) string { return e.k }, func(e *ent) bool { return e.dead })
		seen := map[string]bool{}
		var want []string
		for len(want) < 5000+trial*1000 {
			var k string
			if trial%2 == 0 {
				k = randKey(rng)
			} else {
				k = fmt.Sprintf("\x01%08x\x00%c", rng.Uint32()>>uint(trial), 'a'+rng.IntN(3))
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			want = append(want, k)
			o.Add(&ent{k: k})
		}
		slices.Sort(want)
		var got []string
		for _, e := range o.Sorted() {
			got = append(got, e.k)
		}
		require.Equal(t, want, got, "trial %d", trial)
	}
}
