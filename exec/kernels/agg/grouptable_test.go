package agg

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/exec/kernels/vec/vectest"
	"github.com/sabotsql/sabotsql/sql/types"
)

func newRand(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed^0x5eed))
}

// rowsEqual is SQL (GROUP BY) equality of row i and row j, NULL = NULL.
func rowsEqual(ds [][]types.Datum, ts []types.T, i, j int) bool {
	for c := range ds {
		if vectest.NaiveCompare(ds[c][i], ds[c][j], ts[c]) != 0 {
			return false
		}
	}
	return true
}

var keyTypeSets = [][]types.T{
	{types.Int8T}, {types.Int4T}, {types.Int2T}, {types.DateT}, {types.TimestampTZT},
	{types.TextT}, {types.ByteaT}, {types.VarcharT},
	{types.BpcharT}, {types.NumericT}, {types.Float8T}, {types.IntervalT}, {types.BoolT},
	{types.Int4T, types.TextT}, {types.NumericT, types.Float4T, types.BpcharT},
	{types.ArrayOf(types.Int4T)}, {types.TimeT, types.IntervalT},
}

func TestGroupTableMatchesNaive(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, ts := range keyTypeSets {
		for iter := 0; iter < 8; iter++ {
			n := r.IntN(600)
			cols := make([]arrow.Array, len(ts))
			ds := make([][]types.Datum, len(ts))
			for c, kt := range ts {
				cols[c], ds[c] = vectest.RandArray(r, mem, kt, n, []int{0, 10, 50}[iter%3])
			}
			gt := NewGroupTable(ts, mem)
			groups := make([]uint32, n)
			// Insert in random batch splits (1, 3, 1024 or random sizes).
			for lo := 0; lo < n; {
				size := []int{1, 3, 1024, 1 + r.IntN(50)}[r.IntN(4)]
				hi := min(n, lo+size)
				batch := make([]arrow.Array, len(cols))
				for c := range cols {
					batch[c] = vec.Slice(cols[c], lo, hi)
				}
				gt.Insert(batch, groups[lo:hi])
				for _, b := range batch {
					b.Release()
				}
				lo = hi
			}
			// Naive: group of row i is the group of the first equal row.
			var firsts []int
			for i := 0; i < n; i++ {
				want := -1
				for g, f := range firsts {
					if rowsEqual(ds, ts, f, i) {
						want = g
						break
					}
				}
				if want < 0 {
					want = len(firsts)
					firsts = append(firsts, i)
				}
				require.EqualValues(t, want, groups[i], "types %v row %d", ts, i)
			}
			require.Equal(t, len(firsts), gt.Len())
			keys := gt.KeyArrays()
			for c := range keys {
				require.Equal(t, len(firsts), keys[c].Len())
				for g, f := range firsts {
					require.True(t, vectest.SameDatum(ds[c][f], types.GetDatum(keys[c], g, ts[c])),
						"types %v group %d: %v vs %v", ts, g, ds[c][f], types.GetDatum(keys[c], g, ts[c]))
				}
				keys[c].Release()
			}
			// Probe: the inserted rows find their groups; fresh rows find
			// theirs or NoGroup.
			probe := make([]uint32, n)
			gt.Probe(cols, probe)
			require.Equal(t, groups, probe)
			fresh := make([]arrow.Array, len(ts))
			fds := make([][]types.Datum, len(ts))
			for c, kt := range ts {
				fresh[c], fds[c] = vectest.RandArray(r, mem, kt, 50, 10)
			}
			fg := make([]uint32, 50)
			gt.Probe(fresh, fg)
			for i := 0; i < 50; i++ {
				want := NoGroup
				for g, f := range firsts {
					eq := true
					for c := range ts {
						if vectest.NaiveCompare(ds[c][f], fds[c][i], ts[c]) != 0 {
							eq = false
							break
						}
					}
					if eq {
						want = uint32(g)
						break
					}
				}
				require.Equal(t, want, fg[i])
			}
			require.Equal(t, len(firsts), gt.Len(), "Probe must not insert")
			require.Positive(t, gt.MemoryBytes())
			gt.Release()
			for c := range cols {
				cols[c].Release()
				fresh[c].Release()
			}
		}
	}
}

func TestGroupTableNoKeys(t *testing.T) {
	gt := NewGroupTable(nil, memory.NewGoAllocator())
	groups := make([]uint32, 3)
	gt.Probe(nil, groups)
	require.Equal(t, []uint32{NoGroup, NoGroup, NoGroup}, groups)
	gt.Insert(nil, groups)
	require.Equal(t, []uint32{0, 0, 0}, groups)
	require.Equal(t, 1, gt.Len())
	require.Empty(t, gt.KeyArrays())
}

func TestGroupTableManyIntGroups(t *testing.T) {
	mem := memory.NewGoAllocator()
	gt := NewGroupTable([]types.T{types.Int8T}, mem)
	const n = 300_000
	vals := make([]int64, n)
	for i := range vals {
		vals[i] = int64(i)*7919 - 1<<40
	}
	arr := int64Array(mem, vals)
	defer arr.Release()
	groups := make([]uint32, n)
	gt.Insert([]arrow.Array{arr}, groups)
	gt.Insert([]arrow.Array{arr}, groups)
	for i, g := range groups {
		require.EqualValues(t, i, g)
	}
	keys := gt.KeyArrays()
	defer keys[0].Release()
	for i := 0; i < n; i += 997 {
		require.Equal(t, vals[i], types.GetDatum(keys[0], i, types.Int8T))
	}
}

func TestDistinctFilter(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, ts := range keyTypeSets {
		for _, ignoreNulls := range []bool{false, true} {
			n := 1 + r.IntN(300)
			cols := make([]arrow.Array, len(ts))
			ds := make([][]types.Datum, len(ts))
			for c, kt := range ts {
				cols[c], ds[c] = vectest.RandArray(r, mem, kt, n, 20)
			}
			groups := make([]uint32, n)
			orig := make([]uint32, n)
			for i := range groups {
				if r.IntN(8) == 0 {
					groups[i] = NoGroup
				} else {
					groups[i] = uint32(r.IntN(3))
				}
			}
			copy(orig, groups)
			f := NewDistinctFilter(ts, ignoreNulls)
			for lo := 0; lo < n; {
				hi := min(n, lo+1+r.IntN(40))
				batch := make([]arrow.Array, len(cols))
				for c := range cols {
					batch[c] = vec.Slice(cols[c], lo, hi)
				}
				f.Filter(groups[lo:hi], batch)
				for _, b := range batch {
					b.Release()
				}
				lo = hi
			}
			for i := 0; i < n; i++ {
				want := orig[i]
				hasNull := false
				for c := range ts {
					hasNull = hasNull || ds[c][i] == nil
				}
				if want != NoGroup && ignoreNulls && hasNull {
					want = NoGroup
				}
				if want != NoGroup {
					for j := 0; j < i; j++ {
						if orig[j] == orig[i] && rowsEqual(ds, ts, i, j) {
							want = NoGroup
							break
						}
					}
				}
				require.Equal(t, want, groups[i], "types %v row %d", ts, i)
			}
			require.Positive(t, f.MemoryBytes())
			for _, c := range cols {
				c.Release()
			}
		}
	}
}
