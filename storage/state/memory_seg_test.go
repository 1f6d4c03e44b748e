package state

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSegArr(t *testing.T) {
	var a segArr[int64]
	require.Nil(t, a.first())
	// Segment 0 grows by doubling, then whole segments follow; elements
	// written before a growth keep their values and addresses once
	// segment 0 is full.
	sizes := []int{1, 17, 1000, segLen - 1, segLen, segLen + 1, 3*segLen + 5, 3*segLen + 5, 5 * segLen, 17*segLen + 1, 40 * segLen, 80*segLen + 3}
	written := 0
	var p0 *int64
	for _, n := range sizes {
		a.resize(n)
		require.Equal(t, max(n, written), a.n)
		require.GreaterOrEqual(t, len(a.s)<<segShift, a.n)
		for i := written; i < a.n; i++ {
			require.Zero(t, a.get(int32(i)), "element %d", i)
			a.set(int32(i), int64(i)*3)
		}
		written = a.n
		for i := 0; i < a.n; i += 997 {
			require.Equal(t, int64(i)*3, a.get(int32(i)))
			require.Equal(t, int64(i)*3, *a.at(int32(i)))
		}
		if a.n >= segLen {
			if p0 == nil {
				p0 = a.at(segLen - 1)
			}
			require.Same(t, p0, a.at(segLen-1), "segment 0 moved after filling")
			require.Len(t, a.first(), segLen)
		}
	}
	*a.at(segLen + 2) = -1
	require.Equal(t, int64(-1), a.get(segLen+2))
	a.reset()
	require.Zero(t, a.n)
	require.Nil(t, a.first())
}

// TestSegArrAtTracksGrowth writes through at and reads through get (and
// back) across segment 0's reallocations, the step to several segments
// and a reset: at's segment-0 fast path must follow the array.
func TestSegArrAtTracksGrowth(t *testing.T) {
	var a segArr[int32]
	for round := range 2 {
		written := 0
		for _, n := range []int{1, 2, 33, 1000, segLen, segLen + 1, 2*segLen + 7} {
			a.resize(n)
			for i := written; i < n; i++ {
				*a.at(int32(i)) = int32(i) + int32(round)
			}
			written = n
			for i := 0; i < n; i += 1 + i/3 {
				require.Equal(t, int32(i)+int32(round), a.get(int32(i)), "round %d n %d element %d", round, n, i)
				require.Same(t, &a.s[i>>segShift][i&segMask], a.at(int32(i)))
			}
		}
		a.reset()
	}
}
