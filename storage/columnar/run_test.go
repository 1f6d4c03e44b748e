package columnar

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/stretchr/testify/require"
)

// TestFindBlockPrefixes checks the prefix-array binary search against a
// plain search over the full first keys, with keys that share long
// prefixes, end in zero bytes and are prefixes of each other.
func TestFindBlockPrefixes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	randKey := func() []byte {
		k := make([]byte, rng.IntN(24))
		for i := range k {
			k[i] = []byte{0, 1, 0xff, 'a'}[rng.IntN(4)]
		}
		return k
	}
	for trial := 0; trial < 200; trial++ {
		var firsts [][]byte
		for range 1 + rng.IntN(40) {
			firsts = append(firsts, randKey())
		}
		slices.SortFunc(firsts, bytes.Compare)
		firsts = slices.CompactFunc(firsts, bytes.Equal)
		r := &run{lastKey: randKey()}
		if bytes.Compare(r.lastKey, firsts[len(firsts)-1]) < 0 {
			r.lastKey = firsts[len(firsts)-1]
		}
		for _, f := range firsts {
			r.index = append(r.index, blockHandle{firstKey: f})
			p0, p1 := keyPrefix(f)
			r.prefixes = append(r.prefixes, p0, p1)
		}
		for range 50 {
			k := randKey()
			want := -1
			if bytes.Compare(k, r.lastKey) <= 0 {
				want = sort.Search(len(firsts), func(i int) bool { return bytes.Compare(firsts[i], k) > 0 }) - 1
			}
			require.Equal(t, want, r.findBlock(k), "key %x, first keys %x", k, firsts)
		}
	}
}

// TestRunWriterBloomGroups: a run writer adds keys to its Bloom filter in
// groups (bloomGroup); every key of a run, those of a last partial group
// included, is in the filter of the opened run, for key counts around the
// group size.
func TestRunWriterBloomGroups(t *testing.T) {
	fs := vfs.NewMem()
	for _, n := range []int{1, bloomGroup - 1, bloomGroup, bloomGroup + 1, 5*bloomGroup + 7, 3000} {
		name := runFileName(uint64(n))
		w, err := newRunWriter(fs, name, 64, 2*n)
		require.NoError(t, err)
		for i := range n {
			require.NoError(t, w.add(keys.Int64Key(int64(i)), 1, false, []byte("v")))
		}
		info, err := w.finish(uint64(n))
		require.NoError(t, err)
		r, err := openRun(fs, info)
		require.NoError(t, err)
		for i := range n {
			require.True(t, r.bloom.mayContain(keys.Int64Key(int64(i))), "n=%d: key %d not in the filter", n, i)
		}
		require.NoError(t, r.close())
	}
}
