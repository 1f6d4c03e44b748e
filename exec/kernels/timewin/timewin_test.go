package timewin

import (
	"math"
	"math/big"
	"math/rand"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

func newRand(t *testing.T) *rand.Rand {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewSource(seed))
}

func iv(days int32, micros int64) types.Interval { return types.Interval{Days: days, Micros: micros} }

func micros(v types.Interval) int64 { return int64(v.Days)*types.MicrosPerDay + v.Micros }

// refTumble computes floor((ts-off)/size)*size+off with big integers.
func refTumble(ts, size, off int64) int64 {
	d := new(big.Int).Sub(big.NewInt(ts), big.NewInt(off))
	q := new(big.Int)
	m := new(big.Int)
	q.DivMod(d, big.NewInt(size), m) // Euclidean: m >= 0, so q is the floor for size > 0
	q.Mul(q, big.NewInt(size))
	q.Add(q, big.NewInt(off))
	return q.Int64()
}

// refHop enumerates the windows [ws, ws+size), ws ≡ off (mod slide), that
// contain ts, by walking down from the tumble start.
func refHop(ts, slide, size, off int64) []int64 {
	last := refTumble(ts, slide, off)
	var out []int64
	for ws := last; ws > ts-size; ws -= slide {
		out = append([]int64{ws}, out...)
	}
	return out
}

func randInterval(r *rand.Rand) types.Interval {
	switch r.Intn(4) {
	case 0:
		return iv(int32(1+r.Intn(3)), 0)
	case 1:
		return iv(0, int64(1+r.Intn(1000)))
	case 2:
		return iv(0, int64(1+r.Intn(120))*types.MicrosPerMinute)
	}
	return iv(int32(r.Intn(2)), int64(r.Intn(int(types.MicrosPerDay))+1))
}

func randTS(r *rand.Rand) int64 {
	switch r.Intn(3) {
	case 0:
		return r.Int63n(2000) - 1000
	case 1:
		return r.Int63n(200*365*types.MicrosPerDay) - 100*365*types.MicrosPerDay
	}
	return r.Int63() - r.Int63()/2*2 // any sign, large
}

func TestTumbleMatchesReference(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 20000; i++ {
		size := randInterval(r)
		off := iv(0, r.Int63n(3*micros(size))-micros(size))
		ts := randTS(r)
		got, err := TumbleStart(ts, size, off)
		want := refTumble(ts, micros(size), micros(off))
		if ts > math.MaxInt64/2 || ts < math.MinInt64/2 {
			if err != nil {
				continue
			}
		}
		require.NoError(t, err, "ts=%d size=%v off=%v", ts, size, off)
		require.Equal(t, want, got, "ts=%d size=%v off=%v", ts, size, off)
		require.LessOrEqual(t, got, ts)
		require.Greater(t, got+micros(size), ts)
	}
}

func TestHopMatchesReference(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 5000; i++ {
		slide := randInterval(r)
		k := int64(1 + r.Intn(5))
		size := iv(0, micros(slide)*k)
		off := iv(0, r.Int63n(2*micros(slide))-micros(slide))
		ts := randTS(r) / 4
		got, err := HopStarts(ts, slide, size, off, nil)
		require.NoError(t, err)
		want := refHop(ts, micros(slide), micros(size), micros(off))
		require.Equal(t, want, got, "ts=%d slide=%v size=%v off=%v", ts, slide, size, off)
		require.Len(t, got, int(k))
	}
}

func TestSessionMatchesReference(t *testing.T) {
	r := newRand(t)
	for i := 0; i < 500; i++ {
		n := r.Intn(50)
		ts := make([]int64, n)
		for j := range ts {
			ts[j] = r.Int63n(2000) - 1000
		}
		sortInts(ts)
		gap := int64(1 + r.Intn(100))
		starts, ends, err := SessionWindows(ts, iv(0, gap))
		require.NoError(t, err)
		// Reference: row j's session is found by walking neighbours.
		for j := range ts {
			lo, hi := j, j
			for lo > 0 && ts[lo]-ts[lo-1] < gap {
				lo--
			}
			for hi < n-1 && ts[hi+1]-ts[hi] < gap {
				hi++
			}
			require.Equal(t, ts[lo], starts[j])
			require.Equal(t, ts[hi]+gap, ends[j])
		}
	}
}

func sortInts(s []int64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestParameterErrors(t *testing.T) {
	code := func(err error) string { return pgerror.CodeOf(err) }
	require.Equal(t, "22023", code(ValidateHop(iv(0, 0), iv(0, 1))))
	require.Equal(t, "22023", code(ValidateHop(iv(0, 1), iv(0, -1))))
	require.Equal(t, "22023", code(ValidateHop(iv(0, -1), iv(0, 1))))
	require.Equal(t, "22023", code(ValidateHop(iv(0, -1), iv(0, -1))))
	require.Equal(t, "22023", code(ValidateHop(iv(0, 2), iv(0, 3))))
	require.Equal(t, "0A000", code(ValidateHop(types.Interval{Months: 1}, iv(0, 3))))
	require.NoError(t, ValidateHop(iv(0, 2), iv(0, 4)))
	_, err := TumbleStart(5, iv(0, 0), iv(0, 0))
	require.Equal(t, "22023", code(err))
	_, err = TumbleStart(5, types.Interval{Months: 1}, iv(0, 0))
	require.Equal(t, "0A000", code(err))
	_, err = TumbleStart(math.MaxInt64, iv(0, 10), iv(0, 0))
	require.Equal(t, "22008", code(err))
	_, err = TumbleStart(math.MinInt64+3, iv(0, 10), iv(0, 0))
	require.Equal(t, "22008", code(err))
	_, err = HopStarts(math.MaxInt64-3, iv(0, 10), iv(0, 20), iv(0, 0), nil)
	require.Equal(t, "22008", code(err))
	_, _, err = SessionWindows([]int64{1}, iv(0, 0))
	require.Equal(t, "22023", code(err))
	_, err = Micros(types.Interval{Days: math.MaxInt32, Micros: math.MaxInt64})
	require.Equal(t, "22008", code(err))
}

func tsArray(t *testing.T, mem memory.Allocator, vals []*int64) arrow.Array {
	b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(arrow.Timestamp(*v))
		}
	}
	return b.NewArray()
}

func p(v int64) *int64 { return &v }

func TestTumbleStartArray(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	in := tsArray(t, mem, []*int64{p(-1), nil, p(10), p(19), p(20)})
	defer in.Release()
	out, err := TumbleStartArray(mem, in, iv(0, 10), iv(0, 0))
	require.NoError(t, err)
	defer out.Release()
	require.Equal(t, in.DataType(), out.DataType())
	ts := out.(*array.Timestamp)
	require.True(t, ts.IsNull(1))
	for i, want := range []int64{-10, 0, 10, 10, 20} {
		if i == 1 {
			continue
		}
		require.Equal(t, want, int64(ts.Value(i)))
	}
	s := array.NewStringBuilder(mem)
	defer s.Release()
	sa := s.NewArray()
	defer sa.Release()
	_, err = TumbleStartArray(mem, sa, iv(0, 10), iv(0, 0))
	require.Error(t, err)
}

func TestHopExpand(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	ts := tsArray(t, mem, []*int64{p(5), nil, p(12), p(-3)})
	defer ts.Release()
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{1, 2, 3, 4}, nil)
	ids := ib.NewArray()
	ib.Release()
	defer ids.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "ts", Type: ts.DataType(), Nullable: true}}, nil)
	b := array.NewRecordBatch(schema, []arrow.Array{ids, ts}, 4)
	defer b.Release()
	out, src, err := HopExpand(mem, b, 1, iv(0, 5), iv(0, 10), iv(0, 0))
	require.NoError(t, err)
	defer out.Release()
	require.Equal(t, []int32{0, 0, 2, 2, 3, 3}, src)
	require.Equal(t, "window_start", out.Schema().Field(2).Name)
	require.Equal(t, "window_end", out.Schema().Field(3).Name)
	got := [][3]int64{}
	for i := 0; i < int(out.NumRows()); i++ {
		got = append(got, [3]int64{out.Column(0).(*array.Int64).Value(i), int64(out.Column(2).(*array.Timestamp).Value(i)), int64(out.Column(3).(*array.Timestamp).Value(i))})
	}
	require.Equal(t, [][3]int64{{1, 0, 10}, {1, 5, 15}, {3, 5, 15}, {3, 10, 20}, {4, -10, 0}, {4, -5, 5}}, got)
	_, _, err = HopExpand(mem, b, 1, iv(0, 3), iv(0, 10), iv(0, 0))
	require.Equal(t, "22023", pgerror.CodeOf(err))
}

func TestHopExpandRandomVsReference(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	for iter := 0; iter < 200; iter++ {
		n := r.Intn(40)
		vals := make([]*int64, n)
		for i := range vals {
			if r.Intn(5) > 0 {
				vals[i] = p(r.Int63n(1_000_000) - 500_000)
			}
		}
		slide := iv(0, int64(1+r.Intn(1000)))
		size := iv(0, micros(slide)*int64(1+r.Intn(4)))
		off := iv(0, r.Int63n(5000)-2500)
		ts := tsArray(t, mem, vals)
		schema := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: ts.DataType(), Nullable: true}}, nil)
		b := array.NewRecordBatch(schema, []arrow.Array{ts}, int64(n))
		ts.Release()
		out, src, err := HopExpand(mem, b, 0, slide, size, off)
		require.NoError(t, err)
		k := 0
		for i, v := range vals {
			if v == nil {
				continue
			}
			for _, ws := range refHop(*v, micros(slide), micros(size), micros(off)) {
				require.Equal(t, int32(i), src[k])
				require.Equal(t, *v, int64(out.Column(0).(*array.Timestamp).Value(k)))
				require.Equal(t, ws, int64(out.Column(1).(*array.Timestamp).Value(k)))
				require.Equal(t, ws+micros(size), int64(out.Column(2).(*array.Timestamp).Value(k)))
				k++
			}
		}
		require.Equal(t, k, int(out.NumRows()))
		out.Release()
		b.Release()
	}
}

func TestHopExpandLimit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	ts := tsArray(t, mem, []*int64{p(5), p(6)})
	defer ts.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: ts.DataType(), Nullable: true}}, nil)
	b := array.NewRecordBatch(schema, []arrow.Array{ts}, 2)
	defer b.Release()
	// 1 µs slide over 1 minute: 60M windows per row.
	_, _, err := HopExpand(mem, b, 0, iv(0, 1), iv(0, types.MicrosPerMinute), iv(0, 0))
	require.Equal(t, "54000", pgerror.CodeOf(err))
	_, err = HopStarts(5, iv(0, 1), iv(0, 30*types.MicrosPerMinute), iv(0, 0), nil)
	require.Equal(t, "54000", pgerror.CodeOf(err))
	// Under the per-row limit but over the per-batch one.
	big := make([]*int64, 100)
	for i := range big {
		big[i] = p(int64(i))
	}
	bt := tsArray(t, mem, big)
	defer bt.Release()
	bb := array.NewRecordBatch(schema, []arrow.Array{bt}, 100)
	defer bb.Release()
	_, _, err = HopExpand(mem, bb, 0, iv(0, 1), iv(0, MaxWindowsPerRow), iv(0, 0))
	require.Equal(t, "54000", pgerror.CodeOf(err))
}
