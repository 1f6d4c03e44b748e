package stream

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// TestGroupTopNRandomized checks GroupTopN against a per-partition ranking
// of the net input after every barrier, for every rank function, with and
// without the rank column.
func TestGroupTopNRandomized(t *testing.T) {
	seed := opSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	for cfg := 0; cfg < 45; cfg++ {
		fn := []string{"row_number", "rank", "dense_rank"}[cfg%3]
		part := [][]int{nil, {0}, {0, 2}}[rng.IntN(3)]
		order := opRandOrder(rng, 3)
		limit := []int64{0, 1, 2, 3, 10}[rng.IntN(5)]
		emitRank := rng.IntN(2) == 0
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		r := newGroupTopNRun(t, mem, 3, part, order, fn, limit, emitRank)
		var m model
		hi := int64(1 + rng.IntN(5))
		for e := 0; e < 12; e++ {
			opRandPush(rng, r, 0, &m, func() []*int64 { return opRandRow(rng, 3, hi) }, 80)
			r.barrier()
			require.Equal(t, naiveGroupTopN(m.rows, part, order, fn, limit, emitRank), r.rows(),
				"seed %d cfg %d epoch %d fn %s part %v order %+v limit %d rank %v", seed, cfg, e, fn, part, order, limit, emitRank)
		}
		r.close()
		mem.AssertSize(t, 0)
	}
}

func TestGroupTopNErrors(t *testing.T) {
	r := newOpRun(t, memory.DefaultAllocator, 2)
	_, err := NewGroupTopN(r.ins[0], r.types(0), []int{0}, []SortCol{{Col: 1}}, "ntile", 1, false)
	require.Error(t, err)
	_, err = NewGroupTopN(r.ins[0], r.types(0), []int{5}, []SortCol{{Col: 1}}, "rank", 1, false)
	require.Error(t, err)
	_, err = NewGroupTopN(r.ins[0], r.types(0), []int{0}, []SortCol{{Col: -1}}, "rank", 1, false)
	require.Error(t, err)
}
