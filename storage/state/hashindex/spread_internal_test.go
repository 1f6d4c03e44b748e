package hashindex

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestShortKeyHashSpread checks that the inline hash of short keys spreads
// structured keys (dense integers of several widths) over the slots as a
// random hash would: linear probing's mean displacement of a present key
// stays near (1 + 1/(1-load))/2 - 1, under 1.5 at three quarters full.
func TestShortKeyHashSpread(t *testing.T) {
	for _, width := range []int{2, 3, 4, 5, 8, 9, 12, 16} {
		n := 300_000 // keys: the integer's low width-1 bytes and a tag
		if width == 2 {
			n = 256
		} else if width == 3 {
			n = 60_000
		}
		keys := make([]string, n)
		for i := range keys {
			var b [24]byte
			binary.BigEndian.PutUint64(b[8:16], uint64(i))
			b[16] = byte(width)
			keys[i] = string(b[16-width+1 : 17])
		}
		x := New(func(id uint32) string { return keys[id] })
		x.Reserve(n)
		for i := range keys {
			x.Put(uint32(i))
		}
		mask := uint32(len(x.slots) - 1)
		var disp int
		for i, s := range x.slots {
			if s.h > tomb {
				disp += int((uint32(i) - s.h&mask) & mask)
			}
		}
		mean := float64(disp) / float64(n)
		t.Logf("width %d: mean %.3f load %.2f", width, mean, float64(n)/float64(len(x.slots)))
		require.Less(t, mean, 1.5, "width %d: mean displacement %.2f at load %.2f", width, mean, float64(n)/float64(len(x.slots)))
	}
}
