package stream

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// TestOrderKeyMatchesCompare checks that the bytewise order of order keys
// is the SQL order (types.Compare) under every DESC/NULLS FIRST mix, for
// two-column keys of several types.
func TestOrderKeyMatchesCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	gens := map[string]struct {
		t   types.T
		gen func() types.Datum
	}{
		"text": {types.TextT, func() types.Datum {
			b := make([]byte, rng.IntN(4))
			for i := range b {
				b[i] = "a\x00b\xffz"[rng.IntN(5)]
			}
			return string(b)
		}},
		"float8": {types.Float8T, func() types.Datum {
			return []float64{-1.5, 0, 2, 1e300, -1e-300, 3.25}[rng.IntN(6)]
		}},
		"numeric": {types.NumericT, func() types.Datum {
			d, _, err := apd.NewFromString([]string{"-12.5", "0", "0.001", "7", "1e20", "-3"}[rng.IntN(6)])
			require.NoError(t, err)
			return d
		}},
		"int8": {types.Int8T, func() types.Datum { return rng.Int64N(7) - 3 }},
	}
	for name, g := range gens {
		for mode := 0; mode < 16; mode++ {
			order := []SortCol{{Col: 0, Desc: mode&1 != 0, NullsFirst: mode&2 != 0}, {Col: 1, Desc: mode&4 != 0, NullsFirst: mode&8 != 0}}
			ts := []types.T{g.t, g.t}
			rows := make([][]types.Datum, 60)
			for i := range rows {
				rows[i] = make([]types.Datum, 2)
				for c := range rows[i] {
					if rng.IntN(6) > 0 {
						rows[i][c] = g.gen()
					}
				}
			}
			want := func(a, b []types.Datum) int {
				for _, sc := range order {
					x, y := a[sc.Col], b[sc.Col]
					var c int
					switch {
					case x == nil && y == nil:
					case x == nil || y == nil:
						c = 1
						if (x == nil) == sc.NullsFirst {
							c = -1
						}
					default:
						c = types.Compare(x, y, ts[sc.Col])
						if sc.Desc {
							c = -c
						}
					}
					if c != 0 {
						return c
					}
				}
				return 0
			}
			for i := range rows {
				for j := range rows {
					ki := appendOrderKey(nil, rows[i], ts, order)
					kj := appendOrderKey(nil, rows[j], ts, order)
					require.Equal(t, want(rows[i], rows[j]), bytes.Compare(ki, kj), "%s mode %d: %v vs %v", name, mode, rows[i], rows[j])
				}
			}
		}
	}
}

// TestOrdTreeRandomized checks the treap's counts, positions and seeks
// against a sorted slice model.
func TestOrdTreeRandomized(t *testing.T) {
	for _, keySpace := range []int{300, 5000} {
		testOrdTree(t, keySpace)
	}
}

func testOrdTree(t *testing.T, keySpace int) {
	rng := rand.New(rand.NewPCG(3, uint64(keySpace)))
	tr := newOrdTree()
	model := map[string]int64{}
	steps := 10 * keySpace
	for step := 0; step < steps; step++ {
		k := fmt.Sprintf("k%05d", rng.IntN(keySpace))
		// The last third mostly deletes, so nodes empty and the tree shrinks.
		if (rng.IntN(3) == 0 || step > 2*steps/3) && model[k] > 0 {
			_, err := tr.add(k, 1, nil, -1)
			require.NoError(t, err)
			model[k]--
		} else {
			_, err := tr.add(k, 1, nil, 1)
			require.NoError(t, err)
			model[k]++
		}
		if model[k] == 0 && (rng.IntN(2) == 0 || step > 2*steps/3) {
			tr.remove(k)
			delete(model, k)
		}
		if step%(keySpace/3) != 0 && step != steps-1 {
			continue
		}
		keys := make([]string, 0, len(model))
		var total int64
		for k, n := range model {
			keys = append(keys, k)
			total += n
		}
		sort.Strings(keys)
		require.Equal(t, total, tr.total())
		require.Equal(t, len(keys), tr.size)
		var got []string
		for it := tr.first(); it.node() != nil; it.next() {
			got = append(got, it.node().key)
			require.Equal(t, model[it.node().key], it.node().cnt)
		}
		require.Equal(t, keys, got)
		var pos int64
		for _, k := range keys {
			require.Equal(t, pos, tr.countBefore(k))
			for c := int64(0); c < model[k]; c++ {
				n, within := tr.at(pos + c)
				require.Equal(t, k, n.key)
				require.Equal(t, c, within)
			}
			pos += model[k]
			probe := k[:len(k)-1]
			i, _ := slices.BinarySearch(keys, probe)
			require.Equal(t, keys[i], tr.seek(probe).node().key)
		}
		n, _ := tr.at(total)
		require.Nil(t, n)
	}
	// Drain everything: the tree collapses to one empty leaf.
	for k, n := range model {
		_, err := tr.add(k, 1, nil, -n)
		require.NoError(t, err)
		tr.remove(k)
	}
	require.Equal(t, 0, tr.size)
	require.Equal(t, int64(0), tr.total())
	require.True(t, tr.root.leaf)
	require.Nil(t, tr.first().node())
	require.Nil(t, tr.seek("").node())
	_, err := tr.add("absent", 1, nil, -1)
	require.Error(t, err)
}
