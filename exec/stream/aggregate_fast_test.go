package stream

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHasRetractions checks the word-at-a-time scan against Op.Sign for
// every length up to 40 and a retraction at every position.
func TestHasRetractions(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	for n := 0; n <= 40; n++ {
		ops := make([]Op, n)
		for i := range ops {
			ops[i] = []Op{Insert, UpdateInsert}[rng.IntN(2)]
		}
		require.False(t, hasRetractions(ops), "n=%d", n)
		for i := range ops {
			for _, r := range []Op{Delete, UpdateDelete} {
				keep := ops[i]
				ops[i] = r
				require.True(t, hasRetractions(ops), "n=%d at %d op %s", n, i, r)
				ops[i] = keep
			}
		}
	}
}

// TestAggEpochStampWrap runs an aggregate's epoch stamp through its
// wrap-around: groups stay clean after the wrap, and a group touched in
// the next epoch is emitted again.
func TestAggEpochStampWrap(t *testing.T) {
	gen := &aggGen{epoch: ^uint32(0)}
	gen.grow(4)
	gen.book[1].stamp = gen.epoch
	gen.book[2].stamp = gen.epoch - 1
	gen.dirty = append(gen.dirty, 1)
	require.True(t, gen.isDirty(1))
	require.False(t, gen.isDirty(2))
	gen.resetEpoch()
	require.Equal(t, uint32(1), gen.epoch)
	for g := range uint32(4) {
		require.False(t, gen.isDirty(g), "group %d", g)
	}
	// No touches: the stamp stays (nothing to undirty).
	gen.resetEpoch()
	require.Equal(t, uint32(1), gen.epoch)
}
