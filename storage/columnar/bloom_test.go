package columnar

import (
	"fmt"
	"testing"

	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/stretchr/testify/require"
)

func TestBloom(t *testing.T) {
	const n = 20000
	f := newBloom(n)
	for i := 0; i < n; i++ {
		f.addHash(hashKey(keys.Int64Key(int64(i))))
	}
	for i := 0; i < n; i++ {
		require.True(t, f.mayContain(keys.Int64Key(int64(i))), "false negative for %d", i)
	}
	fp := 0
	for i := n; i < 3*n; i++ {
		if f.mayContain(keys.Int64Key(int64(i))) {
			fp++
		}
	}
	// ~1% expected; 3% leaves room for the blocked layout's variance.
	require.Less(t, fp, 2*n*3/100, "false positives %d of %d", fp, 2*n)
	t.Logf("false positive rate %.2f%%", 100*float64(fp)/float64(2*n))
}

// TestBloomFold: a filter sized for many keys and folded down to the keys
// it got answers yes for every added key, has the size an exact filter
// would have (within the rounding), and a false-positive rate near 1%.
func TestBloomFold(t *testing.T) {
	for _, tc := range []struct{ upTo, n int }{{1, 1}, {1000, 10}, {100000, 30000}, {100000, 99999}, {1 << 20, 1000}, {3000001, 1234567}} {
		f := newBloomUpTo(tc.upTo)
		key := func(i int) []byte { return []byte(fmt.Sprintf("key-%d", i)) }
		for i := range tc.n {
			f.addHash(hashKey(key(i)))
		}
		f.fold(tc.n)
		need := bloomBlocks(tc.n)
		got := len(f.bits) / bloomBlock
		require.GreaterOrEqual(t, got, need, "%+v", tc)
		require.LessOrEqual(t, got, 2*need+1, "%+v: folded to %d blocks, an exact filter has %d", tc, got, need)
		for i := range tc.n {
			require.True(t, f.mayContain(key(i)), "%+v: key %d lost by the fold", tc, i)
		}
		if tc.n >= 10000 {
			fp := 0
			for i := range 20000 {
				if f.mayContain([]byte(fmt.Sprintf("other-%d", i))) {
					fp++
				}
			}
			require.Less(t, fp, 20000*3/100, "%+v: false positives", tc)
		}
	}
}
