package skiplist

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	l := New[int]()
	m := map[string]int{}
	for i := 0; i < 20000; i++ {
		k := fmt.Sprintf("k%04d", rng.IntN(3000))
		switch rng.IntN(3) {
		case 0, 1:
			_, had := m[k]
			require.Equal(t, !had, l.Set(k, i))
			m[k] = i
		case 2:
			_, had := m[k]
			require.Equal(t, had, l.Delete(k))
			delete(m, k)
		}
	}
	require.Equal(t, len(m), l.Len())
	var want []string
	for k := range m {
		want = append(want, k)
	}
	sort.Strings(want)
	var got []string
	for it := l.First(); it.Valid(); it.Next() {
		got = append(got, it.Key())
		require.Equal(t, m[it.Key()], it.Value())
	}
	require.Equal(t, want, got)
	it := l.Seek([]byte("k1500"))
	i := sort.SearchStrings(want, "k1500")
	require.Equal(t, want[i], it.Key())
	v, ok := l.Get(want[0])
	require.True(t, ok)
	require.Equal(t, m[want[0]], v)
}
