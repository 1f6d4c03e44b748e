package stream

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
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
	gen.book[1].Stamp = gen.epoch
	gen.book[2].Stamp = gen.epoch - 1
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

// TestAggregateLargeEpochs runs epochs of 30K rows (inserts and deletes)
// over 40K groups through count and max, and checks the emitted changes
// against a model: applied to a view they give the model's groups, every
// change retracts exactly the row the view holds, and an update's pair is
// adjacent and of one group.
func TestAggregateLargeEpochs(t *testing.T) {
	const keys = 40_000
	rng := rand.New(rand.NewPCG(13, 8))
	s, ts := int8Schema("k", "v")
	var live []row
	var msgs []Message
	for e := 1; e <= 3; e++ {
		var rows []row
		for range 30_000 {
			if len(live) > 0 && rng.IntN(5) == 0 {
				j := rng.IntN(len(live))
				r := live[j]
				live[j] = live[len(live)-1]
				live = live[:len(live)-1]
				rows = append(rows, row{op: Delete, vals: r.vals})
				continue
			}
			k, v := rng.Int64N(keys), rng.Int64N(1000)
			r := row{op: Insert, vals: []*int64{&k, &v}}
			rows = append(rows, r)
			live = append(live, r)
		}
		for len(rows) > 0 {
			n := min(len(rows), 1024)
			msgs = append(msgs, makeChunk(t, s, rows[:n]))
			rows = rows[n:]
		}
		msgs = append(msgs, Barrier{Epoch: uint64(e)})
	}
	reg := testRegistry()
	var calls []AggCall
	for _, name := range []string{"count", "max"} {
		var args []int
		var at []types.T
		if name == "max" {
			args, at = []int{1}, []types.T{types.Int8T}
		}
		c, err := LookupAgg(reg, name, args, at)
		require.NoError(t, err)
		calls = append(calls, c)
	}
	h, err := NewHashAggregate(&scripted{schema: s, msgs: msgs}, ts, []int{0}, calls, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Close()) }()
	view := map[int64][2]int64{}
	for {
		m, err := h.Next(context.Background())
		require.NoError(t, err)
		if m == nil {
			break
		}
		c, ok := m.(*Chunk)
		if !ok {
			continue
		}
		kc := c.Batch.Column(0).(*array.Int64)
		cc := c.Batch.Column(1).(*array.Int64)
		sc := c.Batch.Column(2).(*array.Int64)
		for i, op := range c.Ops {
			k := kc.Value(i)
			v := [2]int64{cc.Value(i), sc.Value(i)}
			if op == UpdateDelete {
				require.Less(t, i+1, len(c.Ops))
				require.Equal(t, UpdateInsert, c.Ops[i+1])
				require.Equal(t, k, kc.Value(i+1))
			}
			if op.Sign() < 0 {
				got, ok := view[k]
				require.True(t, ok, "retracts absent group %d", k)
				require.Equal(t, got, v, "group %d", k)
				delete(view, k)
			} else {
				_, ok := view[k]
				require.False(t, ok, "inserts present group %d", k)
				view[k] = v
			}
		}
		c.Release()
	}
	want := map[int64][2]int64{}
	for _, r := range live {
		k, v := *r.vals[0], *r.vals[1]
		m, ok := want[k]
		if !ok || v > m[1] {
			m[1] = v
		}
		m[0]++
		want[k] = m
	}
	require.Equal(t, want, view)
}
