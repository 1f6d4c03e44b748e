package agg

import (
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// intModel is the reference for an integer GroupTable: first-appearance
// ids, NULL as its own group.
type intModel struct {
	ids    map[int64]uint32
	nullID uint32
	n      uint32
	keys   []*int64
}

func (m *intModel) insert(k *int64) uint32 {
	if k == nil {
		if m.nullID == NoGroup {
			m.nullID = m.n
			m.n++
			m.keys = append(m.keys, nil)
		}
		return m.nullID
	}
	if g, ok := m.ids[*k]; ok {
		return g
	}
	m.ids[*k] = m.n
	m.n++
	m.keys = append(m.keys, k)
	return m.n - 1
}

func (m *intModel) probe(k *int64) uint32 {
	if k == nil {
		return m.nullID
	}
	if g, ok := m.ids[*k]; ok {
		return g
	}
	return NoGroup
}

func int64ArrayNulls(mem memory.Allocator, vals []*int64) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(*v)
		}
	}
	return b.NewArray()
}

// TestGroupTableIntDirectWindow drives the direct (small key range) mode
// and its switch to hashing: windows near both ends of int64, keys just
// outside the window in the middle of a batch, NULL-only first batches and
// probes in both modes, against the model.
func TestGroupTableIntDirectWindow(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	centers := []int64{0, -5, 1 << 40, math.MaxInt64 - 3, math.MinInt64 + 2}
	for iter := 0; iter < 200; iter++ {
		center := centers[iter%len(centers)]
		span := int64([]int{1, 10, 1000, 20000}[r.IntN(4)])
		key := func() *int64 {
			switch p := r.IntN(100); {
			case p < 5:
				return nil
			case p < 7 && iter%3 == 0: // rare far key: forces the hash mode
				k := int64(r.Uint64())
				return &k
			default:
				off := r.Int64N(span)
				var k int64
				if center > 0 {
					k = center - off
				} else {
					k = center + off
				}
				return &k
			}
		}
		gt := NewGroupTable([]types.T{types.Int8T}, mem)
		m := &intModel{ids: map[int64]uint32{}, nullID: NoGroup}
		if iter%4 == 1 { // a first batch of NULLs only defers the decision
			vals := []*int64{nil, nil}
			arr := int64ArrayNulls(mem, vals)
			groups := make([]uint32, len(vals))
			gt.Insert([]arrow.Array{arr}, groups)
			arr.Release()
			for i, v := range vals {
				require.Equal(t, m.insert(v), groups[i])
			}
		}
		for batch := 0; batch < 6; batch++ {
			n := []int{1, 3, 1024, 1 + r.IntN(200)}[r.IntN(4)]
			vals := make([]*int64, n)
			for i := range vals {
				vals[i] = key()
			}
			arr := int64ArrayNulls(mem, vals)
			groups := make([]uint32, n)
			if batch%2 == 1 {
				gt.Probe([]arrow.Array{arr}, groups)
				for i, v := range vals {
					require.Equal(t, m.probe(v), groups[i], "probe row %d", i)
				}
			}
			gt.Insert([]arrow.Array{arr}, groups)
			arr.Release()
			for i, v := range vals {
				require.Equal(t, m.insert(v), groups[i], "insert batch %d row %d", batch, i)
			}
			require.Equal(t, int(m.n), gt.Len())
		}
		ka := gt.KeyArrays()
		require.Equal(t, len(m.keys), ka[0].Len())
		for g, k := range m.keys {
			if k == nil {
				require.True(t, ka[0].IsNull(g))
			} else {
				require.Equal(t, *k, ka[0].(*array.Int64).Value(g))
			}
		}
		ka[0].Release()
		gt.Release()
	}
}

// TestGroupTableIntDirectInt4 checks the direct mode on int4 keys, the
// window boundaries exactly, and that a table started wide never uses it.
func TestGroupTableIntDirectInt4(t *testing.T) {
	mem := memory.NewGoAllocator()
	b := array.NewInt32Builder(mem)
	b.AppendValues([]int32{7, -3, 7, 100}, nil)
	a1 := b.NewArray()
	gt := NewGroupTable([]types.T{types.Int4T}, mem)
	groups := make([]uint32, 4)
	gt.Insert([]arrow.Array{a1}, groups)
	require.Equal(t, []uint32{0, 1, 0, 2}, groups)
	require.NotNil(t, gt.ints.direct)
	lo, hi := gt.ints.base, gt.ints.base+int64(len(gt.ints.direct))-1
	b.AppendValues([]int32{int32(lo), int32(hi), int32(hi + 1), int32(lo)}, nil)
	a2 := b.NewArray()
	gt.Insert([]arrow.Array{a2}, groups)
	require.Equal(t, []uint32{3, 4, 5, 3}, groups)
	require.Nil(t, gt.ints.direct)
	gt.Insert([]arrow.Array{a1}, groups)
	require.Equal(t, []uint32{0, 1, 0, 2}, groups)

	wide := NewGroupTable([]types.T{types.Int8T}, mem)
	a3 := int64Array(mem, []int64{0, 1 << 20})
	wide.Insert([]arrow.Array{a3}, groups[:2])
	require.Nil(t, wide.ints.direct)
	require.Equal(t, []uint32{0, 1}, groups[:2])
}

// TestGroupTableIntDenseSwitch checks the switch of a hashed table to the
// direct mode once its keys turn out dense (symbol ids whose first batch
// spans too much for the first decision), ids staying stable across the
// switch and the switch back, NULLs, probes and TakeKeys included.
func TestGroupTableIntDenseSwitch(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for iter := 0; iter < 20; iter++ {
		const n = 100_000
		base := []int64{0, -n / 2, math.MaxInt64 - n, math.MinInt64}[iter%4]
		gt := NewGroupTable([]types.T{types.Int8T}, mem)
		m := &intModel{ids: map[int64]uint32{}, nullID: NoGroup}
		sawDirect := false
		for batch := 0; batch < 200; batch++ {
			vals := make([]*int64, 1024)
			for i := range vals {
				switch p := r.IntN(1000); {
				case p < 5:
				case p < 6 && batch > 150: // far keys late: back to hashing
					k := int64(r.Uint64())
					vals[i] = &k
				default:
					k := base + r.Int64N(n)
					vals[i] = &k
				}
			}
			arr := int64ArrayNulls(mem, vals)
			groups := make([]uint32, len(vals))
			if batch%5 == 4 {
				gt.Probe([]arrow.Array{arr}, groups)
				for i, v := range vals {
					require.Equal(t, m.probe(v), groups[i], "probe batch %d row %d", batch, i)
				}
			}
			gt.Insert([]arrow.Array{arr}, groups)
			arr.Release()
			for i, v := range vals {
				require.Equal(t, m.insert(v), groups[i], "insert batch %d row %d", batch, i)
			}
			sawDirect = sawDirect || gt.ints.direct != nil
		}
		require.True(t, sawDirect, "dense keys never used the direct mode")
		ids := make([]uint32, 0, 64)
		for range 64 {
			ids = append(ids, uint32(r.IntN(int(m.n))))
		}
		ka, ok := gt.TakeKeys(mem, arrow.PrimitiveTypes.Int64, ids)
		require.True(t, ok)
		for k, g := range ids {
			if m.keys[g] == nil {
				require.True(t, ka.IsNull(k))
			} else {
				require.Equal(t, *m.keys[g], ka.(*array.Int64).Value(k))
			}
		}
		ka.Release()
		gt.Release()
	}
}

// TestGroupTableTakeKeys checks TakeKeys on text keys (NULL group
// included), int4 keys, and that multi-column tables decline.
func TestGroupTableTakeKeys(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"b", "", "a", "b"}, []bool{true, true, true, true})
	sb.AppendNull()
	sa := sb.NewArray()
	sb.Release()
	gt := NewGroupTable([]types.T{types.TextT}, mem)
	groups := make([]uint32, 5)
	gt.Insert([]arrow.Array{sa}, groups)
	sa.Release()
	require.Equal(t, []uint32{0, 1, 2, 0, 3}, groups)
	ka, ok := gt.TakeKeys(mem, arrow.BinaryTypes.String, []uint32{3, 2, 0, 1, 2})
	require.True(t, ok)
	require.Equal(t, `[(null) "a" "b" "" "a"]`, ka.String())
	ka.Release()
	_, ok = gt.TakeKeys(mem, arrow.PrimitiveTypes.Int64, []uint32{0})
	require.False(t, ok)
	gt.Release()

	ib := array.NewInt32Builder(mem)
	ib.AppendValues([]int32{5, -7, 5}, nil)
	ia := ib.NewArray()
	ib.Release()
	it := NewGroupTable([]types.T{types.Int4T}, mem)
	it.Insert([]arrow.Array{ia}, groups[:3])
	ka, ok = it.TakeKeys(mem, arrow.PrimitiveTypes.Int32, []uint32{1, 0, 1})
	require.True(t, ok)
	require.Equal(t, "[-7 5 -7]", ka.String())
	ka.Release()

	mt := NewGroupTable([]types.T{types.Int4T, types.Int4T}, mem)
	mt.Insert([]arrow.Array{ia, ia}, groups[:3])
	_, ok = mt.TakeKeys(mem, arrow.PrimitiveTypes.Int32, []uint32{0})
	require.False(t, ok)
	ia.Release()
	it.Release()
	mt.Release()
}
