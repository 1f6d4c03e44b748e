package hashindex_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sabotsql/sabotsql/storage/state/hashindex"
	"github.com/stretchr/testify/require"
)

type ent struct{ k string }

// TestModel checks the index against a Go map through growth, removals
// (tombstones) and re-insertions.
func TestModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	// Enough keys that GetBatch's staged path (tables beyond 32 Ki slots)
	// runs, not only its small-table loop.
	big := hashindex.New(func(e *ent) string { return e.k })
	bigModel := map[string]*ent{}
	for i := 0; i < 40000; i++ {
		e := &ent{k: fmt.Sprint("k", i)}
		big.Put(e)
		bigModel[e.k] = e
	}
	for range 5 {
		checkBatch(t, big, bigModel, rng)
	}
	x := hashindex.New(func(e *ent) string { return e.k })
	model := map[string]*ent{}
	for step := 0; step < 50000; step++ {
		k := fmt.Sprint("k", rng.IntN(3000))
		switch e := model[k]; {
		case e == nil && rng.IntN(3) > 0:
			e = &ent{k: k}
			x.Put(e)
			model[k] = e
		case e != nil && rng.IntN(2) == 0:
			x.Remove(e)
			delete(model, k)
		}
		got, ok := x.Get([]byte(k))
		require.Equal(t, model[k] != nil, ok, "step %d key %s", step, k)
		require.Equal(t, model[k], got)
		require.Equal(t, len(model), x.Len())
		if step%500 == 0 {
			checkBatch(t, x, model, rng)
		}
	}
	for k, e := range model {
		got, ok := x.Get([]byte(k))
		require.True(t, ok)
		require.Same(t, e, got)
	}
	_, ok := x.Get([]byte("absent"))
	require.False(t, ok)
}

// checkBatch compares GetBatch with the model over random present and
// absent keys, with repeats.
func checkBatch(t *testing.T, x *hashindex.Index[*ent], model map[string]*ent, rng *rand.Rand) {
	t.Helper()
	ks := make([][]byte, 1+rng.IntN(100))
	for i := range ks {
		ks[i] = []byte(fmt.Sprint("k", rng.IntN(len(model)+len(model)/10+100)))
	}
	out := make([]*ent, len(ks))
	found := make([]bool, len(ks))
	x.GetBatch(ks, out, found)
	for i, k := range ks {
		require.Equal(t, model[string(k)] != nil, found[i], "key %s", k)
		require.Equal(t, model[string(k)], out[i], "key %s", k)
	}
}

// TestIDs indexes uint32 ids of keys held elsewhere (the pointer-free use
// of the columnar memtable), through growth and the staged GetBatch.
func TestIDs(t *testing.T) {
	var keys []string
	x := hashindex.New(func(id uint32) string { return keys[id] })
	for i := 0; i < 50000; i++ {
		keys = append(keys, fmt.Sprint("key-", i))
		x.Put(uint32(i))
	}
	for i := 0; i < 50000; i += 2 {
		x.Remove(uint32(i))
	}
	require.Equal(t, 25000, x.Len())
	ks := make([][]byte, 1000)
	for i := range ks {
		ks[i] = []byte(fmt.Sprint("key-", i*37))
	}
	ks = append(ks, []byte("key-50001"))
	out := make([]uint32, len(ks))
	found := make([]bool, len(ks))
	x.GetBatch(ks, out, found)
	for i := range 1000 {
		odd := (i*37)%2 == 1
		require.Equal(t, odd, found[i], "key %s", ks[i])
		if odd {
			require.Equal(t, uint32(i*37), out[i])
		}
	}
	require.False(t, found[1000])
}

// TestGetOrPut checks GetOrPut against a map through growth and removals.
func TestGetOrPut(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var keys []string
	x := hashindex.New(func(id uint32) string { return keys[id] })
	model := map[string]uint32{}
	for step := range 60000 {
		k := fmt.Sprint("k", rng.IntN(20000))
		if id, ok := model[k]; ok && rng.IntN(4) == 0 {
			x.Remove(id)
			delete(model, k)
			continue
		}
		made := false
		id, found := x.GetOrPut([]byte(k), func() uint32 {
			made = true
			keys = append(keys, k)
			return uint32(len(keys) - 1)
		})
		want, ok := model[k]
		require.Equal(t, ok, found, "step %d", step)
		require.Equal(t, !ok, made)
		if ok {
			require.Equal(t, want, id)
		} else {
			model[k] = id
		}
		require.Equal(t, len(model), x.Len())
	}
	for k, id := range model {
		got, ok := x.Get([]byte(k))
		require.True(t, ok)
		require.Equal(t, id, got)
	}
}

// TestGetOrPutBatch checks GetOrPutBatch against a map with batches that
// repeat keys, on a table growing past the staged path's threshold, with
// removals (tombstones) and reservations in between.
func TestGetOrPutBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	var keys []string
	x := hashindex.New(func(id uint32) string { return keys[id] })
	model := map[string]uint32{}
	for step := range 200 {
		space := 1000 + step*1500
		ks := make([][]byte, 1+rng.IntN(1400))
		for i := range ks {
			ks[i] = []byte(fmt.Sprint("k", rng.IntN(space)))
		}
		out := make([]uint32, len(ks))
		added := make([]bool, len(ks))
		x.GetOrPutBatch(ks, out, added, func(i int) uint32 {
			keys = append(keys, string(ks[i]))
			return uint32(len(keys) - 1)
		})
		for i, k := range ks {
			want, ok := model[string(k)]
			require.Equal(t, !ok, added[i], "step %d key %s", step, k)
			if ok {
				require.Equal(t, want, out[i], "step %d key %s", step, k)
			} else {
				require.Equal(t, string(k), keys[out[i]])
				model[string(k)] = out[i]
			}
		}
		require.Equal(t, len(model), x.Len())
		// Remove some keys (tombstones), sometimes reserve room.
		for k, id := range model {
			if step%10 == 0 && rng.IntN(8) == 0 {
				x.Remove(id)
				delete(model, k)
			}
		}
		if rng.IntN(4) == 0 {
			x.Reserve(rng.IntN(50000))
		}
	}
	require.Greater(t, x.Len(), 25000, "the staged path ran (more than 32Ki slots)")
	for k, id := range model {
		got, ok := x.Get([]byte(k))
		require.True(t, ok)
		require.Equal(t, id, got)
	}
}
