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

// TestGroupTopNLargeRerank shifts the rank of 5000 kept rows at once: the
// output is cut into chunks of at most rowEmitterChunk rows (plus the
// U+ closing a pair) and no update pair is split across chunks.
func TestGroupTopNLargeRerank(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	r := newGroupTopNRun(t, mem, 2, []int{0}, []SortCol{{Col: 1}}, "row_number", 10_000, true)
	rows := make([]row, 5000)
	for i := range rows {
		k, v := int64(1), int64(i+1)
		rows[i] = row{op: Insert, vals: []*int64{&k, &v}}
	}
	r.push(0, rows)
	require.Len(t, r.barrier(), 5000)
	r.push(0, parseRows(t, "+ 1 0"))
	// Pull by hand to see the chunk sizes.
	r.epoch++
	r.ins[0].msgs = append(r.ins[0].msgs, Barrier{Epoch: r.epoch})
	var sizes []int
	pairs := 0
	for {
		m, err := r.op.Next(t.Context())
		require.NoError(t, err)
		if _, ok := m.(Barrier); ok {
			break
		}
		c := m.(*Chunk)
		sizes = append(sizes, len(c.Ops))
		require.LessOrEqual(t, len(c.Ops), rowEmitterChunk+1)
		require.NotEqual(t, UpdateDelete, c.Ops[len(c.Ops)-1])
		for _, op := range c.Ops {
			if op == UpdateInsert {
				pairs++
			}
		}
		c.Release()
	}
	require.Greater(t, len(sizes), 1)
	require.Equal(t, 5000, pairs)
	r.close()
	mem.AssertSize(t, 0)
}
