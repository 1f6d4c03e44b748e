package vec

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels/vec/vectest"
	"github.com/sabotsql/sabotsql/sql/types"
)

func newRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed^0x5eed))
}

// maybeSlice returns arr or a slice of a larger array with the same rows,
// so kernels see non-zero offsets.
func maybeSlice(r *rand.Rand, mem memory.Allocator, t types.T, arr arrow.Array, ds []types.Datum) arrow.Array {
	if r.IntN(2) == 0 {
		arr.Retain()
		return arr
	}
	pre, _ := vectest.RandArray(r, mem, t, 1+r.IntN(9), 30)
	post, _ := vectest.RandArray(r, mem, t, r.IntN(5), 30)
	defer pre.Release()
	defer post.Release()
	all := Concat(mem, []arrow.Array{pre, arr, post})
	defer all.Release()
	return Slice(all, pre.Len(), pre.Len()+arr.Len())
}

func TestTakeFilterConcat(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, typ := range vectest.TestTypes {
		t.Run(typ.String(), func(t *testing.T) {
			for iter := 0; iter < 20; iter++ {
				n := r.IntN(70)
				base, ds := vectest.RandArray(r, mem, typ, n, []int{0, 10, 60}[iter%3])
				arr := maybeSlice(r, mem, typ, base, ds)
				base.Release()
				require.Equal(t, ds, ds)
				got := vectest.Datums(arr, typ)
				for i := range ds {
					require.True(t, vectest.SameDatum(ds[i], got[i]), "slice row %d", i)
				}

				// Take with -1s.
				idx := make([]int32, r.IntN(100))
				for k := range idx {
					if n == 0 || r.IntN(6) == 0 {
						idx[k] = -1
					} else {
						idx[k] = int32(r.IntN(n))
					}
				}
				tk := Take(mem, arr, idx)
				validate(t, tk)
				require.Equal(t, len(idx), tk.Len())
				for k, i := range idx {
					d := types.GetDatum(tk, k, typ)
					if i < 0 {
						require.Nil(t, d)
					} else {
						require.True(t, vectest.SameDatum(ds[i], d), "take row %d: %v vs %v", k, ds[i], d)
					}
				}
				tk.Release()

				// Filter with a mask that has NULLs.
				mb := array.NewBooleanBuilder(mem)
				var keep []int
				for i := 0; i < n; i++ {
					switch r.IntN(3) {
					case 0:
						mb.AppendNull()
					case 1:
						mb.Append(false)
					default:
						mb.Append(true)
						keep = append(keep, i)
					}
				}
				mask := mb.NewBooleanArray()
				mb.Release()
				fl := Filter(mem, arr, mask)
				validate(t, fl)
				require.Equal(t, len(keep), fl.Len())
				for k, i := range keep {
					require.True(t, vectest.SameDatum(ds[i], types.GetDatum(fl, k, typ)))
				}
				fl.Release()
				mask.Release()

				// Concat of random pieces.
				var pieces []arrow.Array
				for lo := 0; lo < n; {
					hi := lo + r.IntN(n-lo+1)
					pieces = append(pieces, Slice(arr, lo, hi))
					lo = hi
				}
				if len(pieces) > 0 {
					cc := Concat(mem, pieces)
					require.Equal(t, n, cc.Len())
					for i := range ds {
						require.True(t, vectest.SameDatum(ds[i], types.GetDatum(cc, i, typ)))
					}
					cc.Release()
				}
				for _, p := range pieces {
					p.Release()
				}

				// ConstArray.
				var d types.Datum
				if r.IntN(4) > 0 {
					d = vectest.RandDatum(r, typ)
				}
				k := r.IntN(20)
				ca := ConstArray(mem, d, typ, k)
				require.Equal(t, k, ca.Len())
				for i := 0; i < k; i++ {
					got := types.GetDatum(ca, i, typ)
					if d == nil || got == nil {
						require.Equal(t, d == nil, got == nil)
						continue
					}
					// types may canonicalize the spelling (numeric 1E+1 → 10).
					require.Zero(t, vectest.NaiveCompare(d, got, typ), "%v vs %v", d, got)
				}
				ca.Release()
				arr.Release()
			}
		})
	}
}

func TestFilterBatchTakeBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := newRand(t)
	a, ad := vectest.RandArray(r, mem, types.Int8T, 50, 20)
	b, bd := vectest.RandArray(r, mem, types.TextT, 50, 20)
	schema := arrow.NewSchema([]arrow.Field{types.ArrowField("a", types.Int8T), types.ArrowField("b", types.TextT)}, nil)
	rb := array.NewRecordBatch(schema, []arrow.Array{a, b}, 50)
	a.Release()
	b.Release()
	defer rb.Release()

	mb := array.NewBooleanBuilder(mem)
	var keep []int
	for i := 0; i < 50; i++ {
		v := i%3 == 0
		mb.Append(v)
		if v {
			keep = append(keep, i)
		}
	}
	mask := mb.NewBooleanArray()
	mb.Release()
	defer mask.Release()
	out := FilterBatch(mem, rb, mask)
	defer out.Release()
	require.EqualValues(t, len(keep), out.NumRows())
	for k, i := range keep {
		require.Equal(t, ad[i], types.GetDatum(out.Column(0), k, types.Int8T))
		require.Equal(t, bd[i], types.GetDatum(out.Column(1), k, types.TextT))
	}
	tb := TakeBatch(mem, rb, []int32{49, -1, 0})
	defer tb.Release()
	require.Equal(t, ad[49], types.GetDatum(tb.Column(0), 0, types.Int8T))
	require.Nil(t, types.GetDatum(tb.Column(1), 1, types.TextT))
	require.Equal(t, bd[0], types.GetDatum(tb.Column(1), 2, types.TextT))
}

func TestSortIndices(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for iter := 0; iter < 300; iter++ {
		n := r.IntN(400)
		if iter%50 == 0 {
			n = 3000 // exercise the radix path
		}
		ncols := 1 + r.IntN(3)
		cols := make([]arrow.Array, ncols)
		ds := make([][]types.Datum, ncols)
		ts := make([]types.T, ncols)
		for c := range cols {
			ts[c] = vectest.TestTypes[r.IntN(len(vectest.TestTypes))]
			var base arrow.Array
			base, ds[c] = vectest.RandArray(r, mem, ts[c], n, []int{0, 15}[r.IntN(2)])
			cols[c] = maybeSlice(r, mem, ts[c], base, ds[c])
			base.Release()
		}
		keys := make([]SortKey, 1+r.IntN(ncols))
		for k := range keys {
			c := r.IntN(ncols)
			keys[k] = SortKey{Col: c, Desc: r.IntN(2) == 0, NullsFirst: r.IntN(2) == 0, T: ts[c]}
		}
		want := make([]int32, n)
		for i := range want {
			want[i] = int32(i)
		}
		sort.SliceStable(want, func(x, y int) bool {
			return naiveRowCompare(ds, keys, int(want[x]), int(want[y])) < 0
		})
		got := SortIndices(cols, keys)
		require.Equal(t, want, got, "iter %d keys %+v", iter, keys)

		// RowComparator agrees with the naive order across different arrays.
		if n > 0 {
			rc := NewRowComparator(keys)
			other := make([]arrow.Array, ncols)
			for c := range cols {
				other[c] = Slice(cols[c], 0, n)
			}
			for k := 0; k < 50; k++ {
				i, j := r.IntN(n), r.IntN(n)
				require.Equal(t, naiveRowCompare(ds, keys, i, j), rc.Compare(cols, i, other, j))
			}
			for _, o := range other {
				o.Release()
			}
		}
		for _, c := range cols {
			c.Release()
		}
	}
}

func naiveRowCompare(ds [][]types.Datum, keys []SortKey, i, j int) int {
	for _, k := range keys {
		a, b := ds[k.Col][i], ds[k.Col][j]
		var c int
		switch {
		case a == nil && b == nil:
			c = 0
		case a == nil:
			c = 1
			if k.NullsFirst {
				c = -1
			}
		case b == nil:
			c = -1
			if k.NullsFirst {
				c = 1
			}
		default:
			c = vectest.NaiveCompare(a, b, k.T)
			if k.Desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func TestHashAndKeysMatchSQLEquality(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for iter := 0; iter < 60; iter++ {
		n := 1 + r.IntN(150)
		ncols := 1 + r.IntN(3)
		cols := make([]arrow.Array, ncols)
		ds := make([][]types.Datum, ncols)
		ts := make([]types.T, ncols)
		for c := range cols {
			ts[c] = vectest.TestTypes[r.IntN(len(vectest.TestTypes))]
			var base arrow.Array
			base, ds[c] = vectest.RandArray(r, mem, ts[c], n, 10)
			cols[c] = maybeSlice(r, mem, ts[c], base, ds[c])
			base.Release()
		}
		h := make([]uint64, n)
		HashColumns(cols, h, ts...)
		enc := KeyEncoder{Types: ts}
		enc.Encode(cols)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				eq := true
				for c := range cols {
					if vectest.NaiveCompare(ds[c][i], ds[c][j], ts[c]) != 0 {
						eq = false
						break
					}
				}
				msg := fmt.Sprintf("types %v rows %d %d", ts, i, j)
				require.Equal(t, eq, h[i] == h[j], msg)
				require.Equal(t, eq, string(enc.Key(i)) == string(enc.Key(j)), msg)
			}
		}
		for _, c := range cols {
			c.Release()
		}
	}
}

func TestNumericKeyOrder(t *testing.T) {
	vals := []string{"-Infinity", "-1E+3", "-100.5", "-100.49", "-1", "-0.5", "-0.05", "0", "-0", "0.000",
		"1E-7", "0.05", "0.5", "1", "1.0", "1.5", "9.99", "10", "1E+2", "100.001", "Infinity", "NaN"}
	for i := range vals {
		for j := range vals {
			a, _ := AppendNumericKey(nil, vals[i])
			b, _ := AppendNumericKey(nil, vals[j])
			c := compareStrKeys(a, b)
			require.Equal(t, vectest.NaiveCompare(vectest.NumDatum(t, vals[i]), vectest.NumDatum(t, vals[j]), types.NumericT), c, "%s vs %s", vals[i], vals[j])
		}
	}
	_, ok := AppendNumericKey(nil, "abc")
	require.False(t, ok)
	_, ok = AppendNumericKey(nil, "1e")
	require.False(t, ok)
}

func compareStrKeys(a, b []byte) int { return slices.Compare(a, b) }

func validate(t *testing.T, a arrow.Array) {
	if v, ok := a.(interface{ ValidateFull() error }); ok {
		require.NoError(t, v.ValidateFull())
	}
}

func TestSelectionIndicesOffsets(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for iter := 0; iter < 100; iter++ {
		n := r.IntN(200)
		b := array.NewBooleanBuilder(mem)
		vals := make([]*bool, n)
		for i := range vals {
			switch r.IntN(3) {
			case 0:
				b.AppendNull()
			default:
				v := r.IntN(2) == 0
				vals[i] = &v
				b.Append(v)
			}
		}
		full := b.NewBooleanArray()
		b.Release()
		lo := r.IntN(n + 1)
		hi := lo + r.IntN(n-lo+1)
		sl := Slice(full, lo, hi).(*array.Boolean)
		want := []int32{}
		for i := lo; i < hi; i++ {
			if vals[i] != nil && *vals[i] {
				want = append(want, int32(i-lo))
			}
		}
		require.Equal(t, want, SelectionIndices(sl))
		sl.Release()
		full.Release()
	}
}

// TestSortLongStrings exercises the multi-level string sort: long values
// sharing prefixes across 8-byte chunks, embedded zero bytes, a second key.
func TestSortLongStrings(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for iter := 0; iter < 100; iter++ {
		n := r.IntN(700)
		typ := []types.T{types.TextT, types.ByteaT, types.BpcharT}[r.IntN(3)]
		sb := array.NewBuilder(mem, types.ArrowType(typ))
		ib := array.NewInt32Builder(mem)
		strs := make([]types.Datum, n)
		second := make([]types.Datum, n)
		prefix := "common-prefix-"[:r.IntN(15)]
		for i := range strs {
			var v []byte
			v = append(v, prefix...)
			for k := r.IntN(20); k > 0; k-- {
				v = append(v, "ab\x00 "[r.IntN(4)])
			}
			if typ.Family != types.FamBytea && r.IntN(2) == 0 {
				v = []byte(strings.ReplaceAll(string(v), "\x00", "z"))
			}
			if typ.Family != types.FamBytea {
				v = []byte(strings.ReplaceAll(string(v), "\x00", "y"))
				strs[i] = string(v)
			} else {
				strs[i] = v
			}
			if r.IntN(10) == 0 {
				strs[i] = nil
			}
			types.AppendDatum(sb, strs[i], typ)
			second[i] = int64(r.IntN(3))
			ib.Append(int32(second[i].(int64)))
		}
		cols := []arrow.Array{sb.NewArray(), ib.NewArray()}
		sb.Release()
		ib.Release()
		keys := []SortKey{{Col: 0, Desc: r.IntN(2) == 0, NullsFirst: r.IntN(2) == 0, T: typ}}
		if r.IntN(2) == 0 {
			keys = append(keys, SortKey{Col: 1, Desc: r.IntN(2) == 0, T: types.Int4T})
		}
		want := make([]int32, n)
		for i := range want {
			want[i] = int32(i)
		}
		ds := [][]types.Datum{strs, second}
		sort.SliceStable(want, func(x, y int) bool { return naiveRowCompare(ds, keys, int(want[x]), int(want[y])) < 0 })
		require.Equal(t, want, SortIndices(cols, keys), "keys %+v", keys)
		for _, c := range cols {
			c.Release()
		}
	}
}
