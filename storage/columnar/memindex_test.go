package columnar

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMemIndexModel checks the open-addressing index against a Go map
// through growth, removals (tombstones) and re-insertions.
func TestMemIndexModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	x := newMemIndex()
	model := map[string]*memEntry{}
	for step := 0; step < 50000; step++ {
		k := fmt.Sprint("k", rng.IntN(3000))
		switch en := model[k]; {
		case en == nil && rng.IntN(3) > 0:
			en = &memEntry{key: k}
			x.put(en)
			model[k] = en
		case en != nil && rng.IntN(2) == 0:
			x.remove(en)
			delete(model, k)
		}
		require.Equal(t, model[k], x.get([]byte(k)), "step %d key %s", step, k)
		require.Equal(t, len(model), x.len())
	}
	for k, en := range model {
		require.Same(t, en, x.get([]byte(k)))
	}
	require.Nil(t, x.get([]byte("absent")))
}
