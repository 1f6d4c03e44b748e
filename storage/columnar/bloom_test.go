package columnar

import (
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
